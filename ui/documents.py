"""Documents tab callbacks: upload, list, remove, re-index, with progress and a summary.

Every outcome is shown in the page: files the indexer cannot read, refused uploads and
errors a user can fix (``RagError``) become lines of the report, never a broken page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import gradio as gr

from assistant import Assistant, DocumentInfo, RagError
from ui import render
from ui.examples import example_questions
from ui.uploads import save_uploads

log = logging.getLogger(__name__)
# Passages read to find names for the example questions (enough for a few per document).
EXAMPLE_PASSAGES = 400


def _documents(assistant: Assistant) -> list[DocumentInfo]:
    try:
        return assistant.library.documents()
    except RagError:
        return []  # no index yet: the status line says so


def corpus_texts(assistant: Assistant, limit: int = EXAMPLE_PASSAGES) -> dict[str, list[str]]:
    """Some passages of each indexed document, keyed by ``source``."""
    try:
        return assistant.library.passages(limit)
    except RagError:
        return {}


def removable(documents: Sequence[DocumentInfo], docs_dir: Path) -> list[tuple[str, str]]:
    """``(label, key)`` of every indexed document; uploads (files in ``docs_dir``, which the
    assistant stored and so deletes on removal) are labelled as such."""
    docs = Path(docs_dir).resolve()
    return [
        (f"{d.source} (upload)" if Path(d.key).resolve().is_relative_to(docs) else d.source, d.key)
        for d in documents
    ]


def library(assistant: Assistant) -> tuple:
    """The document list, the remove choices and the example questions, up to date."""
    documents = _documents(assistant)
    choices = removable(documents, assistant.settings.docs_dir)
    questions = example_questions(documents, corpus_texts(assistant)) if documents else []
    return (
        render.documents_html(documents),
        gr.Dropdown(choices=choices, value=None),
        gr.Dataset(samples=[[q] for q in questions]),
    )


def _guarded(action: Callable[[], str]) -> str:
    try:
        return action()
    except RagError as exc:
        return render.index_report_html(None, headline=f"Nothing changed: {exc}")
    except Exception as exc:  # noqa: BLE001 - show a message, keep the page working
        log.exception("document action failed")
        return render.index_report_html(
            None, headline=f"Something went wrong ({type(exc).__name__}); see the server log."
        )


def upload(
    assistant: Assistant,
    files: Sequence[str] | None,
    progress=gr.Progress(track_tqdm=True),  # noqa: B008 - Gradio's injection marker
) -> tuple:
    """Save uploaded files into the documents folder and index them.

    Returns (report, documents, remove choices, examples, cleared upload box). Files the
    indexer skips (unreadable PDF, binary "text") are removed again so they do not linger.
    """
    paths = [Path(f) for f in files or []]

    def run() -> str:
        settings = assistant.settings
        progress(0, desc="Saving uploads")
        max_bytes = int(settings.ui.max_upload_mb * 1e6)
        result = save_uploads([(p.name, p) for p in paths], Path(settings.docs_dir), max_bytes)
        docs = Path(settings.docs_dir).resolve()
        todo = result.saved + [docs / name for name in result.already_present]
        if not todo:
            return render.index_report_html(None, result.rejected, "No file was added.")
        progress(0.1, desc="Indexing")
        report = assistant.library.add(todo, progress=True)
        saved_names = {p.name for p in result.saved}
        for name, _reason in report.skipped:
            if name in saved_names:
                (docs / name).unlink(missing_ok=True)
        added = len(result.saved) - sum(1 for n, _ in report.skipped if n in saved_names)
        headline = f"{added} file(s) added to {docs}"
        if result.already_present:
            headline += f"; already there: {', '.join(result.already_present)}"
        return render.index_report_html(report, result.rejected, headline)

    try:
        html = _guarded(run)
    finally:
        for path in paths:  # Gradio's temporary copy: the folder now holds the document
            path.unlink(missing_ok=True)
    return (html, *library(assistant), None)


def reindex(
    assistant: Assistant,
    progress=gr.Progress(track_tqdm=True),  # noqa: B008 - Gradio's injection marker
) -> tuple:
    """Bring the index in line with every registered source (new, changed and deleted files)."""

    def run() -> str:
        progress(0, desc="Indexing")
        report = assistant.library.sync(progress=True)
        count = len(assistant.library.sources())
        return render.index_report_html(report, headline=f"Re-indexed {count} source(s)")

    return (_guarded(run), *library(assistant))


def remove(
    assistant: Assistant,
    key: str | None,
    progress=gr.Progress(track_tqdm=True),  # noqa: B008 - Gradio's injection marker
) -> tuple:
    """Take one document out of the index (the page asked for confirmation first).

    The file on disk is deleted only when the assistant stored it there as an upload; the
    report says which happened.
    """

    def run() -> str:
        known = {d.key: d.source for d in _documents(assistant)}
        if not key or key not in known:
            return render.index_report_html(None, headline="Choose an indexed document first.")
        progress(0, desc="Removing")
        removal = assistant.library.remove(key)
        disk = (
            "the uploaded copy was deleted"
            if removal.file_deleted
            else "your file on disk was left untouched"
        )
        headline = f"Removed {removal.source} from the index; {disk}"
        return render.index_report_html(removal.report, headline=headline)

    return (_guarded(run), *library(assistant))

"""Documents tab callbacks: upload, list, remove, re-index, with progress and a summary.

Every outcome is shown in the page: files the indexer cannot read, refused uploads and
errors a user can fix (``RagError``) become lines of the report, never a broken page. Messages
never show absolute server paths, only names inside the documents folder. Uploads that arrive
while another ``rag index`` runs are saved and indexed by a background thread once it ends.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder

from assistant import Assistant, DocumentInfo, RagError
from index.names import shown
from index.progress import Progress
from index.runs import IndexBusy
from ui import render
from ui.examples import example_questions
from ui.uploads import UploadError, save_uploads, uploaded_files

log = logging.getLogger(__name__)
# Passages read to find names for the example questions (enough for a few per document).
EXAMPLE_PASSAGES = 400
# How long a queued upload waits for another index run, and how often it looks.
QUEUE_WAIT_SECONDS = 3600.0
QUEUE_POLL_SECONDS = 1.0
_ABSOLUTE_PATH = re.compile(r"(?<![\w.])/(?:[^\s/:;,'\"()]+/)*([^\s/:;,'\"()]+)")


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
    """``(label, label)`` of every indexed document; uploads (files in ``docs_dir``, which the
    assistant stored and so deletes on removal) are labelled as such.

    The value is the label, not the server path: the page never shows one, and an API client
    in a fresh session passes the name it sees in the document list (``remove`` validates it).
    Labels are unique (a second ``notes.txt`` becomes ``notes.txt [2]``).
    """
    return [(label, label) for label in _labels(documents, docs_dir)]


def _labels(documents: Sequence[DocumentInfo], docs_dir: Path) -> dict[str, str]:
    """Label -> key of every document."""
    docs = Path(docs_dir).resolve()
    labels: dict[str, str] = {}
    for d in documents:
        label = f"{d.source} (upload)" if Path(d.key).resolve().is_relative_to(docs) else d.source
        label = shown(label)
        n = 2
        unique = label
        while unique in labels:
            unique, n = f"{label} [{n}]", n + 1
        labels[unique] = d.key
    return labels


def public_message(message: str, assistant: Assistant) -> str:
    """``message`` without absolute server paths: the documents and index folders by name,
    any other path by its last component; control characters escaped."""
    settings = assistant.settings
    for folder, name in (
        (settings.docs_dir, "the documents folder"),
        (settings.index_dir, "the index folder"),
    ):
        resolved = str(Path(folder).resolve())
        message = message.replace(resolved + "/", "").replace(resolved, name)
        message = message.replace(str(folder), name)
    return shown(_ABSOLUTE_PATH.sub(lambda m: m.group(1), message))


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


def _guarded(action: Callable[[], str], assistant: Assistant) -> str:
    try:
        return action()
    except RagError as exc:
        message = public_message(str(exc), assistant)
        return render.index_report_html(None, headline=f"Nothing changed: {message}")
    except Exception as exc:  # noqa: BLE001 - show a message, keep the page working
        log.exception("document action failed")
        return render.index_report_html(
            None, headline=f"Something went wrong ({type(exc).__name__}); see the server log."
        )


def on_page(progress: Callable, start: float = 0.0) -> Callable[[Progress], None]:
    """An index run's meter drawn by the page's progress bar: files, chunks, chunks/s, time left.

    The meter is updated from the thread that writes batches; Gradio finds the page to update
    in context variables, so each update runs in a copy of this (the event's) context.
    """
    context = contextvars.copy_context()

    def update(meter: Progress) -> None:
        context.run(progress, start + (1 - start) * meter.fraction(), desc=meter.line())

    return update


def upload(
    assistant: Assistant,
    files: Sequence[str] | None,
    progress=gr.Progress(track_tqdm=True),  # noqa: B008 - Gradio's injection marker
    upload_folder: Path | None = None,
) -> tuple:
    """Save uploaded files into the documents folder and index them.

    Returns (report, documents, remove choices, examples, cleared upload box). Files the
    indexer skips (unreadable PDF, binary "text") are removed again so they do not linger.
    Only files inside Gradio's upload folder (``upload_folder``, default Gradio's) are taken.
    When another index run holds the index, the files are saved and queued: a background
    thread indexes them when it ends, and the report says so.
    """
    raw = [str(f) for f in files or []]
    folder = Path(upload_folder or get_upload_folder())

    def run() -> str:
        paths = uploaded_files(raw, folder)
        settings = assistant.settings
        progress(0, desc="Saving uploads")
        max_bytes = int(settings.ui.max_upload_mb * 1e6)
        result = save_uploads([(p.name, p) for p in paths], Path(settings.docs_dir), max_bytes)
        docs = Path(settings.docs_dir).resolve()
        todo = result.saved + [docs / name for name in result.already_present]
        if not todo:
            return render.index_report_html(None, result.rejected, "No file was added.")
        progress(0.1, desc="Indexing")
        try:
            report = assistant.library.add(todo, progress=on_page(progress, start=0.1))
        except IndexBusy:
            _index_when_free(assistant, todo, result.saved)
            names = ", ".join(shown(p.name) for p in todo)
            return render.index_report_html(
                None,
                result.rejected,
                f"Saved to the documents folder but not indexed yet: another `rag index` is "
                f"running. {names} will be indexed as soon as it ends; press Re-index to check.",
            )
        _drop_refused(report, result.saved)
        added = len(result.saved) - sum(1 for n, _ in report.skipped if n in _names(result.saved))
        headline = f"{added} file(s) added to the documents folder"
        if result.already_present:
            headline += f"; already there: {', '.join(map(shown, result.already_present))}"
        return render.index_report_html(report, result.rejected, headline)

    try:
        html = _guarded(run, assistant)
    finally:
        for path in raw:  # Gradio's temporary copy: the folder now holds the document
            with contextlib.suppress(UploadError):
                for copy in uploaded_files([path], folder):
                    copy.unlink(missing_ok=True)
    return (html, *library(assistant), None)


def _names(paths: Sequence[Path]) -> set[str]:
    return {p.name for p in paths}


def _drop_refused(report, saved: Sequence[Path]) -> None:
    """Delete saved uploads the indexer refused, so they do not linger in the folder."""
    refused = {name for name, _ in report.skipped}
    for path in saved:
        if path.name in refused:
            path.unlink(missing_ok=True)


def _index_when_free(assistant: Assistant, todo: list[Path], saved: list[Path]) -> None:
    """Index ``todo`` in a background thread as soon as the other index run has finished."""

    def work() -> None:
        deadline = time.monotonic() + QUEUE_WAIT_SECONDS
        while time.monotonic() < deadline:
            try:
                report = assistant.library.add([p for p in todo if p.exists()], progress=False)
            except IndexBusy:
                time.sleep(QUEUE_POLL_SECONDS)
                continue
            except Exception:  # noqa: BLE001 - a background thread has nowhere else to report
                log.exception("indexing queued uploads failed; Re-index to retry")
                return
            _drop_refused(report, saved)
            log.info("queued uploads indexed: %s", report.summary())
            return
        log.warning("queued uploads were not indexed within %.0f s; Re-index", QUEUE_WAIT_SECONDS)

    threading.Thread(target=work, name="queued-uploads", daemon=True).start()


def reindex(
    assistant: Assistant,
    progress=gr.Progress(track_tqdm=True),  # noqa: B008 - Gradio's injection marker
) -> tuple:
    """Bring the index in line with every registered source (new, changed and deleted files)."""

    def run() -> str:
        progress(0, desc="Indexing")
        report = assistant.library.sync(progress=on_page(progress))
        count = len(assistant.library.sources())
        return render.index_report_html(report, headline=f"Re-indexed {count} source(s)")

    return (_guarded(run, assistant), *library(assistant))


def cancel(assistant: Assistant) -> str:
    """Ask the running index run to stop after its current batch."""
    if assistant.library.cancel():
        headline = "Cancelling: the run stops after the current batch; what it indexed is kept."
    else:
        headline = "No index run is in progress."
    return render.index_report_html(None, headline=headline)


def remove(
    assistant: Assistant,
    key: str | None,
    progress=gr.Progress(track_tqdm=True),  # noqa: B008 - Gradio's injection marker
) -> tuple:
    """Take one document out of the index (the page asked for confirmation first).

    ``key`` is the document's label in the list (what a fresh API session can pass), its name
    when unambiguous, or its index key; anything else is refused, by name only.

    The file on disk is deleted only when the assistant stored it there as an upload; the
    report says which happened.
    """

    def run() -> str:
        documents = _documents(assistant)
        labels = _labels(documents, assistant.settings.docs_dir)
        by_source = {}
        for d in documents:  # a plain document name works when it is unambiguous
            by_source.setdefault(shown(d.source), []).append(d.key)
        given = str(key or "").strip()
        chosen = labels.get(given)
        if chosen is None and len(by_source.get(given, [])) == 1:
            chosen = by_source[given][0]
        if chosen is None and given in labels.values():  # an index key, as before
            chosen = given
        if chosen is None:
            name = shown(Path(given).name) or "nothing"
            return render.index_report_html(
                None, headline=f"Choose an indexed document first ({name} is not one)."
            )
        progress(0, desc="Removing")
        removal = assistant.library.remove(chosen)
        disk = (
            "the uploaded copy was deleted"
            if removal.file_deleted
            else "your file on disk was left untouched"
        )
        headline = f"Removed {shown(removal.source)} from the index; {disk}"
        return render.index_report_html(removal.report, headline=headline)

    return (_guarded(run, assistant), *library(assistant))

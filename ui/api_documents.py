"""The API's document endpoints: list, upload, remove, over the assistant's index.

Uploads are stored by the assistant in its own folder (``uploads_dir``), never among the
user's files; removing an upload deletes the stored copy and its chunks. The user's own files
are read-only to us: the API refuses to delete them (409) and says how to take them out.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from assistant import Assistant, DocumentInfo, Settings
from ui.openai_compat import RequestError
from ui.uploads import save_uploads


def uploads_dir(settings: Settings) -> Path:
    """Where API uploads are stored: ``uploads`` beside ``index_dir`` (one place to move)."""
    return Path(settings.index_dir).parent / "uploads"


def document_id(key: str) -> str:
    """A stable, URL-safe id for the document whose index key is ``key``."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def entry(d: DocumentInfo) -> dict[str, Any]:
    """One document as the API lists it."""
    return {"id": document_id(d.key), "object": "document", "source": d.source,
            "title": d.title, "chunks": d.chunks}  # fmt: skip


def add_uploads(assistant: Assistant, staged: list[tuple[str, Path]]) -> dict[str, Any]:
    """Store the uploaded files ``(name, temporary path)`` in ``uploads_dir`` and index them."""
    settings = assistant.settings
    folder = uploads_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    result = save_uploads(staged, folder, int(settings.server.max_upload_mb * 1e6))
    todo = result.saved + [folder.resolve() / name for name in result.already_present]
    report = assistant.index(todo, progress=False) if todo else None
    skipped = dict(report.skipped) if report else {}
    for path in result.saved:  # an upload the indexer cannot read does not linger
        if path.name in skipped:
            path.unlink(missing_ok=True)
    rejected = [{"name": n, "reason": r} for n, r in [*result.rejected, *skipped.items()]]
    stored = {str(p.resolve()) for p in result.saved}
    added = [entry(d) for d in assistant.documents() if str(Path(d.key).resolve()) in stored]
    return {"added": added, "already_present": list(result.already_present),
            "rejected": rejected, "summary": report.summary() if report else ""}  # fmt: skip


def remove(assistant: Assistant, doc_id: str) -> dict[str, Any]:
    """Remove the document ``doc_id``: an upload's stored copy goes with its chunks."""
    for document in assistant.documents():
        if document_id(document.key) != doc_id:
            continue
        folder = uploads_dir(assistant.settings).resolve()
        path = Path(document.key).resolve()
        if not path.is_relative_to(folder):
            raise RequestError(
                f"{document.source} is your own file ({document.key}), not an upload; the API "
                "never deletes it. Move it out of the indexed folder and run `rag index`",
                status=409,
                code="not_an_upload",
            )
        path.unlink(missing_ok=True)
        report = assistant.index([folder], progress=False)
        return {"removed": entry(document), "file_deleted": True, "summary": report.summary()}
    raise RequestError(f"no indexed document has id '{doc_id}'; GET /v1/documents lists them",
                       status=404, code="document_not_found")  # fmt: skip

"""The API's document endpoints: list, upload, remove, through the assistant's ``Library``.

Uploads are stored in the folder the assistant manages (``docs_dir``, by default
``<home>/uploads``). Removing takes a document out of the index and out of the next sync;
the file is deleted only when it is such an upload, never one of the user's own files.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from assistant import Assistant
from assistant.library import DocumentInfo
from ui.openai_compat import RequestError
from ui.uploads import save_uploads


def document_id(key: str) -> str:
    """A stable, URL-safe id for the document whose index key is ``key``."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def entry(d: DocumentInfo) -> dict[str, Any]:
    """One document as the API lists it."""
    return {"id": document_id(d.key), "object": "document", "source": d.source,
            "title": d.title, "chunks": d.chunks}  # fmt: skip


def add_uploads(assistant: Assistant, staged: list[tuple[str, Path]]) -> dict[str, Any]:
    """Store the uploaded files ``(name, temporary path)`` in ``docs_dir`` and index them."""
    settings = assistant.settings
    folder = Path(settings.docs_dir)
    folder.mkdir(parents=True, exist_ok=True)
    result = save_uploads(staged, folder, int(settings.server.max_upload_mb * 1e6))
    todo = result.saved + [folder.resolve() / name for name in result.already_present]
    report = assistant.library.add(todo, progress=False) if todo else None
    skipped = dict(report.skipped) if report else {}
    for path in result.saved:  # an upload the indexer cannot read does not linger
        if path.name in skipped:
            path.unlink(missing_ok=True)
    rejected = [{"name": n, "reason": r} for n, r in [*result.rejected, *skipped.items()]]
    stored = {str(p.resolve()) for p in result.saved}
    added = [
        entry(d) for d in assistant.library.documents() if str(Path(d.key).resolve()) in stored
    ]
    return {"added": added, "already_present": list(result.already_present),
            "rejected": rejected, "summary": report.summary() if report else ""}  # fmt: skip


def remove(assistant: Assistant, doc_id: str) -> dict[str, Any]:
    """Take the document ``doc_id`` out of the index (an upload's stored copy is deleted)."""
    for document in assistant.library.documents():
        if document_id(document.key) == doc_id:
            removal = assistant.library.remove(document.key, progress=False)
            return {"removed": entry(document), "file_deleted": removal.file_deleted,
                    "summary": removal.report.summary()}  # fmt: skip
    raise RequestError(f"no indexed document has id '{doc_id}'; GET /v1/documents lists them",
                       status=404, code="document_not_found")  # fmt: skip

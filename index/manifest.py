"""The manifest: which file versions the index holds, written atomically.

An entry is written only after its chunks are in the store. ``dirty`` is set before a run
changes the store and cleared when it completes, so a run after a crash knows to reconcile
the store with the manifest before trusting either. ``skipped`` remembers, by content hash,
files a loader refused, so an unchanged bad file is not parsed again on every run.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from index import disk

VERSION = 1


@dataclass
class FileEntry:
    """One indexed file: its content hash, display name and number of chunks."""

    content_hash: str
    source: str
    chunks: int


@dataclass
class SkippedEntry:
    """A file version a loader refused: its content hash and the reason shown to the user."""

    content_hash: str
    reason: str


@dataclass
class DuplicateEntry:
    """A file whose content is already indexed under another path (``of``): not embedded
    again, so two copies never fill two of the retrieved passages."""

    content_hash: str
    source: str
    of: str


@dataclass
class Manifest:
    """All indexed files by key (resolved path), plus the embedder and the dirty flag."""

    path: Path
    embedder: str = ""
    dirty: bool = False
    files: dict[str, FileEntry] = field(default_factory=dict)
    skipped: dict[str, SkippedEntry] = field(default_factory=dict)
    duplicates: dict[str, DuplicateEntry] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        """Read the manifest; a missing or unreadable one is empty and marked dirty if unreadable.

        An unreadable manifest cannot be trusted, so the store is reconciled against an empty
        one: everything is re-indexed, nothing is duplicated.
        """
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            files = {k: FileEntry(**v) for k, v in data["files"].items()}
            skipped = {k: SkippedEntry(**v) for k, v in data.get("skipped", {}).items()}
            copies = {k: DuplicateEntry(**v) for k, v in data.get("duplicates", {}).items()}
            return cls(
                path, data.get("embedder", ""), bool(data.get("dirty")), files, skipped, copies
            )
        except (OSError, ValueError, KeyError, TypeError):
            return cls(path, dirty=True)

    @staticmethod
    def recorded_embedder(path: Path) -> str:
        """The embedder name a manifest records; empty when there is none or it is unreadable."""
        try:
            return str(json.loads(path.read_text(encoding="utf-8")).get("embedder", ""))
        except (OSError, ValueError, AttributeError):
            return ""

    def save(self) -> None:
        """Write atomically: a crash leaves either the old or the new file, never half of one.

        A full disk or a read-only folder is a ``RagError`` naming the folder; the temporary
        file is removed again, so failed attempts leave nothing behind.
        """
        data = {
            "version": VERSION,
            "embedder": self.embedder,
            "dirty": self.dirty,
            "files": {k: asdict(v) for k, v in sorted(self.files.items())},
            "skipped": {k: asdict(v) for k, v in sorted(self.skipped.items())},
            "duplicates": {k: asdict(v) for k, v in sorted(self.duplicates.items())},
        }
        tmp = self.path.with_suffix(f".tmp-{os.getpid()}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as handle:
                json.dump(data, handle, ensure_ascii=False)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            error = disk.from_os_error(exc, self.path.parent)
            if error is None:
                raise
            raise error from None

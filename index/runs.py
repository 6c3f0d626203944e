"""What an indexing run did (``IndexReport``), its errors, and the lock that keeps one writer.

Kept apart from the pipeline so callers (the library, the UI, the API) import the records
without the machinery.
"""

from __future__ import annotations

import fcntl
from dataclasses import dataclass, field
from pathlib import Path

from index import disk
from index.errors import RagError


class PathNotFound(RagError):
    """A path given to the indexer does not exist."""

    exit_code = 2


class IndexBusy(RagError):
    """Another indexer holds the index's lock."""


@dataclass
class IndexReport:
    """What one indexing run did."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    unsupported: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (file, indexed copy)
    chunks_written: int = 0
    chunks_total: int = 0
    characters: int = 0
    seconds: float = 0.0
    cancelled: bool = False  # stopped early (Ctrl-C, Cancel): the next run finishes the work

    def summary(self) -> str:
        """One line: files added/changed/removed/skipped, chunks and seconds."""
        copies = f", {len(self.duplicates)} duplicate" if self.duplicates else ""
        return (
            f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed, "
            f"{self.unchanged} unchanged{copies}, {len(self.skipped)} skipped, "
            f"{len(self.unsupported)} unsupported; {self.chunks_written} chunks written, "
            f"{self.chunks_total} in the index; {self.seconds:.2f} s"
        )


class exclusive_lock:
    """An advisory lock so two indexers never write the same index at once."""

    def __init__(self, path: Path, wait: bool = False):
        self.path = path
        self.wait = wait

    def __enter__(self) -> None:
        try:
            self.handle = open(self.path, "a")  # noqa: SIM115 - held for the with block
        except OSError as exc:
            raise disk.from_os_error(exc, self.path.parent) or exc from None
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | (0 if self.wait else fcntl.LOCK_NB))
        except BlockingIOError:
            self.handle.close()
            raise IndexBusy(
                "another `rag index` is running on this index; wait for it to finish"
            ) from None

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()

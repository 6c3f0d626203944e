"""Errors of the disk under the index (full, read-only) as one-line ``RagError``s.

Chroma and SQLite report a full disk as "database or disk is full" or as a failed compaction,
and a read-only folder as "attempt to write a readonly database"; the user needs to hear
"the disk is full" or "the folder is read-only" and what to do about it.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from index.errors import RagError

FULL = {errno.ENOSPC, errno.EDQUOT}
READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}
# Below this much free space a failed store write is blamed on the disk.
LOW_SPACE_BYTES = 8 * 1024 * 1024
_FULL_WORDS = ("disk is full", "no space left", "database or disk is full", "enospc")
_READ_ONLY_WORDS = ("readonly database", "read-only file system", "read-only", "readonly")


class DiskFull(RagError):
    """No space left on the device that holds the index."""


class ReadOnlyIndex(RagError):
    """The index folder cannot be written (read-only mount or permissions)."""


def disk_full(where: Path | str) -> DiskFull:
    """The error for a full disk under ``where``."""
    return DiskFull(
        f"the disk holding {where} is full (no space left on device); free some space and "
        "run `rag index` again: what was already indexed is kept"
    )


def read_only(where: Path | str) -> ReadOnlyIndex:
    """The error for an index folder that cannot be written."""
    return ReadOnlyIndex(
        f"the index folder {where} is read-only; questions still work, but to index, make it "
        "writable or set index_dir (--index-dir) to a writable folder"
    )


def from_os_error(exc: OSError, where: Path | str) -> RagError | None:
    """``DiskFull`` or ``ReadOnlyIndex`` for ``exc`` when that is what it is, else None."""
    if exc.errno in FULL:
        return disk_full(where)
    if exc.errno in READ_ONLY:
        return read_only(where)
    return None


def from_store_error(exc: Exception, folder: Path | None) -> RagError | None:
    """The disk error behind a Chroma/SQLite failure in ``folder``, if the disk is to blame.

    Chroma's messages do not always name the cause ("Failed to apply logs to the metadata
    segment"), so a nearly full disk under ``folder`` is taken as the cause too.
    """
    if isinstance(exc, OSError):
        found = from_os_error(exc, folder or "the index")
        if found:
            return found
    if folder is None:
        return None
    message = str(exc).lower()
    if any(word in message for word in _FULL_WORDS) or _low_space(folder):
        return disk_full(folder)
    if any(word in message for word in _READ_ONLY_WORDS) or not writable(folder):
        return read_only(folder)
    return None


def writable(folder: Path) -> bool:
    """Whether files can be created in ``folder`` (its nearest existing parent if missing)."""
    probe = Path(folder)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not os.access(probe, os.W_OK):
        return False
    try:
        return not (os.statvfs(probe).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _low_space(folder: Path) -> bool:
    probe = Path(folder)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free < LOW_SPACE_BYTES
    except OSError:
        return False

"""Finding the files to index under the given roots, each with a key and a citation name.

A root is a folder (walked recursively, hidden files and folders skipped with a line saying
so) or a single file. Every file gets its key (the resolved path, the identity in the index)
and its ``source`` (the name citations show: the path relative to the root, made longer when
two roots hold the same name). Files that cannot be indexed are reported, never raised.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from index.loaders import loader_for


@dataclass(frozen=True)
class Candidate:
    """A file to index: where it is, its key in the index, the name citations show."""

    path: Path
    key: str
    source: str


def discover(
    roots: list[Path],
    max_file_bytes: int,
    skip: Callable[[str, str], None],
    unsupported: list[str],
    on_message: Callable[[str], None],
) -> dict[str, Candidate]:
    """The indexable files under ``roots`` by key; others go to ``skip(source, reason)`` or,
    for types no loader reads, to ``unsupported``."""
    found: dict[str, Candidate] = {}
    for root in roots:
        single = not root.is_dir()
        try:
            base = root.resolve(strict=not single)
        except (OSError, RuntimeError) as exc:
            skip(root.name, _resolve_failure(exc))
            continue
        hidden: list[Path] = []
        files = [root] if single else sorted(_walk(root, hidden.append))
        for path in hidden:
            kind = "folder" if path.is_dir() else "file"
            name = path.relative_to(root).as_posix() + ("/" if kind == "folder" else "")
            on_message(f"skipped {name}: hidden {kind} (its name starts with '.')")
        for path in files:
            source = path.name if single else path.relative_to(root).as_posix()
            try:
                reason = unusable(path, base, single, max_file_bytes)
                key = None if reason else str(path.resolve(strict=True))
            except (OSError, RuntimeError) as exc:  # loops, permissions, names too long
                reason = _resolve_failure(exc)
            if reason == "unsupported":
                unsupported.append(source)
                continue
            if reason or key is None:
                skip(source, reason or "cannot be resolved")
                continue
            found.setdefault(key, Candidate(path, key, source))
    return _distinct_sources(found)


def unusable(path: Path, base: Path, single_file: bool, max_file_bytes: int) -> str | None:
    """Why ``path`` cannot be indexed, or None; resolution errors are left to the caller."""
    if loader_for(path) is None:
        return "unsupported"
    if path.is_symlink():
        target = path.resolve()
        if not target.exists():
            return "broken symlink"
        if not single_file and not target.is_relative_to(base):
            return "symlink leading outside the folder"
    try:
        size = path.stat().st_size
    except OSError as exc:
        return _resolve_failure(exc)
    if size == 0:
        return "empty file"
    if size > max_file_bytes:
        limit = max_file_bytes / 1e6
        return f"{size / 1e6:.1f} MB is over the {limit:g} MB limit (indexing.max_file_mb)"
    if not os.access(path, os.R_OK):
        return "cannot read it (permission denied)"
    return None


def _walk(root: Path, on_hidden: Callable[[Path], None] = lambda _: None) -> Iterable[Path]:
    """Files below ``root``, skipping hidden files and folders (.git, .rag, ...).

    Each hidden file or folder skipped is passed to ``on_hidden`` (a folder once, not its files).
    """
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in [d for d in dirnames if d.startswith(".")]:
            on_hidden(Path(dirpath) / name)
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.startswith("."):
                on_hidden(Path(dirpath) / name)
            else:
                yield Path(dirpath) / name


def _distinct_sources(found: dict[str, Candidate]) -> dict[str, Candidate]:
    """Candidates whose citation names collide (two roots' ``notes.md``) get longer names.

    A colliding name becomes the path relative to the folder that holds all of them.
    """
    by_source: dict[str, list[str]] = {}
    for key, candidate in found.items():
        by_source.setdefault(candidate.source, []).append(key)
    for keys in by_source.values():
        if len(keys) < 2:
            continue
        base = Path(os.path.commonpath([str(Path(k).parent) for k in keys]))
        for key in keys:
            candidate = found[key]
            source = Path(key).relative_to(base).as_posix()
            found[key] = Candidate(candidate.path, key, source)
    return found


def _resolve_failure(exc: BaseException) -> str:
    """One line for an error resolving a path (pathlib raises RuntimeError for loops)."""
    if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP:
        return "symlink loop (a link that points back to itself)"
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot read it ({exc.strerror})"
    return f"cannot be resolved ({type(exc).__name__})"

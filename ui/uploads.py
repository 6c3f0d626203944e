"""Uploads into the documents folder: names sanitised, types and sizes checked, no escapes.

``sanitize_filename`` and ``plan_uploads`` are pure; ``save_uploads`` copies the files and
checks once more, on the resolved path, that each one lands directly in the folder. Only the
indexer's file types are accepted (``SUPPORTED_SUFFIXES``, taken from ``index.loaders.LOADERS``).

Only files really uploaded through the page are taken: ``UploadBox`` refuses a URL before
Gradio would download it (the server must never fetch anything on a client's behalf) and
``uploaded_files`` refuses any path outside Gradio's upload folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
from gradio_client import utils as client_utils

from assistant import SUPPORTED_SUFFIXES, RagError

# Longest file name most filesystems accept, in UTF-8 bytes.
MAX_NAME_BYTES = 255
_FORBIDDEN = re.compile(r'[<>:"|?*]')
_SPACES = re.compile(r"\s+")


class UploadError(RagError):
    """An uploaded file cannot be added (bad name, type or size)."""


def sanitize_filename(name: str) -> str:
    """A safe file name for ``name``: its last path component, cleaned.

    Drops any directory part (``/`` or ``\\``), control and formatting characters (NUL,
    right-to-left overrides), characters Windows forbids, leading dots (hidden files are
    not indexed) and trailing dots/spaces; normalises Unicode to NFC and caps the length at
    255 UTF-8 bytes, keeping the extension. Raises ``UploadError`` when nothing usable is left.
    """
    name = unicodedata.normalize("NFC", name.replace("\\", "/")).split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _SPACES.sub(" ", _FORBIDDEN.sub("_", name)).strip()
    name = name.lstrip(". ").rstrip(". ")
    if not name:
        raise UploadError("the uploaded file has no usable name; rename it and upload again")
    stem, suffix = _split(name)
    while len((stem + suffix).encode("utf-8")) > MAX_NAME_BYTES and stem:
        stem = stem[:-1]
    if not stem.strip(". "):
        raise UploadError(f"the uploaded file name {name[:80]!r} is too long; shorten it")
    return stem.rstrip(". ") + suffix


def _split(name: str) -> tuple[str, str]:
    dot = name.rfind(".")
    if dot <= 0 or len(name) - dot > 16:
        return name, ""
    return name[:dot], name[dot:]


def unique_name(name: str, taken: Collection[str]) -> str:
    """``name``, or ``"stem (2).ext"``, ``"stem (3).ext"``... if it is already taken.

    Names compare case-insensitively, as they would on macOS or Windows.
    """
    folded = {t.casefold() for t in taken}
    if name.casefold() not in folded:
        return name
    stem, suffix = _split(name)
    n = 2
    while f"{stem} ({n}){suffix}".casefold() in folded:
        n += 1
    return f"{stem} ({n}){suffix}"


def check_upload(name: str, size: int, max_bytes: int) -> str | None:
    """Why a file of this (sanitised) name and size cannot be uploaded, or None if it can."""
    if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        return f"unsupported file type; upload one of {' '.join(SUPPORTED_SUFFIXES)}"
    if size == 0:
        return "empty file"
    if size > max_bytes:
        return (
            f"{size / 1e6:.1f} MB is over the {max_bytes / 1e6:g} MB upload limit "
            "(ui.max_upload_mb)"
        )
    return None


@dataclass
class UploadPlan:
    """Which uploads go where: ``accepted`` holds (index into the uploads, target name)."""

    accepted: list[tuple[int, str]] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (original name, reason)


def plan_uploads(
    uploads: Sequence[tuple[str, int]], existing: Collection[str], max_bytes: int
) -> UploadPlan:
    """Decide a target name for each ``(original name, size)``, or why it is refused.

    ``existing`` are the names already in the documents folder; duplicates (in the folder or
    within this batch) get a numbered name instead of overwriting anything.
    """
    plan = UploadPlan()
    taken = set(existing)
    for i, (original, size) in enumerate(uploads):
        shown = original.replace("\x00", "") or "(no name)"
        try:
            name = sanitize_filename(original)
        except UploadError as exc:
            plan.rejected.append((shown, str(exc)))
            continue
        reason = check_upload(name, size, max_bytes)
        if reason:
            plan.rejected.append((shown, reason))
            continue
        name = unique_name(name, taken)
        taken.add(name)
        plan.accepted.append((i, name))
    return plan


@dataclass
class SavedUploads:
    """What ``save_uploads`` did: new files, files already present, refusals."""

    saved: list[Path] = field(default_factory=list)
    already_present: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)


def save_uploads(files: Sequence[tuple[str, Path]], docs_dir: Path, max_bytes: int) -> SavedUploads:
    """Copy ``(original name, temporary path)`` uploads into ``docs_dir``.

    A file whose name and content match one already in the folder is not copied again.
    Files are created exclusively (an existing file or symlink is never written through).
    """
    docs = Path(docs_dir)
    docs.mkdir(parents=True, exist_ok=True)
    docs = docs.resolve()
    result = SavedUploads()
    pending: list[tuple[str, Path]] = []
    for original, path in files:
        clean = _safe_or_none(original)
        target = docs / clean if clean else None
        if target and target.is_file() and _same_content(target, path):
            result.already_present.append(clean)
        else:
            pending.append((original, path))
    existing = set(os.listdir(docs))
    sizes = [(original, Path(path).stat().st_size) for original, path in pending]
    plan = plan_uploads(sizes, existing, max_bytes)
    result.rejected += plan.rejected
    for index, name in plan.accepted:
        original, source = pending[index]
        target = _create_exclusive(docs, name, source, existing)
        result.saved.append(target)
        existing.add(target.name)
    return result


def _safe_or_none(original: str) -> str | None:
    try:
        return sanitize_filename(original)
    except UploadError:
        return None


def _same_content(a: Path, b: Path) -> bool:
    if a.stat().st_size != Path(b).stat().st_size:
        return False
    return _digest(a) == _digest(Path(b))


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _create_exclusive(docs: Path, name: str, source: Path, taken: set[str]) -> Path:
    while True:
        target = docs / name
        if target.resolve().parent != docs:  # belt and braces: sanitize_filename prevents it
            raise UploadError(f"{name!r} would be saved outside the documents folder {docs}")
        try:
            out = open(target, "xb")  # noqa: SIM115 - closed below, removed if the copy fails
        except FileExistsError:  # created meanwhile by someone else: take the next name
            taken.add(name)
            name = unique_name(name, taken)
            continue
        try:
            with out, open(source, "rb") as src:
                for block in iter(lambda: src.read(1 << 20), b""):
                    out.write(block)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return target


def refuse_urls(box: gr.File) -> gr.File:
    """``box`` made to refuse URLs: a client may send ``{"path": "http://..."}`` as a file,
    which Gradio would download on the server before any handler runs.

    Gradio fetches every incoming file through the component's
    ``(async_)move_resource_to_block_cache``; those are wrapped on this instance (a subclass
    would make Gradio write a ``.pyi`` stub beside this module).
    """
    fetch_async = box.async_move_resource_to_block_cache
    fetch = box.move_resource_to_block_cache

    async def async_move_resource_to_block_cache(url_or_file_path):
        _refuse_urls(url_or_file_path)
        return await fetch_async(url_or_file_path)

    def move_resource_to_block_cache(url_or_file_path):
        _refuse_urls(url_or_file_path)
        return fetch(url_or_file_path)

    box.async_move_resource_to_block_cache = async_move_resource_to_block_cache
    box.move_resource_to_block_cache = move_resource_to_block_cache
    return box


def _refuse_urls(value: str | Path | None) -> None:
    if value is not None and client_utils.is_http_url_like(str(value)):
        raise gr.Error(NOT_AN_UPLOAD, print_exception=False)


NOT_AN_UPLOAD = (
    "Only files uploaded from this page can be added; URLs and server paths are refused."
)


def uploaded_files(paths: Sequence[str | Path], upload_folder: Path) -> list[Path]:
    """``paths`` if every one is a regular file inside Gradio's ``upload_folder``.

    Raises ``UploadError`` for a URL, a symlink or a path elsewhere on the server: the upload
    handler must only ever copy what a browser sent.
    """
    folder = Path(upload_folder).resolve()
    accepted: list[Path] = []
    for raw in paths:
        text = str(raw)
        if "://" in text or client_utils.is_http_url_like(text):
            raise UploadError(NOT_AN_UPLOAD)
        path = Path(text)
        if path.is_symlink() or not path.is_file() or not path.resolve().is_relative_to(folder):
            raise UploadError(NOT_AN_UPLOAD)
        accepted.append(path)
    return accepted

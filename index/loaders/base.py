"""What every loader shares: the skip exception, the zip-bomb guard, row grouping."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable

from index.documents import Section

SNIFF_BYTES = 8192
# Office files, EPUBs and ODTs are zips; a small file can hold gigabytes of XML (a zip bomb).
# Real documents' parts add up to a few MB; this is far above that and far below trouble.
MAX_UNZIPPED_BYTES = 100_000_000
# A section of rows or records is kept near one chunk's length so its location is exact.
SECTION_CHARS = 700


class SkipFile(Exception):
    """This file cannot be indexed; ``str(exc)`` says why and what to do."""


def check_zip(data: bytes, kind: str, limit: int = MAX_UNZIPPED_BYTES) -> None:
    """Raise ``SkipFile`` unless ``data`` is a zip whose parts unpack to at most ``limit`` bytes.

    Python's zipfile never yields more than a member's declared size, so the declared sizes in
    the central directory bound what any library reading the zip can unpack.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise SkipFile(f"corrupt or unreadable {kind} (not a valid zip: {exc})") from None
    if total > limit:
        raise SkipFile(
            f"{kind} unpacks to {total / 1e6:,.0f} MB, over the {limit / 1e6:g} MB limit for "
            "unpacked parts (a zip bomb?); not indexed"
        )


def clean_meta(value) -> str | None:
    """A metadata value as a stripped string, or None when empty."""
    text = str(value).strip() if value is not None else ""
    return text or None


def render_row(header: list[str], row: Iterable[object]) -> str:
    """One table row as ``"Header: value; Header: value."`` so it reads alone.

    The closing full stop makes each row its own sentence, so an answer quotes just that row.
    """
    cells = []
    for i, value in enumerate(row):
        text = " ".join(str(value).split()) if value is not None else ""
        if not text:
            continue
        name = header[i] if i < len(header) and header[i] else f"column {i + 1}"
        cells.append(f"{name}: {text}")
    line = "; ".join(cells)
    return line if not line or line.endswith((".", "!", "?")) else f"{line}."


def group_lines(
    lines: Iterable[tuple[int, str]], label: str, prefix: str = "", chars: int = SECTION_CHARS
) -> list[Section]:
    """Numbered lines grouped into sections of about ``chars`` characters.

    ``label`` names the numbers ("rows", "lines"); ``prefix`` goes before it ("sheet Sales, ").
    """
    sections: list[Section] = []
    batch: list[tuple[int, str]] = []

    def flush() -> None:
        if batch:
            first, last = batch[0][0], batch[-1][0]
            span = f"{first}" if first == last else f"{first}-{last}"
            singular = label[:-1] if first == last and label.endswith("s") else label
            text = "\n".join(line for _, line in batch)
            sections.append(Section(text, f"{prefix}{singular} {span}"))
            batch.clear()

    size = 0
    for number, line in lines:
        if not line.strip():
            continue
        if batch and size + len(line) > chars:
            flush()
            size = 0
        batch.append((number, line))
        size += len(line) + 1
    flush()
    return sections

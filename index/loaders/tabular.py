"""CSV and TSV (the stdlib csv module): rows under their header, in sections "rows a-b"."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from index.documents import LoadedDocument, from_sections
from index.loaders.base import SkipFile, group_lines, render_row
from index.loaders.text import decode_text


def load_csv(data: bytes, path: Path) -> LoadedDocument:
    """Comma- (or sniffed) separated values; the first row is the header."""
    return _load_table(data, path, None)


def load_tsv(data: bytes, path: Path) -> LoadedDocument:
    """Tab-separated values; the first row is the header."""
    return _load_table(data, path, "\t")


def _load_table(data: bytes, path: Path, delimiter: str | None) -> LoadedDocument:
    text = decode_text(data)
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        header: list[str] | None = None
        lines: list[tuple[int, str]] = []
        for row in reader:
            if header is None:
                if any(cell.strip() for cell in row):
                    header = [" ".join(cell.split()) for cell in row]
                continue
            lines.append((reader.line_num, render_row(header, row)))
    except csv.Error as exc:
        raise SkipFile(f"malformed {path.suffix.lstrip('.').upper()} ({exc})") from None
    if header is None:
        raise SkipFile("the table is empty")
    if not lines:  # only a header: index it as text
        lines = [(1, "; ".join(header))]
    return from_sections(group_lines(lines, "rows"), prose=False)

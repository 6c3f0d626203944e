"""One loader per file type, chosen by suffix from ``LOADERS``.

A loader turns a file's bytes into a ``LoadedDocument`` or raises ``SkipFile`` with a reason a
user can act on. Loaders never let a library exception escape for bad input.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

from index.documents import LoadedDocument

SNIFF_BYTES = 8192


class SkipFile(Exception):
    """This file cannot be indexed; ``str(exc)`` says why and what to do."""


def load_text(data: bytes, path: Path) -> LoadedDocument:
    """Plain text and Markdown: UTF-8 (with or without BOM) or UTF-16 with a BOM."""
    text = decode_text(data)
    title = None
    if path.suffix.lower() == ".md":
        heading = re.search(r"^#\s+(.+?)\s*#*\s*$", text, flags=re.MULTILINE)
        title = heading.group(1) if heading else None
    return LoadedDocument(text=text, title=title)


def decode_text(data: bytes) -> str:
    """Decode text bytes or raise ``SkipFile`` for binary or non-UTF-8 content."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise SkipFile(f"broken UTF-16 text at byte {exc.start}") from None
    if b"\x00" in data[:SNIFF_BYTES]:
        raise SkipFile("binary content (NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SkipFile(
            f"not UTF-8 text (undecodable byte at offset {exc.start}); save it as UTF-8"
        ) from None


def load_html(data: bytes, path: Path) -> LoadedDocument:
    """HTML: visible text of the page with scripts, styles, navigation and forms removed."""
    from bs4 import BeautifulSoup

    if b"\x00" in data[:SNIFF_BYTES]:
        raise SkipFile("binary content (NUL bytes), not HTML")
    try:
        soup = BeautifulSoup(data, "lxml")
    except Exception as exc:  # noqa: BLE001 - parser failures on garbage input vary
        raise SkipFile(f"unparseable HTML: {exc}") from None
    title = _first_text(soup.find("h1")) or _first_text(soup.find("title"))
    author = _meta(soup, "author")
    date = _meta(soup, "article:published_time") or _meta(soup, "date")
    for tag in soup(["script", "style", "noscript", "template", "nav", "header", "footer",
                     "aside", "form", "iframe", "svg", "button"]):  # fmt: skip
        tag.decompose()
    body = soup.body or soup
    text = body.get_text("\n", strip=True)
    return LoadedDocument(text=text, title=title, author=author, date=date)


def _first_text(tag) -> str | None:
    if tag is None:
        return None
    text = " ".join(tag.get_text(" ", strip=True).split())
    return text or None


def _meta(soup, name: str) -> str | None:
    tag = soup.find("meta", attrs={"name": name}) or soup.find("meta", attrs={"property": name})
    content = tag.get("content") if tag else None
    return content.strip() if isinstance(content, str) and content.strip() else None


def load_pdf(data: bytes, path: Path) -> LoadedDocument:
    """PDF: text of every page; encrypted, corrupt or image-only PDFs are skipped."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise SkipFile("encrypted PDF; save an unprotected copy to index it")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata or {}
    except SkipFile:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types for damaged files
        raise SkipFile(f"corrupt or unreadable PDF ({type(exc).__name__}: {exc})") from None
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text:
        raise SkipFile("PDF has no extractable text (scanned images?); run OCR on it first")
    return LoadedDocument(
        text=text,
        title=_clean_meta(info.get("/Title")),
        author=_clean_meta(info.get("/Author")),
        date=_clean_meta(info.get("/CreationDate")),
    )


def _clean_meta(value) -> str | None:
    text = str(value).strip() if value else ""
    return text or None


def load_docx(data: bytes, path: Path) -> LoadedDocument:
    """Word (.docx): paragraphs and table cells in document order, with core properties."""
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        paragraphs = [p.text for p in document.paragraphs]
        for table in document.tables:
            for row in table.rows:
                paragraphs.append(" | ".join(cell.text for cell in row.cells))
        props = document.core_properties
    except Exception as exc:  # noqa: BLE001 - python-docx/zipfile/lxml errors for damaged files
        raise SkipFile(f"corrupt or unreadable DOCX ({type(exc).__name__}: {exc})") from None
    created = props.created.date().isoformat() if props.created else None
    return LoadedDocument(
        text="\n\n".join(p for p in paragraphs if p.strip()),
        title=props.title or None,
        author=props.author or None,
        date=created,
    )


LOADERS: dict[str, Callable[[bytes, Path], LoadedDocument]] = {
    ".txt": load_text,
    ".md": load_text,
    ".markdown": load_text,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
}


def loader_for(path: Path) -> Callable[[bytes, Path], LoadedDocument] | None:
    """The loader for ``path``'s suffix, or None when the type is not supported."""
    return LOADERS.get(path.suffix.lower())

"""EPUB: one section per chapter in reading (spine) order, read with EbookLib.

A chapter's location is its title (the table of contents' label, else its first heading, else
"chapter N"); its XHTML goes through the HTML loader's visible-text extraction.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path, PurePosixPath

from index.documents import LoadedDocument, Section, from_sections
from index.loaders.base import SkipFile, check_zip, clean_meta
from index.loaders.html import parse_html, visible_text


def load_epub(data: bytes, path: Path) -> LoadedDocument:
    """EPUB 2/3 books: chapters with their titles, plus the book's title, author and date."""
    import ebooklib
    from ebooklib import epub

    check_zip(data, "EPUB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # EbookLib warns about options it will change
            book = epub.read_epub(io.BytesIO(data), options={"ignore_ncx": True})
        labels = _toc_labels(book.toc)
        sections: list[Section] = []
        for number, (item_id, _linear) in enumerate(book.spine, start=1):
            item = book.get_item_with_id(item_id)
            if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT:
                continue
            soup = parse_html(item.get_content())
            heading = soup.find(["h1", "h2", "h3", "title"])
            name = labels.get(PurePosixPath(item.get_name()).name) or (
                " ".join(heading.get_text(" ", strip=True).split()) if heading else ""
            )
            text = visible_text(soup)
            sections.append(Section(text, f"chapter {name[:80]}" if name else f"chapter {number}"))
        title, author, date = (_metadata(book, field) for field in ("title", "creator", "date"))
    except SkipFile:
        raise
    except Exception as exc:  # noqa: BLE001 - EbookLib/zipfile/lxml errors for damaged files
        raise SkipFile(f"corrupt or unreadable EPUB ({type(exc).__name__}: {exc})") from None
    if not any(s.text.strip() for s in sections):
        raise SkipFile("the EPUB has no chapter text")
    return from_sections(sections, title=title, author=author, date=date)


def _toc_labels(toc) -> dict[str, str]:
    """File name -> table-of-contents label, for every entry of the (nested) TOC."""
    labels: dict[str, str] = {}
    stack = list(toc) if isinstance(toc, list | tuple) else []
    while stack:
        entry = stack.pop()
        if isinstance(entry, list | tuple):
            stack.extend(entry)
            continue
        href, title = getattr(entry, "href", None), getattr(entry, "title", None)
        if href and title:
            labels.setdefault(PurePosixPath(href.split("#")[0]).name, " ".join(title.split()))
    return labels


def _metadata(book, field: str) -> str | None:
    values = book.get_metadata("DC", field)
    return clean_meta(values[0][0]) if values else None

"""One loader per file type, chosen by suffix from ``LOADERS``.

A loader turns a file's bytes into a ``LoadedDocument`` (its text in sections that say where
each part came from: page, slide, sheet and rows, message, chapter) or raises ``SkipFile`` with
a reason a user can act on. Loaders never let a library exception escape for bad input, and
import their libraries only when called, so importing this registry stays cheap.

Libraries: pypdf (+ tesseract for scans), python-docx, openpyxl, python-pptx, odfdo, striprtf,
EbookLib, BeautifulSoup/lxml, charset-normalizer, and the stdlib's csv, email, mailbox, json.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from index.documents import LoadedDocument
from index.loaders.base import MAX_UNZIPPED_BYTES, SkipFile, check_zip
from index.loaders.ebook import load_epub
from index.loaders.html import load_html
from index.loaders.mail import load_eml, load_mbox
from index.loaders.office import load_docx, load_odt, load_pptx, load_xlsx
from index.loaders.pdf import load_pdf
from index.loaders.structured import load_ipynb, load_json, load_jsonl
from index.loaders.tabular import load_csv, load_tsv
from index.loaders.text import decode_text, load_extensionless, load_rtf, load_text

Loader = Callable[[bytes, Path], LoadedDocument]

LOADERS: dict[str, Loader] = {
    **dict.fromkeys([".txt", ".md", ".markdown", ".rst", ".org", ".log", ".tex"], load_text),
    "": load_extensionless,
    ".rtf": load_rtf,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".xlsx": load_xlsx,
    ".pptx": load_pptx,
    ".odt": load_odt,
    ".csv": load_csv,
    ".tsv": load_tsv,
    ".eml": load_eml,
    ".mbox": load_mbox,
    ".epub": load_epub,
    ".json": load_json,
    ".jsonl": load_jsonl,
    ".ipynb": load_ipynb,
}
# What an upload may be: every suffix with a loader (an upload always has a suffix).
SUFFIXES: tuple[str, ...] = tuple(s for s in LOADERS if s)


def loader_for(path: Path) -> Loader | None:
    """The loader for ``path``'s suffix, or None when the type is not supported."""
    return LOADERS.get(path.suffix.lower())


__all__ = [
    "LOADERS",
    "MAX_UNZIPPED_BYTES",
    "SUFFIXES",
    "SkipFile",
    "check_zip",
    "decode_text",
    "load_csv",
    "load_docx",
    "load_eml",
    "load_epub",
    "load_extensionless",
    "load_html",
    "load_ipynb",
    "load_json",
    "load_jsonl",
    "load_mbox",
    "load_odt",
    "load_pdf",
    "load_pptx",
    "load_rtf",
    "load_text",
    "load_tsv",
    "load_xlsx",
    "loader_for",
]

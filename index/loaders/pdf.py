"""PDF: text per page (pypdf), and OCR of image-only pages with tesseract when it is installed.

OCR runs Debian's ``tesseract`` command on the images pypdf extracts from each page that has no
text layer; without tesseract an image-only PDF is skipped with a message saying how to get it.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path

from index.documents import LoadedDocument, Section, from_sections
from index.loaders.base import SkipFile, clean_meta

# One page's OCR is a few seconds; a hung tesseract must not hang the run.
OCR_SECONDS_PER_IMAGE = 120
# Scans bigger than this are not OCR'd (tesseract's memory grows with the pixel count).
MAX_OCR_PIXELS = 60_000_000


def load_pdf(data: bytes, path: Path) -> LoadedDocument:
    """PDF: one section per page ("p. N"); encrypted, corrupt or unreadable PDFs are skipped."""
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
    tesseract = shutil.which("tesseract")
    if tesseract is None and not any(p.strip() for p in pages):
        raise SkipFile(
            "PDF has no extractable text (scanned images?); install tesseract-ocr "
            "(apt-get install tesseract-ocr) to OCR it, or run OCR on it first"
        )
    if tesseract is not None:  # scanned pages, also between pages that have a text layer
        pages = [
            p if p.strip() else _ocr_page(reader.pages[i], tesseract) for i, p in enumerate(pages)
        ]
        if not any(p.strip() for p in pages):
            raise SkipFile("PDF has no extractable text and OCR found none in its images")
    sections = [
        Section(text.strip(), f"p. {number}", number)
        for number, text in enumerate(pages, start=1)
        if text.strip()
    ]
    return from_sections(
        sections,
        title=clean_meta(info.get("/Title")),
        author=clean_meta(info.get("/Author")),
        date=clean_meta(info.get("/CreationDate")),
    )


def _ocr_page(page, tesseract: str) -> str:
    """Text tesseract reads in the page's images ("" when it has none or OCR fails)."""
    texts: list[str] = []
    try:
        images = list(page.images)
    except Exception:  # noqa: BLE001 - a damaged image stream is a page without images
        return ""
    with tempfile.TemporaryDirectory(prefix="rag-ocr-") as folder:
        for n, image in enumerate(images):
            try:
                picture = image.image
                if picture is None or picture.width * picture.height > MAX_OCR_PIXELS:
                    continue
                target = Path(folder) / f"page-{n}.png"
                picture.save(target)
                done = subprocess.run(
                    [tesseract, str(target), "stdout"],
                    capture_output=True,
                    timeout=OCR_SECONDS_PER_IMAGE,
                    check=False,
                )
            except Exception:  # noqa: BLE001, S112 - undecodable image, or tesseract timed out
                continue
            if done.returncode == 0:
                texts.append(done.stdout.decode("utf-8", errors="replace"))
    return "\n".join(t.strip() for t in texts if t.strip())

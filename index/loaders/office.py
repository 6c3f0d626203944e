"""Office documents: Word (python-docx), Excel (openpyxl), PowerPoint (python-pptx), ODT (odfdo).

Each is a zip, checked against the unpacked-size limit before the library opens it.
"""

from __future__ import annotations

import io
from pathlib import Path

from index.documents import LoadedDocument, Section, from_sections
from index.loaders.base import SkipFile, check_zip, clean_meta, group_lines, render_row


def load_docx(data: bytes, path: Path) -> LoadedDocument:
    """Word (.docx): paragraphs and table cells in document order, with core properties."""
    import docx

    check_zip(data, "DOCX")
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


def load_xlsx(data: bytes, path: Path) -> LoadedDocument:
    """Excel (.xlsx): each sheet's rows under their header, in sections "sheet S, rows a-b".

    The first non-empty row of a sheet is its header; every later row is written as
    ``Header: value; ...`` so a chunk of rows reads alone. Formulas give their cached values.
    """
    import openpyxl

    check_zip(data, "XLSX")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sections = [s for sheet in book.worksheets for s in _sheet_sections(sheet)]
        props = book.properties
        book.close()
    except Exception as exc:  # noqa: BLE001 - openpyxl/zipfile/lxml errors for damaged files
        raise SkipFile(f"corrupt or unreadable XLSX ({type(exc).__name__}: {exc})") from None
    if not sections:
        raise SkipFile("the workbook's sheets are empty")
    return from_sections(
        sections,
        title=clean_meta(props.title),
        author=clean_meta(props.creator),
        date=props.created.date().isoformat() if props.created else None,
        prose=False,
    )


def _sheet_sections(sheet) -> list[Section]:
    header: list[str] | None = None
    lines: list[tuple[int, str]] = []
    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        if header is None:
            if any(v is not None and str(v).strip() for v in row):
                header = [" ".join(str(v).split()) if v is not None else "" for v in row]
            continue
        lines.append((number, render_row(header, row)))
    return group_lines(lines, "rows", prefix=f"sheet {sheet.title}, ")


def load_pptx(data: bytes, path: Path) -> LoadedDocument:
    """PowerPoint (.pptx): each slide's text, tables and speaker notes as "slide N"."""
    import pptx

    check_zip(data, "PPTX")
    try:
        deck = pptx.Presentation(io.BytesIO(data))
        sections = [
            Section(_slide_text(slide), f"slide {number}", number)
            for number, slide in enumerate(deck.slides, start=1)
        ]
        props = deck.core_properties
    except Exception as exc:  # noqa: BLE001 - python-pptx/zipfile/lxml errors for damaged files
        raise SkipFile(f"corrupt or unreadable PPTX ({type(exc).__name__}: {exc})") from None
    return from_sections(
        sections,
        title=clean_meta(props.title),
        author=clean_meta(props.author),
        date=props.created.date().isoformat() if props.created else None,
    )


def _slide_text(slide) -> str:
    parts: list[str] = []
    for shape in slide.shapes:
        if shape.has_text_frame:
            parts.extend(p.text for p in shape.text_frame.paragraphs)
        if getattr(shape, "has_table", False) and shape.has_table:
            for row in shape.table.rows:
                parts.append(" | ".join(cell.text for cell in row.cells))
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        notes = slide.notes_slide.notes_text_frame.text.strip()
        if notes:
            parts.append(f"Notes: {notes}")
    return "\n".join(p.strip() for p in parts if p.strip())


def load_odt(data: bytes, path: Path) -> LoadedDocument:
    """OpenDocument text (.odt), read by odfdo: the body text and the title and author."""
    from odfdo import Document

    check_zip(data, "ODT")
    try:
        document = Document(io.BytesIO(data))
        text = document.get_formatted_text()
        meta = document.meta
        title, author = meta.get_title(), meta.get_initial_creator() or meta.get_creator()
    except Exception as exc:  # noqa: BLE001 - odfdo/zipfile/lxml errors for damaged files
        raise SkipFile(f"corrupt or unreadable ODT ({type(exc).__name__}: {exc})") from None
    return LoadedDocument(text=text, title=clean_meta(title), author=clean_meta(author))

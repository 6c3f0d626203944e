"""Real small files of every supported type, written by each format's own library (or stdlib).

Each maker returns bytes. ``mixed_folder`` writes one file of each type, each with a planted
fact, and returns the questions that find them with where the answer must be cited.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path


def make_pdf(pages: list[list[str]], title: str = "Quarterly Report", author: str = "Ada") -> bytes:
    """A PDF with a text layer, one list of lines per page, written by reportlab."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(title)
    pdf.setAuthor(author)
    for lines in pages:
        y = 800
        for line in lines:
            pdf.drawString(72, y, line)
            y -= 18
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def make_scanned_pdf(text: str, text_page_first: str | None = None) -> bytes:
    """An image-only PDF: ``text`` rendered into a picture by Pillow, placed by reportlab.

    ``text_page_first`` puts a page with a text layer before the scanned one.
    """
    from PIL import Image, ImageDraw, ImageFont
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    image = Image.new("L", (1800, 200), 255)
    ImageDraw.Draw(image).text((40, 60), text, fill=0, font=ImageFont.load_default(size=56))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    if text_page_first:
        pdf.drawString(72, 800, text_page_first)
        pdf.showPage()
    pdf.drawImage(ImageReader(image), 20, 600, width=560, height=62)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def make_xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    """A workbook with one sheet per entry (rows of values), written by openpyxl."""
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def make_pptx(slides: list[tuple[str, str, str]]) -> bytes:
    """A deck of (title, body, notes) slides, written by python-pptx."""
    import pptx

    deck = pptx.Presentation()
    for title, body, notes in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def make_docx(paragraphs: list[str]) -> bytes:
    """A Word document of paragraphs, written by python-docx."""
    import docx

    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_odt(paragraphs: list[str]) -> bytes:
    """An OpenDocument text of paragraphs, written by odfdo."""
    from odfdo import Document, Paragraph

    document = Document("text")
    body = document.body
    for paragraph in paragraphs:
        body.append(Paragraph(paragraph))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_epub(chapters: list[tuple[str, str]], title: str = "Harbour Tales") -> bytes:
    """An EPUB 3 zip built here: mimetype, container, OPF spine, nav and XHTML chapters."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as book:
        book.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        book.writestr(
            "META-INF/container.xml",
            '<?xml version="1.0"?><container version="1.0" '
            'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
            '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
            "</rootfiles></container>",
        )
        items = "".join(
            f'<item id="c{i}" href="c{i}.xhtml" media-type="application/xhtml+xml"/>'
            for i in range(len(chapters))
        )
        spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(chapters)))
        book.writestr(
            "OEBPS/content.opf",
            '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" '
            'unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f'<dc:identifier id="id">urn:test:1</dc:identifier><dc:title>{title}</dc:title>'
            "<dc:creator>Edda Holm</dc:creator><dc:language>en</dc:language></metadata>"
            '<manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" '
            f'properties="nav"/>{items}</manifest><spine>{spine}</spine></package>',
        )
        links = "".join(
            f'<li><a href="c{i}.xhtml">{name}</a></li>' for i, (name, _) in enumerate(chapters)
        )
        book.writestr(
            "OEBPS/nav.xhtml", _xhtml("Contents", f'<nav epub:type="toc"><ol>{links}</ol></nav>')
        )
        for i, (name, text) in enumerate(chapters):
            book.writestr(f"OEBPS/c{i}.xhtml", _xhtml(name, f"<h1>{name}</h1><p>{text}</p>"))
    return buffer.getvalue()


def _xhtml(title: str, body: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml" '
        'xmlns:epub="http://www.idpf.org/2007/ops"><head><title>'
        f"{title}</title></head><body>{body}</body></html>"
    )


def make_email(subject: str, body: str, attachments: dict[str, bytes] | None = None) -> bytes:
    """An e-mail with optional attachments, written by the stdlib email package."""
    message = EmailMessage()
    message["From"] = "Lena Park <lena@example.org>"
    message["To"] = "team@example.org"
    message["Subject"] = subject
    message["Date"] = "Tue, 03 Mar 2026 09:15:00 +0000"
    message.set_content(body)
    for name, data in (attachments or {}).items():
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return bytes(message)


def make_mbox(messages: list[bytes]) -> bytes:
    """An mbox of the given messages (each under a ``From `` separator line)."""
    out = b""
    for message in messages:
        out += b"From lena@example.org Tue Mar  3 09:15:00 2026\n" + message.replace(b"\r\n", b"\n")
        out += b"\n"
    return out


def zip_bomb(valid: bytes, unpacked_mb: int = 120) -> bytes:
    """``valid`` (a zip-based document) plus one member of ``unpacked_mb`` MB of zeros."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(valid)) as source,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out,
    ):
        for info in source.infolist():
            out.writestr(info, source.read(info))
        with out.open("padding.xml", "w") as member:
            block = b"\0" * 1_000_000
            for _ in range(unpacked_mb):
                member.write(block)
    return buffer.getvalue()


@dataclass(frozen=True)
class Planted:
    """A question, a phrase its answer must quote, and the file and location it must cite."""

    question: str
    phrase: str
    source: str
    location: str | None


def mixed_folder(folder: Path) -> list[Planted]:
    """One file of every supported type in ``folder``, each holding one planted fact."""
    files: dict[str, bytes] = {
        "report.pdf": make_pdf(
            [
                ["Quarterly summary of the wind programme."],
                ["The Osprey turbine was certified in Tromso on 4 March."],
                ["Appendix: maintenance schedule for the coastal sites."],
            ]
        ),
        "sales.xlsx": make_xlsx(
            {
                "Summary": [["Quarter", "Note"], ["Q1", "Stable demand for stationery."]],
                "Sales": [
                    ["Product", "Region", "Revenue"],
                    ["Inkwell pens", "North", 12000],
                    ["Quillfeather notebooks", "Lisbon", 48250],
                    ["Paper clips", "South", 3100],
                ],
            }
        ),
        "deck.pptx": make_pptx(
            [
                ("Roadmap", "Our plans for the year.", ""),
                ("Budget", "Spending stays flat.", ""),
                (
                    "Larkspur",
                    "The Larkspur launch moves to October.",
                    "Marisol Ventura owns the Larkspur launch checklist.",
                ),
            ]
        ),  # fmt: skip
        "letter.docx": make_docx(["The Wren bridge repair will cost 2.4 million kroner."]),
        "minutes.odt": make_odt(["The Pelican ferry timetable changes on 1 June."]),
        "book.epub": make_epub(
            [
                ("The Harbour", "Boats came home at dusk."),
                ("The Lighthouse", "The lighthouse keeper Anselm Brandt painted the lamp green."),
            ]
        ),
        "budget.eml": make_email(
            "Kestrel budget",
            "The Kestrel budget was approved at 310,000 euros.",
            {"review.txt": b"Tobias Lindqvist chaired the Kestrel design review."},
        ),
        "inbox.mbox": make_mbox(
            [
                make_email("Lunch", "Lunch is at noon on Thursday."),
                make_email("Heron migration", "The Heron server migration finished in March 2026."),
            ]
        ),
        "crew.csv": b"Name,City,Role\nOla Berg,Oslo,cook\nIngrid Solberg,Bergen,harbour pilot\n",
        "stock.tsv": b"Item\tShelf\tCount\nlantern\tB4\t17\ncompass\tC9\t230 brass compasses\n",
        "facts.json": json.dumps(
            {"project": {"name": "Bluefin", "notes": ["The Bluefin prototype weighs 14 kg."]}}
        ).encode(),
        "events.jsonl": b'{"event": "start"}\n'
        b'{"event": "The Gannet sensor went offline in May 2025."}\n',
        "analysis.ipynb": json.dumps(
            {
                "cells": [
                    {"cell_type": "code", "source": ["import math\n"], "metadata": {}},
                    {"cell_type": "markdown", "source": ["The Sparrow model reached 91% recall."]},
                ],
                "metadata": {},
                "nbformat": 4,
                "nbformat_minor": 5,
            }
        ).encode(),
        "guide.rst": b"Guide\n=====\n\nThe Plover archive is kept in Trondheim.\n",
        "diary.org": b"#+TITLE: Diary\n* Monday\nThe Curlew garden needs new fences.\n",
        "server.log": b"2026-03-01 INFO The Tern backup completed in 42 minutes.\n",
        "paper.tex": b"\\title{Notes}\n\\begin{document}The Avocet algorithm sorts in linear time."
        b"\n\\end{document}\n",
        "README": b"The Dunlin toolkit was written by Signe Haugen.\n",
        "legacy.txt": (
            "The caf\u00e9 \u201cPuffin\u201d in Lyon serves cr\u00eapes for 7 euros \u2014 "
            "every Tuesday."
        ).encode("cp1252"),
        "memo.rtf": rb"{\rtf1\ansi{\fonttbl\f0\fswiss Helvetica;}\f0 The Shearwater depot is"
        rb" painted dark blue.\par}",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return [
        Planted("Where was the Osprey turbine certified?", "Tromso", "report.pdf", "p. 2"),
        Planted(
            "What revenue did Quillfeather notebooks make?",
            "48250",
            "sales.xlsx",
            "sheet Sales, rows 2-4",
        ),  # fmt: skip
        Planted(
            "Who owns the Larkspur launch checklist?", "Marisol Ventura", "deck.pptx", "slide 3"
        ),  # fmt: skip
        Planted("How much will the Wren bridge repair cost?", "2.4 million", "letter.docx", None),
        Planted("When does the Pelican ferry timetable change?", "1 June", "minutes.odt", None),
        Planted(
            "Who painted the lamp of the lighthouse?",
            "Anselm Brandt",
            "book.epub",
            "chapter The Lighthouse",
        ),  # fmt: skip
        Planted(
            "At what amount was the Kestrel budget approved?",
            "310,000",
            "budget.eml",
            "e-mail Kestrel budget (Tue, 03 Mar 2026 09:15:00 +0000)",
        ),  # fmt: skip
        Planted(
            "Who chaired the Kestrel design review?",
            "Tobias Lindqvist",
            "budget.eml",
            "e-mail Kestrel budget (Tue, 03 Mar 2026 09:15:00 +0000), attachment review.txt",
        ),  # fmt: skip
        Planted(
            "When did the Heron server migration finish?",
            "March 2026",
            "inbox.mbox",
            "message 2: Heron migration (Tue, 03 Mar 2026 09:15:00 +0000)",
        ),  # fmt: skip
        Planted("What is Ingrid Solberg's role?", "harbour pilot", "crew.csv", "rows 2-3"),
        Planted("How many brass compasses are there?", "230 brass", "stock.tsv", "rows 2-3"),
        Planted("How much does the Bluefin prototype weigh?", "14 kg", "facts.json", None),
        Planted("When did the Gannet sensor go offline?", "May 2025", "events.jsonl", "lines 1-2"),
        Planted("What recall did the Sparrow model reach?", "91%", "analysis.ipynb", "cell 2"),
        Planted("Where is the Plover archive kept?", "Trondheim", "guide.rst", None),
        Planted("What does the Curlew garden need?", "fences", "diary.org", None),
        Planted("How long did the Tern backup take?", "42 minutes", "server.log", None),
        Planted("How fast does the Avocet algorithm sort?", "linear time", "paper.tex", None),
        Planted("Who wrote the Dunlin toolkit?", "Signe Haugen", "README", None),
        Planted("What does the café Puffin in Lyon serve?", "crêpes", "legacy.txt", None),
        Planted("What colour is the Shearwater depot painted?", "dark blue", "memo.rtf", None),
    ]

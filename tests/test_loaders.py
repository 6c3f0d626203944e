"""Every loader on real small files made here, and bad input that must be skipped, not crash."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.loaders import LOADERS, SkipFile, load_docx, load_html, load_pdf, load_text, loader_for


def make_pdf(text_lines: list[str], title: str = "Quarterly Report", author: str = "Ada") -> bytes:
    """A real PDF with a text layer, written by reportlab."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(title)
    pdf.setAuthor(author)
    y = 800
    for line in text_lines:
        pdf.drawString(72, y, line)
        y -= 18
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def make_docx(paragraphs: list[str], title: str = "Team Notes", author: str = "Grace") -> bytes:
    """A real DOCX with a table, written by python-docx."""
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.author = author
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Budget"
    table.rows[0].cells[1].text = "42 million"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_every_supported_suffix_has_a_loader():
    for suffix in [".txt", ".md", ".html", ".htm", ".pdf", ".docx"]:
        assert loader_for(Path("x" + suffix.upper())) is LOADERS[suffix]
    assert loader_for(Path("x.exe")) is None


def test_text_and_markdown():
    doc = load_text(b"Plain text\nsecond line", Path("a.txt"))
    assert doc.text == "Plain text\nsecond line"
    md = load_text("# The Title\n\nBody text.".encode("utf-8-sig"), Path("a.md"))
    assert md.title == "The Title"
    assert md.text.startswith("# The Title")
    utf16 = load_text("Unicode ünïcödé 中文".encode("utf-16"), Path("u.txt"))
    assert utf16.text == "Unicode ünïcödé 中文"


def test_text_rejects_binary_and_undecodable_bytes():
    with pytest.raises(SkipFile, match="binary"):
        load_text(b"\x00\x01\x02PNG", Path("b.txt"))
    with pytest.raises(SkipFile, match="not UTF-8.*offset 3"):
        load_text(b"abc\xff\xfe tail", Path("c.txt"))


def test_html_drops_scripts_navigation_and_keeps_article():
    html = b"""<html><head><title>Page T</title><meta name="author" content="Lin Wei">
    <script>var tracking = 1;</script><style>p{}</style></head>
    <body><nav>Home | About | Login</nav><h1>Real Headline</h1>
    <p>The article's first sentence.</p><footer>Copyright 2025</footer></body></html>"""
    doc = load_html(html, Path("p.html"))
    assert doc.title == "Real Headline"
    assert doc.author == "Lin Wei"
    assert "The article's first sentence." in doc.text
    for gone in ["tracking", "Home | About", "Copyright 2025", "p{}"]:
        assert gone not in doc.text


def test_pdf_text_and_metadata():
    data = make_pdf(["DeepSeek opened an office in Hangzhou.", "It hired 40 engineers."])
    doc = load_pdf(data, Path("r.pdf"))
    assert "DeepSeek opened an office in Hangzhou." in doc.text
    assert "It hired 40 engineers." in doc.text
    assert doc.title == "Quarterly Report"
    assert doc.author == "Ada"


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.9])
def test_truncated_pdf_is_skipped_with_reason(cut):
    data = make_pdf(["Some text."])
    with pytest.raises(SkipFile, match="PDF"):
        load_pdf(data[: int(len(data) * cut)], Path("t.pdf"))


def test_pdf_without_text_layer_is_skipped():
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.rect(10, 10, 100, 100)
    pdf.showPage()
    pdf.save()
    with pytest.raises(SkipFile, match="no extractable text"):
        load_pdf(buffer.getvalue(), Path("scan.pdf"))


def test_docx_paragraphs_tables_and_properties():
    doc = load_docx(make_docx(["First paragraph.", "Second paragraph."]), Path("n.docx"))
    assert "First paragraph.\n\nSecond paragraph." in doc.text
    assert "Budget | 42 million" in doc.text
    assert doc.title == "Team Notes"
    assert doc.author == "Grace"


def test_truncated_docx_is_skipped_with_reason():
    data = make_docx(["Hello."])
    with pytest.raises(SkipFile, match="DOCX"):
        load_docx(data[: len(data) // 2], Path("t.docx"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=4096), suffix=st.sampled_from(sorted(LOADERS)))
def test_random_bytes_never_escape_as_anything_but_skipfile(data, suffix):
    loader = LOADERS[suffix]
    try:
        doc = loader(data, Path("f" + suffix))
    except SkipFile as exc:
        assert str(exc)
    else:
        assert isinstance(doc.text, str)


@settings(max_examples=30, deadline=None)
@given(st.recursive(st.text(max_size=20), lambda inner: st.lists(inner, max_size=4), max_leaves=40))
def test_broken_and_nested_html_is_handled(tree):
    def render(node) -> str:
        if isinstance(node, str):
            return node.replace("<", "&lt;")
        return "<div><p>" + "".join(render(child) for child in node)  # never closed

    markup = ("<html><body>" + render(tree) * 3).encode()
    if b"\x00" in markup:  # NUL bytes mean a binary file: skipped, with the reason
        with pytest.raises(SkipFile, match="NUL"):
            load_html(markup, Path("broken.html"))
        return
    doc = load_html(markup, Path("broken.html"))
    assert isinstance(doc.text, str)


def test_deeply_nested_html():
    markup = ("<div>" * 3000 + "deep text" + "</div>" * 10).encode()
    try:
        doc = load_html(markup, Path("deep.html"))
    except SkipFile:
        return
    assert "deep text" in doc.text

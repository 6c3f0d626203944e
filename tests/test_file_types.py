"""Every file type on real files: indexed, its planted fact answered and cited with its place."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from file_makers import (
    make_docx,
    make_epub,
    make_odt,
    make_pdf,
    make_pptx,
    make_scanned_pdf,
    make_xlsx,
    mixed_folder,
    zip_bomb,
)

from assistant import Assistant
from assistant.cli import main
from assistant.wiring import build_indexer
from index.loaders import LOADERS, SkipFile, load_pdf


def _index(settings, embedder, paths, messages=None):
    indexer = build_indexer(
        settings,
        embedder=embedder,
        on_message=(messages if messages is not None else []).append,
        progress=False,
    )
    return indexer.run(paths)


@pytest.fixture(scope="module")
def mixed_index(tmp_path_factory, embedder):
    """A folder with one file of each type, indexed once: (assistant, planted facts, report)."""
    from assistant.settings import load_settings

    base = tmp_path_factory.mktemp("mixed")
    docs = base / "docs"
    docs.mkdir()
    planted = mixed_folder(docs)
    settings = load_settings(
        overrides={
            "docs_dir": str(docs),
            "index_dir": str(base / "index"),
            "generator.name": "extractive",
        },
        environ={},
    )
    report = _index(settings, embedder, [docs])
    return Assistant.from_settings(settings, embedder=embedder), planted, report


def test_every_type_in_the_mixed_folder_is_indexed(mixed_index):
    _, planted, report = mixed_index
    assert report.skipped == [] and report.unsupported == []
    assert sorted(report.added) == sorted({p.source for p in planted})
    suffixes = {Path(p.source).suffix for p in planted}
    assert suffixes == set(LOADERS) - {".txt", ".md", ".markdown", ".html", ".htm"} | {".txt"}


@pytest.mark.parametrize("index", range(21))
def test_planted_fact_is_answered_and_cited_with_its_location(mixed_index, index):
    assistant, planted, _ = mixed_index
    fact = planted[index]
    answer = assistant.ask(fact.question)
    assert answer.grounded, (fact, answer.text)
    assert fact.phrase in answer.text, (fact, answer.text)
    cited = [c for c in answer.citations if fact.phrase in c.quote]
    assert cited, answer.citations
    assert cited[0].source == fact.source
    assert cited[0].location == fact.location
    shown = f"{fact.source}, {fact.location}" if fact.location else fact.source
    assert cited[0].cited_as == shown
    as_json = answer.to_dict()["citations"][0]
    assert {"location", "page"} <= set(as_json)


def test_pdf_page_is_in_chunk_metadata_and_in_rag_ask(mixed_index, capsys):
    assistant, _, _ = mixed_index
    settings = assistant.settings
    answer = assistant.ask("Where was the Osprey turbine certified?")
    pdf = next(c for c in answer.citations if c.source == "report.pdf")
    assert pdf.page == 2 and pdf.location == "p. 2"
    retrieved = next(r for r in answer.retrieved if r.source == "report.pdf")
    assert retrieved.to_dict()["location"] in ("p. 1", "p. 2", "p. 3")
    code = main(
        ["ask", "Where was the Osprey turbine certified?", "--generator", "extractive",
         "--index-dir", str(settings.index_dir), "--docs-dir", str(settings.docs_dir)]
    )  # fmt: skip
    assert code == 0
    assert "report.pdf, p. 2" in capsys.readouterr().out


def test_chunks_never_straddle_two_pages(fresh_settings, embedder):
    docs = Path(fresh_settings.docs_dir)
    pages = [
        [f"Page {n} sentence {i} about the harbour works." for i in range(30)] for n in range(4)
    ]
    (docs / "long.pdf").write_bytes(make_pdf(pages))
    _index(fresh_settings, embedder, [docs])
    from assistant.wiring import build_store

    store = build_store(fresh_settings)
    store.open(embedder.name, embedder.dimension, create=False)
    chunks = list(store.iter_chunks())
    assert {c.page for c in chunks} == {1, 2, 3, 4}
    for chunk in chunks:
        page = chunk.page
        assert chunk.location == f"p. {page}"
        assert f"Page {page - 1} " in chunk.text  # reportlab pages are numbered from 0 here
        assert all(f"Page {n} " not in chunk.text for n in range(4) if n != page - 1)


def test_same_named_files_in_two_folders_are_told_apart(fresh_settings, embedder):
    root = Path(fresh_settings.docs_dir)
    for folder, fact in [("alpha", "The Alpha vault code is 1234."),
                         ("beta", "The Beta vault code is 9876.")]:  # fmt: skip
        (root / folder).mkdir()
        (root / folder / "notes.md").write_text(f"# Notes\n\n{fact}\n")
    report = _index(fresh_settings, embedder, [root / "alpha", root / "beta"])
    assert sorted(report.added) == ["alpha/notes.md", "beta/notes.md"]
    assistant = Assistant.from_settings(fresh_settings, embedder=embedder)
    answer = assistant.ask("What is the Beta vault code?")
    assert "9876" in answer.text
    assert [c.source for c in answer.citations if "9876" in c.quote] == ["beta/notes.md"]


def test_hidden_files_are_named_with_the_reason(fresh_settings, embedder):
    docs = Path(fresh_settings.docs_dir)
    (docs / "seen.txt").write_text("Visible words.")
    (docs / ".secret.txt").write_text("Hidden words.")
    (docs / ".obsidian").mkdir()
    (docs / ".obsidian" / "config.txt").write_text("Hidden folder.")
    messages: list[str] = []
    _index(fresh_settings, embedder, [docs], messages)
    assert "skipped .secret.txt: hidden file (its name starts with '.')" in messages
    assert "skipped .obsidian/: hidden folder (its name starts with '.')" in messages


def test_every_unsupported_file_is_listed_in_a_log_when_many(fresh_settings, capsys):
    docs = Path(fresh_settings.docs_dir)
    names = [f"image{i:02d}.png" for i in range(30)]
    for name in names:
        (docs / name).write_bytes(b"\x89PNG")
    args = ["index", str(docs), "--index-dir", str(fresh_settings.index_dir)]
    assert main(args) == 0
    err = capsys.readouterr().err
    log = Path(fresh_settings.index_dir) / "unsupported-files.log"
    assert f"skipped 30 file(s) of unsupported type, all listed in {log}" in err
    assert log.read_text().split() == names


def test_cp1252_text_is_decoded_not_refused():
    from index.loaders import load_text

    data = "Cr\u00e8me br\u00fbl\u00e9e \u2014 \u201cthe best\u201d in Lyon, \u00a37.".encode(
        "cp1252"
    )
    doc = load_text(data, Path("menu.txt"))
    assert doc.text == "Cr\u00e8me br\u00fbl\u00e9e \u2014 \u201cthe best\u201d in Lyon, \u00a37."


@pytest.mark.skipif(not shutil.which("tesseract"), reason="tesseract-ocr is not installed "
                    "(make test-tools installs it)")  # fmt: skip
def test_scanned_pdf_is_read_by_ocr():
    doc = load_pdf(make_scanned_pdf("Cormorant Shipping paid invoice 4471"), Path("scan.pdf"))
    assert "Cormorant Shipping" in doc.text and "4471" in doc.text
    assert [s.location for s in doc.sections] == ["p. 1"]


@pytest.mark.skipif(not shutil.which("tesseract"), reason="tesseract-ocr is not installed")
def test_a_scanned_page_between_text_pages_is_read_by_ocr():
    data = make_scanned_pdf("Invoice 5120 went to Razorbill Ltd", "A typed cover page.")
    doc = load_pdf(data, Path("mixed.pdf"))
    assert [(s.location, s.page) for s in doc.sections] == [("p. 1", 1), ("p. 2", 2)]
    assert "A typed cover page." in doc.sections[0].text
    assert "Razorbill" in doc.sections[1].text


def test_scanned_pdf_without_tesseract_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SkipFile, match="install tesseract-ocr"):
        load_pdf(make_scanned_pdf("Cormorant Shipping"), Path("scan.pdf"))


BOMBS = {
    "bomb.docx": lambda: make_docx(["Fine paragraph."]),
    "bomb.xlsx": lambda: make_xlsx({"S": [["a"], ["b"]]}),
    "bomb.pptx": lambda: make_pptx([("T", "Body", "")]),
    "bomb.epub": lambda: make_epub([("One", "Text.")]),
    "bomb.odt": lambda: make_odt(["Fine paragraph."]),
}


def test_zip_bombs_are_refused_one_line_each_and_the_run_completes(fresh_settings, embedder):
    docs = Path(fresh_settings.docs_dir)
    (docs / "good.txt").write_text("The Albatross survey counted 88 nests.")
    for name, make in BOMBS.items():
        (docs / name).write_bytes(zip_bomb(make()))
        assert (docs / name).stat().st_size < 2_000_000  # small on disk, 120 MB unpacked
    messages: list[str] = []
    report = _index(fresh_settings, embedder, [docs], messages)
    assert report.added == ["good.txt"]
    reasons = dict(report.skipped)
    assert sorted(reasons) == sorted(BOMBS)
    for name in BOMBS:
        assert "over the 100 MB limit for unpacked parts (a zip bomb?)" in reasons[name]
        assert sum(1 for m in messages if m.startswith(f"skipped {name}:")) == 1


def test_the_http_api_gives_the_page_and_location():
    from assistant.types import Citation
    from ui.openai_compat import citation_entry

    cited = Citation(1, "c#0", "report.pdf", None, "Signed.", 10, 17, location="p. 42", page=42)
    entry = citation_entry(cited, None)
    assert entry["page"] == 42 and entry["location"] == "p. 42" and entry["source"] == "report.pdf"

"""The library: registered sources, re-syncs, and removal that never touches the user's files.

These run on the reference pair (the in-memory store and the hashing embedder, through the
real wiring), so they test the library's rules, not the model.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import SEEDS

from assistant.settings import load_settings
from assistant.wiring import build
from index.errors import RagError

SEED_FILES = sorted(SEEDS.glob("*.txt"))


@pytest.fixture
def wired(tmp_path: Path):
    settings = load_settings(
        overrides={
            "home": str(tmp_path / "home"),
            "chroma.mode": "memory",
            "embedder.backend": "hashing",
            "generator.name": "extractive",
        },
        environ={},
    )
    return build(settings)


def user_folder(tmp_path: Path, count: int = 2) -> Path:
    folder = tmp_path / "my-notes"
    folder.mkdir()
    for seed in SEED_FILES[:count]:
        shutil.copy(seed, folder / seed.name)
    return folder


def names(library) -> list[str]:
    return [d.source for d in library.documents()]


def test_removing_a_document_keeps_the_file_and_keeps_it_out_after_a_resync(wired, tmp_path):
    library = wired.library
    folder = user_folder(tmp_path)
    library.add([folder])
    first, second = (folder / p.name for p in SEED_FILES[:2])
    assert names(library) == [first.name, second.name]

    removal = library.remove(str(first.resolve()))
    assert not removal.file_deleted and removal.source == first.name
    assert first.read_bytes() == SEED_FILES[0].read_bytes()  # the user's file is untouched
    assert names(library) == [second.name]
    library.sync()
    assert names(library) == [second.name]  # the re-sync does not bring it back
    assert library.sources() == [str(folder.absolute())]


def test_removing_through_the_ui_handler_keeps_the_users_file(wired, tmp_path):
    from ui import documents

    folder = user_folder(tmp_path)
    wired.library.add([folder])
    target = folder / SEED_FILES[0].name
    report, *_ = documents.remove(
        wired.assistant, str(target.resolve()), progress=lambda *a, **k: None
    )
    assert "left untouched" in report
    assert target.is_file()
    wired.library.sync()
    assert target.name not in names(wired.library)


def test_an_upload_is_stored_in_the_data_home_and_deleted_on_removal(wired, tmp_path):
    library = wired.library
    uploads = Path(wired.assistant.settings.docs_dir)
    assert uploads == tmp_path / "home" / "uploads"
    uploads.mkdir(parents=True)
    stored = uploads / "note.txt"
    stored.write_text("The Zorblax project is led by Quentin Marlowe.\n", encoding="utf-8")
    library.add([stored])
    assert library.sources() == [str(uploads)]  # the uploads folder is a source of its own
    removal = library.remove(str(stored.resolve()))
    assert removal.file_deleted and not stored.exists()
    assert names(library) == []


def test_bare_sync_and_rebuild_use_exactly_the_registered_sources(wired, tmp_path):
    library = wired.library
    with pytest.raises(RagError, match="no sources registered"):
        library.sync()
    folder = user_folder(tmp_path, 3)
    library.add([folder])
    rebuilt = library.sync(rebuild=True)
    assert len(rebuilt.added) == 3 and names(library) == [p.name for p in SEED_FILES[:3]]
    forgotten = library.forget_source(folder)
    assert len(forgotten.removed) == 3 and names(library) == [] and library.sources() == []
    assert all((folder / p.name).is_file() for p in SEED_FILES[:3])


def test_a_missing_source_is_reported_and_its_documents_stay(wired, tmp_path):
    library = wired.library
    folder = user_folder(tmp_path, 1)
    library.add([folder])
    moved = tmp_path / "unmounted"
    folder.rename(moved)
    lines: list[str] = []
    library.sync(on_message=lines.append)
    assert any("is missing" in line for line in lines)
    assert names(library) == [SEED_FILES[0].name]


def test_the_same_content_under_two_names_is_indexed_once(wired, tmp_path):
    library = wired.library
    folder = user_folder(tmp_path, 1)
    original = folder / SEED_FILES[0].name
    shutil.copy(original, folder / "copy-of-it.txt")
    first = library.add([folder])
    assert first.added == [original.name] and first.duplicates == [
        ("copy-of-it.txt", original.name)
    ]
    assert names(library) == [original.name]  # one document, one set of chunks
    again = library.sync()
    assert again.unchanged == 2 and not again.added and again.chunks_written == 0
    original.unlink()  # the indexed copy goes: the other one takes its place
    moved = library.sync()
    assert moved.added == ["copy-of-it.txt"] and moved.removed == [original.name]
    assert names(library) == ["copy-of-it.txt"]


def test_the_ui_cancel_stops_a_run_and_the_next_sync_finishes_it(wired, tmp_path):
    from test_crash_and_server import make_corpus

    library = wired.library
    folder = tmp_path / "big"
    make_corpus(folder, 200)
    assert library.cancel() is False  # nothing running

    def on_message(line: str) -> None:
        if line.startswith("indexing:"):
            assert library.cancel() is True  # what the Cancel button calls

    first = library.add([folder], on_message=on_message, progress=False)
    assert first.cancelled and 0 < len(first.added) < 200
    second = library.sync(progress=False)
    assert not second.cancelled and len(first.added) + len(second.added) == 200
    assert len(library.documents()) == 200

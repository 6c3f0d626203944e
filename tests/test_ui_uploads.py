"""Upload names, types and sizes: nothing escapes the documents folder or overwrites a file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from index.loaders import LOADERS
from ui.uploads import (
    SUPPORTED_SUFFIXES,
    UploadError,
    check_upload,
    plan_uploads,
    sanitize_filename,
    save_uploads,
    unique_name,
)

MB = 1_000_000


def test_supported_types_are_exactly_the_indexers() -> None:
    # Every suffix the indexer reads; a file without one cannot be told apart in an upload.
    assert set(SUPPORTED_SUFFIXES) == set(LOADERS) - {""}
    assert {".xlsx", ".pptx", ".epub", ".eml", ".csv", ".ipynb"} <= set(SUPPORTED_SUFFIXES)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("notes.txt", "notes.txt"),
        ("../../etc/passwd", "passwd"),
        ("../../secret.txt", "secret.txt"),
        ("/etc/cron.d/evil.md", "evil.md"),
        ("C:\\Users\\me\\report.pdf", "report.pdf"),
        ("..\\..\\win.ini.txt", "win.ini.txt"),
        ("a\x00b.txt", "ab.txt"),
        ("evil\u202etxt.md", "eviltxt.md"),  # right-to-left override dropped
        (".hidden.md", "hidden.md"),  # hidden files are never indexed
        ("report. ", "report"),
        ('what?<is>"this"|*:.txt', "what__is__this____.txt"),
        ("Résumé – 日本語.md", "Résumé – 日本語.md"),
        ("Re\u0301sume\u0301.txt", "Résumé.txt"),  # NFC
        ("tab\tand\nnewline.txt", "tabandnewline.txt"),
    ],
)
def test_sanitize_filename(given: str, expected: str) -> None:
    assert sanitize_filename(given) == expected


@pytest.mark.parametrize("given", ["", "   ", ".", "..", "../..", "/", "\x00", "...", "a/"])
def test_names_with_nothing_usable_are_refused(given: str) -> None:
    with pytest.raises(UploadError):
        sanitize_filename(given)


def test_long_names_are_cut_to_255_bytes_keeping_the_extension() -> None:
    name = sanitize_filename("é" * 300 + ".md")
    assert name.endswith(".md") and len(name.encode()) <= 255


def test_sanitised_names_never_leave_the_folder(tmp_path: Path) -> None:
    for hostile in ["../../x.txt", "/abs/x.txt", "..\\x.txt", "x/../../y.txt", "\x00/../z.txt"]:
        name = sanitize_filename(hostile)
        assert (tmp_path / name).resolve().parent == tmp_path.resolve()


def test_unique_name_numbers_duplicates_case_insensitively() -> None:
    assert unique_name("a.txt", {"b.txt"}) == "a.txt"
    assert unique_name("a.txt", {"A.TXT"}) == "a (2).txt"
    assert unique_name("a.txt", {"a.txt", "a (2).txt"}) == "a (3).txt"


@pytest.mark.parametrize(
    ("name", "size", "problem"),
    [
        ("a.exe", 10, "unsupported file type"),
        ("passwd", 10, "unsupported file type"),
        ("a.txt", 0, "empty file"),
        ("a.txt", 21 * MB, "over the 20 MB upload limit (ui.max_upload_mb)"),
    ],
)
def test_check_upload_refusals(name: str, size: int, problem: str) -> None:
    assert problem in (check_upload(name, size, 20 * MB) or "")


def test_check_upload_accepts_every_supported_type_in_any_case() -> None:
    for suffix in SUPPORTED_SUFFIXES:
        assert check_upload("doc" + suffix.upper(), 10, MB) is None


def test_plan_renames_duplicates_and_reports_refusals() -> None:
    plan = plan_uploads(
        [("a.txt", 5), ("A.txt", 5), ("../../etc/passwd", 5), ("big.pdf", 9 * MB), ("", 1)],
        existing={"a.txt"},
        max_bytes=MB,
    )
    assert plan.accepted == [(0, "a (2).txt"), (1, "A (3).txt")]
    assert [name for name, _ in plan.rejected] == ["../../etc/passwd", "big.pdf", "(no name)"]


def test_save_uploads_copies_into_the_folder_without_overwriting(tmp_path: Path) -> None:
    docs, incoming = tmp_path / "docs", tmp_path / "in"
    docs.mkdir()
    incoming.mkdir()
    (docs / "notes.txt").write_text("old notes")
    new = incoming / "notes.txt"
    new.write_text("new notes")
    same = incoming / "same.txt"
    same.write_text("same")
    (docs / "same.txt").write_text("same")
    hostile = incoming / "h.txt"
    hostile.write_text("pwned")

    result = save_uploads(
        [("notes.txt", new), ("same.txt", same), ("../../h.txt", hostile), ("x.exe", hostile)],
        docs,
        MB,
    )
    assert [p.name for p in result.saved] == ["notes (2).txt", "h.txt"]
    assert (docs / "notes.txt").read_text() == "old notes"
    assert (docs / "notes (2).txt").read_text() == "new notes"
    assert result.already_present == ["same.txt"]
    assert [name for name, _ in result.rejected] == ["x.exe"]
    assert sorted(os.listdir(docs)) == ["h.txt", "notes (2).txt", "notes.txt", "same.txt"]
    assert not (tmp_path / "h.txt").exists()


def test_save_uploads_never_writes_through_a_symlink(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    (docs / "link.txt").symlink_to(outside)
    upload = tmp_path / "link.txt"
    upload.write_text("overwrite?")
    result = save_uploads([("link.txt", upload)], docs, MB)
    assert outside.read_text() == "keep me"
    assert [p.name for p in result.saved] == ["link (2).txt"]


def test_save_uploads_creates_the_documents_folder(tmp_path: Path) -> None:
    upload = tmp_path / "a.md"
    upload.write_text("# A")
    result = save_uploads([("a.md", upload)], tmp_path / "new" / "docs", MB)
    assert result.saved == [(tmp_path / "new" / "docs" / "a.md").resolve()]

"""Issue 15 on the indexer: paths that cannot be resolved, a store that lost its content,
memory that must not grow with the number of files, skipped files remembered, names that
cannot forge output lines, a full disk and a read-only index.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS

from assistant.wiring import build_indexer, build_store
from index import loaders

QUESTION = "Which company did Luo Fuli join?"
LUO_FULI = "002_922202727007834a.txt"


def _indexer(settings, embedder, messages=None):
    return build_indexer(
        settings,
        embedder=embedder,
        on_message=(messages if messages is not None else []).append,
        progress=False,
    )


def _chunks_in_store(settings, embedder) -> int:
    store = build_store(settings)
    store.open(embedder.name, embedder.dimension, create=False)
    return store.count()


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "OLLAMA_"))}
    env.update({"PYTHONUNBUFFERED": "1", "RAG_OLLAMA__HOST": "http://127.0.0.1:9"})
    env.update(extra or {})
    return env


def _can_mount() -> bool:
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
    )
    return probe.returncode == 0


needs_mount = pytest.mark.skipif(
    shutil.which("unshare") is None or not _can_mount(),
    reason="needs `unshare -m` with mount rights (root in the test container)",
)


# -- finding 5: symlink loops and unresolvable paths ------------------------------------------


def test_a_symlink_loop_is_one_skipped_line_and_the_run_completes(fresh_settings, embedder):
    docs = Path(fresh_settings.docs_dir)
    shutil.copy(SEEDS / LUO_FULI, docs / "good.txt")
    (docs / "x.txt").symlink_to("x.txt")  # `ln -s x.txt docs/x.txt`
    (docs / "a.txt").symlink_to("b.txt")
    (docs / "b.txt").symlink_to("a.txt")
    messages: list[str] = []
    report = _indexer(fresh_settings, embedder, messages).run([docs])
    assert report.added == ["good.txt"]
    reasons = dict(report.skipped)
    assert set(reasons) == {"x.txt", "a.txt", "b.txt"}
    assert all("symlink loop" in reason for reason in reasons.values()), reasons
    assert len(messages) == 3 and all(m.startswith("skipped ") for m in messages)


def test_a_symlink_loop_given_directly_is_skipped_too(fresh_settings, embedder):
    docs = Path(fresh_settings.docs_dir)
    (docs / "x.txt").symlink_to("x.txt")
    report = _indexer(fresh_settings, embedder).run([docs / "x.txt"])
    assert [name for name, _ in report.skipped] == ["x.txt"]


# -- finding 2: the manifest is reconciled with what the store really holds -----------------


def test_a_deleted_chroma_folder_is_noticed_and_everything_indexed_again(seed_copy, embedder):
    settings, docs = seed_copy
    first = _indexer(settings, embedder).run([docs])
    assert first.chunks_total > 0
    shutil.rmtree(Path(settings.index_dir) / "chroma")  # the state folder stays
    result = subprocess.run(  # a new process, as when the user runs `rag index` again
        [sys.executable, "-m", "assistant", "index", str(docs)],
        cwd=ROOT,
        env=_env({"RAG_INDEX_DIR": str(settings.index_dir)}),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("5 added"), result.stdout
    assert "repairing" in result.stderr
    assert _chunks_in_store(settings, embedder) == first.chunks_total
    from assistant import Assistant

    assert "Xiaomi" in Assistant.from_settings(settings, embedder=embedder).ask(QUESTION).text


def test_chunks_lost_from_the_store_are_written_again(seed_copy, embedder):
    settings, docs = seed_copy
    first = _indexer(settings, embedder).run([docs])
    store = build_store(settings)
    store.open(embedder.name, embedder.dimension, create=False)
    key = str((docs / LUO_FULI).resolve())
    store.delete(store.ids_for(key)[:1])  # something outside the indexer removed a chunk
    report = _indexer(settings, embedder).run([docs])
    assert report.added == [LUO_FULI] or report.changed == [LUO_FULI], report.summary()
    assert _chunks_in_store(settings, embedder) == first.chunks_total


@pytest.fixture
def seed_copy(tmp_path):
    from assistant.settings import load_settings

    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    settings = load_settings(
        overrides={
            "docs_dir": str(docs),
            "index_dir": str(tmp_path / "index"),
            "generator.name": "extractive",
        },
        environ={},
    )
    return settings, docs


# -- finding 6: one file at a time; skipped files remembered ---------------------------------


def test_peak_memory_does_not_grow_with_the_number_of_changed_files(fresh_settings, embedder):
    """Twelve 4 MB files that are read and then refused: at most about one is held at a time."""
    docs = Path(fresh_settings.docs_dir)
    size = 4_000_000
    for i in range(12):
        (docs / f"blob_{i:02d}.txt").write_bytes(b"\x00" + bytes([65 + i]) * size)
    indexer = _indexer(fresh_settings, embedder)
    tracemalloc.start()
    try:
        report = indexer.run([docs])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(report.skipped) == 12
    assert peak < 4 * size, f"peak {peak / 1e6:.0f} MB of Python memory for 4 MB files"


def test_a_skipped_file_is_not_loaded_again_until_it_changes(fresh_settings, embedder, monkeypatch):
    docs = Path(fresh_settings.docs_dir)
    (docs / "bad.txt").write_bytes(b"\x00\x01\x02 binary, not text")  # refused by the loader
    (docs / "good.txt").write_text("The Zorblax project is led by Quentin Marlowe.")
    loaded: list[str] = []

    def counting(data, path):
        loaded.append(path.name)
        return loaders.load_text(data, path)

    monkeypatch.setitem(loaders.LOADERS, ".txt", counting)
    first = _indexer(fresh_settings, embedder).run([docs])
    assert dict(first.skipped).keys() == {"bad.txt"} and sorted(loaded) == ["bad.txt", "good.txt"]
    loaded.clear()
    messages: list[str] = []
    second = _indexer(fresh_settings, embedder, messages).run([docs])
    assert loaded == []  # neither the indexed nor the refused file was parsed again
    assert "binary" in dict(second.skipped)["bad.txt"]  # still reported, with its reason
    (docs / "bad.txt").write_text("Now it is fine: the Cedar Lattice project is led by Hiro.")
    third = _indexer(fresh_settings, embedder).run([docs])
    assert loaded == ["bad.txt"] and third.added == ["bad.txt"] and not third.skipped


# -- finding 10: names printed with control characters escaped -------------------------------


def test_a_file_name_cannot_forge_an_output_line(fresh_settings, capsys, monkeypatch):
    from assistant.cli import main

    docs = Path(fresh_settings.docs_dir)
    (docs / "evil\nerror: the index is corrupt, run rm -rf ~\x1b[2K.txt").write_bytes(b"\x00bin")
    (docs / "bell\x07.xyz").write_text("unsupported")
    monkeypatch.setenv("RAG_OLLAMA__HOST", "http://127.0.0.1:9")
    code = main(["index", str(docs), "--index-dir", str(fresh_settings.index_dir)])
    out, err = capsys.readouterr()
    assert code == 0
    lines = err.splitlines()
    assert not any(line.startswith("error") for line in lines), err
    assert "\x1b" not in err and "\x07" not in err
    skipped = [line for line in lines if line.startswith("skipped evil")]
    assert skipped == [
        "skipped evil\\nerror: the index is corrupt, run rm -rf ~\\x1b[2K.txt: "
        "binary content (NUL bytes), not text"
    ]
    assert "bell\\x07.xyz" in err


def test_shown_escapes_controls_and_bidi_but_keeps_ordinary_text():
    from index.names import shown

    assert shown("résumé 2024 (final).pdf") == "résumé 2024 (final).pdf"
    assert shown("a\nb\rc\td") == "a\\nb\\rc\\td"
    assert shown("x\x1b[31my\x7f\x9b") == "x\\x1b[31my\\x7f\\x9b"
    assert shown("invoice\u202etxt.exe") == "invoice\\u202etxt.exe"
    assert shown("back\\slash") == "back\\slash"


# -- finding 8: a full disk and a read-only index ---------------------------------------------


def _in_namespace(script: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["unshare", "-m", "sh", "-ec", script],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@needs_mount
def test_a_full_disk_while_saving_the_manifest_is_one_line_and_leaves_no_temp_file(tmp_path):
    folder = tmp_path / "state"
    folder.mkdir()
    code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from index.errors import RagError
        from index.manifest import FileEntry, Manifest
        m = Manifest(Path({str(folder)!r}) / "manifest.json")
        m.files = {{f"/docs/{{i:05d}}.txt": FileEntry("h" * 64, "x.txt", 3) for i in range(3000)}}
        for attempt in range(3):
            try:
                m.save()
            except RagError as exc:
                print("RagError:", exc)
            else:
                print("saved")
        """
    )
    script = (
        f"mount -t tmpfs -o size=64k tmpfs {folder}\n"
        f"{sys.executable} -c {_quote(code)}\n"
        f"ls -a {folder}\n"
    )
    result = _in_namespace(script)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    errors = [line for line in lines if line.startswith("RagError:")]
    assert len(errors) == 3, result.stdout + result.stderr[-2000:]
    assert all("no space left" in line.lower() and str(folder) in line for line in errors)
    assert not [name for name in lines if ".tmp-" in name], result.stdout


@pytest.mark.slow
@needs_mount
def test_a_full_disk_while_indexing_says_so_in_one_line(tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    for i in range(200):  # about 1.7 MB of text: more chunks than fit in 3 MB
        shutil.copy(SEEDS / LUO_FULI, docs / f"copy_{i:03d}.txt")
        with open(docs / f"copy_{i:03d}.txt", "a") as handle:
            handle.write(f"\nCopy number {i} of the article, with its own ending.\n" * 30)
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    rag = f"{sys.executable} -m assistant"
    script = (
        f"mount -t tmpfs -o size=1500k tmpfs {index_dir}\n"
        f"{rag} index {docs} --index-dir {index_dir} || echo exit=$?\n"
        f"find {index_dir} -name '*.tmp-*'\n"
    )
    result = _in_namespace(script, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "exit=1" in result.stdout, result.stdout + result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "disk" in errors[0] and "full" in errors[0], result.stderr
    assert ".tmp-" not in result.stdout


@needs_mount
def test_a_read_only_index_answers_questions_and_refuses_indexing_in_one_line(seed_index):
    settings, docs = seed_index
    index_dir = Path(settings.index_dir)
    before = sorted(str(p) for p in index_dir.rglob("*"))
    rag = f"{sys.executable} -m assistant"
    flags = f"--index-dir {index_dir} --docs-dir {docs}"
    script = (
        f"mount --bind {index_dir} {index_dir}\n"
        f"mount -o remount,ro,bind {index_dir}\n"
        f"{rag} ask {_quote(QUESTION)} --generator extractive {flags}\n"
        f"{rag} index {docs} {flags} || echo index-exit=$?\n"
    )
    result = _in_namespace(script)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Xiaomi" in result.stdout.splitlines()[0], result.stdout + result.stderr[-2000:]
    assert "index-exit=1" in result.stdout
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "read-only" in errors[0], result.stderr
    assert sorted(str(p) for p in index_dir.rglob("*")) == before


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"

"""A long-lived reader (the UI's or an API process's ``Assistant``) follows another process's
writes: ``rag index`` and ``rag index --rebuild`` from the CLI while it keeps answering.

Before the fix its dense search never returned chunks written by another process, and after a
rebuild every question failed with "Collection [uuid] does not exist".
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS
from test_crash_and_server import rag_env

# One fact per file, each about a made-up project no seed mentions, so the top hit is certain.
FACTS = {
    f"project_{i:02d}.txt": (
        f"Who leads the {name} project?",
        f"The {name} project is led by {leader}. {leader} started it in 20{10 + i}.",
        leader,
    )
    for i, (name, leader) in enumerate(
        [
            ("Zorblax", "Quentin Marlowe"),
            ("Cedar Lattice", "Hiro Tanaka"),
            ("Obsidian Finch", "Amara Okafor"),
            ("Velvet Tundra", "Lars Pettersen"),
            ("Copper Heron", "Ines Duarte"),
            ("Saffron Vault", "Tomasz Nowak"),
        ]
    )
}


def _rag_index(index_dir: Path, docs: Path, *extra: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "assistant", "index", str(docs), *extra],
        cwd=ROOT,
        env=rag_env(index_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def reader(tmp_path, embedder):
    """A seed index built by the CLI and an ``Assistant`` that has already answered from it."""
    from assistant import Assistant
    from assistant.settings import load_settings

    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    index_dir = tmp_path / "index"
    _rag_index(index_dir, docs)
    settings = load_settings(
        overrides={
            "docs_dir": str(docs),
            "index_dir": str(index_dir),
            "generator.name": "extractive",
        },
        environ={},
    )
    assistant = Assistant.from_settings(settings, embedder=embedder)
    for mode in ("dense", "lexical", "hybrid"):  # every search path has loaded its state
        assert "Xiaomi" in assistant.ask("Which company did Luo Fuli join?", mode=mode).text
    return assistant, docs, index_dir


def _top_source(assistant, question: str, mode: str) -> str | None:
    found = assistant.retriever.retrieve(question, top_k=3, mode=mode)
    return found[0].source if found else None


@pytest.mark.parametrize("mode", ["dense", "hybrid", "lexical"])
def test_a_long_lived_reader_finds_files_indexed_by_another_process(reader, mode):
    assistant, docs, index_dir = reader
    for name, (_, text, _) in FACTS.items():
        (docs / name).write_text(text)
    _rag_index(index_dir, docs)
    found = {
        name: _top_source(assistant, question, mode) for name, (question, _, _) in FACTS.items()
    }
    assert found == {name: name for name in FACTS}, found
    question, _, leader = FACTS["project_01.txt"]
    answer = assistant.ask(question, mode=mode)
    assert leader in answer.text and answer.citations[0].source == "project_01.txt"


def test_a_long_lived_reader_survives_a_rebuild_by_another_process(reader):
    assistant, docs, index_dir = reader
    before = assistant.library.status()
    (docs / "project_00.txt").write_text(FACTS["project_00.txt"][1])
    out = _rag_index(index_dir, docs, "--rebuild")
    assert out.startswith("6 added")
    for mode in ("dense", "lexical", "hybrid"):
        answer = assistant.ask("Who leads the Zorblax project?", mode=mode)
        assert "Quentin Marlowe" in answer.text, (mode, answer.text)
    assert assistant.library.status().documents == before.documents + 1
    # A removal by the CLI disappears from every search path too.
    (docs / "project_00.txt").unlink()
    _rag_index(index_dir, docs)
    for mode in ("dense", "hybrid"):
        assert _top_source(assistant, "Who leads the Zorblax project?", mode) != "project_00.txt"

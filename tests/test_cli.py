"""The `rag` command in-process: index, ask (text and JSON), chat, and user mistakes."""

from __future__ import annotations

import io
import json
import os
import shutil

import pytest
from conftest import SEEDS

from assistant.cli import main


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("RAG_", "OLLAMA_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("RAG_OLLAMA__HOST", "http://127.0.0.1:9")  # nothing listens there


def flags(seed_index) -> list[str]:
    settings, docs = seed_index
    return ["--index-dir", str(settings.index_dir), "--docs-dir", str(docs)]


def test_index_twice_reports_nothing_to_do(tmp_path, capsys):
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    (docs / "notes.xyz").write_text("unsupported")
    args = ["index", str(docs), "--index-dir", str(tmp_path / "index")]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert out.startswith("5 added, 0 changed, 0 removed")
    assert "unsupported type: notes.xyz" in err
    assert main(args) == 0
    assert capsys.readouterr().out.startswith("0 added, 0 changed, 0 removed, 5 unchanged")


def test_ask_prints_answer_and_numbered_sources(seed_index, capsys):
    code = main(["ask", "Which company did Luo Fuli join?", *flags(seed_index)])
    out, err = capsys.readouterr()
    assert code == 0
    assert "Xiaomi" in out.splitlines()[0]
    assert "[1] 002_922202727007834a.txt" in out
    assert "extractive" in err and "ollama serve" in err  # the auto fallback notice


def test_ask_json_is_exactly_the_answer_dict(seed_index, capsys):
    code = main(["ask", "Who allegedly courted Luo Fuli?", "--json", *flags(seed_index)])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["generator"] == "extractive" and data["grounded"] is True
    assert "Lei Jun" in data["answer"]
    assert data["citations"][0]["source"] == "002_922202727007834a.txt"
    assert set(data["timings_ms"]) == {"retrieve", "generate", "total"}
    assert {"chunk_id", "source", "score"} <= set(data["retrieved"][0])


def test_chat_keeps_history_for_follow_ups(seed_index, capsys, monkeypatch):
    lines = "Who did ByteDance poach from Google DeepMind?\nWhich model series did he work on?\n\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    assert main(["chat", "--generator", "extractive", *flags(seed_index)]) == 0
    out = capsys.readouterr().out
    assert "Wu Yonghui" in out and "Gemini" in out


def test_mistakes_are_one_line_errors(tmp_path, capsys):
    assert main(["ask", "anything", "--index-dir", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "run `rag index` first" in err
    assert main(["index", str(tmp_path / "missing"), "--index-dir", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["ask", "   ", "--index-dir", str(tmp_path)]) == 1
    assert "question is empty" in capsys.readouterr().err


def test_a_query_process_imports_neither_torch_nor_llama_index(seed_index, embedder):
    """What keeps a fresh `rag ask` fast: the query path runs on onnxruntime and plain Chroma."""
    import subprocess
    import sys

    assert embedder.engine == "onnxruntime"  # the export exists (made once per machine)
    script = (
        "import sys\n"
        "from assistant.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "heavy = sorted(m for m in ('torch', 'sentence_transformers', 'llama_index.core',"
        " 'transformers') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
        "sys.exit(code)\n"
    )
    args = [
        "ask",
        "Which company did Luo Fuli join?",
        "--generator",
        "extractive",
        *flags(seed_index),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "OLLAMA_"))}
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Xiaomi" in done.stdout
    assert "HEAVY []" in done.stdout, done.stdout[-500:]

"""Real processes: ``kill -9`` during indexing, and a ``chroma run`` server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS

from assistant.wiring import build_indexer, build_store, state_folder
from index.manifest import Manifest
from index.store import StoreError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_corpus(folder: Path, files: int) -> None:
    """``files`` small documents built from the seed sentences (synthetic, distinct texts)."""
    folder.mkdir(parents=True, exist_ok=True)
    sentences = [
        s.strip() + "."
        for path in sorted(SEEDS.iterdir())
        for s in path.read_text(encoding="utf-8").split(". ")
        if len(s.split()) > 6
    ]
    rng = random.Random(7)
    for i in range(files):
        body = " ".join(rng.sample(sentences, 6))
        (folder / f"doc_{i:04d}.txt").write_text(f"Synthetic document {i}.\n\n{body}\n")


def rag_env(index_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update({"RAG_INDEX_DIR": str(index_dir), "PYTHONUNBUFFERED": "1"})
    env.update(extra or {})
    return env


def assert_consistent(settings, embedder) -> int:
    """No duplicate or orphaned chunks: every stored chunk is vouched for by the manifest."""
    store = build_store(settings)
    store.open(embedder.name, embedder.dimension, create=False)
    manifest = Manifest.load(state_folder(settings) / "manifest.json")
    assert not manifest.dirty
    positions: dict[str, list[int]] = defaultdict(list)
    for chunk in store.iter_chunks(include_text=False):
        key = chunk.key
        entry = manifest.files.get(key)
        assert entry is not None, f"orphaned chunk of {key}"
        assert chunk.content_hash == entry.content_hash, f"stale chunk of {key}"
        positions[key].append(chunk.position)
    for key, found in positions.items():
        assert sorted(found) == list(range(manifest.files[key].chunks)), f"duplicates in {key}"
    assert set(positions) == set(manifest.files)
    return sum(len(p) for p in positions.values())


def kill_rounds(tmp_path: Path, files: int, rounds: int, budget_s: float) -> int:
    """SIGKILL the indexer ``rounds`` times at random moments; check the index after each.

    The runs use the full-precision embedder: at int8 speed a run over the edited files often
    ends before the kill, and what is tested is the crash protocol, not the engine.
    """
    from assistant import Assistant
    from assistant.settings import load_settings
    from index.embedders import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder(backend="onnx")

    docs = tmp_path / "docs"
    make_corpus(docs, files)
    index_dir = tmp_path / "index"
    settings = load_settings(
        overrides={"docs_dir": str(docs), "index_dir": str(index_dir), "embedder.backend": "onnx"},
        environ={},
    )
    rng = random.Random(11)
    kills = mid_write = 0
    completed = False  # has any run finished (not killed)?
    deadline = time.monotonic() + budget_s
    for round_ in range(rounds):
        if time.monotonic() > deadline:
            break
        if round_:  # change files between kills so that every run has writing to do
            for path in rng.sample(sorted(docs.iterdir()), max(10, files // 6)):
                path.write_text(path.read_text() + f"\nEdited in round {round_}.\n")
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "index", str(docs)],
            cwd=ROOT,
            env=rag_env(index_dir, {"RAG_EMBEDDER__BACKEND": "onnx"}),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(1.5, 6.0))  # start-up takes about a second; kill while writing
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=30)
        manifest = state_folder(settings) / "manifest.json"
        mid_write += proc.returncode == -signal.SIGKILL and Manifest.load(manifest).dirty
        completed = completed or proc.returncode == 0
        # The index still opens and answers between the kill and the next run. Until one run
        # has completed (on a loaded machine every run may be killed), Chroma may have nothing
        # searchable on disk yet: that is one line saying to run `rag index`, never a crash.
        try:
            answer = Assistant.from_settings(settings, embedder=embedder).ask(
                "Which company did Luo Fuli join?"
            )
            assert answer.text
        except StoreError as exc:
            assert not completed and "`rag index`" in str(exc), str(exc)
    print(f"\nkill -9: {kills} kills in {round_ + 1} runs, {mid_write} while writing chunks")
    report = build_indexer(settings, embedder=embedder, progress=False).run([docs])
    assert report.chunks_total == assert_consistent(settings, embedder)
    again = build_indexer(settings, embedder=embedder, progress=False).run([docs])
    assert again.summary().startswith(f"0 added, 0 changed, 0 removed, {files} unchanged")
    return kills


@pytest.mark.slow
def test_kill_9_during_indexing_leaves_a_consistent_index(tmp_path):
    """Short version for `make test`: a few kills on a small corpus."""
    assert kill_rounds(tmp_path, files=120, rounds=5, budget_s=120) >= 3


@pytest.mark.stress
@pytest.mark.timeout(1500)  # the round budget (900 s) plus the final checks
def test_kill_9_stress(tmp_path):
    """`make stress`: at least 20 kills while indexing a few hundred files (bounded in time)."""
    kills = kill_rounds(tmp_path, files=300, rounds=24, budget_s=900)
    print(f"kills survived: {kills}")
    assert kills >= 20


def test_index_and_answer_through_a_chroma_server(chroma_server, tmp_path, embedder):
    from assistant import Assistant
    from assistant.settings import load_settings

    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    settings = load_settings(
        overrides={
            "docs_dir": str(docs),
            "index_dir": str(tmp_path / "index"),
            "chroma.mode": "http",
            "chroma.port": chroma_server,
            "chroma.collection": "server_test",
            "generator.name": "extractive",
        },
        environ={},
    )
    report = build_indexer(settings, embedder=embedder, progress=False).run([docs])
    assert len(report.added) == 5
    assert not (tmp_path / "index" / "chroma").exists()  # vectors live on the server
    answer = Assistant.from_settings(settings, embedder=embedder).ask(
        "Which company did Luo Fuli join?"
    )
    assert answer.citations[0].source == "002_922202727007834a.txt"
    assert "Xiaomi" in answer.text


def test_unreachable_chroma_server_names_host_and_port(tmp_path, embedder):
    from assistant import Assistant
    from assistant.settings import load_settings
    from index.errors import RagError

    port = free_port()
    settings = load_settings(
        overrides={"index_dir": str(tmp_path), "chroma.mode": "http", "chroma.port": port},
        environ={},
    )
    with pytest.raises(RagError, match=f"127.0.0.1:{port} is not reachable.*chroma run"):
        Assistant.from_settings(settings, embedder=embedder).ask("anything")


def test_processes_sharing_a_server_see_each_others_documents(chroma_server, tmp_path, embedder):
    """Two assistants (own local state, as on two machines) and an indexer share a collection."""
    from assistant import Assistant
    from assistant.settings import load_settings

    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)

    def settings_for(name: str):
        return load_settings(
            overrides={
                "docs_dir": str(docs),
                "index_dir": str(tmp_path / name),
                "chroma.mode": "http",
                "chroma.port": chroma_server,
                "chroma.collection": "shared_test",
                "generator.name": "extractive",
            },
            environ={},
        )

    indexer = build_indexer(settings_for("indexer"), embedder=embedder, progress=False)
    indexer.run([docs])
    first = Assistant.from_settings(settings_for("reader-a"), embedder=embedder)
    second = Assistant.from_settings(settings_for("reader-b"), embedder=embedder)
    question = "Who leads the Zorblax project?"
    assert first.ask(question).abstained and second.ask(question).abstained

    (docs / "zorblax.txt").write_text("The Zorblax project is led by Quentin Marlowe since 2024.")
    indexer.run([docs])
    for reader in (first, second):
        answer = reader.ask(question, mode="lexical")  # the BM25 side refreshed itself
        assert "Quentin Marlowe" in answer.text
        assert answer.citations[0].source == "zorblax.txt"
    out = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", question, "--json", "--generator", "extractive"],
        cwd=ROOT,
        env=rag_env(
            tmp_path / "reader-c",
            {
                "RAG_CHROMA__MODE": "http",
                "RAG_CHROMA__PORT": str(chroma_server),
                "RAG_CHROMA__COLLECTION": "shared_test",
            },
        ),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr
    assert "Quentin Marlowe" in json.loads(out.stdout)["answer"]

"""Eight browser sessions at once (gradio_client) while an indexing run updates the collection."""

from __future__ import annotations

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import SEEDS
from gradio_client import Client
from ui_helpers import corpus_settings, serve

from assistant import Assistant

pytestmark = pytest.mark.slow

QUESTIONS = [
    ("Which company did Luo Fuli join?", "Xiaomi", "002_922202727007834a.txt"),
    ("What is the full name of DeepSeek's founder?", "Liang Wenfeng", "004_f1f80820b8aa46f4.txt"),
]


def test_eight_sessions_while_indexing(tmp_path, embedder):
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    settings = corpus_settings(docs, tmp_path / "index")
    assistant = Assistant.from_settings(settings, embedder=embedder)
    assistant.library.add([docs], progress=False)
    stop = threading.Event()
    runs = 0

    def keep_indexing() -> None:
        nonlocal runs
        extra = docs / "extra.txt"
        while not stop.is_set() and runs < 5:
            if extra.exists():
                extra.unlink()
            else:
                extra.write_text(f"Round {runs}: the Zorblax project is led by Quentin Marlowe.")
            Assistant.from_settings(settings, embedder=embedder).library.add([docs], progress=False)
            runs += 1

    with serve(assistant) as server:

        def session(i: int) -> list[tuple[str, str, str, str]]:
            client = Client(server.url, verbose=False)
            seen = []
            for question, expected, source in QUESTIONS[i % 2 :] + QUESTIONS[: i % 2]:
                messages, sources, *_ = client.predict(question, api_name="/chat")
                answer = messages[-1]["content"]
                answer = answer if isinstance(answer, str) else str(answer)
                seen.append((question, expected, source, answer + sources))
                assert len(messages) == 2 * len(seen)  # this session's history only
            return seen

        writer = threading.Thread(target=keep_indexing)
        writer.start()
        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                results = [r for rs in pool.map(session, range(8)) for r in rs]
        finally:
            stop.set()
            writer.join(timeout=120)
    assert runs >= 1 and len(results) == 16
    for question, expected, source, shown in results:
        assert expected in shown, question
        assert source in shown, question

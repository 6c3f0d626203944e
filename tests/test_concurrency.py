"""Many threads asking through one Assistant while the index is being updated."""

from __future__ import annotations

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor

from conftest import SEEDS

from assistant import Assistant
from assistant.wiring import build_indexer

QUESTIONS = {
    "Which company did Luo Fuli join?": "002_922202727007834a.txt",
    "Which news outlet reported that Luo Fuli had joined Xiaomi?": "002_922202727007834a.txt",
    "What is the full name of DeepSeek's founder?": "004_f1f80820b8aa46f4.txt",
    "Who must collaborate to address the AI talent shortage, according to experts?": (
        "003_c453d3a694f8c582.txt"
    ),
}


def test_16_threads_ask_while_an_indexing_run_updates_the_collection(
    fresh_settings, embedder, tmp_path
):
    docs = fresh_settings.docs_dir
    for path in SEEDS.iterdir():
        shutil.copy(path, docs / path.name)
    build_indexer(fresh_settings, embedder=embedder, progress=False).run([docs])
    assistant = Assistant.from_settings(fresh_settings, embedder=embedder)

    stop = threading.Event()
    index_runs = 0

    def keep_indexing() -> None:
        nonlocal index_runs
        extra = docs / "extra.txt"
        while not stop.is_set() and index_runs < 6:
            if extra.exists():
                extra.unlink()
            else:
                extra.write_text(f"Round {index_runs}: the Zorblax project is led by Quentin.")
            build_indexer(fresh_settings, embedder=embedder, progress=False).run([docs])
            index_runs += 1

    def ask(i: int):
        question = list(QUESTIONS)[i % len(QUESTIONS)]
        answer = assistant.ask(question)
        return question, answer

    writer = threading.Thread(target=keep_indexing)
    writer.start()
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            results = list(pool.map(ask, range(48)))
    finally:
        stop.set()
        writer.join(timeout=120)
    assert index_runs >= 1
    for question, answer in results:
        assert answer.question == question  # no mixing between concurrent calls
        assert not answer.abstained, question
        assert answer.citations and answer.citations[0].source == QUESTIONS[question]
        retrieved = {r.chunk_id: r for r in answer.retrieved}
        for citation in answer.citations:
            source = retrieved[citation.chunk_id]  # every citation points at a retrieved chunk
            offset = citation.start - source.start
            assert source.text[offset : offset + len(citation.quote)] == citation.quote


def test_a_hanging_ollama_does_not_block_other_sessions(seed_index, embedder):
    from ollama_fake import FakeOllama

    from assistant.generators.base import GeneratorError

    settings, _ = seed_index
    fake = FakeOllama(models=["deepseek-r1:1.5b"], behaviour="hang").__enter__()
    stuck_done = threading.Event()
    stuck_error: list[Exception] = []
    try:
        slow = settings.replace(**{"ollama.host": fake.url, "ollama.read_timeout_s": 20})
        assistant = Assistant.from_settings(slow, embedder=embedder)

        def stuck() -> None:
            try:
                assistant.ask("Which company did Luo Fuli join?", generator="ollama")
            except GeneratorError as exc:
                stuck_error.append(exc)
            finally:
                stuck_done.set()

        thread = threading.Thread(target=stuck)
        thread.start()
        with ThreadPoolExecutor(max_workers=4) as pool:
            questions = list(QUESTIONS) * 2
            answers = list(pool.map(lambda q: assistant.ask(q, generator="extractive"), questions))
        assert not stuck_done.is_set()  # the hanging request is still waiting...
        assert all(a.citations for a in answers)  # ...while every other session was served
    finally:
        fake.__exit__(None, None, None)  # releases the hung handler
    thread.join(timeout=60)
    assert stuck_done.is_set() and len(stuck_error) == 1  # it ends with a clear error

"""A big folder: progress a user can trust, and a cancel that leaves an index the next run
completes (Ctrl-C in the CLI, the Cancel button through the library)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT
from test_crash_and_server import assert_consistent, make_corpus, rag_env

from assistant.settings import load_settings
from assistant.wiring import build_indexer

LINE = re.compile(
    r"^indexing: (\d+)/(\d+) files, (\d+) chunks, [\d.]+ chunks/s(, about [\d hmins]+ left)?$"
)


def _settings(tmp_path):
    docs = tmp_path / "docs"
    return load_settings(
        overrides={"docs_dir": str(docs), "index_dir": str(tmp_path / "index")}, environ={}
    ), docs


def test_progress_lines_without_a_terminal_count_files_chunks_speed_and_time_left(
    tmp_path, embedder
):
    settings, docs = _settings(tmp_path)
    make_corpus(docs, 120)
    lines: list[str] = []
    report = build_indexer(settings, embedder, lines.append, progress=False).run([docs])
    progress = [LINE.match(line) for line in lines if line.startswith("indexing:")]
    assert len(progress) >= 3 and all(progress), lines  # one per batch of chunks written
    files = [int(m.group(1)) for m in progress]
    chunks = [int(m.group(3)) for m in progress]
    assert files == sorted(files) and files[-1] == 120 and chunks == sorted(chunks)
    assert chunks[-1] == report.chunks_written
    assert all(m.group(4) for m in progress)  # a time left on every line


def test_the_page_draws_each_batch_as_files_chunks_speed_and_time_left(tmp_path, embedder):
    """The UI's meter: Gradio's progress is called in the event's context from the writer."""
    import contextvars
    import threading

    from ui.documents import on_page

    event = contextvars.ContextVar("event", default=None)
    event.set("upload-1")  # Gradio finds the page to update in context variables like this
    drawn: list[tuple[str | None, str, float, str]] = []

    def progress(fraction, desc=None):
        drawn.append((event.get(), threading.current_thread().name, fraction, desc))

    settings, docs = _settings(tmp_path)
    make_corpus(docs, 60)
    report = build_indexer(settings, embedder, progress=on_page(progress, start=0.1)).run([docs])
    assert len(drawn) >= 2
    assert {(e, thread) for e, thread, *_ in drawn} == {("upload-1", "index-write")}
    fractions = [f for *_, f, _ in drawn]
    assert fractions == sorted(fractions) and fractions[0] > 0.1 and fractions[-1] == 1.0
    assert all(LINE.match(desc) for *_, desc in drawn), drawn
    assert LINE.match(drawn[-1][3]).group(3) == str(report.chunks_written)


def test_cancel_mid_run_keeps_a_consistent_index_and_the_next_run_completes_it(tmp_path, embedder):
    settings, docs = _settings(tmp_path)
    make_corpus(docs, 200)
    lines: list[str] = []
    indexer = build_indexer(settings, embedder, progress=False)

    def on_message(line: str) -> None:
        lines.append(line)
        if line.startswith("indexing:"):
            indexer.cancel.set()  # what the UI's Cancel button does, from another thread

    indexer.on_message = on_message
    first = indexer.run([docs])
    assert first.cancelled and 0 < len(first.added) < 200
    assert any(line.startswith("cancelled after") for line in lines)
    assert assert_consistent(settings, embedder) == first.chunks_total

    second = build_indexer(settings, embedder, progress=False).run([docs])
    assert not second.cancelled
    assert len(first.added) + len(second.added) == 200 and second.unchanged == len(first.added)
    assert assert_consistent(settings, embedder) == second.chunks_total


def test_ctrl_c_stops_rag_index_cleanly_and_the_next_run_finishes(tmp_path, embedder):
    settings, docs = _settings(tmp_path)
    make_corpus(docs, 200)
    env = rag_env(tmp_path / "index")
    command = [sys.executable, "-m", "assistant", "index", str(docs)]
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 300
    for line in proc.stderr:  # the first progress line: chunks are being written
        if line.startswith("indexing:") or time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "cancelled after" in err
    assert_consistent(settings, embedder)
    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert assert_consistent(settings, embedder) > 0
    added = int(again.stdout.split(" added")[0].split()[-1])
    assert added > 0 and " unchanged" in again.stdout  # it finished what the run left


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_reading_and_writing_stages_yield_the_cores_to_the_model():
    """The side stages run at a lower CPU priority than the thread that embeds."""
    import os
    import threading

    from index.stages import SIDE_STAGE_NICENESS, Stages

    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    seen: dict[str, int] = {}

    def produce(stop):
        seen["load"] = niceness()
        yield 1

    def transform(item):
        seen["embed"] = niceness()
        return item

    def consume(item):
        seen["write"] = niceness()

    assert Stages(produce, transform, consume).run()
    expected = min(seen["embed"] + SIDE_STAGE_NICENESS, 19)
    assert seen == {"load": expected, "embed": seen["embed"], "write": expected}

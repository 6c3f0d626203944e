"""The app in a real headless browser: ask, read the sources, follow up, upload, stay local."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ollama_fake import FakeOllama
from ui_helpers import (  # noqa: F401 - fixtures
    ARTIFACTS,
    FOLLOW_UP,
    SEED_FILE,
    SEED_QUESTION,
    Corpus,
    Server,
    chromium,
    corpus,
    serve,
    server,
)

pytestmark = pytest.mark.slow
BOT = "#chat [data-testid=bot]"
USER = "#chat [data-testid=user]"
TIMEOUT_MS = 120_000
DONE = "() => !document.querySelector('#sources .rag-working')"


class Page:
    """A browser tab on the app that records every request it makes."""

    def __init__(self, page: Any, running: Server):
        self.page = page
        self.server = running
        self.requests: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.set_default_timeout(TIMEOUT_MS)

    def open(self) -> None:
        self.page.goto(self.server.url)
        self.page.wait_for_selector("#question textarea")
        # The page is ready once the load events filled in the status line and examples.
        self.page.wait_for_function(
            "() => document.querySelector('#rag-status').innerText.includes('chunks')"
        )

    def ask(self, question: str) -> dict[str, Any]:
        """Ask in the chat box; returns the answer text, sources text and timings (s)."""
        bots = self.page.locator(BOT).count()
        self.page.fill("#question textarea", question)
        started = time.perf_counter()
        self.page.press("#question textarea", "Enter")
        # The sources panel is marked rag-working until the answer is complete.
        self.page.wait_for_function(f"n => document.querySelectorAll({BOT!r}).length > n", arg=bots)
        first_token = time.perf_counter() - started
        self.page.wait_for_function(DONE)
        complete = time.perf_counter() - started
        return {
            "answer": self.page.locator(BOT).last.inner_text(),
            "sources": self.page.inner_text("#sources"),
            "status": self.page.inner_text("#rag-status"),
            "first_token_s": first_token,
            "complete_s": complete,
        }

    def upload(self, path: Path) -> str:
        """Upload ``path`` in the Documents tab; returns the indexing report's text."""
        self.page.get_by_role("tab", name="Documents").click()
        self.page.set_input_files("#upload input[type=file]", str(path))
        self.page.wait_for_function(
            "() => document.querySelector('#index-report').innerText.includes('in the index')"
        )
        self.page.wait_for_function(
            f"() => document.querySelector('#documents').innerText.includes({path.name!r})"
        )
        report = self.page.inner_text("#index-report")
        self.page.get_by_role("tab", name="Chat").click()
        return report

    def remove(self, name: str) -> str:
        """Remove document ``name`` in the Documents tab; returns the report's text."""
        self.page.get_by_role("tab", name="Documents").click()
        self.page.locator("#remove-choice input").click()
        self.page.get_by_role("option", name=re.compile(re.escape(name))).click()
        self.page.once("dialog", lambda dialog: dialog.accept())  # the confirmation
        self.page.click("#remove")
        self.page.wait_for_function(
            "() => document.querySelector('#index-report').innerText.includes('Removed')"
        )
        self.page.wait_for_function(
            f"() => !document.querySelector('#documents').innerText.includes({name!r})"
        )
        report = self.page.inner_text("#index-report")
        self.page.get_by_role("tab", name="Chat").click()
        return report

    def foreign_requests(self) -> list[str]:
        own = f"http://127.0.0.1:{self.server.port}/"
        return [url for url in self.requests if not url.startswith(own)]


def server_timings(status: str) -> str:
    """The "retrieval …, generation …, total …" part of the status line."""
    found = re.search(r"retrieval [^\n]*total [\d.]+ m?s", status)
    return found.group(0) if found else "?"


@pytest.fixture
def page(chromium: Any, server: Server, corpus: Corpus) -> Iterator[Page]:  # noqa: F811
    """A fresh tab; documents a test leaves in the shared corpus are removed afterwards."""
    before = set(os.listdir(corpus.docs))
    context = chromium.new_context(
        viewport={"width": 1400, "height": 1000},
        permissions=["clipboard-read", "clipboard-write"],
    )
    tab = Page(context.new_page(), server)
    tab.open()
    yield tab
    context.close()
    extra = set(os.listdir(corpus.docs)) - before
    for name in extra:
        (corpus.docs / name).unlink()
    if extra:
        corpus.assistant.library.add([corpus.docs], progress=False)


def test_answer_with_sources_followup_and_upload(page: Page, tmp_path: Path) -> None:
    first = page.ask(SEED_QUESTION)
    assert "Xiaomi" in first["answer"]
    markers = set(re.findall(r"\[(\d+)\]", first["answer"]))
    assert markers, first["answer"]
    cited = page.page.locator("#sources .rag-cited")
    assert {cited.nth(i).get_attribute("data-n") for i in range(cited.count())} == markers
    assert SEED_FILE in first["sources"]
    highlighted = " ".join(page.page.locator("#sources .rag-cited mark").all_inner_texts())
    assert "Luo Fuli" in highlighted and "officially joined the company" in highlighted
    assert "Answered by the extractive generator" in first["status"]
    print(
        f"\nbrowser timings (extractive): first token {first['first_token_s']:.2f} s, "
        f"full answer {first['complete_s']:.2f} s; server: {server_timings(first['status'])}"
    )

    page.page.locator(BOT).last.hover()
    page.page.locator("#chat button[aria-label='Copy message']").last.click()
    copied = page.page.evaluate("navigator.clipboard.readText()")
    assert copied == first["answer"].strip()  # the answer exactly, markers included

    # "that company" only makes sense with the first turn as history.
    follow = page.ask(FOLLOW_UP)
    assert "Lei Jun" in follow["answer"]
    assert SEED_FILE in follow["sources"]
    assert page.page.locator(USER).count() == 2
    assert page.page.locator(BOT).count() == 2

    note = tmp_path / "zorblax_notes.txt"
    note.write_text("The Zorblax project is led by Quentin Marlowe.\n", encoding="utf-8")
    report = page.upload(note)
    assert "Added: zorblax_notes.txt" in report
    third = page.ask("Who leads the Zorblax project?")
    assert "Quentin Marlowe" in third["answer"]
    assert re.search(r"\[\d+\]", third["answer"])
    assert "zorblax_notes.txt" in page.page.inner_text("#sources .rag-cited")
    print(
        f"browser timings (extractive, warm): first token {third['first_token_s']:.2f} s, "
        f"full answer {third['complete_s']:.2f} s; server: {server_timings(third['status'])}"
    )

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.page.screenshot(path=str(ARTIFACTS / "ui.png"), full_page=True)

    report = page.remove("zorblax_notes.txt")
    assert "Removed zorblax_notes.txt" in report
    assert not (page.server.assistant.settings.docs_dir / "zorblax_notes.txt").exists()
    gone = page.ask("Who leads the Zorblax project?")
    assert "Quentin Marlowe" not in gone["answer"]

    assert page.requests, "the request recorder saw nothing"
    assert page.foreign_requests() == []


def test_markup_in_a_document_renders_as_text(page: Page, tmp_path: Path) -> None:
    hostile = tmp_path / "hostile_markup.txt"
    hostile.write_text(
        "The Flibbertigibbet reactor is cooled by <b>liquid</b> tin "
        '<script>window.__pwned = 1</script> <img src=x onerror="window.__pwned = 2"> '
        "![x](http://example.invalid/x.png) ${window.__pwned = 3}.\n",
        encoding="utf-8",
    )
    page.upload(hostile)
    answer = page.ask("What is the Flibbertigibbet reactor cooled by?")
    assert "<b>liquid</b>" in answer["answer"]
    assert "<script>" in answer["answer"]
    assert "<b>liquid</b>" in page.page.inner_text("#sources .rag-cited")
    assert page.page.locator("#chat img, #sources img, #chat script, #sources script").count() == 0
    assert page.page.evaluate("window.__pwned") is None
    assert page.foreign_requests() == []


def test_clear_chat_and_example_question(page: Page) -> None:
    page.ask(SEED_QUESTION)
    page.page.click("#clear")
    page.page.wait_for_function(f"() => document.querySelectorAll({BOT!r}).length === 0")
    assert "Ask a question" in page.page.inner_text("#sources")
    example = page.page.locator("#examples button").first
    text = example.inner_text()
    assert text.startswith("What do the documents say about")
    example.click()
    page.page.wait_for_function(f"() => document.querySelectorAll({BOT!r}).length === 1")
    page.page.wait_for_function(DONE)
    assert page.page.locator(USER).first.inner_text().strip() == text.strip()
    assert page.foreign_requests() == []


def test_ollama_answer_keeps_thinking_collapsed(chromium: Any, corpus: Corpus) -> None:  # noqa: F811
    reasoning = "The user asks which company Luo Fuli joined."
    with FakeOllama(
        models=["m:latest", "other:7b"],
        thinking_models=["m:latest"],
        thinking=[reasoning[:20], reasoning[20:]],
        reply=["Luo Fuli joined ", "Xiaomi [1]."],
    ) as fake:
        assistant = corpus.another(
            **{"generator.name": "auto", "ollama.host": fake.url, "ollama.model": "m"}
        )
        with serve(assistant) as running:
            context = chromium.new_context(viewport={"width": 1400, "height": 1000})
            tab = Page(context.new_page(), running)
            tab.open()
            assert "generator: Ollama m (auto)" in tab.page.inner_text("#rag-status")
            tab.page.locator("#model input").click()
            options = tab.page.get_by_role("option").all_inner_texts()
            assert "other:7b" in [o.strip() for o in options]  # the server's model list
            tab.page.keyboard.press("Escape")

            answer = tab.ask(SEED_QUESTION)
            assert answer["answer"].strip() == "Luo Fuli joined Xiaomi [1]."
            assert "Answered by Ollama m" in answer["status"]
            assert SEED_FILE in tab.page.inner_text("#sources .rag-cited")
            chat = tab.page.locator("#chat")
            # The label says "Thinking…" while the model thinks and changes once it is done.
            assert "Reasoning" in chat.inner_text() and "Thinking…" not in chat.inner_text()
            thought = tab.page.get_by_text(reasoning)
            thought.wait_for(state="hidden", timeout=5_000)  # collapsed once answered
            tab.page.get_by_text("Reasoning").click()
            thought.wait_for(state="visible")
            assert reasoning not in tab.page.locator(BOT).last.inner_text()
            assert tab.foreign_requests() == []
            context.close()

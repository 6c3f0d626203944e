"""Saved chats, Stop, dark mode, phone width and "save as test question", in real Chromium."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ollama_fake import FakeOllama
from test_ui_browser import BOT, TIMEOUT_MS, Page
from ui_helpers import (  # noqa: F401 - fixtures
    FOLLOW_UP,
    SEED_FILE,
    SEED_QUESTION,
    Corpus,
    Server,
    chromium,
    corpus,
    serve,
)

from assistant.cli import main as rag_main

pytestmark = pytest.mark.slow
CHAT_ITEMS = "#chat-list label"


@pytest.fixture
def own_server(corpus: Corpus, tmp_path: Path) -> Iterator[Server]:  # noqa: F811
    """The app over the seed corpus with its own, empty chats file."""
    assistant = corpus.another(**{"chats.path": str(tmp_path / "chats.sqlite3")})
    with serve(assistant) as running:
        yield running


def open_tab(browser: Any, running: Server, path: str = "", **context: Any) -> tuple[Any, Page]:
    options = {"viewport": {"width": 1400, "height": 1000}, **context}
    ctx = browser.new_context(**options)
    tab = Page(ctx.new_page(), running)
    tab.server = running
    tab.page.goto(running.url + path)
    tab.page.wait_for_selector("#question textarea")
    tab.page.wait_for_function(
        "() => document.querySelector('#rag-status').innerText.includes('chunks')"
    )
    return ctx, tab


def bots(tab: Page) -> int:
    return tab.page.locator(BOT).count()


def test_reload_keeps_the_conversation_and_its_sources(
    chromium: Any,  # noqa: F811
    own_server: Server,
) -> None:
    ctx, tab = open_tab(chromium, own_server)
    first = tab.ask(SEED_QUESTION)
    second = tab.ask(FOLLOW_UP)
    assert "Xiaomi" in first["answer"] and "Lei Jun" in second["answer"]
    tab.page.reload()
    tab.page.wait_for_function(f"() => document.querySelectorAll({BOT!r}).length === 2")
    assert "Lei Jun" in tab.page.locator(BOT).last.inner_text()
    assert "Sources cited" in tab.page.inner_text("#sources")
    # Each turn keeps its own sources: pick the first answer and see the passage it quoted.
    turns = tab.page.locator("#turn-picker label")
    assert turns.count() == 2
    turns.first.click()
    tab.page.wait_for_function(
        f"() => document.querySelector('#sources .rag-cited').innerText.includes({SEED_FILE!r})"
    )
    assert tab.page.locator("#sources mark").count() >= 1
    # Clicking an answer in the chat shows its sources too.
    tab.page.locator(BOT).last.click()
    tab.page.wait_for_function(
        "() => document.querySelector('#turn-picker input[value=\"2\"]')?.checked === true"
    )
    # The follow-up still has its history after the reload.
    third = tab.ask("Which company did she join?")
    assert "Xiaomi" in third["answer"]
    ctx.close()


def test_chat_list_new_rename_delete(chromium: Any, own_server: Server) -> None:  # noqa: F811
    ctx, tab = open_tab(chromium, own_server)
    tab.ask(SEED_QUESTION)
    items = tab.page.locator(CHAT_ITEMS)
    items.first.wait_for()
    assert items.count() == 1 and "Which company did Luo Fuli join" in items.first.inner_text()

    tab.page.click("#clear")  # "New chat"
    tab.page.wait_for_function(f"() => document.querySelectorAll({BOT!r}).length === 0")
    tab.page.wait_for_function(f"() => document.querySelectorAll({CHAT_ITEMS!r}).length === 2")
    tab.page.fill("#chat-title textarea, #chat-title input", "Empty one")
    tab.page.click("#rename-chat")
    tab.page.wait_for_function(
        "() => document.querySelector('#chat-list').innerText.includes('Empty one')"
    )
    # Back to the first chat: its conversation and sources return.
    tab.page.locator(CHAT_ITEMS, has_text="Luo Fuli").click()
    tab.page.wait_for_function(f"() => document.querySelectorAll({BOT!r}).length === 1")
    assert SEED_FILE in tab.page.inner_text("#sources")
    tab.page.click("#delete-chat")
    tab.page.wait_for_function(f"() => document.querySelectorAll({CHAT_ITEMS!r}).length === 1")
    assert "Empty one" in tab.page.inner_text("#chat-list")
    assert "Luo Fuli" not in tab.page.inner_text("#chat-list")
    assert tab.foreign_requests() == []
    ctx.close()


def test_stop_ends_a_slow_stream_and_frees_the_server(
    chromium: Any,  # noqa: F811
    corpus: Corpus,  # noqa: F811
    tmp_path: Path,
) -> None:
    words = [f"word{i} " for i in range(300)]
    with FakeOllama(models=["m:latest"], reply=words, token_delay_s=0.2) as fake:
        assistant = corpus.another(
            **{
                "generator.name": "ollama",
                "ollama.host": fake.url,
                "ollama.model": "m",
                "ollama.think": False,
                "chats.path": str(tmp_path / "chats.sqlite3"),
            }
        )
        with serve(assistant) as running:
            ctx, tab = open_tab(chromium, running)
            tab.page.fill("#question textarea", SEED_QUESTION)
            tab.page.press("#question textarea", "Enter")
            tab.page.wait_for_function(
                f"() => [...document.querySelectorAll({BOT!r})].some(b => "
                "b.innerText.includes('word3'))"
            )
            tab.page.click("#stop")
            tab.page.wait_for_function(
                f"() => document.querySelector({BOT!r} + ':last-of-type') !== null && "
                "document.querySelector('#chat').innerText.includes('(stopped)')",
                timeout=15_000,
            )
            assert fake.disconnected.wait(10), "the Ollama stream was not closed"
            assert fake.sent < 100, f"{fake.sent} of {len(words)} tokens were sent"
            assert "Stopped before the answer was complete" in tab.page.inner_text("#sources")
            # The server is free again: the next question is answered.
            tab.page.get_by_label("extractive").check()
            answer = tab.ask(SEED_QUESTION)
            assert "Xiaomi" in answer["answer"]
            ctx.close()


def relative_luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


COLOURS = """sel => { const el = document.querySelector(sel); const s = getComputedStyle(el);
  const rgb = v => v.match(/[\\d.]+/g).slice(0, 3).map(Number);
  return {fg: rgb(s.color), bg: rgb(s.backgroundColor)}; }"""


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_highlight_contrast_is_at_least_4_5(
    chromium: Any,  # noqa: F811
    own_server: Server,
    theme: str,
) -> None:
    ctx, tab = open_tab(chromium, own_server, f"?__theme={theme}", color_scheme=theme)
    assert tab.page.evaluate("document.body.classList.contains('dark')") == (theme == "dark")
    tab.ask(SEED_QUESTION)
    colours = tab.page.evaluate(COLOURS, "#sources mark")
    ratio = contrast(tuple(colours["fg"]), tuple(colours["bg"]))
    print(f"{theme}: mark {colours} contrast {ratio:.2f}")
    assert ratio >= 4.5, f"{theme} highlight contrast {ratio:.2f}: {colours}"
    ctx.close()


def test_phone_width_keeps_the_input_on_the_first_screen(
    chromium: Any,  # noqa: F811
    own_server: Server,
) -> None:
    ctx, tab = open_tab(
        chromium, own_server, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    box = tab.page.locator("#question textarea").bounding_box()
    print(f"phone: question box {box}")
    assert box is not None and box["y"] + box["height"] <= 844, box
    tab.ask(SEED_QUESTION)
    chat_box = tab.page.locator("#chat").bounding_box()
    sources = tab.page.locator("#sources").bounding_box()
    examples = tab.page.locator("#examples").bounding_box()
    print(f"phone: chat {chat_box}, sources {sources}, examples {examples}")
    assert chat_box["y"] < sources["y"] < examples["y"], (chat_box, sources, examples)
    ctx.close()


def test_save_as_test_question_then_rag_eval_replays_it(
    chromium: Any,  # noqa: F811
    own_server: Server,
    corpus: Corpus,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ctx, tab = open_tab(chromium, own_server)
    answer = tab.ask(SEED_QUESTION)
    questions = tmp_path / "mine.jsonl"
    tab.page.get_by_text("Save as test question").first.click()
    accepted = tab.page.locator("#accepted textarea")
    accepted.wait_for()
    assert "Xiaomi" in accepted.input_value()
    tab.page.fill("#qset-path textarea, #qset-path input", str(questions))
    tab.page.click("#save-test")
    tab.page.wait_for_function(
        "() => document.querySelector('#save-result').innerText.includes('Saved as saved-1')",
        timeout=TIMEOUT_MS,
    )
    ctx.close()
    [line] = questions.read_text(encoding="utf-8").splitlines()
    entry = json.loads(line)
    assert entry["question"] == SEED_QUESTION and entry["answerable"] is True
    assert entry["sources"] == [SEED_FILE]
    assert any("Xiaomi" in group[0] for group in entry["must"]), (entry, answer)

    out = tmp_path / "eval"
    code = rag_main(["eval", str(questions), "--docs-dir", str(corpus.docs), "--index-dir",
                     str(corpus.index), "--set", "generator.name=extractive", "--out",
                     str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["overall"]["questions"] == 1 and summary["overall"]["correct"] == 1

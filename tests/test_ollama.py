"""OllamaGenerator with the real ``ollama`` client against a fake server on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from ollama_fake import FakeOllama, closed_port_url

from assistant.generators.base import ABSTAIN_TEXT, GeneratorError, final
from assistant.generators.ollama import NoThinking, OllamaGenerator, is_abstention
from assistant.prompts import build_messages
from assistant.settings import OllamaSettings
from assistant.types import Generation, ReasoningDelta, RetrievedChunk, TextDelta, Turn

QUESTION = "Which company did Luo Fuli join?"
SOURCES = [
    RetrievedChunk("a#0", "seeds/luo.md", "Luo Fuli", "Luo Fuli joined Xiaomi.", 0, 23, 0.9),
    RetrievedChunk("b#0", "seeds/other.md", None, "Unrelated text.", 0, 15, 0.5),
]


def generator(host: str, no_thinking: NoThinking | None = None, **settings: Any) -> OllamaGenerator:
    values: dict[str, Any] = {"model": "m", "think": False, **settings}
    return OllamaGenerator(OllamaSettings(host=host, **values), no_thinking or NoThinking())


def run(gen: OllamaGenerator, sources: list[RetrievedChunk] = SOURCES) -> list[Any]:
    return list(gen.stream(QUESTION, sources))


@pytest.fixture
def fake() -> Iterator[FakeOllama]:
    with FakeOllama(reply=["Luo Fuli joined ", "Xiaomi [1]", "."]) as server:
        yield server


# --- streaming ------------------------------------------------------------------------------


def test_stream_yields_text_deltas_then_one_generation(fake: FakeOllama) -> None:
    gen = generator(fake.url)
    events = run(gen)

    assert events[:-1] == [TextDelta("Luo Fuli joined"), TextDelta(" Xiaomi [1]"), TextDelta(".")]
    assert events[-1] == Generation(
        text="Luo Fuli joined Xiaomi [1].", generator="ollama:m", reasoning=None, abstained=False
    )
    assert gen.name == "ollama:m"


def test_request_carries_the_grounded_messages_and_options(fake: FakeOllama) -> None:
    final(generator(fake.url, temperature=0.3).stream(QUESTION, SOURCES))

    (request,) = fake.chat_requests()
    assert request["model"] == "m"
    assert request["stream"] is True
    assert request["think"] is False
    assert request["options"] == {"num_ctx": 8192, "temperature": 0.3, "num_predict": 512}
    assert request["messages"] == build_messages(QUESTION, SOURCES)


def test_thinking_field_and_think_blocks_go_to_reasoning_only() -> None:
    with FakeOllama(
        thinking_models=["m:latest"],
        thinking=["Let me ", "check."],
        reply=["<think>inner", " plan</thi", "nk>\n\nXiaomi [1]."],
    ) as fake:
        events = run(generator(fake.url, think=True))

    answer = "".join(e.text for e in events if isinstance(e, TextDelta))
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    assert answer == "Xiaomi [1]."
    assert reasoning == "Let me check.inner plan"
    assert events[-1].text == "Xiaomi [1]."
    assert events[-1].reasoning == "Let me check.\n\ninner plan"
    assert fake.chat_requests()[0]["think"] is True


def test_num_ctx_is_raised_for_a_long_prompt_and_sources_are_sent(fake: FakeOllama) -> None:
    long_sources = [
        RetrievedChunk(f"c{i}", f"doc{i}.txt", f"Doc {i}", f"passage {i} " + "w" * 2000, 0, 9, 1.0)
        for i in range(30)
    ]
    final(generator(fake.url).stream(QUESTION, long_sources))

    request = fake.chat_requests()[0]
    # About 61,000 characters -> about 20,500 tokens + room for the answer -> 32768.
    assert request["options"]["num_ctx"] == 32768
    user = request["messages"][-1]["content"]
    for i, source in enumerate(long_sources, start=1):
        assert f'<source id="{i}" file="doc{i - 1}.txt" title="Doc {i - 1}">' in user
        assert source.text in user


def test_num_ctx_setting_is_kept_when_larger() -> None:
    gen = generator("http://127.0.0.1:1", num_ctx=65536)
    assert gen.num_ctx_for([{"role": "user", "content": "short"}]) == 65536
    gen_small = generator("http://127.0.0.1:1", num_ctx=512)
    assert gen_small.num_ctx_for([{"role": "user", "content": "x" * 9000}]) == 8192


def test_think_rejected_with_400_is_retried_without_it_and_remembered(fake: FakeOllama) -> None:
    gen = generator(fake.url, think=True)

    first = final(gen.stream(QUESTION, SOURCES))
    second = final(gen.stream(QUESTION, SOURCES))

    assert first.text == second.text == "Luo Fuli joined Xiaomi [1]."
    sent_think = [r.get("think") for r in fake.chat_requests()]
    assert sent_think == [True, None, None]


def test_think_rejection_is_remembered_per_server_and_model_not_per_instance() -> None:
    memo = NoThinking()
    with FakeOllama(models=["m:latest", "t:latest"], thinking_models=["t:latest"]) as fake:
        final(generator(fake.url, memo, think=True).stream(QUESTION, SOURCES))
        # A new generator for the same server and model does not ask with `think` again...
        final(generator(fake.url, memo, think=True).stream(QUESTION, SOURCES))
        # ...but a model that can think still gets it.
        final(generator(fake.url, memo, think=True, model="t").stream(QUESTION, SOURCES))
        sent = [(r["model"], r.get("think")) for r in fake.chat_requests()]

    assert sent == [("m", True), ("m", None), ("m", None), ("t", True)]


def test_length_cap_is_sent_and_a_cut_answer_carries_the_length_notice() -> None:
    with FakeOllama(reply=["Luo Fuli joined Xiaomi [1] and then"], done_reason="length") as fake:
        result = final(generator(fake.url, num_predict=64, num_thread=1).stream(QUESTION, SOURCES))
        (request,) = fake.chat_requests()

    assert request["options"]["num_predict"] == 64
    assert request["options"]["num_thread"] == 1
    assert result.notice is not None
    assert "ollama.num_predict = 64" in result.notice


def test_a_finished_answer_has_no_notice_and_num_thread_zero_is_not_sent(fake: FakeOllama) -> None:
    result = final(generator(fake.url).stream(QUESTION, SOURCES))

    assert result.notice is None
    assert "num_thread" not in fake.chat_requests()[0]["options"]


@pytest.mark.parametrize(
    ("reply", "abstained"),
    [
        ([ABSTAIN_TEXT], True),
        (["<think>nothing here</think>", "I could not find this in the documents"], True),
        (["<think>only thinking</think>"], True),
        (["Xiaomi [1]."], False),
    ],
)
def test_abstention_is_detected(reply: list[str], abstained: bool) -> None:
    with FakeOllama(reply=reply) as fake:
        result = final(generator(fake.url).stream(QUESTION, SOURCES))
    assert result.abstained is abstained


def test_is_abstention_ignores_quotes_and_emphasis() -> None:
    assert is_abstention(f'"{ABSTAIN_TEXT}"')
    assert is_abstention(f"**{ABSTAIN_TEXT}** The sources cover other topics.")
    assert not is_abstention("The documents say Xiaomi [1].")


# --- failures -------------------------------------------------------------------------------


def test_missing_model_says_ollama_pull() -> None:
    with FakeOllama(models=["other:latest"]) as fake, pytest.raises(GeneratorError) as info:
        run(generator(fake.url, model="qwen3:0.6b"))

    message = str(info.value)
    assert "`ollama pull qwen3:0.6b`" in message
    assert fake.url in message
    assert "\n" not in message


def test_unreachable_host_names_host_and_ollama_serve() -> None:
    url = closed_port_url()
    with pytest.raises(GeneratorError) as info:
        run(generator(url))

    assert url in str(info.value)
    assert "`ollama serve`" in str(info.value)
    assert "OLLAMA_HOST" in str(info.value)


@pytest.mark.parametrize("behaviour", ["cut", "end_early"])
def test_stream_cut_mid_answer_says_it_ended_early(behaviour: Any) -> None:
    events: list[Any] = []
    with FakeOllama(behaviour=behaviour) as fake, pytest.raises(GeneratorError) as info:
        for event in generator(fake.url).stream(QUESTION, SOURCES):
            events.append(event)

    assert f"the stream from {fake.url} ended before the answer was complete" in str(info.value)
    assert events == [TextDelta("Hello"), TextDelta(" world")]


def test_server_that_never_answers_times_out_quickly() -> None:
    started = time.monotonic()
    with FakeOllama(behaviour="hang") as fake, pytest.raises(GeneratorError) as info:
        run(generator(fake.url, read_timeout_s=1))

    assert time.monotonic() - started < 5
    message = str(info.value)
    assert f"no response from the Ollama server at {fake.url} within 1 s" in message
    assert "ollama.read_timeout_s" in message


def test_stall_mid_stream_times_out_too() -> None:
    started = time.monotonic()
    with FakeOllama(behaviour="hang_mid") as fake, pytest.raises(GeneratorError) as info:
        run(generator(fake.url, read_timeout_s=0.5))

    assert time.monotonic() - started < 5
    assert "within 0.5 s" in str(info.value)


def test_other_http_errors_show_status_and_server_text() -> None:
    error = (500, "llama runner process has terminated")
    with FakeOllama(chat_error=error) as fake, pytest.raises(GeneratorError) as info:
        run(generator(fake.url))

    assert str(info.value) == (
        f"the Ollama server at {fake.url} answered HTTP 500: llama runner process has terminated"
    )


# --- probe ----------------------------------------------------------------------------------


def test_probe_finds_the_model_by_its_untagged_name(fake: FakeOllama) -> None:
    assert generator(fake.url).probe() == (True, f"ollama model m at {fake.url}")
    assert [(r.method, r.path) for r in fake.requests] == [("GET", "/api/tags")]


def test_probe_reports_a_missing_model() -> None:
    with FakeOllama(models=["llama3.2:latest", "m:7b"]) as fake:
        ok, reason = generator(fake.url, model="m").probe()

    assert ok is False
    assert "`ollama pull m`" in reason


def test_probe_reports_an_unreachable_server() -> None:
    url = closed_port_url()
    ok, reason = generator(url, connect_timeout_s=1).probe()

    assert ok is False
    assert url in reason and "`ollama serve`" in reason


def test_probe_uses_the_connect_timeout_not_the_read_timeout() -> None:
    started = time.monotonic()
    # A listening socket nobody accepts from: the kernel completes the connection, then silence.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        ok, reason = generator(url, connect_timeout_s=0.5, read_timeout_s=300).probe()

    assert ok is False
    assert time.monotonic() - started < 5
    assert url in reason and "within 0.5 s" in reason and "ollama.connect_timeout_s" in reason


# --- condense -------------------------------------------------------------------------------

HISTORY = [Turn("user", "Who founded Acme?"), Turn("assistant", "Jane Doe founded it [1].")]


def test_condense_returns_the_models_query_without_reasoning() -> None:
    reply = ["<think>she is Jane Doe</think>", "\nWhen did Jane Doe found Acme?\n"]
    with FakeOllama(reply=reply) as fake:
        query = generator(fake.url, think=True).condense(HISTORY, "When did she do that?")

    assert query == "When did Jane Doe found Acme?"
    (request,) = fake.chat_requests()
    assert request["stream"] is False
    assert request["think"] is False
    assert "When did she do that?" in request["messages"][-1]["content"]
    assert "Jane Doe founded it [1]." in request["messages"][-1]["content"]


def test_condense_falls_back_to_the_question_on_errors() -> None:
    with FakeOllama(chat_error=(500, "boom")) as fake:
        assert generator(fake.url).condense(HISTORY, "When?") == "When?"
    assert generator(closed_port_url()).condense(HISTORY, "When?") == "When?"
    with FakeOllama(reply=["<think>unsure</think>"]) as fake:
        assert generator(fake.url).condense(HISTORY, "When?") == "When?"


def test_condense_without_history_makes_no_request(fake: FakeOllama) -> None:
    assert generator(fake.url).condense([], "Standalone?") == "Standalone?"
    assert fake.requests == []


def test_fake_server_threads_end_with_the_test() -> None:
    before = set(threading.enumerate())
    with FakeOllama(behaviour="hang") as fake, pytest.raises(GeneratorError):
        run(generator(fake.url, read_timeout_s=0.3))
    with FakeOllama() as fake:
        final(generator(fake.url).stream(QUESTION, SOURCES))  # leaves a keep-alive connection

    deadline = time.monotonic() + 3
    while set(threading.enumerate()) - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert set(threading.enumerate()) - before == set()

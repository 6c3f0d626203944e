"""The ``openai`` and ``llamacpp`` backends' user-fixable failures, and the shared chunk reader.

The happy paths run against a real model in tests/test_real_model.py; these need no model.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from ollama_fake import closed_port_url

from assistant.generators.base import GeneratorError, final
from assistant.generators.chat_stream import ChatAccumulator
from assistant.generators.llamacpp import MISSING_ENGINE, LlamaCppGenerator
from assistant.generators.openai import OpenAIGenerator
from assistant.settings import LlamaCppSettings, OpenAISettings
from assistant.types import ReasoningDelta, RetrievedChunk, TextDelta

SOURCES = [RetrievedChunk("a#0", "luo.md", None, "Luo Fuli joined Xiaomi.", 0, 23, 0.9)]


def answer(generator) -> None:
    final(generator.stream("Which company did Luo Fuli join?", SOURCES))


# --- openai ---------------------------------------------------------------------------------


def test_openai_without_a_base_url_names_the_setting() -> None:
    gen = OpenAIGenerator(OpenAISettings())

    with pytest.raises(GeneratorError, match="set openai.base_url"):
        answer(gen)
    ok, reason = gen.probe()
    assert not ok and "openai.base_url" in reason


def test_openai_unreachable_server_names_the_url() -> None:
    url = closed_port_url() + "/v1"
    gen = OpenAIGenerator(OpenAISettings(base_url=url, model="m", connect_timeout_s=2))

    with pytest.raises(GeneratorError, match="cannot reach the OpenAI-compatible server at") as e:
        answer(gen)
    assert url in str(e.value)
    assert "\n" not in str(e.value)
    assert gen.probe()[0] is False


# --- llamacpp -------------------------------------------------------------------------------


def test_llamacpp_without_a_model_path_names_the_setting() -> None:
    gen = LlamaCppGenerator(LlamaCppSettings())

    with pytest.raises(GeneratorError, match="set llamacpp.model_path"):
        answer(gen)
    assert gen.probe()[0] is False


def test_llamacpp_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.gguf"
    gen = LlamaCppGenerator(LlamaCppSettings(model_path=str(missing)))

    with pytest.raises(GeneratorError) as e:
        answer(gen)
    assert str(missing) in str(e.value) and "llamacpp.model_path" in str(e.value)


def test_llamacpp_without_the_engine_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # import now fails as if not installed

    gen = LlamaCppGenerator(LlamaCppSettings(model_path=str(model)))
    with pytest.raises(GeneratorError) as e:
        answer(gen)
    assert str(e.value) == MISSING_ENGINE
    assert "pip install '.[llm]'" in MISSING_ENGINE


def test_llamacpp_file_that_is_not_a_model_says_so(tmp_path: Path) -> None:
    pytest.importorskip("xllamacpp")
    not_a_model = tmp_path / "notes.gguf"
    not_a_model.write_text("this is not a model")

    with pytest.raises(GeneratorError, match="could not load .*notes.gguf.*GGUF"):
        answer(LlamaCppGenerator(LlamaCppSettings(model_path=str(not_a_model))))


# --- the shared chunk reader ----------------------------------------------------------------


def test_accumulator_separates_reasoning_content_and_think_blocks() -> None:
    reply = ChatAccumulator()
    events = [
        *reply.feed(None, "Looking at source 1."),
        *reply.feed("<think>more</th"),
        *reply.feed("ink>Xiaomi [1]."),
        *reply.close(),
    ]
    reply.finish_reason = "stop"
    generation = reply.generation("x")

    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Xiaomi [1]."
    assert [e.text for e in events if isinstance(e, ReasoningDelta)] == [
        "Looking at source 1.",
        "more",
    ]
    assert generation.text == "Xiaomi [1]."
    assert generation.reasoning == "Looking at source 1.\n\nmore"
    assert generation.notice is None


def test_accumulator_reports_a_length_cut_with_the_setting() -> None:
    reply = ChatAccumulator()
    reply.feed("Luo Fuli joined")
    reply.finish_reason = "length"

    generation = reply.generation("x", ("llamacpp.max_tokens", 48))

    assert generation.notice is not None
    assert "llamacpp.max_tokens = 48" in generation.notice
    assert not generation.abstained


# --- the auto policy --------------------------------------------------------------------------


def test_auto_skips_unset_backends_and_names_failing_ones(seed_index, embedder) -> None:
    from assistant import Assistant

    settings, _ = seed_index
    down = closed_port_url()
    base = {"generator.name": "auto", "ollama.host": down}

    unset = Assistant.from_settings(settings.replace(**base), embedder=embedder)
    chosen, notice = unset.generators.resolve("auto")
    assert chosen.name == "extractive"
    assert "Ollama" in notice and "openai" not in notice and "llamacpp" not in notice

    configured = {
        **base,
        "openai.base_url": down + "/v1",
        "llamacpp.model_path": "/nonexistent/model.gguf",
    }
    failing = Assistant.from_settings(settings.replace(**configured), embedder=embedder)
    chosen, notice = failing.generators.resolve("auto")
    assert chosen.name == "extractive"
    assert "OpenAI-compatible server" in notice and "/nonexistent/model.gguf" in notice


def test_auto_uses_a_configured_gguf_and_says_why(seed_index, embedder, tmp_path) -> None:
    pytest.importorskip("xllamacpp")
    from assistant import Assistant

    settings, _ = seed_index
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")  # the probe checks the file and the engine, it does not load
    overrides = {
        "generator.name": "auto",
        "ollama.host": closed_port_url(),
        "llamacpp.model_path": str(model),
    }
    assistant = Assistant.from_settings(settings.replace(**overrides), embedder=embedder)

    chosen, notice = assistant.generators.resolve("auto")
    assert chosen.name == "llamacpp"
    assert notice.startswith(f"Answered by llamacpp model {model} because")
    assert "Ollama" in notice
    # One instance whatever Ollama model a caller passes: it holds the loaded model.
    assert assistant.generators.get("llamacpp", "other:model") is chosen


def test_reasoning_content_of_an_openai_delta_is_read() -> None:
    from openai.types.chat.chat_completion_chunk import ChoiceDelta

    from assistant.generators.openai import _reasoning_of

    # llama.cpp, vLLM and DeepSeek put reasoning in this non-standard field of the delta.
    delta = ChoiceDelta.model_validate({"content": None, "reasoning_content": "check [1]"})

    assert _reasoning_of(delta) == "check [1]"
    assert _reasoning_of(ChoiceDelta.model_validate({"content": "Xiaomi [1]."})) is None

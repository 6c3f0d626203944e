"""``OllamaGenerator``: answers from a local Ollama server through the ``ollama`` client.

Reasoning never reaches the answer text: Ollama's ``thinking`` field and any ``<think>``
blocks in the content both become ``ReasoningDelta`` events. Every failure a user can fix
(server down, model not pulled, timeout, stream cut) is a one-line ``GeneratorError`` that
names the host or model and what to do.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import ollama

from assistant.generators.base import Generator, GeneratorError
from assistant.generators.chat_stream import is_abstention, length_notice
from assistant.prompts import build_messages, condense_messages, estimate_tokens
from assistant.reasoning import ReasoningSplitter, split_reasoning
from assistant.settings import OllamaSettings
from assistant.types import Generation, ReasoningDelta, RetrievedChunk, StreamEvent, TextDelta, Turn

logger = logging.getLogger(__name__)

# Tokens kept free for the reply (reasoning included) when sizing num_ctx.
ANSWER_ROOM_TOKENS = 2048
# An automatic num_ctx beyond this would ask most machines for more memory than they have.
MAX_AUTO_NUM_CTX = 131072
MAX_QUERY_CHARS = 500
_MAX_ERROR_CHARS = 300
__all__ = ["OllamaGenerator", "NoThinking", "is_abstention"]


class NoThinking:
    """The (host, model) pairs whose server answered that the model cannot think.

    It is a fact about the server, not about one generator: every generator for the same
    host and model shares it, so the failing round trip is paid once per process.
    """

    def __init__(self) -> None:
        self._pairs: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def __contains__(self, pair: tuple[str, str]) -> bool:
        with self._lock:
            return pair in self._pairs

    def add(self, pair: tuple[str, str]) -> None:
        with self._lock:
            self._pairs.add(pair)


# Process-wide on purpose (see NoThinking); tests pass their own.
NO_THINKING = NoThinking()


class OllamaGenerator(Generator):
    """Streams a cited answer from an Ollama model (``name`` is ``"ollama:<model>"``).

    ``connect_timeout_s`` bounds connecting; ``read_timeout_s`` bounds the wait for each
    streamed chunk, so a slow CPU model is fine as long as tokens keep coming.
    """

    def __init__(self, settings: OllamaSettings, no_thinking: NoThinking = NO_THINKING) -> None:
        self.settings = settings
        self.name = f"ollama:{settings.model}"
        self._no_thinking = no_thinking
        self._client = ollama.Client(
            host=settings.host,
            timeout=httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s),
        )

    def stream(
        self, question: str, sources: Sequence[RetrievedChunk], history: Sequence[Turn] = ()
    ) -> Iterator[StreamEvent]:
        """Yield answer and reasoning deltas, then one ``Generation``.

        Raises ``GeneratorError`` when the server is unreachable, the model is missing, the
        stream stops before Ollama marks it done, or no chunk arrives within the read timeout.
        """
        messages = build_messages(question, sources, history)
        options: dict[str, Any] = {
            "num_ctx": self.num_ctx_for(messages),
            "temperature": self.settings.temperature,
            "num_predict": self.settings.num_predict,
        }
        if self.settings.num_thread:
            options["num_thread"] = self.settings.num_thread
        notice = None
        splitter = ReasoningSplitter()
        answer: list[str] = []
        thinking: list[str] = []
        tagged: list[str] = []
        done = False

        def record(events: list[TextDelta | ReasoningDelta]) -> list[TextDelta | ReasoningDelta]:
            for event in events:
                (answer if isinstance(event, TextDelta) else tagged).append(event.text)
            return events

        for chunk in self._chat_stream(messages, options):
            if chunk.message.thinking:
                thinking.append(chunk.message.thinking)
                yield ReasoningDelta(chunk.message.thinking)
            if chunk.message.content:
                yield from record(splitter.feed(chunk.message.content))
            if chunk.done:
                done = True
                logger.debug(
                    "ollama %s done (%s): %s prompt tokens, %s answer tokens",
                    self.settings.model,
                    chunk.done_reason,
                    chunk.prompt_eval_count,
                    chunk.eval_count,
                )
                if chunk.done_reason == "length":
                    notice = length_notice("ollama.num_predict", self.settings.num_predict)
        yield from record(splitter.close())
        if not done:
            raise GeneratorError(self._cut_message())

        text = "".join(answer)
        parts = ("".join(thinking).strip(), "".join(tagged).strip())
        reasoning = "\n\n".join(part for part in parts if part) or None
        yield Generation(
            text=text,
            generator=self.name,
            reasoning=reasoning,
            abstained=is_abstention(text),
            notice=notice,
        )

    def rewrite_query(self, question: str, history: Sequence[Turn]) -> str:
        """The follow-up ``question`` condensed with ``history`` into a standalone query."""
        return self.condense(history, question)

    def condense(self, history: Sequence[Turn], question: str) -> str:
        """``question`` rewritten with ``history`` as a standalone search query.

        Best effort: without history, or on any failure (server down, empty reply), the
        question is returned unchanged so that retrieval can still go ahead.
        """
        if not history:
            return question
        messages = condense_messages(history, question)
        try:
            response = self._client.chat(
                model=self.settings.model,
                messages=messages,
                stream=False,
                # Reasoning would only slow a one-line rewrite down.
                think=False if self._think is not None else None,
                options={"num_ctx": self.num_ctx_for(messages), "temperature": 0.0},
            )
        except Exception as exc:  # noqa: BLE001 - any failure falls back to the question
            logger.warning("query rewrite skipped: %s", self._error(exc))
            return question
        query = _first_line(split_reasoning(response.message.content or "")[0])
        return query[:MAX_QUERY_CHARS] if query else question

    def probe(self) -> tuple[bool, str]:
        """Whether the server answers within the connect timeout and has the model.

        Returns ``(True, "ollama model X at HOST")`` or ``(False, reason)``, the reason being
        the message the matching ``GeneratorError`` would carry.
        """
        quick = httpx.Timeout(self.settings.connect_timeout_s)
        try:
            with ollama.Client(host=self.settings.host, timeout=quick) as client:
                listed = client.list()
        except httpx.ReadTimeout:
            return False, (
                f"the Ollama server at {self.settings.host} did not list its models within "
                f"{self.settings.connect_timeout_s:g} s; check that `ollama serve` is running "
                "there or raise ollama.connect_timeout_s"
            )
        except Exception as exc:  # noqa: BLE001 - every failure is a reason not to use Ollama
            return False, str(self._error(exc))
        names = {_full_name(model.model) for model in listed.models if model.model}
        if _full_name(self.settings.model) not in names:
            return False, self._missing_model_message()
        return True, f"ollama model {self.settings.model} at {self.settings.host}"

    def models(self) -> list[str]:
        """Names of the models on the server (``list_models``)."""
        return self.list_models()

    def complete(self, messages: list[dict[str, str]], temperature: float = 0.0) -> str:
        """One non-streamed reply to ``messages`` (for the eval judge), with this generator's
        host, timeouts and context sizing; failures raise ``GeneratorError``."""
        try:
            response = self._client.chat(
                model=self.settings.model,
                messages=messages,
                stream=False,
                options={"num_ctx": self.num_ctx_for(messages), "temperature": temperature},
            )
        except Exception as exc:  # noqa: BLE001 - translated into a one-line error
            raise self._error(exc) from None
        return response.message.content or ""

    def list_models(self) -> list[str]:
        """Names of the models on the server; empty when it cannot be reached in time."""
        try:
            with ollama.Client(
                host=self.settings.host, timeout=self.settings.connect_timeout_s
            ) as client:
                return [m.model for m in client.list().models if m.model]
        except Exception as exc:  # noqa: BLE001 - no list is never a reason to fail
            logger.info("no model list from Ollama at %s: %s", self.settings.host, exc)
            return []

    def num_ctx_for(self, messages: Sequence[dict[str, str]]) -> int:
        """The context window to request: the setting, raised to fit the prompt and a reply.

        Ollama silently drops the start of a prompt longer than ``num_ctx``, which would
        lose the rules and the first sources, so the window grows to the next power of two.
        """
        needed = estimate_tokens(messages) + ANSWER_ROOM_TOKENS
        window = 1 << (needed - 1).bit_length()
        if window > MAX_AUTO_NUM_CTX:
            logger.warning(
                "prompt needs about %d tokens; capping num_ctx at %d", needed, MAX_AUTO_NUM_CTX
            )
            window = MAX_AUTO_NUM_CTX
        return max(self.settings.num_ctx, window)

    def close(self) -> None:
        """Close the HTTP connections to the server."""
        self._client.close()

    def _chat_stream(
        self, messages: list[dict[str, str]], options: dict[str, Any]
    ) -> Iterator[ollama.ChatResponse]:
        """The server's chunks, with errors translated and one retry without ``think``."""
        while True:
            think = self._think
            received = False
            chunks = self._client.chat(
                model=self.settings.model,
                messages=messages,
                stream=True,
                think=think,
                options=options,
            )
            try:
                for chunk in chunks:
                    received = True
                    yield chunk
                return
            except ollama.ResponseError as exc:
                if not received and think is not None and _rejects_thinking(exc):
                    logger.info(
                        "ollama model %s does not support thinking; asking without it",
                        self.settings.model,
                    )
                    self._no_thinking.add(self._pair)
                    continue
                raise self._error(exc, received) from None
            except (httpx.HTTPError, ConnectionError, json.JSONDecodeError) as exc:
                raise self._error(exc, received) from None
            finally:
                chunks.close()

    @property
    def _pair(self) -> tuple[str, str]:
        return (self.settings.host, _full_name(self.settings.model))

    @property
    def _think(self) -> bool | None:
        """The ``think`` value to send: None once the server said the model cannot think."""
        return None if self._pair in self._no_thinking else self.settings.think

    def _error(self, exc: BaseException, received: bool = False) -> GeneratorError:
        """The one-line ``GeneratorError`` for a failure talking to the server."""
        host = self.settings.host
        if isinstance(exc, ollama.ResponseError):
            detail = " ".join(str(exc.error).split())[:_MAX_ERROR_CHARS]
            lowered = detail.lower()
            if exc.status_code == 404 or ("model" in lowered and "not found" in lowered):
                return GeneratorError(self._missing_model_message())
            if exc.status_code > 0:
                return GeneratorError(
                    f"the Ollama server at {host} answered HTTP {exc.status_code}: {detail}"
                )
            return GeneratorError(f"the Ollama server at {host} reported an error: {detail}")
        if isinstance(exc, httpx.ConnectTimeout):
            return GeneratorError(
                f"the Ollama server at {host} did not accept a connection within "
                f"{self.settings.connect_timeout_s:g} s; start it with `ollama serve` "
                "(or set ollama.host / OLLAMA_HOST to where it runs)"
            )
        if isinstance(exc, httpx.TimeoutException):
            return GeneratorError(
                f"no response from the Ollama server at {host} within "
                f"{self.settings.read_timeout_s:g} s; the model may be loading or too slow for "
                "this machine: raise ollama.read_timeout_s or use a smaller ollama.model"
            )
        if isinstance(exc, ConnectionError | httpx.ConnectError):
            return GeneratorError(
                f"cannot reach the Ollama server at {host}; start it with `ollama serve` "
                "(or set ollama.host / OLLAMA_HOST to where it runs)"
            )
        if isinstance(exc, httpx.TransportError | json.JSONDecodeError):
            if received:
                return GeneratorError(self._cut_message())
            return GeneratorError(
                f"the server at {host} closed the connection without an answer; check that "
                "ollama.host points at an Ollama server"
            )
        return GeneratorError(f"cannot talk to the Ollama server at {host}: {exc}")

    def _missing_model_message(self) -> str:
        model = self.settings.model
        return (
            f"the Ollama server at {self.settings.host} does not have model '{model}'; "
            f"download it with `ollama pull {model}` (or set ollama.model to one listed by "
            "`ollama list`)"
        )

    def _cut_message(self) -> str:
        return (
            f"the stream from {self.settings.host} ended before the answer was complete; "
            "the Ollama server may have stopped or run out of memory: check its log and retry"
        )


def _rejects_thinking(exc: ollama.ResponseError) -> bool:
    return exc.status_code == 400 and "does not support thinking" in str(exc.error).lower()


def _full_name(model: str) -> str:
    # Ollama lists "llama3" as "llama3:latest"; compare names with the tag made explicit.
    return model if ":" in model.rsplit("/", 1)[-1] else f"{model}:latest"


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip().strip("\"'`").strip()
        if line.lower().startswith(("query:", "standalone search query:")):
            line = line.split(":", 1)[1].strip()
        if line:
            return line
    return ""

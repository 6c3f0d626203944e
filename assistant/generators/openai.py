"""``OpenAIGenerator``: answers from any OpenAI-compatible server through the ``openai`` client.

llama.cpp's ``llama-server``, LM Studio, vLLM and LocalAI all speak ``/v1/chat/completions``.
The prompt and citation handling are the same as Ollama's; reasoning is separated whether the
server sends it as ``reasoning_content`` or inline ``<think>`` blocks. Every failure a user can
fix is a one-line ``GeneratorError`` naming the server and what to do.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import openai

from assistant.generators.base import Generator, GeneratorError
from assistant.generators.chat_stream import ChatAccumulator
from assistant.prompts import build_messages
from assistant.settings import OpenAISettings
from assistant.types import RetrievedChunk, StreamEvent, Turn

logger = logging.getLogger(__name__)
_MAX_ERROR_CHARS = 300
# Servers that need no key still make the client send one.
_NO_KEY = "none"
NOT_CONFIGURED = (
    "no OpenAI-compatible server is configured; set openai.base_url (for example "
    "--set openai.base_url=http://127.0.0.1:8080/v1 for llama.cpp's llama-server)"
)


class OpenAIGenerator(Generator):
    """Streams a cited answer from an OpenAI-compatible server (``name`` is ``"openai:<model>"``).

    With ``openai.model`` empty the first model the server lists is used.
    """

    def __init__(self, settings: OpenAISettings) -> None:
        self.settings = settings
        self._model = settings.model.strip() or None
        self._lock = threading.Lock()
        self._client = openai.OpenAI(
            # A placeholder keeps the client constructible; `_list` and `stream` refuse to use it.
            base_url=settings.base_url.strip() or "http://127.0.0.1:1/v1",
            api_key=settings.api_key or _NO_KEY,
            timeout=openai.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s),
            max_retries=0,
        )

    @property
    def name(self) -> str:  # type: ignore[override] - the model may be learnt from the server
        return f"openai:{self._model or 'default'}"

    @property
    def configured(self) -> bool:
        """Whether ``openai.base_url`` is set (``auto`` skips the backend otherwise)."""
        return bool(self.settings.base_url.strip())

    def stream(
        self, question: str, sources: Sequence[RetrievedChunk], history: Sequence[Turn] = ()
    ) -> Iterator[StreamEvent]:
        """Yield answer and reasoning deltas, then one ``Generation``.

        Raises ``GeneratorError`` when the server is unreachable, rejects the request, stops
        before sending its finish reason, or sends nothing within the read timeout.
        """
        if not self.settings.base_url.strip():
            raise GeneratorError(NOT_CONFIGURED)
        model = self.model()
        messages = build_messages(question, sources, history)
        reply = ChatAccumulator()
        received = False
        try:
            chunks = self._client.chat.completions.create(
                model=model,
                messages=messages,  # type: ignore[arg-type]
                stream=True,
                max_tokens=self.settings.max_tokens,
                temperature=self.settings.temperature,
            )
        except Exception as exc:  # noqa: BLE001 - translated into one GeneratorError
            raise self._error(exc) from None
        try:
            for chunk in chunks:
                received = True
                for choice in chunk.choices[:1]:
                    delta = choice.delta
                    yield from reply.feed(delta.content, _reasoning_of(delta))
                    if choice.finish_reason:
                        reply.finish_reason = choice.finish_reason
        except GeneratorExit:
            chunks.close()
            raise
        except Exception as exc:  # noqa: BLE001 - translated into one GeneratorError
            chunks.close()
            raise self._error(exc, received) from None
        yield from reply.close()
        if reply.finish_reason is None:
            raise GeneratorError(self._cut_message())
        yield reply.generation(self.name, ("openai.max_tokens", self.settings.max_tokens))

    def model(self) -> str:
        """The model to ask: the setting, or the first one the server lists (asked once)."""
        with self._lock:
            if self._model is None:
                names = self._list()
                if not names:
                    raise GeneratorError(
                        f"the server at {self.settings.base_url} lists no models; load one "
                        "there or set openai.model"
                    )
                self._model = names[0]
            return self._model

    def probe(self) -> tuple[bool, str]:
        """Whether the server lists its models within the connect timeout (and has the model)."""
        try:
            names = self._list(timeout=self.settings.connect_timeout_s)
        except GeneratorError as exc:
            return False, str(exc)
        if self.settings.model and self.settings.model not in names:
            return False, self._missing_model_message(self.settings.model)
        if not names:
            return False, f"the server at {self.settings.base_url} lists no models"
        return True, f"openai model {self.settings.model or names[0]} at {self.settings.base_url}"

    def models(self) -> list[str]:
        """The models the server lists (empty when it cannot be reached)."""
        try:
            return self._list(timeout=self.settings.connect_timeout_s)
        except GeneratorError:
            return []

    def close(self) -> None:
        """Close the HTTP connections to the server."""
        self._client.close()

    def _list(self, timeout: float | None = None) -> list[str]:
        if not self.settings.base_url.strip():
            raise GeneratorError(NOT_CONFIGURED)
        try:
            client = self._client if timeout is None else self._client.with_options(timeout=timeout)
            return [model.id for model in client.models.list()]
        except Exception as exc:  # noqa: BLE001 - translated into one GeneratorError
            raise self._error(exc) from None

    def _error(self, exc: BaseException, received: bool = False) -> GeneratorError:
        """The one-line ``GeneratorError`` for a failure talking to the server."""
        url = self.settings.base_url
        if isinstance(exc, GeneratorError):
            return exc
        if isinstance(exc, openai.APITimeoutError):
            return GeneratorError(
                f"no response from the server at {url} within {self.settings.read_timeout_s:g} s;"
                " the model may be loading or too slow for this machine: raise "
                "openai.read_timeout_s or use a smaller model"
            )
        if isinstance(exc, openai.APIConnectionError):
            if received:
                return GeneratorError(self._cut_message())
            return GeneratorError(
                f"cannot reach the OpenAI-compatible server at {url}; start it (for example "
                "`llama-server -m MODEL.gguf --port 8080`) or fix openai.base_url"
            )
        if isinstance(exc, openai.AuthenticationError):
            return GeneratorError(
                f"the server at {url} refused the API key (HTTP 401); set openai.api_key "
                "(or RAG_OPENAI__API_KEY)"
            )
        if isinstance(exc, openai.NotFoundError):
            if self._model:
                return GeneratorError(self._missing_model_message(self._model))
            return GeneratorError(
                f"the server at {url} has no chat-completions endpoint (HTTP 404); "
                "openai.base_url usually ends in /v1"
            )
        if isinstance(exc, openai.APIStatusError):
            return GeneratorError(
                f"the server at {url} answered HTTP {exc.status_code}: {_detail(exc)}"
            )
        if received:
            return GeneratorError(self._cut_message())
        return GeneratorError(f"cannot talk to the server at {url}: {_detail(exc)}")

    def _missing_model_message(self, model: str) -> str:
        return (
            f"the server at {self.settings.base_url} does not have model '{model}'; set "
            "openai.model to one it lists at /v1/models (or leave it empty for the first)"
        )

    def _cut_message(self) -> str:
        return (
            f"the stream from {self.settings.base_url} ended before the answer was complete; "
            "the server may have stopped or run out of memory: check its log and retry"
        )


def _reasoning_of(delta: Any) -> str | None:
    # llama.cpp, vLLM and DeepSeek send reasoning as a non-standard field of the delta.
    extra = getattr(delta, "model_extra", None) or {}
    value = extra.get("reasoning_content") or extra.get("reasoning")
    return value if isinstance(value, str) else None


def _detail(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(str(message).split())[:_MAX_ERROR_CHARS]

"""``LlamaCppGenerator``: a GGUF model file run inside this process by llama.cpp.

The engine is the ``xllamacpp`` wheel (the optional ``llm`` extra: ``pip install '.[llm]'``),
which embeds llama.cpp's own server. Requests go to it by direct calls
(``Server.handle_chat_completions``), not over HTTP, and stream back OpenAI-format chunks
through a callback. That server always opens an HTTP listener as well; here it is bound to a
random 127.0.0.1 port and locked with a random API key, so nothing else on the machine can use
it. The model is loaded on the first question and kept for the generator's life.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from assistant.generators.base import Generator, GeneratorError
from assistant.generators.chat_stream import ChatAccumulator
from assistant.prompts import build_messages
from assistant.settings import LlamaCppSettings
from assistant.types import RetrievedChunk, StreamEvent, Turn

logger = logging.getLogger(__name__)
# The prompt cache the engine keeps in RAM (its default is 8 GiB): one question's prompt
# is a few MiB of KV cache for a small model.
PROMPT_CACHE_MIB = 256
# llama.cpp's log verbosity: below 0 prints nothing, so the CLI's --json output stays clean.
_QUIET = -1
_END = object()
MISSING_ENGINE = (
    "the llamacpp generator needs the llama.cpp engine, which is not installed; install the "
    "optional extra with `pip install '.[llm]'` (it brings xllamacpp)"
)


class LlamaCppGenerator(Generator):
    """Streams a cited answer from the GGUF file at ``llamacpp.model_path`` (``name`` "llamacpp").

    Construction checks the settings only; the model is loaded on the first ``stream``.
    """

    name = "llamacpp"

    def __init__(self, settings: LlamaCppSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._server: Any = None

    def stream(
        self, question: str, sources: Sequence[RetrievedChunk], history: Sequence[Turn] = ()
    ) -> Iterator[StreamEvent]:
        """Yield answer and reasoning deltas, then one ``Generation``.

        Raises ``GeneratorError`` when the engine is missing, the file is missing or not a
        model, the prompt does not fit ``llamacpp.n_ctx``, or the engine fails mid-answer.
        """
        server = self._load()
        request = {
            "messages": build_messages(question, sources, history),
            "stream": True,
            "max_tokens": self.settings.max_tokens,
            "temperature": self.settings.temperature,
        }
        events: queue.Queue[Any] = queue.Queue()
        cancel = threading.Event()

        def on_chunk(chunk: dict[str, Any]) -> bool:
            events.put(chunk)
            return cancel.is_set()  # True tells the engine to stop generating

        def run() -> None:
            try:
                server.handle_chat_completions(request, on_chunk)
            except Exception as exc:  # noqa: BLE001 - handed to the consuming thread
                events.put(exc)
            finally:
                events.put(_END)

        # The engine call blocks until the answer is complete (it releases the GIL), so it runs
        # on its own thread and hands chunks over through the queue as they are generated.
        worker = threading.Thread(target=run, name="llamacpp-answer", daemon=True)
        worker.start()
        reply = ChatAccumulator()
        try:
            while (item := events.get()) is not _END:
                if isinstance(item, Exception):
                    raise GeneratorError(f"llama.cpp failed while answering: {item}")
                if "error" in item:
                    raise GeneratorError(self._error_message(item["error"]))
                for choice in (item.get("choices") or [])[:1]:
                    delta = choice.get("delta") or {}
                    yield from reply.feed(delta.get("content"), delta.get("reasoning_content"))
                    if choice.get("finish_reason"):
                        reply.finish_reason = choice["finish_reason"]
        finally:
            # A consumer that stops early (or an error) ends generation at the next token.
            cancel.set()
        yield from reply.close()
        if reply.finish_reason is None:
            raise GeneratorError(
                f"llama.cpp stopped before the answer from {self.settings.model_path} was "
                "complete; retry, or lower llamacpp.n_ctx if memory is short"
            )
        yield reply.generation(self.name, ("llamacpp.max_tokens", self.settings.max_tokens))

    @property
    def configured(self) -> bool:
        """Whether ``llamacpp.model_path`` is set (``auto`` skips the backend otherwise)."""
        return bool(self.settings.model_path.strip())

    def probe(self) -> tuple[bool, str]:
        """Whether the engine is installed and the model file exists (nothing is loaded)."""
        try:
            self._check()
        except GeneratorError as exc:
            return False, str(exc)
        return True, f"llamacpp model {self.settings.model_path}"

    def close(self) -> None:
        """Unload the model (the engine's thread stops)."""
        with self._lock:
            self._server = None

    def _check(self) -> Path:
        raw = self.settings.model_path.strip()
        if not raw:
            raise GeneratorError(
                "no GGUF model is configured for the llamacpp generator; set "
                "llamacpp.model_path (for example --set llamacpp.model_path=/path/model.gguf)"
            )
        path = Path(raw).expanduser()
        if not path.is_file():
            raise GeneratorError(
                f"the GGUF model file {path} does not exist; fix llamacpp.model_path"
            )
        try:
            import xllamacpp  # noqa: F401 - only checking that the engine is there
        except ImportError:
            raise GeneratorError(MISSING_ENGINE) from None
        return path

    def _load(self) -> Any:
        with self._lock:
            if self._server is not None:
                return self._server
            path = self._check()
            import xllamacpp

            params = xllamacpp.CommonParams()
            params.model.path = str(path)
            params.n_ctx = self.settings.n_ctx
            params.n_parallel = 1
            if self.settings.threads:
                params.cpuparams.n_threads = self.settings.threads
                params.cpuparams_batch.n_threads = self.settings.threads
            params.cache_ram_mib = PROMPT_CACHE_MIB
            params.verbosity = _QUIET
            params.hostnames = ["127.0.0.1"]
            params.port = 0
            params.api_keys = [secrets.token_urlsafe(24)]
            logger.info("loading %s with llama.cpp", path)
            try:
                self._server = xllamacpp.Server(params)
            except RuntimeError:
                raise GeneratorError(
                    f"llama.cpp could not load {path}; check that it is a GGUF model file "
                    "(and that llamacpp.n_ctx fits in memory)"
                ) from None
            return self._server

    def _error_message(self, error: Any) -> str:
        detail = error.get("message", error) if isinstance(error, dict) else error
        if isinstance(error, dict) and error.get("type") == "exceed_context_size_error":
            return (
                f"the prompt ({error.get('n_prompt_tokens')} tokens) does not fit the context "
                f"window llamacpp.n_ctx = {self.settings.n_ctx}; raise llamacpp.n_ctx or lower "
                "retrieval.top_k"
            )
        return f"llama.cpp rejected the request: {' '.join(str(detail).split())[:300]}"

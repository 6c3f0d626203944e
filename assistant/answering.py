"""``Assistant``: question -> retrieval -> grounded generation -> ``Answer`` with citations.

One ``Assistant`` serves many threads and UI sessions: it holds no per-conversation state
(history is passed in with each call) and builds its heavy collaborators once.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.citations import parse_citations
from assistant.components import build_embedder, build_indexer, build_lexical, build_store
from assistant.generators.base import Generator, GeneratorError
from assistant.generators.extractive import ExtractiveGenerator
from assistant.retrieval import HybridRetriever, RetrievalOptions
from assistant.settings import Settings, load_settings
from assistant.types import (
    Answer,
    Generation,
    ReasoningDelta,
    RetrievedChunk,
    TextDelta,
    Timings,
    Turn,
)
from index.embedding import SentenceTransformerEmbedder
from index.errors import RagError
from index.pipeline import IndexReport

log = logging.getLogger(__name__)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# How long an `auto` decision about Ollama is reused before the server is asked again.
PROBE_SECONDS = 30.0
# Short names accepted by from_config() for the settings users change most.
SHORTCUTS = {
    "generator": "generator.name",
    "mode": "retrieval.mode",
    "top_k": "retrieval.top_k",
    "model": "ollama.model",
    "index_dir": "index_dir",
    "docs_dir": "docs_dir",
}


class QueryError(RagError):
    """The question cannot be asked as given (empty, too long)."""


@dataclass(frozen=True)
class DocumentInfo:
    """One indexed document: its display name, title, chunk count and index key (path)."""

    source: str
    title: str | None
    chunks: int
    key: str


@dataclass(frozen=True)
class IndexStatus:
    """What the index holds, for status lines."""

    documents: int
    chunks: int
    embedder: str


class Assistant:
    """Answers questions about the indexed documents, citing the passages used."""

    def __init__(self, settings: Settings, embedder: SentenceTransformerEmbedder | None = None):
        """Build from ``settings``; nothing heavy is loaded until the first question.

        ``embedder`` lets several assistants (or an assistant and an indexer) share one loaded
        model; it must match ``settings.embedder``.
        """
        self.settings = settings
        self.embedder = embedder or build_embedder(settings)
        self.store = build_store(settings)
        self.store.expect(self.embedder.name, self.embedder.dimension)
        self.lexical = build_lexical(settings, self.store)
        self.retriever = HybridRetriever(
            self.store, self.lexical, self.embedder, _retrieval_options(settings)
        )
        self._lock = threading.Lock()
        self._ollama: dict[str, Any] = {}  # model -> OllamaGenerator
        self._probes: dict[str, tuple[float, bool, str]] = {}  # model -> (when, ok, reason)
        self._status: tuple[int, IndexStatus] | None = None
        self.extractive = ExtractiveGenerator(
            self.embedder,
            self.lexical.document_frequency,
            abstain_threshold=settings.generator.abstain_threshold,
            max_sentences=settings.generator.max_sentences,
        )

    @classmethod
    def from_config(cls, config: str | Path | None = None, **overrides: Any) -> Assistant:
        """An assistant from YAML settings; keyword overrides use dotted keys or shortcuts.

        ``Assistant.from_config(generator="extractive", top_k=3)`` or
        ``Assistant.from_config("configs/x.yaml", **{"chroma.mode": "http"})``.
        """
        dotted = {SHORTCUTS.get(k, k.replace("__", ".")): v for k, v in overrides.items()}
        return cls(load_settings(config, overrides=dotted))

    # -- the index ----------------------------------------------------------------------------

    def index(self, paths: Sequence[Path], rebuild: bool = False, **kwargs: Any) -> IndexReport:
        """Index ``paths`` into this assistant's store (same embedder, same collection)."""
        indexer = build_indexer(self.settings, embedder=self.embedder, **kwargs)
        report = indexer.run(paths, rebuild=rebuild)
        self.store.forget()  # --rebuild replaces the collection: reopen it on next use
        return report

    def documents(self) -> list[DocumentInfo]:
        """Every indexed document with its chunk count, sorted by name."""
        found: dict[str, list] = {}
        for chunk in self.store.iter_chunks(include_text=False):
            meta = chunk.metadata
            entry = found.setdefault(meta.get("key", ""), [meta.get("source", ""), None, 0])
            entry[1] = entry[1] or meta.get("title")
            entry[2] += 1
        infos = [DocumentInfo(src, title, n, key) for key, (src, title, n) in found.items()]
        return sorted(infos, key=lambda d: d.source)

    def remove_document(self, key: str) -> IndexReport:
        """Delete the file ``key`` from the documents folder and drop it from the index.

        Only files inside ``docs_dir`` can be removed (the UI manages that folder).
        """
        docs = Path(self.settings.docs_dir).resolve()
        path = Path(key).resolve()
        if not path.is_relative_to(docs):
            raise RagError(f"{key} is not in the documents folder {docs}; remove it there")
        path.unlink(missing_ok=True)
        return self.index([docs])

    def passages(self, limit: int = 200) -> dict[str, list[str]]:
        """Up to ``limit`` indexed passages keyed by document name (e.g. for example questions)."""
        texts: dict[str, list[str]] = {}
        for chunk in itertools.islice(self.store.iter_chunks(include_text=True), limit):
            texts.setdefault(str(chunk.metadata.get("source", "")), []).append(chunk.text)
        return texts

    def warm_up(self) -> None:
        """Load the embedding model and open the index now instead of on the first question."""
        self.embedder.embed_query("warm up")
        self.lexical.refresh()

    def status(self) -> IndexStatus:
        """Documents and chunks in the index, and the embedder's name."""
        generation = self.store.generation()
        if self._status and self._status[0] == generation:
            return self._status[1]
        keys = {c.metadata.get("key") for c in self.store.iter_chunks(include_text=False)}
        status = IndexStatus(len(keys), self.store.count(), self.embedder.name)
        self._status = (generation, status)
        return status

    # -- asking -------------------------------------------------------------------------------

    def ask(self, question: str, history: Sequence[Turn] = (), **options: Any) -> Answer:
        """Answer ``question``; see ``stream`` for the options."""
        answer = None
        for event in self.stream(question, history, **options):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    def stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        generator: str | None = None,
        mode: str | None = None,
        top_k: int | None = None,
        model: str | None = None,
    ) -> Iterator[TextDelta | ReasoningDelta | Answer]:
        """Yield answer text and reasoning deltas as they are generated, then the ``Answer``.

        ``generator`` (auto/ollama/extractive), ``mode``, ``top_k`` and ``model`` override the
        settings for this call only. ``history`` holds earlier turns of the conversation.
        """
        started = time.perf_counter()
        question = self._validate(question)
        history = [Turn(t.role, t.content) for t in history if isinstance(t, Turn)]
        chosen, notice = self._choose(generator or self.settings.generator.name, model)

        query = self._retrieval_query(question, history, chosen)
        t0 = time.perf_counter()
        sources = self.retriever.retrieve(query, self._options(mode, top_k))
        retrieve_ms = (time.perf_counter() - t0) * 1000

        t1 = time.perf_counter()
        generation: Generation | None = None
        for event in chosen.stream(question, sources, history):
            if isinstance(event, Generation):
                generation = event
            else:
                yield event
        if generation is None:
            raise GeneratorError(f"{chosen.name} produced no answer")
        timings = Timings(
            retrieve=retrieve_ms,
            generate=(time.perf_counter() - t1) * 1000,
            total=(time.perf_counter() - started) * 1000,
        )
        yield _assemble(question, generation, sources, timings, notice)

    def _validate(self, question: str) -> str:
        if not isinstance(question, str):
            raise QueryError("the question must be text")
        cleaned = _CONTROL.sub(" ", question).strip()
        if not cleaned:
            raise QueryError("the question is empty; type a question about your documents")
        limit = self.settings.query.max_chars
        if len(cleaned) > limit:
            raise QueryError(
                f"the question is {len(cleaned)} characters long, over the {limit} limit "
                "(query.max_chars); shorten it"
            )
        return cleaned

    def _options(self, mode: str | None, top_k: int | None) -> RetrievalOptions:
        options = _retrieval_options(self.settings)
        if mode is not None or top_k is not None:
            options = RetrievalOptions(
                mode=mode or options.mode,  # type: ignore[arg-type]
                top_k=int(top_k or options.top_k),
                candidates=max(options.candidates, int(top_k or 0)),
                rrf_k=options.rrf_k,
            )
        return options

    def _retrieval_query(self, question: str, history: Sequence[Turn], chosen: Generator) -> str:
        last_user = next((t.content for t in reversed(history) if t.role == "user"), None)
        if not last_user:
            return question
        if chosen is not self.extractive and hasattr(chosen, "condense"):
            return chosen.condense(history, question)
        return f"{last_user}\n{question}"

    # -- generators ---------------------------------------------------------------------------

    def ollama(self, model: str | None = None):
        """The Ollama generator for ``model`` (default: settings), created on first use."""
        from assistant.generators.ollama import OllamaGenerator

        model = model or self.settings.ollama.model
        with self._lock:
            if model not in self._ollama:
                ollama_settings = self.settings.ollama.model_copy(update={"model": model})
                self._ollama[model] = OllamaGenerator(ollama_settings)
            return self._ollama[model]

    def ollama_models(self) -> list[str]:
        """Models the Ollama server has (empty when it is unreachable)."""
        return self.ollama().list_models()

    def _choose(self, name: str, model: str | None) -> tuple[Generator, str | None]:
        if name == "extractive":
            return self.extractive, None
        if name == "ollama":
            return self.ollama(model), None
        if name != "auto":
            raise QueryError(f"unknown generator '{name}'; use auto, ollama or extractive")
        ok, reason = self.probe_ollama(model)
        if ok:
            return self.ollama(model), None
        return self.extractive, f"Answered by the extractive generator: {reason}"

    def probe_ollama(self, model: str | None = None) -> tuple[bool, str]:
        """Whether Ollama answers and has the model (cached for ``PROBE_SECONDS``)."""
        model = model or self.settings.ollama.model
        now = time.monotonic()
        cached = self._probes.get(model)
        if cached and now - cached[0] < PROBE_SECONDS:
            return cached[1], cached[2]
        ok, reason = self.ollama(model).probe()
        self._probes[model] = (now, ok, reason)
        return ok, reason


def _retrieval_options(settings: Settings) -> RetrievalOptions:
    r = settings.retrieval
    return RetrievalOptions(mode=r.mode, top_k=r.top_k, candidates=r.candidates, rrf_k=r.rrf_k)


def _assemble(
    question: str,
    generation: Generation,
    sources: Sequence[RetrievedChunk],
    timings: Timings,
    notice: str | None,
) -> Answer:
    if generation.citations is not None:
        text, citations, dropped = generation.text, generation.citations, 0
    else:
        parsed = parse_citations(generation.text, sources)
        text, citations, dropped = parsed.text, parsed.citations, parsed.dropped
    abstained = generation.abstained
    return Answer(
        question=question,
        text=text,
        abstained=abstained,
        grounded=bool(citations) and not abstained,
        generator=generation.generator,
        citations=tuple(citations),
        retrieved=tuple(sources),
        reasoning=generation.reasoning,
        timings=timings,
        notice=notice,
        dropped_citations=dropped,
    )

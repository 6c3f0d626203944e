"""``Assistant``: question -> retrieval -> grounded generation -> ``Answer`` with citations.

One ``Assistant`` serves many threads and UI sessions: it holds no per-conversation state
(history is passed in with each call). Its collaborators (the retriever and the generator
choice) are built once by ``assistant.wiring`` and injected; it only asks and streams.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.generators.base import GeneratorError
from assistant.generators.choice import GeneratorChoice
from assistant.grounding import ECHO_NOTICE, TextEmbedder, ground
from assistant.retrieval import HybridRetriever
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
from index.errors import RagError

if TYPE_CHECKING:
    from assistant.library import Library
    from index.protocols import Embedder

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
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
    """The question cannot be asked as given (empty, too long, history malformed)."""


class Assistant:
    """Answers questions about the indexed documents, citing the passages used."""

    def __init__(
        self,
        settings: Settings,
        retriever: HybridRetriever,
        generators: GeneratorChoice,
        library: Library | None = None,
    ):
        """Collaborators come from ``assistant.wiring.build``; ``library`` is the document
        library built with them, kept here for callers that hold only the assistant."""
        self.settings = settings
        self.retriever = retriever
        self.generators = generators
        self.library = library

    @classmethod
    def from_settings(cls, settings: Settings, embedder: Embedder | None = None) -> Assistant:
        """An assistant (and its library) wired from ``settings``; nothing heavy loads yet.

        ``embedder`` lets several assistants (or an assistant and an indexer) share one loaded
        model; it must match ``settings.embedder``.
        """
        from assistant.wiring import build

        return build(settings, embedder=embedder).assistant

    @classmethod
    def from_config(cls, config: str | Path | None = None, **overrides: Any) -> Assistant:
        """An assistant from YAML settings; keyword overrides use dotted keys or shortcuts.

        ``Assistant.from_config(generator="extractive", top_k=3)`` or
        ``Assistant.from_config("configs/x.yaml", **{"chroma.mode": "http"})``.
        """
        dotted = {SHORTCUTS.get(k, k.replace("__", ".")): v for k, v in overrides.items()}
        return cls.from_settings(load_settings(config, overrides=dotted))

    def ask(self, question: str, history: Sequence[Turn | Mapping] = (), **options: Any) -> Answer:
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
        history: Sequence[Turn | Mapping] = (),
        generator: str | None = None,
        mode: str | None = None,
        top_k: int | None = None,
        model: str | None = None,
    ) -> Iterator[TextDelta | ReasoningDelta | Answer]:
        """Yield answer text and reasoning deltas as they are generated, then the ``Answer``.

        ``generator`` (a name of ``generators.names``), ``mode``, ``top_k`` and ``model``
        override the settings for this call only. ``history`` holds earlier turns of the
        conversation, as ``Turn``s or OpenAI-style ``{"role", "content"}`` dicts.
        """
        started = time.perf_counter()
        question = self._validate(question)
        turns = as_turns(history)
        chosen, notice = self.generators.resolve(generator or self.settings.generator.name, model)

        query = chosen.rewrite_query(question, turns) if turns else question
        t0 = time.perf_counter()
        sources = self.retriever.retrieve(query, top_k=top_k, mode=mode)
        retrieve_ms = (time.perf_counter() - t0) * 1000

        t1 = time.perf_counter()
        generation: Generation | None = None
        for event in chosen.stream(question, sources, turns):
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
        # The claim check embeds with the retriever's embedder (already loaded for the query).
        embedder = self.retriever.embedder
        yield _assemble(question, generation, sources, timings, notice, turns, embedder)

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


def as_turns(history: Sequence[Turn | Mapping]) -> list[Turn]:
    """``history`` as ``Turn``s: ``Turn`` objects or ``{"role", "content"}`` dicts.

    System messages are dropped (the assistant has its own rules); anything else that is not
    a user or assistant turn with text is a ``QueryError`` naming the entry, never ignored.
    """
    turns: list[Turn] = []
    for number, item in enumerate(history, start=1):
        if isinstance(item, Turn):
            role, content = item.role, item.content
        elif isinstance(item, Mapping):
            role, content = item.get("role"), item.get("content")
        else:
            raise QueryError(
                f"history entry {number} is a {type(item).__name__}; give Turn objects or "
                '{"role": ..., "content": ...} dicts'
            )
        if role == "system":
            continue
        if role not in ("user", "assistant") or not isinstance(content, str):
            raise QueryError(
                f"history entry {number} needs role 'user' or 'assistant' and text content, "
                f"got role {role!r}"
            )
        turns.append(Turn(role, content))
    return turns


def _assemble(
    question: str,
    generation: Generation,
    sources: Sequence[RetrievedChunk],
    timings: Timings,
    notice: str | None,
    history: Sequence[Turn] = (),
    embedder: TextEmbedder | None = None,
) -> Answer:
    abstained = generation.abstained
    notices = [n for n in (notice, generation.notice) if n]
    if generation.citations is not None:
        # Exact quotes by construction (the extractive answerer): supported as cited.
        citations = tuple(replace(c, supported=True) for c in generation.citations)
        text, dropped, share = generation.text, 0, (1.0 if citations else None)
        grounded = bool(citations) and not abstained
    else:
        checked = ground(generation.text, question, sources, history, embedder)
        text, citations, dropped, share = (
            checked.text,
            checked.citations,
            checked.dropped,
            checked.share,
        )
        grounded = checked.grounded(abstained)
        if checked.echoed:
            notices.append(ECHO_NOTICE)
    return Answer(
        question=question,
        text=text,
        abstained=abstained,
        grounded=grounded,
        generator=generation.generator,
        citations=tuple(citations),
        retrieved=tuple(sources),
        reasoning=generation.reasoning,
        timings=timings,
        notice=" ".join(notices) or None,
        dropped_citations=dropped,
        grounded_share=share,
    )

"""The values an answer is made of: frozen dataclasses with ``to_dict()`` for JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class RetrievedChunk:
    """A passage found for a question, with the scores that ranked it.

    ``score`` is the fused score used for ranking; ``dense_score`` is cosine similarity
    (1 - distance) and ``lexical_score`` the BM25 score, each None when that retriever did
    not return the chunk. ``start``/``end`` are the span in the cleaned document text.
    """

    chunk_id: str
    source: str
    title: str | None
    text: str
    start: int
    end: int
    score: float
    dense_score: float | None = None
    lexical_score: float | None = None
    location: str | None = None
    page: int | None = None

    @property
    def cited_as(self) -> str:
        """How a citation names this passage: ``"report.pdf, p. 42"`` (or just the file)."""
        return cited_as(self.source, self.location)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape used in ``Answer.to_dict()['retrieved']``."""
        return {
            "chunk_id": self.chunk_id,
            "source": self.source,
            "location": self.location,
            "page": self.page,
            "title": self.title,
            "score": round(self.score, 6),
            "dense_score": None if self.dense_score is None else round(self.dense_score, 6),
            "lexical_score": None if self.lexical_score is None else round(self.lexical_score, 6),
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True)
class Citation:
    """A ``[n]`` marker resolved to the passage it points at.

    ``quote`` is the cited text; ``start``/``end`` its span in the cleaned document text;
    ``location`` where in the file it is ("p. 42", "slide 7"), ``page`` the page/slide number.
    ``supported`` is whether the claims citing it are backed by the passage (see
    ``assistant.grounding``); None when not checked.
    """

    n: int
    chunk_id: str
    source: str
    title: str | None
    quote: str
    start: int
    end: int
    location: str | None = None
    page: int | None = None
    supported: bool | None = None

    @property
    def cited_as(self) -> str:
        """The file and the place in it: ``"report.pdf, p. 42"`` (or just the file)."""
        return cited_as(self.source, self.location)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape used in ``Answer.to_dict()['citations']``."""
        return {
            "n": self.n,
            "chunk_id": self.chunk_id,
            "source": self.source,
            "location": self.location,
            "page": self.page,
            "title": self.title,
            "quote": self.quote,
            "start": self.start,
            "end": self.end,
            "supported": self.supported,
        }


def cited_as(source: str, location: str | None) -> str:
    """``"source, location"``, or ``source`` alone when the location is unknown."""
    return f"{source}, {location}" if location else source


@dataclass(frozen=True)
class Timings:
    """Milliseconds spent retrieving, generating, and in total."""

    retrieve: float = 0.0
    generate: float = 0.0
    total: float = 0.0

    def to_dict(self) -> dict[str, float]:
        return {
            "retrieve": round(self.retrieve, 2),
            "generate": round(self.generate, 2),
            "total": round(self.total, 2),
        }


@dataclass(frozen=True)
class Turn:
    """One message of a conversation's history."""

    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class Answer:
    """The result of asking a question.

    ``abstained`` means the generator said the documents do not hold the answer;
    ``grounded`` means the answer carries valid citations, most of its cited claims are
    supported by their passages and it does not copy the instructions; ``grounded_share`` is
    the share of cited claims supported (None when nothing was checked). ``notice`` explains
    a generator fallback (e.g. Ollama unreachable) or a cut answer. ``dropped_citations``
    counts ``[n]`` markers that pointed at no source or sat inside copied prompt text.
    """

    question: str
    text: str
    abstained: bool
    grounded: bool
    generator: str
    citations: tuple[Citation, ...] = ()
    retrieved: tuple[RetrievedChunk, ...] = ()
    reasoning: str | None = None
    timings: Timings = field(default_factory=Timings)
    notice: str | None = None
    dropped_citations: int = 0
    grounded_share: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON printed by ``rag ask --json``."""
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "grounded": self.grounded,
            "grounded_share": None
            if self.grounded_share is None
            else round(self.grounded_share, 3),
            "generator": self.generator,
            "citations": [c.to_dict() for c in self.citations],
            "retrieved": [r.to_dict() for r in self.retrieved],
            "reasoning": self.reasoning,
            "timings_ms": self.timings.to_dict(),
            "notice": self.notice,
            "dropped_citations": self.dropped_citations,
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@dataclass(frozen=True)
class TextDelta:
    """A piece of answer text, streamed as it is generated."""

    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    """A piece of a thinking model's reasoning (never part of the answer)."""

    text: str


@dataclass(frozen=True)
class Generation:
    """A generator's finished output, before citations are resolved.

    ``citations`` is set by generators whose citations are exact by construction (the
    extractive one); otherwise the ``[n]`` markers in ``text`` are parsed against the sources.
    ``notice`` tells the user something about this answer (e.g. it was cut at the length cap).
    """

    text: str
    generator: str
    reasoning: str | None = None
    abstained: bool = False
    citations: tuple[Citation, ...] | None = None
    notice: str | None = None


StreamEvent = TextDelta | ReasoningDelta | Generation

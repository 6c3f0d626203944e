"""The generator protocol: sources and a question in, a stream of events out."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from assistant.types import Generation, RetrievedChunk, StreamEvent, Turn
from index.errors import RagError

ABSTAIN_TEXT = "I could not find this in the documents."


class GeneratorError(RagError):
    """The generator cannot answer: server unreachable, model missing, stream cut, timeout."""


class Generator(Protocol):
    """Produces an answer from numbered sources.

    ``stream`` yields ``TextDelta``/``ReasoningDelta`` events and ends with exactly one
    ``Generation``. Source ``i`` of ``sources`` is cited as ``[i + 1]``. Errors a user can fix
    (server down, model missing) raise ``GeneratorError``.

    A backend subclasses this protocol to inherit the defaults: ``rewrite_query`` returns the
    question unchanged (a backend that can condense a follow-up overrides it), ``probe`` says
    the backend is ready and ``models`` lists nothing.
    """

    name: str

    def stream(
        self, question: str, sources: Sequence[RetrievedChunk], history: Sequence[Turn] = ()
    ) -> Iterator[StreamEvent]: ...

    def rewrite_query(self, question: str, history: Sequence[Turn]) -> str:
        """The search query for ``question`` in the light of ``history`` (default: unchanged)."""
        return question

    def probe(self) -> tuple[bool, str]:
        """Whether the backend can answer now, and why not (cheap; used by ``auto``)."""
        return True, self.name

    def models(self) -> list[str]:
        """Models the backend offers (empty when it has no choice or cannot be reached)."""
        return []


def final(events: Iterator[StreamEvent]) -> Generation:
    """Drain a stream and return its ``Generation``."""
    result = None
    for event in events:
        if isinstance(event, Generation):
            result = event
    if result is None:
        raise RuntimeError("generator stream ended without a Generation")
    return result

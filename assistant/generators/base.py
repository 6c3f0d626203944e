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
    """

    name: str

    def stream(
        self, question: str, sources: Sequence[RetrievedChunk], history: Sequence[Turn] = ()
    ) -> Iterator[StreamEvent]: ...


def final(events: Iterator[StreamEvent]) -> Generation:
    """Drain a stream and return its ``Generation``."""
    result = None
    for event in events:
        if isinstance(event, Generation):
            result = event
    if result is None:
        raise RuntimeError("generator stream ended without a Generation")
    return result

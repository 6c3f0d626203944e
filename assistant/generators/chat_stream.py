"""Turn a chat model's streamed pieces into answer/reasoning events and one ``Generation``.

Shared by the backends that speak OpenAI's chat-completion format (``openai``, ``llamacpp``):
each chunk brings some ``content`` and possibly ``reasoning_content`` (servers that separate
reasoning themselves); ``<think>`` blocks inside the content are split out too. The stream
ends with a finish reason; ``"length"`` means the answer hit the length cap, which the
``Generation`` reports as a notice.
"""

from __future__ import annotations

from assistant.generators.base import ABSTAIN_TEXT
from assistant.reasoning import ReasoningSplitter
from assistant.types import Generation, ReasoningDelta, TextDelta


def length_notice(setting: str, limit: int) -> str:
    """The notice for an answer cut at ``limit`` tokens by the setting named ``setting``."""
    return (
        f"The answer was cut at the length limit ({setting} = {limit} tokens) and may be "
        f"incomplete; raise {setting} for longer answers."
    )


def is_abstention(answer: str) -> bool:
    """Whether ``answer`` is empty or says the documents do not hold the answer."""
    text = answer.strip().strip("\"'*_ ").lower()
    return not text or text.startswith(ABSTAIN_TEXT.lower().rstrip("."))


class ChatAccumulator:
    """Collects one streamed reply; ``feed`` returns the events to yield as they come."""

    def __init__(self) -> None:
        self._splitter = ReasoningSplitter()
        self._answer: list[str] = []
        self._separate: list[str] = []  # reasoning the server sent apart from the content
        self._tagged: list[str] = []  # reasoning from <think> blocks inside the content
        self.finish_reason: str | None = None

    def feed(
        self, content: str | None, reasoning: str | None = None
    ) -> list[TextDelta | ReasoningDelta]:
        """Events for one chunk's ``content`` and separately sent ``reasoning``."""
        events: list[TextDelta | ReasoningDelta] = []
        if reasoning:
            self._separate.append(reasoning)
            events.append(ReasoningDelta(reasoning))
        if content:
            events.extend(self._record(self._splitter.feed(content)))
        return events

    def close(self) -> list[TextDelta | ReasoningDelta]:
        """Events still held back (a partial tag) at the end of the stream."""
        return self._record(self._splitter.close())

    def generation(self, name: str, cap: tuple[str, int] | None = None) -> Generation:
        """The finished ``Generation``; ``cap`` names the length setting and its value."""
        text = "".join(self._answer)
        parts = ("".join(self._separate).strip(), "".join(self._tagged).strip())
        reasoning = "\n\n".join(part for part in parts if part) or None
        notice = None
        if self.finish_reason == "length" and cap is not None:
            notice = length_notice(*cap)
        return Generation(
            text=text,
            generator=name,
            reasoning=reasoning,
            abstained=is_abstention(text),
            notice=notice,
        )

    def _record(self, events: list[TextDelta | ReasoningDelta]) -> list[TextDelta | ReasoningDelta]:
        for event in events:
            (self._answer if isinstance(event, TextDelta) else self._tagged).append(event.text)
        return events

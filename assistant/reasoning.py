"""Separate a thinking model's ``<think>...</think>`` reasoning from its answer.

The rules, shared by ``split_reasoning`` (whole text) and ``ReasoningSplitter`` (a stream):

- text inside ``<think>...</think>`` is reasoning; a ``<think>`` that never closes makes the
  rest of the text reasoning (a model cut off while thinking has not answered yet);
- a ``</think>`` outside a block is dropped: some DeepSeek-R1 builds open the block in their
  chat template and emit only the closing tag;
- a ``<think>`` inside a block is plain reasoning text (blocks do not nest);
- the answer is everything else with surrounding whitespace removed; the reasoning is the
  blocks in order, separated by a blank line, stripped, or None when there is none.

Tags are matched exactly (lower case), as models emit them.
"""

from __future__ import annotations

from assistant.types import ReasoningDelta, TextDelta

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"
_BLOCK_SEPARATOR = "\n\n"


def split_reasoning(text: str) -> tuple[str, str | None]:
    """Split ``text`` into (answer, reasoning); reasoning is None when there was none."""
    answer: list[str] = []
    blocks: list[str] = []
    rest = text
    while rest:
        opened = rest.find(OPEN_TAG)
        closed = rest.find(CLOSE_TAG)
        if closed != -1 and (opened == -1 or closed < opened):
            answer.append(rest[:closed])
            rest = rest[closed + len(CLOSE_TAG) :]
            continue
        if opened == -1:
            answer.append(rest)
            break
        answer.append(rest[:opened])
        rest = rest[opened + len(OPEN_TAG) :]
        end = rest.find(CLOSE_TAG)
        if end == -1:
            blocks.append(rest)
            break
        blocks.append(rest[:end])
        rest = rest[end + len(CLOSE_TAG) :]
    reasoning = _BLOCK_SEPARATOR.join(block for block in blocks if block).strip()
    return "".join(answer).strip(), reasoning or None


class ReasoningSplitter:
    """Streaming ``split_reasoning``: feed text pieces, get answer and reasoning deltas.

    Tags split across pieces (``"<thi"`` + ``"nk>"``) are recognised: text that may be the
    start of a tag is held back until the next piece decides. The concatenated ``TextDelta``
    texts equal ``split_reasoning(whole)[0]``; the concatenated ``ReasoningDelta`` texts,
    stripped, equal its reasoning. Call ``close()`` once at the end to flush what is held.
    """

    def __init__(self) -> None:
        self._buffer = ""
        self._inside = False
        self._answer_started = False
        self._pending_space = ""
        self._reasoned = False

    def feed(self, delta: str) -> list[TextDelta | ReasoningDelta]:
        """Consume ``delta`` and return the events it completes (possibly none)."""
        events: list[TextDelta | ReasoningDelta] = []
        self._buffer += delta
        while True:
            tag_at, tag = self._next_tag()
            if tag_at == -1:
                break
            self._emit(self._buffer[:tag_at], events)
            self._buffer = self._buffer[tag_at + len(tag) :]
            if tag == OPEN_TAG:
                self._inside = True
                if self._reasoned:
                    events.append(ReasoningDelta(_BLOCK_SEPARATOR))
            elif self._inside:
                self._inside = False
            # else: a stray closing tag, dropped.
        keep = self._held_back()
        self._emit(self._buffer[: len(self._buffer) - keep], events)
        self._buffer = self._buffer[len(self._buffer) - keep :]
        return events

    def close(self) -> list[TextDelta | ReasoningDelta]:
        """Flush held-back text at the end of the stream; trailing answer whitespace is dropped."""
        events: list[TextDelta | ReasoningDelta] = []
        self._emit(self._buffer, events)
        self._buffer = ""
        self._pending_space = ""
        return events

    def _next_tag(self) -> tuple[int, str]:
        closed = self._buffer.find(CLOSE_TAG)
        if self._inside:
            return closed, CLOSE_TAG
        opened = self._buffer.find(OPEN_TAG)
        if closed != -1 and (opened == -1 or closed < opened):
            return closed, CLOSE_TAG
        return opened, OPEN_TAG

    def _held_back(self) -> int:
        # Both tags start with "<" and hold no other "<", so only the text from the last "<"
        # can still grow into a tag.
        start = self._buffer.rfind("<")
        if start == -1:
            return 0
        tail = self._buffer[start:]
        tags = (CLOSE_TAG,) if self._inside else (OPEN_TAG, CLOSE_TAG)
        return len(tail) if any(tag.startswith(tail) for tag in tags) else 0

    def _emit(self, text: str, events: list[TextDelta | ReasoningDelta]) -> None:
        if not text:
            return
        if self._inside:
            self._reasoned = True
            events.append(ReasoningDelta(text))
            return
        if not self._answer_started:
            text = text.lstrip()
            if not text:
                return
            self._answer_started = True
        # Whitespace is held until more answer text follows, so a trailing run never shows.
        text = self._pending_space + text
        shown = text.rstrip()
        self._pending_space = text[len(shown) :]
        if shown:
            events.append(TextDelta(shown))

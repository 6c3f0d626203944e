"""Sentence spans in a passage, for quoting exact sentences and matching claims to them."""

from __future__ import annotations

import re

# A sentence ends at . ! ? (or their CJK forms) followed by space and a likely sentence start,
# or at a paragraph break. Abbreviations such as "U.S." or "Dr." do not end a sentence.
_END = re.compile(
    r"(?P<stop>[.!?][\"'”’)\]]*)\s+(?=[\"'“‘(\[]?[A-Z0-9\u4e00-\u9fff])"
    r"|(?P<cjk>[。！？][”’」』]*)"
    r"|\n\s*\n"
)
_ABBREVIATION = re.compile(r"(?:\b[A-Z]\.|\b(?:Dr|Mr|Mrs|Ms|Prof|Inc|Ltd|Co|Corp|St|vs|etc|No)\.)$")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence in ``text``, whitespace trimmed, in order."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _END.finditer(text):
        if match.group("stop"):
            end = match.start() + len(match.group("stop"))
            if _ABBREVIATION.search(text[max(0, match.start() - 6) : match.start() + 1]):
                continue
        elif match.group("cjk"):
            end = match.end()
        else:
            end = match.start()
        _append(spans, text, start, end)
        start = match.end()
    _append(spans, text, start, len(text))
    return spans


def _append(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``."""
    return [text[s:e] for s, e in sentence_spans(text)]

"""``[n]`` markers in generated text -> ``Citation`` objects.

Markers may be single (``[2]``), grouped (``[1, 3]``, ``[1][3]``) or ranges (``[1-3]``).
A marker that points at no source, or that sits inside text copied from the prompt (``ignore``
spans: an echoed instruction or source is not a citation), is removed from the text and
counted. Each citation quotes
the sentence of its passage that best matches the claim it supports (the whole passage when
no sentence shares a word with it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.types import Citation, RetrievedChunk
from index.sentences import sentence_spans

_MARKER = re.compile(r"\[(\s*\d+\s*(?:(?:,|-|–)\s*\d+\s*)*)\]")
_WORD = re.compile(r"[^\W_]{3,}", re.UNICODE)


@dataclass(frozen=True)
class ParsedCitations:
    """The answer text with invalid markers removed, its citations, and how many were dropped."""

    text: str
    citations: tuple[Citation, ...]
    dropped: int


def _numbers(group: str) -> list[int]:
    numbers: list[int] = []
    for part in re.split(r"\s*,\s*", group.strip()):
        bounds = re.split(r"\s*[-–]\s*", part)
        if len(bounds) == 2 and bounds[0].isdigit() and bounds[1].isdigit():
            low, high = int(bounds[0]), int(bounds[1])
            numbers.extend(range(low, min(high, low + 50) + 1))
        elif part.isdigit():
            numbers.append(int(part))
    return numbers


def parse_citations(
    text: str,
    sources: Sequence[RetrievedChunk],
    ignore: Sequence[tuple[int, int]] = (),
) -> ParsedCitations:
    """Resolve the markers in ``text`` against ``sources`` (source ``i`` is ``[i + 1]``).

    Markers starting inside one of the ``(start, end)`` spans of ``ignore`` are dropped.
    """
    cited: dict[int, Citation] = {}
    dropped = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal dropped
        if any(start <= match.start() < end for start, end in ignore):
            dropped += len(_numbers(match.group(1))) or 1
            return ""
        valid: list[int] = []
        for n in _numbers(match.group(1)):
            if 1 <= n <= len(sources):
                valid.append(n)
                if n not in cited:
                    claim = _claim_before(text, match.start())
                    cited[n] = quote_citation(n, sources[n - 1], claim)
            else:
                dropped += 1
        return "".join(f"[{n}]" for n in dict.fromkeys(valid))

    cleaned = _MARKER.sub(replace, text)
    cleaned = re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned)
    ordered = tuple(cited[n] for n in sorted(cited))
    return ParsedCitations(cleaned, ordered, dropped)


def _claim_before(text: str, position: int) -> str:
    """The sentence the marker at ``position`` closes."""
    spans = sentence_spans(text[:position])
    if not spans:
        return text[:position]
    start, end = spans[-1]
    claim = text[start:end]
    # A marker right after a sentence end belongs to that sentence.
    return claim if len(claim) > 3 or len(spans) == 1 else text[slice(*spans[-2])]


def quote_citation(n: int, source: RetrievedChunk, claim: str) -> Citation:
    """A citation of ``source`` quoting its sentence that shares most words with ``claim``."""
    claim_words = {w.lower() for w in _WORD.findall(claim)}
    best, best_overlap = (0, len(source.text)), 0
    for start, end in sentence_spans(source.text):
        words = {w.lower() for w in _WORD.findall(source.text[start:end])}
        overlap = len(words & claim_words)
        if overlap > best_overlap:
            best, best_overlap = (start, end), overlap
    start, end = best
    return Citation(
        n=n,
        chunk_id=source.chunk_id,
        source=source.source,
        title=source.title,
        quote=source.text[start:end],
        start=source.start + start,
        end=source.start + end,
        location=source.location,
        page=source.page,
    )

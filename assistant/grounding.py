"""Claim-level citation check: is each cited sentence backed by the passage it cites?

A real small model showed two ways an answer looks cited without being grounded: it cites a
passage that does not say what the sentence claims, and it copies the prompt back (the rules,
the source tags, whole sources), markers and all. This module measures both:

- ``copied_spans``: runs of at least ``min_words`` words of the answer that appear word for
  word in a reference text. Copying the instructions (``INSTRUCTION_RUN`` words or more) or a
  source beyond a short quote (``QUOTE_RUN`` words or more) marks the answer ungrounded;
  ``[n]`` markers inside any copied run are not citations (``parse_citations(ignore=...)``).
- ``check_claims``: every sentence carrying ``[n]`` is compared with passage ``n``: lexically
  (the share of the claim's content words found in the passage) and, when an embedder is
  given, by cosine similarity of the two embeddings. A claim is supported when most of its
  words are in the passage, or when the meaning is close and some words are shared.

The thresholds are heuristics set on the seed documents; ``rag eval`` reports the resulting
share so that changes to them are measured.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from assistant.prompts import build_messages, defuse
from assistant.types import Citation, RetrievedChunk, Turn
from index.sentences import sentence_spans

# Words in a row shared with the instructions that count as copying them.
INSTRUCTION_RUN = 8
# Words in a row shared with one source beyond which a quote is a copied source.
QUOTE_RUN = 30
# A claim is supported when this share of its content words is in the passage...
LEXICAL_SUPPORT = 0.6
# ...or when its embedding is this close to the passage's and some words are shared.
SEMANTIC_SUPPORT = 0.6
LEXICAL_FLOOR = 0.25
# The answer is grounded when at least this share of its cited claims is supported.
GROUNDED_SHARE = 0.5

ECHO_NOTICE = (
    "The answer copies the instructions or a source word for word, so it is not treated as "
    "grounded; its markers inside the copied text are not citations."
)

_TOKEN = re.compile(r"\[\d+\]|[^\W_]+", re.UNICODE)
_MARKER = re.compile(r"\[(\d+)\]")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOPWORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "but",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "from",
        "by",
        "with",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "he",
        "she",
        "they",
        "them",
        "his",
        "her",
        "their",
        "we",
        "you",
        "i",
        "which",
        "who",
        "whom",
        "what",
        "when",
        "where",
        "why",
        "how",
        "not",
        "no",
        "yes",
        "do",
        "does",
        "did",
        "has",
        "have",
        "had",
        "will",
        "would",
        "can",
        "could",
        "may",
        "might",
        "shall",
        "should",
        "than",
        "then",
        "there",
        "here",
        "also",
        "into",
        "over",
        "after",
        "before",
        "about",
    ]
)


class TextEmbedder(Protocol):
    """What the check needs from an embedder: unit vectors for a batch of texts."""

    def embed(self, texts: list[str], show_progress: bool = False) -> np.ndarray: ...


@dataclass(frozen=True)
class Copying:
    """Where the answer copies its prompt: spans of copied instructions and sources."""

    instructions: tuple[tuple[int, int], ...]
    sources: tuple[tuple[int, int], ...]
    longest_source_run: int

    @property
    def echoed(self) -> bool:
        """Whether the answer copies the instructions, or a source beyond a short quote."""
        return bool(self.instructions) or self.longest_source_run >= QUOTE_RUN

    @property
    def spans(self) -> tuple[tuple[int, int], ...]:
        """Every copied span: markers inside them are not citations."""
        return self.instructions + self.sources


@dataclass(frozen=True)
class ClaimCheck:
    """The result of ``check_claims``: citations with ``supported`` set, and the share."""

    citations: tuple[Citation, ...]
    share: float | None
    claims: int


def find_copying(
    text: str,
    question: str,
    sources: Sequence[RetrievedChunk],
    history: Sequence[Turn] = (),
) -> Copying:
    """Where ``text`` copies the prompt ``build_messages`` made for this question."""
    instructions = instruction_text(question, sources, history)
    # Markers are transparent here: one the model put into echoed rules is still echo.
    found = copied_spans(text, instructions, INSTRUCTION_RUN, skip_markers=True)
    source_spans: list[tuple[int, int]] = []
    longest = 0
    for chunk in sources:
        for start, end, words in _runs(text, chunk.text, INSTRUCTION_RUN):
            source_spans.append((start, end))
            longest = max(longest, words)
    return Copying(tuple(found), tuple(source_spans), longest)


def instruction_text(
    question: str, sources: Sequence[RetrievedChunk], history: Sequence[Turn] = ()
) -> str:
    """The prompt's own wording: the rules, source tags and closing request, without the
    sources' text, the question or the history (an answer may repeat those)."""
    messages = build_messages(question, sources, history)
    system, user = messages[0]["content"], messages[-1]["content"]
    for chunk in sources:
        user = user.replace(defuse(chunk.text.strip()), "\n")
    user = user.replace(defuse(question.strip()), "\n")
    return system + "\n" + user


def copied_spans(
    text: str, reference: str, min_words: int, skip_markers: bool = False
) -> list[tuple[int, int]]:
    """``(start, end)`` spans of ``text`` that repeat ``min_words``+ words of ``reference``.

    With ``skip_markers`` the ``[n]`` markers of both texts are ignored when matching (and a
    marker inside a copied run is part of the span).
    """
    return [(s, e) for s, e, _ in _runs(text, reference, min_words, skip_markers)]


def check_claims(
    text: str,
    citations: Sequence[Citation],
    sources: Sequence[RetrievedChunk],
    embedder: TextEmbedder | None = None,
) -> ClaimCheck:
    """Check each sentence of ``text`` carrying ``[n]`` against source ``n``.

    ``text`` is the answer after ``parse_citations`` (markers are valid ``[n]``). Returns the
    citations with ``supported`` set (True when any claim citing it is supported) and the
    share of (claim, citation) pairs supported, None when nothing is cited.
    """
    pairs = _claim_pairs(text, len(sources))
    if not pairs:
        return ClaimCheck(tuple(citations), None, 0)
    lexical = [_lexical_support(claim, sources[n - 1].text) for claim, n in pairs]
    semantic = _semantic_support(pairs, sources, embedder)
    supported_by: dict[int, bool] = {}
    verdicts = []
    for (_, n), lex, sem in zip(pairs, lexical, semantic, strict=True):
        ok = lex >= LEXICAL_SUPPORT or (sem >= SEMANTIC_SUPPORT and lex >= LEXICAL_FLOOR)
        verdicts.append(ok)
        supported_by[n] = supported_by.get(n, False) or ok
    checked = tuple(replace(c, supported=supported_by.get(c.n, False)) for c in citations)
    return ClaimCheck(checked, sum(verdicts) / len(verdicts), len(pairs))


def _claim_pairs(text: str, count: int) -> list[tuple[str, int]]:
    """(claim, n) for every valid marker: the sentence it closes, markers removed."""
    pairs: list[tuple[str, int]] = []
    previous = ""
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        numbers = [int(m) for m in _MARKER.findall(sentence) if 1 <= int(m) <= count]
        claim = " ".join(_MARKER.sub(" ", sentence).split())
        if not _content_words(claim):
            # A marker on its own (after a sentence end) belongs to the sentence before.
            claim = previous
        for n in dict.fromkeys(numbers):
            if claim:
                pairs.append((claim, n))
        if _content_words(claim):
            previous = claim
    return pairs


def _content_words(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]


def _stem(word: str) -> str:
    # Crude but language-agnostic enough: "joined"/"joins"/"join" share their start.
    return word[:6] if len(word) > 6 else word.rstrip("s") or word


def _lexical_support(claim: str, passage: str) -> float:
    words = _content_words(claim)
    if not words:
        return 0.0
    found = set(_content_words(passage))
    return sum(word in found for word in words) / len(words)


def _semantic_support(
    pairs: Sequence[tuple[str, int]],
    sources: Sequence[RetrievedChunk],
    embedder: TextEmbedder | None,
) -> list[float]:
    if embedder is None:
        return [0.0] * len(pairs)
    claims = [claim for claim, _ in pairs]
    passages = [sources[n - 1].text for _, n in pairs]
    vectors = np.asarray(embedder.embed(claims + passages), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors / np.where(norms == 0, 1, norms)
    a, b = vectors[: len(pairs)], vectors[len(pairs) :]
    return [float(x) for x in np.sum(a * b, axis=1)]


def _runs(
    text: str, reference: str, min_words: int, skip_markers: bool = False
) -> list[tuple[int, int, int]]:
    """Maximal runs of ``text`` tokens covered by ``min_words``-grams of ``reference``:
    ``(start, end, words)`` with character offsets into ``text``."""

    def tokens_of(value: str) -> list[re.Match[str]]:
        found = _TOKEN.finditer(value.lower())
        return [m for m in found if not (skip_markers and m.group(0).startswith("["))]

    ref = [m.group(0) for m in tokens_of(reference)]
    tokens = tokens_of(text)
    if len(tokens) < min_words or len(ref) < min_words:
        return []
    grams = {tuple(ref[i : i + min_words]) for i in range(len(ref) - min_words + 1)}
    words = [m.group(0) for m in tokens]
    covered = [False] * len(tokens)
    for i in range(len(tokens) - min_words + 1):
        if tuple(words[i : i + min_words]) in grams:
            for j in range(i, i + min_words):
                covered[j] = True
    runs: list[tuple[int, int, int]] = []
    i = 0
    while i < len(tokens):
        if not covered[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(tokens) and covered[j + 1]:
            j += 1
        count = sum(not words[k].startswith("[") for k in range(i, j + 1))
        runs.append((tokens[i].start(), tokens[j].end(), count))
        i = j + 1
    return runs


@dataclass(frozen=True)
class Grounded:
    """An LLM answer's text with its checked citations (what ``Answer`` is built from)."""

    text: str
    citations: tuple[Citation, ...]
    dropped: int
    share: float | None
    echoed: bool

    def grounded(self, abstained: bool) -> bool:
        """Cited, mostly supported, not an echo of the prompt, and not an abstention."""
        return (
            bool(self.citations)
            and not abstained
            and not self.echoed
            and (self.share or 0.0) >= GROUNDED_SHARE
        )


def ground(
    text: str,
    question: str,
    sources: Sequence[RetrievedChunk],
    history: Sequence[Turn] = (),
    embedder: TextEmbedder | None = None,
) -> Grounded:
    """Parse the markers of a generated ``text`` and check every cited claim.

    Markers inside copied prompt text are dropped before parsing, so an echoed prompt cites
    nothing; the answer is then flagged ``echoed``.
    """
    from assistant.citations import parse_citations

    copying = find_copying(text, question, sources, history)
    parsed = parse_citations(text, sources, ignore=copying.spans)
    checked = check_claims(parsed.text, parsed.citations, sources, embedder)
    return Grounded(parsed.text, checked.citations, parsed.dropped, checked.share, copying.echoed)

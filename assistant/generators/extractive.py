"""The offline answerer: quotes the sentences of the retrieved passages that best answer.

No LLM is involved, so nothing is invented: every sentence of the answer is a verbatim quote
with an exact citation. Sentences are scored by embedding similarity to the question, by how
much of the question's (IDF-weighted) vocabulary they contain, and by whether they hold the
kind of answer asked for (a number for "how many", a date for "when", a name for "who").
The answer is withheld when the best support is weak, or when the question names something
(a proper noun or a rare term) that the documents never mention.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.generators.base import ABSTAIN_TEXT
from assistant.sentences import sentence_spans
from assistant.types import Citation, Generation, RetrievedChunk, StreamEvent, TextDelta, Turn
from index.embedding import SentenceTransformerEmbedder
from index.lexical import tokenize

_NUMBER = re.compile(r"\d")
_DATE = re.compile(
    r"\b(1[89]\d\d|20\d\d)\b|\b(January|February|March|April|May|June|July|August|September|"
    r"October|November|December)\b"
)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+")
_CAPITALISED = re.compile(r"\b[A-Z][\w’'-]*[A-Za-z0-9]")
_QUESTION_WORDS = frozenset(
    [
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "is",
        "are",
        "was",
        "were",
        "do",
        "does",
        "did",
        "can",
        "could",
        "should",
        "would",
        "will",
        "according",
        "besides",
        "in",
        "on",
        "of",
        "the",
        "a",
        "an",
        "if",
    ]
)
# Weights of the sentence score; tuned on the development question set.
W_DENSE, W_LEXICAL, W_TYPE = 0.55, 0.35, 0.10


@dataclass(frozen=True)
class _Candidate:
    source_index: int
    start: int
    end: int
    text: str
    dense: float
    lexical: float
    type_match: float
    covered: frozenset[str]

    @property
    def score(self) -> float:
        return W_DENSE * self.dense + W_LEXICAL * self.lexical + W_TYPE * self.type_match


class ExtractiveGenerator:
    """Answers with verbatim sentences from the sources, or abstains."""

    name = "extractive"

    def __init__(
        self,
        embedder: SentenceTransformerEmbedder,
        document_frequency: Callable[[str], float],
        abstain_threshold: float = 0.45,
        max_sentences: int = 3,
    ):
        """``document_frequency(token)`` is the share of chunks holding a BM25 token (0..1)."""
        self.embedder = embedder
        self.document_frequency = document_frequency
        self.abstain_threshold = abstain_threshold
        self.max_sentences = max_sentences

    def stream(
        self, question: str, sources: Sequence[RetrievedChunk], history: Sequence[Turn] = ()
    ) -> Iterator[StreamEvent]:
        """Yield the answer as one delta, then the ``Generation`` with exact citations."""
        generation = self.answer(question, sources)
        yield TextDelta(generation.text)
        yield generation

    def answer(
        self, question: str, sources: Sequence[RetrievedChunk], threshold: float | None = None
    ) -> Generation:
        """The extractive answer for ``question`` (``threshold`` overrides the setting)."""
        threshold = self.abstain_threshold if threshold is None else threshold
        chosen, support = self.select(question, sources)
        if not chosen or support < threshold:
            return Generation(ABSTAIN_TEXT, self.name, abstained=True, citations=())
        return self._compose(chosen, sources)

    def select(
        self, question: str, sources: Sequence[RetrievedChunk]
    ) -> tuple[list[_Candidate], float]:
        """The sentences that best answer and the support score (0 when a term is unknown)."""
        weights = self._term_weights(question)
        if not sources or not weights or self._names_unknown_thing(question):
            return [], 0.0
        candidates = self._candidates(question, sources, weights)
        if not candidates:
            return [], 0.0
        ranked = sorted(candidates, key=lambda c: -c.score)
        best = ranked[0]
        chosen = [best]
        covered = set(best.covered)
        for candidate in ranked[1:]:
            if len(chosen) >= self.max_sentences:
                break
            adds = candidate.covered - covered
            gain = sum(weights[t] for t in adds)
            if gain >= 0.15 and candidate.score >= 0.75 * best.score:
                chosen.append(candidate)
                covered |= candidate.covered
        coverage = sum(weights[t] for t in covered)
        support = 0.5 * best.dense + 0.5 * coverage + W_TYPE * best.type_match
        return chosen, min(support, 1.0)

    def _term_weights(self, question: str) -> dict[str, float]:
        """IDF-like weights of the question's BM25 tokens, normalised to sum to 1."""
        raw: dict[str, float] = {}
        for token in tokenize(question):
            frequency = self.document_frequency(token)
            raw[token] = math.log(1.0 + 1.0 / max(frequency, 0.01))
        total = sum(raw.values())
        return {t: w / total for t, w in raw.items()} if total else {}

    def _names_unknown_thing(self, question: str) -> bool:
        """True when the question names a proper noun or rare term no document contains."""
        words = _CAPITALISED.findall(question)[1:] if question[:1].isupper() else []
        for word in words:
            if word.lower() in _QUESTION_WORDS:
                continue
            tokens = tokenize(word)
            if tokens and all(self.document_frequency(t) == 0 for t in tokens):
                return True
        return False

    def _candidates(
        self, question: str, sources: Sequence[RetrievedChunk], weights: dict[str, float]
    ) -> list[_Candidate]:
        spans: list[tuple[int, int, int, str]] = []
        for index, source in enumerate(sources):
            for start, end in sentence_spans(source.text):
                text = source.text[start:end]
                if len(text) >= 12:
                    spans.append((index, start, end, text))
        if not spans:
            return []
        vectors = self.embedder.embed([question] + [s[3] for s in spans])
        similarities = np.clip(vectors[1:] @ vectors[0], 0.0, 1.0)
        wanted = _expected_type(question)
        candidates = []
        for (index, start, end, text), dense in zip(spans, similarities, strict=True):
            tokens = set(tokenize(text))
            covered = frozenset(t for t in weights if t in tokens)
            candidates.append(
                _Candidate(
                    index,
                    start,
                    end,
                    text,
                    float(dense),
                    sum(weights[t] for t in covered),
                    _type_match(wanted, text),
                    covered,
                )
            )
        return candidates

    def _compose(self, chosen: list[_Candidate], sources: Sequence[RetrievedChunk]) -> Generation:
        ordered = sorted(chosen, key=lambda c: (c.source_index, c.start))
        parts: list[str] = []
        citations: dict[int, Citation] = {}
        for candidate in ordered:
            n = candidate.source_index + 1
            source = sources[candidate.source_index]
            parts.append(f"{candidate.text} [{n}]")
            # One citation per source: several sentences of it widen its quoted region.
            previous = citations.get(n)
            start, end = candidate.start, candidate.end
            if previous:
                start = min(previous.start - source.start, start)
                end = max(previous.end - source.start, end)
            citations[n] = Citation(
                n,
                source.chunk_id,
                source.source,
                source.title,
                source.text[start:end],
                source.start + start,
                source.start + end,
            )
        return Generation(
            " ".join(parts),
            self.name,
            abstained=False,
            citations=tuple(citations[n] for n in sorted(citations)),
        )


def _expected_type(question: str) -> str | None:
    q = question.lower()
    if re.search(r"\bhow (many|much)\b|\bwhat (percentage|share|number)\b|\bnumber of\b", q):
        return "number"
    if re.search(r"\bwhen\b|\bwhat (year|date|month)\b|\bwhich year\b", q):
        return "date"
    if re.search(r"\bwho\b|\bwhom\b|\bwhose\b", q):
        return "name"
    return None


def _type_match(wanted: str | None, text: str) -> float:
    if wanted == "number":
        return 1.0 if _NUMBER.search(text) else 0.0
    if wanted == "date":
        return 1.0 if _DATE.search(text) else 0.0
    if wanted == "name":
        return 1.0 if _NAME.search(text) else 0.0
    return 0.0

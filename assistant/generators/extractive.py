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

from assistant.generators.base import ABSTAIN_TEXT, Generator
from assistant.sentences import sentence_spans
from assistant.types import Citation, Generation, RetrievedChunk, StreamEvent, TextDelta, Turn
from index.lexical import tokenize
from index.protocols import Embedder

_NUMBER = re.compile(
    r"(?<![A-Za-z])\d[\d,.]*(?![A-Za-z])|\b(hundreds?|thousands?|millions?|billions?|dozens?)\b",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"\b(1[89]\d\d|20\d\d)\b|\b(January|February|March|April|May|June|July|August|September|"
    r"October|November|December)\b"
)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+")
_ANAPHOR = re.compile(r"(This|These|That|Those|Such|It|They|Its|Their)\b")
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
# Words that phrase a question rather than name its subject; they need not occur in an answer.
_QUESTION_FILLER = frozenset(
    tokenize(
        "article articles document documents text source sources describe described list listed "
        "name named mention mentioned say says said according kind type main happen happened "
        "full two three respectively make made do does did"
    )
)
# Weights of the sentence score and of the support score; tuned on the development set.
W_DENSE, W_LEXICAL, W_TYPE = 0.55, 0.35, 0.10
S_DENSE, S_COVERAGE, S_ABSENT = 0.6, 0.4, 0.4
# Answer types that must be present: a "how many" answer without a number is no answer.
REQUIRED_TYPES = frozenset({"number", "date"})
# A "who" question whose unknown vocabulary weighs this much needs a name in the answer.
NAME_ABSENT_LIMIT = 0.3


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
    source: str
    offset: int  # the chunk's start in the document, for document coordinates

    @property
    def doc_span(self) -> tuple[int, int]:
        return self.offset + self.start, self.offset + self.end

    @property
    def score(self) -> float:
        return W_DENSE * self.dense + W_LEXICAL * self.lexical + W_TYPE * self.type_match


class ExtractiveGenerator(Generator):
    """Answers with verbatim sentences from the sources, or abstains."""

    name = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        document_frequency: Callable[[str], float],
        *,
        abstain_threshold: float,
        max_sentences: int,
    ):
        """``document_frequency(token)`` is the share of chunks holding a BM25 token (0..1)."""
        self.embedder = embedder
        self.document_frequency = document_frequency
        self.abstain_threshold = abstain_threshold
        self.max_sentences = max_sentences

    def rewrite_query(self, question: str, history: Sequence[Turn]) -> str:
        """The last user turn and ``question`` together, so a follow-up finds its subject."""
        last_user = next((t.content for t in reversed(history) if t.role == "user"), None)
        return f"{last_user}\n{question}" if last_user else question

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
        """The sentences that best answer, and the support score in 0..1.

        Support mixes the best sentence's similarity to the question with how much of the
        question's vocabulary the chosen sentences cover, minus the share of that vocabulary
        no document contains at all. It is 0 when the question names something unknown or
        asks for a number or date that no chosen sentence holds.
        """
        weights = self._term_weights(question)
        if not sources or not weights or self._names_unknown_thing(question):
            return [], 0.0
        candidates = self._candidates(question, sources, weights)
        if not candidates:
            return [], 0.0
        chosen = self._choose(candidates, weights)
        absent = sum(w for t, w in weights.items() if self.document_frequency(t) == 0)
        covered = set().union(*(c.covered for c in chosen))
        coverage = sum(weights[t] for t in covered) / max(1.0 - absent, 1e-6)
        wanted = _expected_type(question)
        typed = any(c.type_match for c in chosen)
        if wanted in REQUIRED_TYPES and not typed:
            return chosen, 0.0
        if wanted == "name" and not typed and absent >= NAME_ABSENT_LIMIT:
            # "Who is the chief executive of X?" where the documents never mention the role
            # and the best sentence names nobody: the answer is not there.
            return chosen, 0.0
        support = S_DENSE * chosen[0].dense + S_COVERAGE * coverage - S_ABSENT * absent
        return chosen, max(0.0, min(support, 1.0))

    def _choose(self, candidates: list[_Candidate], weights: dict[str, float]) -> list[_Candidate]:
        """The best sentence, plus sentences that add question terms or continue it."""
        ranked = sorted(candidates, key=lambda c: -c.score)
        best = ranked[0]
        chosen = [best]
        covered = set(best.covered)
        for candidate in ranked[1:]:
            if len(chosen) >= self.max_sentences:
                break
            gain = sum(weights[t] for t in candidate.covered - covered)
            follows = any(
                c.source == candidate.source and 0 < candidate.doc_span[0] - c.doc_span[1] <= 2
                for c in chosen
            )
            continues = follows and (
                _ANAPHOR.match(candidate.text) or candidate.lexical > 0 or gain > 0
            )
            if (gain >= 0.15 and candidate.score >= 0.75 * best.score) or (
                continues and candidate.score >= 0.4 * best.score
            ):
                chosen.append(candidate)
                covered |= candidate.covered
        return chosen

    def _term_weights(self, question: str) -> dict[str, float]:
        """IDF-like weights of the question's BM25 tokens, normalised to sum to 1."""
        raw: dict[str, float] = {}
        for token in tokenize(question):
            if token in _QUESTION_FILLER:
                continue
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
        spans = _sentence_units(sources)
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
                    sources[index].source,
                    sources[index].start,
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
                location=source.location,
                page=source.page,
            )
        return Generation(
            " ".join(parts),
            self.name,
            abstained=False,
            citations=tuple(citations[n] for n in sorted(citations)),
        )


def _sentence_units(sources: Sequence[RetrievedChunk]) -> list[tuple[int, int, int, str]]:
    """``(source index, start, end, text)`` of each sentence worth quoting.

    A sentence that opens with a pronoun ("This crackdown ...", "These capabilities ...")
    is joined with the sentence before it, so the quote says what it refers to. Sentences
    seen in an earlier (higher-ranked) overlapping chunk are not repeated.
    """
    units: list[tuple[int, int, int, str]] = []
    seen: set[tuple[str, int, int]] = set()
    for index, source in enumerate(sources):
        spans = sentence_spans(source.text)
        for i, (start, end) in enumerate(spans):
            if i > 0 and _ANAPHOR.match(source.text, start):
                start = spans[i - 1][0]
            text = source.text[start:end]
            key = (source.source, source.start + start, source.start + end)
            if len(text) >= 12 and key not in seen:
                seen.add(key)
                units.append((index, start, end, text))
    return units


def _expected_type(question: str) -> str | None:
    q = question.lower()
    if re.search(
        r"\bhow (many|much|old|long|large|big)\b|\b(percentage|number of|valuation|worth|"
        r"revenue|salary|price|cost|size of)\b",
        q,
    ):
        return "number"
    if re.search(r"\bwhen\b|\bwhat (year|date|month|day)\b|\bwhich (year|date|month)\b", q):
        return "date"
    if re.search(r"\bwho\b|\bwhom\b|\bname\b|\b(executives?|founders?|ceo|person|people)\b", q):
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

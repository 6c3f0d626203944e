"""Sentences of the retrieved passages worth quoting, and how two of them compare.

``sentence_units`` cuts passages into quotable units (a sentence read with the one before
when it opens with a pronoun, a fact-box label with its value, a dateline with the first
sentence of a "when" answer); a ``Candidate`` is a unit scored against the question;
``most_complete`` and ``rival`` pick, among near-equal candidates, the fuller statement of a
value and a source that gives a different one. Used by the extractive generator.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant import answer_rules, answer_slots
from assistant.answer_patterns import DATELINE_SCORE
from assistant.types import RetrievedChunk
from index.lexical import tokenize
from index.sentences import sentence_spans

ANAPHOR = re.compile(r"(This|These|That|Those|Such|It|They|Its|Their)\b")
# A fact-box label ("Release date.", "Runner-up."): a few words without digits, read with
# the fragment after it (its value, or the label after a value as in "Netherlands. Runner-up.").
_LABEL = re.compile(r"[A-Za-z][\w’'-]*(?:\s+[A-Za-z][\w’'-]*){0,2}\s*[.:]")
# A fact box's value is short too; a label before a whole sentence is a short sentence.
FACT_WORDS = 6
# Weights of a candidate's score (meaning, question words, answer kind, relation word);
# tuned on the development set.
# A passage-rank prior (0.1 of the first passage's rank) was measured and left out: it cost
# 2-3 correct answers on each development set.
W_DENSE, W_LEXICAL, W_TYPE, W_RELATION = 0.55, 0.35, 0.25, 0.1
# Another source disagrees when its best sentence scores this close to the chosen one.
CONFLICT_RATIO = 0.85
# A sentence scoring this close to the best one and giving its value more completely (the
# date with its year) is quoted instead.
COMPLETE_RATIO = 0.9


@dataclass(frozen=True)
class Candidate:
    """A quotable unit of source ``source_index`` (``start:end`` in its text), scored."""

    source_index: int
    start: int
    end: int
    text: str
    dense: float
    lexical: float
    type_match: float
    values: tuple[str, ...]  # the asked-for things this sentence supplies
    covered: frozenset[str]
    source: str
    offset: int  # the chunk's start in the document, for document coordinates
    relation_match: float = 0.0  # 1 when it holds a word of what is asked ("revenue")

    @property
    def doc_span(self) -> tuple[int, int]:
        return self.offset + self.start, self.offset + self.end

    @property
    def score(self) -> float:
        return (
            W_DENSE * self.dense
            + W_LEXICAL * self.lexical
            + W_TYPE * self.type_match
            + W_RELATION * self.relation_match
        )


def on_subject(
    candidates: list[Candidate], fr: answer_rules.Frame, relation: set[str] | frozenset[str]
) -> list[Candidate]:
    """The candidates to choose the answer (and any disagreeing source) among.

    Sentences about another thing than the asked one ("Assassin's Creed Syndicate" for
    "Assassin's Creed", ``answer_slots.about_another_thing``) only when no sentence is about
    the asked one. For a "when" question, a page's publication date is no answer when a
    sentence gives a full date (day, month, year) and says what is dated (holds a word of
    what is asked: "released", "Release date."): the dateline dates the page, not the event.
    """
    # A mention takes two question words: a sentence holding fewer is not about another thing.
    candidates = [
        c
        for c in candidates
        if len(c.covered) < 2 or not answer_slots.about_another_thing(fr.tokens, c.text, fr.phrases)
    ] or candidates
    if fr.wanted == "date" and any(
        c.type_match >= 1.0 and c.covered & relation for c in candidates
    ):
        candidates = [c for c in candidates if c.type_match > DATELINE_SCORE]
    return candidates


def rival(
    chosen: list[Candidate],
    candidates: list[Candidate],
    fr: answer_rules.Frame,
    passages: Sequence[str] = (),
) -> Candidate | None:
    """A sentence of another document giving a different value for the asked slot, if any.

    It must match the question about as well as the chosen one (score, question words,
    completeness of the value). Dates and numbers disagree when they share no digits; names
    when they share no word, and only if the rival is as close to the question in meaning.
    A sentence limited to a platform or market the question does not name ("coming to PC")
    does not disagree with one that is not (``answer_slots.limited_to``), nor does a sentence
    that names no subject ("The game was released on ...") on a page about another thing
    ("... part of the X 2 DLC season pass"; ``passages[source_index]`` are the pages).
    """
    best = chosen[0]
    if not best.values:
        return None
    wanted, question_tokens = fr.wanted, fr.tokens
    quoted = {c.text for c in chosen}
    for other in sorted(candidates, key=lambda c: -c.score):
        if other.source == best.source or not other.values or other.text in quoted:
            continue
        if other.score < CONFLICT_RATIO * best.score:
            return None
        if other.lexical < CONFLICT_RATIO * best.lexical or other.type_match < best.type_match:
            continue
        if wanted in ("date", "number"):
            mine, theirs = _digits(best.values), _digits(other.values)
        else:
            if other.dense < 0.95 * best.dense:
                continue
            mine, theirs = _words(best.values), _words(other.values)
        said_too = any(v.casefold() in other.text.casefold() for v in best.values)
        if answer_slots.limited_to(question_tokens, other.text) and not answer_slots.limited_to(
            question_tokens, best.text
        ):
            continue  # "coming to PC on ...": a port, not a different release date
        if (
            passages
            and answer_slots.about_another_thing(question_tokens, other.text, fr.phrases) is None
            and answer_slots.about_another_thing(
                question_tokens, passages[other.source_index], fr.phrases
            )
        ):
            continue
        if mine and theirs and not mine & theirs and not said_too:
            return other
    return None


def _digits(values: tuple[str, ...]) -> set[str]:
    """The numbers in ``values``, separators removed ("1,450" -> "1450")."""
    return {
        d.replace(",", "").rstrip(".").lstrip("0")
        for v in values
        for d in re.findall(r"\d[\d,.]*", v)
    }


def _only_dateline(text: str) -> bool:
    match = answer_rules.DATELINE.match(text + " ")
    return match is not None and match.end() >= len(text)


def has_date(text: str) -> bool:
    """Whether ``text`` names a year or a month of its own."""
    return bool(answer_rules.YEAR.search(text) or answer_rules.MONTH_RE.search(text))


def _words(values: tuple[str, ...]) -> set[str]:
    return {t for v in values for t in tokenize(v)}


def dated(candidate: Candidate, sources: Sequence[RetrievedChunk], years: frozenset) -> bool:
    """Whether the asked ``years`` are in the sentence or in its passage's opening sentence
    (its dateline or headline, which date everything under it)."""
    text = sources[candidate.source_index].text
    spans = sentence_spans(text)
    opening = text[: spans[0][1]] if spans else ""
    found = set(answer_rules.YEAR.findall(candidate.text)) | set(answer_rules.YEAR.findall(opening))
    return years <= found


def most_complete(ranked: list[Candidate]) -> Candidate:
    """The best sentence, or a near one giving the same value more completely.

    "Released in Japan on April 29." and "... published in Japan on April 29, 2015." agree;
    the second, with the year, is the better quote when it scores nearly as well.
    """
    best = ranked[0]
    for other in ranked[1:]:
        if other.score < COMPLETE_RATIO * best.score:
            break
        if other.type_match > best.type_match and any(
            v.casefold() in w.casefold() or w.casefold() in v.casefold()
            for v in best.values
            for w in other.values
        ):
            return other
    return best


def sentence_units(
    sources: Sequence[RetrievedChunk],
    indexes: Sequence[int],
    question_tokens: frozenset[str],
    dateline: bool = False,
) -> list[tuple[int, int, int, str]]:
    """``(source index, start, end, text)`` of each sentence worth quoting.

    A sentence that opens with a pronoun ("This crackdown ...", "These capabilities ...")
    is joined with the sentence before it, so the quote says what it refers to. Sentences
    seen in an earlier (higher-ranked) overlapping chunk are not repeated. ``indexes[i]`` is
    the position of ``sources[i]`` among all sources (its citation number - 1). With
    ``dateline`` (a "when" question), a passage's opening publication date is read with its
    first sentence when that has no date of its own: the statement is then dated by its page,
    weakly.
    A fact-box label ("Release date.", "Runner-up.") is also read with the fragment after it.
    """
    units: list[tuple[int, int, int, str]] = []
    seen: set[tuple[str, int, int]] = set()
    for index, source in zip(indexes, sources, strict=True):
        spans = sentence_spans(source.text)
        for i, (start, end) in enumerate(spans):
            if i > 0 and ANAPHOR.match(source.text, start):
                start = spans[i - 1][0]
            elif (
                i == 1
                and dateline
                and _only_dateline(source.text[spans[0][0] : spans[0][1]])
                and not has_date(source.text[start:end])
            ):
                start = spans[0][0]
            text = source.text[start:end]
            key = (source.source, source.start + start, source.start + end)
            if len(text) >= 12 and key not in seen:
                seen.add(key)
                if not answer_rules.unquotable(text, question_tokens):
                    units.append((index, start, end, text))
        for (start, end), (value_start, value_end) in zip(spans, spans[1:], strict=False):
            value = source.text[value_start:value_end]
            if _LABEL.fullmatch(source.text[start:end]) and len(value.split()) <= FACT_WORDS:
                key = (source.source, source.start + start, source.start + value_end)
                text = source.text[start:value_end]
                # Short and capitalised like a heading, but it states something.
                if key not in seen and not answer_rules.unquotable(
                    text, question_tokens, heading=False
                ):
                    seen.add(key)
                    units.append((index, start, value_end, text))
    return units

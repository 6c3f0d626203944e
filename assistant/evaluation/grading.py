"""Grading one answer against its question (pure): correctness, abstention, citations, rank."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from assistant.evaluation.questions import Question
from assistant.types import Answer

_SPACE = re.compile(r"\s+")
# The dots used between the parts of transliterated names ("Jean·Paul", "ジョン・スミス").
_NAME_DOTS = re.compile(r"[\u00b7\u2022\u2027\u2219\u22c5\u30fb\uff65\u0387\u16eb\u2e31]")
_CJK = "\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af"
# Spaces beside a CJK character carry no meaning ("3 亿" is "3亿").
_CJK_SPACE = re.compile(rf"(?<=[{_CJK}])\s+|\s+(?=[{_CJK}])")


def fold(text: str) -> str:
    """Text as compared by the checks.

    NFKC (full-width forms become ASCII), casefolded, every name dot made "·", spaces beside
    CJK characters dropped, other whitespace runs collapsed.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _NAME_DOTS.sub("·", text)
    return _SPACE.sub(" ", _CJK_SPACE.sub("", text)).strip()


def occurs(needle: str, text: str) -> bool:
    """Whether ``needle`` occurs in ``text`` (both folded) as a whole word or number.

    A needle starting or ending with a letter or digit must not continue a longer word or
    number there: "70" is not in "170" or "70.5", "2.3%" not in "12.3%", "meta" not in
    "metaverse". A word may carry an inflection ("universit" matches "universities", "adapt"
    "adaptability"). CJK characters have no word boundaries, so they match beside anything.
    """
    if not needle:
        return True
    before = after = ""
    if _bounded(needle[0]):
        before = _NOT_WORD_BEFORE + (r"(?<!\d[.,])" if needle[0].isdigit() else "")
    if needle[-1].isdigit():
        after = _NOT_WORD_AFTER + r"(?![.,]\d)"
    elif _bounded(needle[-1]):
        after = rf"(?:{_SUFFIXES})?{_NOT_WORD_AFTER}"
    return re.search(before + re.escape(needle) + after, text) is not None


# Endings a word of a ``must`` string may carry in the answer (inflections, derivations).
_SUFFIXES = (
    "s|es|ed|d|ing|ings|y|ies|ity|ities|ion|ions|ation|ations|able|ability|ive|ively|er|ers|"
    "ly|al|ally|ment|ments|ness|ism|ist|ists"
)
# Word characters other than CJK ones, before and after a needle.
_NOT_WORD_BEFORE = rf"(?<![^\W{_CJK}])"
_NOT_WORD_AFTER = rf"(?![^\W{_CJK}])"


def _bounded(char: str) -> bool:
    """Whether a needle starting or ending in ``char`` needs a word boundary there."""
    return char.isalnum() and not re.match(rf"[{_CJK}]", char)


def missing_groups(text: str, must: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
    """The ``must`` groups none of whose strings occurs in ``text`` (empty: all present)."""
    folded = fold(text)
    return [tuple(g) for g in must if not any(occurs(fold(s), folded) for s in g)]


def forbidden_found(text: str, forbid: Sequence[str]) -> tuple[str, ...]:
    """The ``forbid`` strings that occur in ``text`` (whole words and numbers, as ``must``)."""
    folded = fold(text)
    return tuple(s for s in forbid if occurs(fold(s), folded))


def same_file(source: str, gold: str) -> bool:
    """Whether an indexed ``source`` (a relative path) is the gold file name ``gold``."""
    return source == gold or PurePath(source).name == PurePath(gold).name


def cited_files(answer: Answer) -> tuple[str, ...]:
    """The distinct files an answer cites, in citation order."""
    return tuple(dict.fromkeys(c.source for c in answer.citations))


def citation_precision(answer: Answer, gold: Sequence[str]) -> float | None:
    """Share of cited files that are gold sources; None without citations or gold sources."""
    cited = cited_files(answer)
    if not cited or not gold:
        return None
    return sum(any(same_file(c, g) for g in gold) for c in cited) / len(cited)


def citation_recall(answer: Answer, gold: Sequence[str]) -> float | None:
    """Share of gold sources the answer cites; None when there are no gold sources."""
    if not gold:
        return None
    cited = cited_files(answer)
    return sum(any(same_file(c, g) for c in cited) for g in gold) / len(gold)


def retrieval_rank(answer: Answer, gold: Sequence[str]) -> int | None:
    """1-based rank of the first retrieved chunk from a gold file; None when none was found."""
    for rank, chunk in enumerate(answer.retrieved, start=1):
        if any(same_file(chunk.source, g) for g in gold):
            return rank
    return None


@dataclass(frozen=True)
class Check:
    """One pass/fail criterion; ``passed`` None means it does not apply to this question."""

    name: str
    passed: bool | None
    why: str


@dataclass(frozen=True)
class Grade:
    """Everything measured about one answer; ``passed`` is every applicable check passing."""

    checks: tuple[Check, ...]
    correct: bool | None = None
    cites_gold: bool | None = None
    abstained: bool = False
    forbidden: tuple[str, ...] = ()
    precision: float | None = None
    recall: float | None = None
    rank: int | None = None
    faithfulness: float | None = None

    @property
    def passed(self) -> bool:
        """All applicable checks passed."""
        return all(c.passed is not False for c in self.checks)

    def failures(self) -> list[Check]:
        """The checks that failed."""
        return [c for c in self.checks if c.passed is False]


def grade(question: Question, answer: Answer) -> Grade:
    """Grade ``answer`` against ``question``: correctness, abstention, forbidden strings.

    Answerable: correct = every ``must`` group present and not abstained; it must also cite a
    gold file. Unanswerable: it must abstain. Any question: no ``forbid`` string may appear.
    Citation precision/recall and the retrieval rank are measured but are not pass/fail.
    """
    text, gold = answer.text, question.sources
    bad = forbidden_found(text, question.forbid)
    checks = [Check("forbidden", not bad, "contains " + ", ".join(map(repr, bad)) if bad else "")]
    correct = cites = None
    if question.answerable:
        missing = missing_groups(text, question.must)
        correct = not answer.abstained and not missing
        if answer.abstained:
            why = "abstained on an answerable question"
        else:
            why = "; ".join("missing any of " + " / ".join(map(repr, g)) for g in missing)
        checks.insert(0, Check("correct", correct, why))
        cited = cited_files(answer)
        if gold:
            cites = any(same_file(c, g) for c in cited for g in gold)
            why = "" if cites else f"cites {', '.join(cited) or 'nothing'}, not {', '.join(gold)}"
            checks.insert(1, Check("cites_gold", cites, why))
    else:
        why = "" if answer.abstained else "answered an unanswerable question"
        checks.insert(0, Check("abstained", answer.abstained, why))
    return Grade(
        checks=tuple(checks),
        correct=correct,
        cites_gold=cites,
        abstained=answer.abstained,
        forbidden=bad,
        precision=citation_precision(answer, gold),
        recall=citation_recall(answer, gold) if question.answerable else None,
        rank=retrieval_rank(answer, gold) if gold else None,
    )


@dataclass(frozen=True)
class QuestionResult:
    """A question, the answer it got (None after an error) and its grade."""

    question: Question
    answer: Answer | None
    grade: Grade
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """One line of results.jsonl: the answer dict plus pass/fail per check and why."""
        g = self.grade
        return {
            "id": self.question.id,
            "type": self.question.type,
            "answerable": self.question.answerable,
            "passed": g.passed,
            "checks": {c.name: {"pass": c.passed, "why": c.why} for c in g.checks},
            "scores": {
                "citation_precision": g.precision,
                "citation_recall": g.recall,
                "retrieval_rank": g.rank,
                "faithfulness": g.faithfulness,
            },
            "error": self.error,
            "answer": self.answer.to_dict() if self.answer else None,
        }


def error_result(question: Question, message: str) -> QuestionResult:
    """The result of a question whose answering raised ``message``."""
    return QuestionResult(question, None, Grade((Check("answered", False, message),)), message)

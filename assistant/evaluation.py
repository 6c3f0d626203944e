"""Evaluation: question sets -> answers from the real ``Assistant`` -> checks -> metrics.

Question files are read and validated by ``assistant.eval_questions``. Everything below
``run_evaluation`` is pure: ``grade`` turns one ``Answer`` into pass/fail checks with reasons,
``summarise`` turns graded results into ``Metrics``.
"""

from __future__ import annotations

import contextlib
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from assistant.assistant import QueryError
from assistant.eval_questions import Question, QuestionProblem, QuestionSet
from assistant.types import Answer
from index.errors import RagError
from index.store import StoreError

log = logging.getLogger(__name__)
_SPACE = re.compile(r"\s+")


# -- grading one answer (pure) ----------------------------------------------------------------


def fold(text: str) -> str:
    """Text as compared by the checks: NFKC, casefolded, whitespace runs collapsed."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def missing_groups(text: str, must: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
    """The ``must`` groups none of whose strings occurs in ``text`` (empty: all present)."""
    folded = fold(text)
    return [tuple(group) for group in must if not any(fold(s) in folded for s in group)]


def forbidden_found(text: str, forbid: Sequence[str]) -> tuple[str, ...]:
    """The ``forbid`` strings that occur in ``text``."""
    folded = fold(text)
    return tuple(s for s in forbid if fold(s) in folded)


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


# -- metrics (pure) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Latency:
    """Median and 95th percentile in milliseconds over ``count`` answers (None when empty)."""

    median: float | None
    p95: float | None
    count: int


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency(values: Sequence[float]) -> Latency:
    """Median and p95 of ``values`` (milliseconds)."""
    return Latency(percentile(values, 50), percentile(values, 95), len(values))


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


@dataclass(frozen=True)
class Metrics:
    """Aggregate figures over a group of questions; rates are 0..1, None when undefined."""

    questions: int
    passed: int
    answerable: int
    unanswerable: int
    correct: int
    correct_cited: int
    abstained_unanswerable: int
    false_abstentions: int
    forbidden_violations: int
    errors: int
    citation_precision: float | None
    citation_recall: float | None
    hit_at_1: float | None
    hit_at_3: float | None
    hit_at_5: float | None
    mrr: float | None
    grounded_share: float | None
    faithfulness: float | None
    retrieve: Latency
    generate: Latency
    total: Latency

    @property
    def accuracy(self) -> float | None:
        """Correct answers among answerable questions."""
        return _ratio(self.correct, self.answerable)

    @property
    def accuracy_cited(self) -> float | None:
        """Correct answers that also cite a gold file, among answerable questions."""
        return _ratio(self.correct_cited, self.answerable)

    @property
    def abstention_rate(self) -> float | None:
        """Abstentions among unanswerable questions."""
        return _ratio(self.abstained_unanswerable, self.unanswerable)

    @property
    def false_abstention_rate(self) -> float | None:
        """Abstentions among answerable questions."""
        return _ratio(self.false_abstentions, self.answerable)

    @property
    def pass_rate(self) -> float | None:
        """Questions passing every check."""
        return _ratio(self.passed, self.questions)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of summary.json."""
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for name in ("accuracy", "accuracy_cited", "abstention_rate", "false_abstention_rate"):
            data[name] = getattr(self, name)
        data["pass_rate"] = self.pass_rate
        for name in ("retrieve", "generate", "total"):
            value: Latency = data.pop(name)
            data[f"latency_{name}_ms"] = {"median": value.median, "p95": value.p95}
        return data


def summarise(results: Sequence[QuestionResult]) -> Metrics:
    """Aggregate ``results`` into ``Metrics`` (errors count as failed, not abstained)."""
    answered = [r for r in results if r.answer is not None]
    answerable = [r for r in results if r.question.answerable]
    ranked = [r for r in answered if r.question.answerable and r.question.sources]
    ranks = [r.grade.rank for r in ranked]
    spoke = [r.answer for r in answered if not r.answer.abstained]
    timings = [r.answer.timings for r in answered]
    return Metrics(
        questions=len(results),
        passed=sum(r.grade.passed for r in results),
        answerable=len(answerable),
        unanswerable=len(results) - len(answerable),
        correct=sum(bool(r.grade.correct) for r in answerable),
        correct_cited=sum(bool(r.grade.correct and r.grade.cites_gold) for r in answerable),
        abstained_unanswerable=sum(
            r.grade.abstained for r in answered if not r.question.answerable
        ),
        false_abstentions=sum(r.grade.abstained for r in answered if r.question.answerable),
        forbidden_violations=sum(bool(r.grade.forbidden) for r in results),
        errors=len(results) - len(answered),
        citation_precision=_mean([r.grade.precision for r in answered]),
        citation_recall=_mean([r.grade.recall for r in answered]),
        hit_at_1=_mean([float(k is not None and k <= 1) for k in ranks]),
        hit_at_3=_mean([float(k is not None and k <= 3) for k in ranks]),
        hit_at_5=_mean([float(k is not None and k <= 5) for k in ranks]),
        mrr=_mean([1.0 / k if k else 0.0 for k in ranks]),
        grounded_share=_ratio(sum(a.grounded for a in spoke), len(spoke)),
        faithfulness=_mean([r.grade.faithfulness for r in answered]),
        retrieve=latency([t.retrieve for t in timings]),
        generate=latency([t.generate for t in timings]),
        total=latency([t.total for t in timings]),
    )


@dataclass(frozen=True)
class EvalRun:
    """One configuration evaluated on one question set."""

    label: str
    generator: str
    results: tuple[QuestionResult, ...]
    problems: tuple[QuestionProblem, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def overall(self) -> Metrics:
        """Metrics over every question."""
        return summarise(self.results)

    def by_type(self) -> dict[str, Metrics]:
        """Metrics per question type, in order of first appearance."""
        types = dict.fromkeys(r.question.type for r in self.results)
        return {t: summarise([r for r in self.results if r.question.type == t]) for t in types}


def settings_summary(settings: Any) -> dict[str, Any]:
    """The settings that shape answers, for reports (no credentials: no ui, no auth token)."""
    data = settings.model_dump(mode="json")
    keep = ("docs_dir", "index_dir", "indexing", "embedder", "retrieval", "generator")
    summary = {key: data[key] for key in keep}
    summary["chroma"] = {k: data["chroma"][k] for k in ("mode", "host", "port", "collection")}
    summary["ollama"] = {k: data["ollama"][k] for k in ("host", "model")}
    return summary


def run_evaluation(
    assistant: Any,
    questions: QuestionSet | Sequence[Question],
    progress: bool = True,
    label: str = "default",
) -> EvalRun:
    """Ask every question through ``assistant`` (one process, index opened once) and grade it.

    A warm-up question (extractive, not counted) loads the embedder and opens the index first.
    A ``RagError`` on one question (e.g. the generator timed out) is recorded as that
    question's failure; a missing or broken index (``StoreError``) stops the run.
    """
    from tqdm import tqdm

    items = questions.questions if isinstance(questions, QuestionSet) else tuple(questions)
    problems = questions.problems if isinstance(questions, QuestionSet) else ()
    results: list[QuestionResult] = []
    if items:  # load the embedder and open the index first, so latencies are warm-process ones
        with contextlib.suppress(QueryError):
            assistant.ask(items[0].question, generator="extractive")
    for question in tqdm(items, desc=f"eval {label}", unit="q", disable=not progress):
        try:
            answer = assistant.ask(question.question)
        except StoreError:
            raise
        except RagError as exc:
            log.warning("question %s failed: %s", question.id, exc)
            results.append(error_result(question, str(exc)))
            continue
        results.append(QuestionResult(question, answer, grade(question, answer)))
    answers = [r.answer for r in results if r.answer is not None]
    used = sorted({a.generator for a in answers}) or [assistant.settings.generator.name]
    return EvalRun(
        label=label,
        generator=", ".join(used),
        results=tuple(results),
        problems=problems,
        settings=settings_summary(assistant.settings),
        notes=tuple(dict.fromkeys(a.notice for a in answers if a.notice)),
    )

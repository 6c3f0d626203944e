"""Aggregate figures over graded results (pure): rates, retrieval hits, latencies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assistant.evaluation.grading import QuestionResult


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

"""Abstention-threshold calibration: sweep the extractive generator's threshold over a run.

Used by ``rag eval --calibrate``; the report shows the trade-off and recommends a threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assistant.evaluation.grading import QuestionResult, grade
from assistant.evaluation.metrics import summarise
from assistant.evaluation.runner import EvalRun
from assistant.generators.base import ABSTAIN_TEXT
from assistant.types import Answer

# Highest share of answerable questions a recommended threshold may abstain on.
MAX_FALSE_ABSTENTION = 0.10


@dataclass(frozen=True)
class ThresholdPoint:
    """Outcome of one abstention threshold; ``balanced`` averages accuracy and abstention."""

    threshold: float
    accuracy: float | None
    accuracy_cited: float | None
    abstention: float | None
    false_abstention: float | None
    balanced: float


@dataclass(frozen=True)
class Calibration:
    """A threshold sweep: every point, the best one, and the threshold currently set."""

    points: tuple[ThresholdPoint, ...]
    best: ThresholdPoint
    current: float
    questions: int
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape in summary.json."""
        return {
            "best_threshold": self.best.threshold,
            "current_threshold": self.current,
            "questions": self.questions,
            "note": self.note,
            "points": [p.__dict__ for p in self.points],
        }


def calibrate(assistant: Any, run: EvalRun, thresholds: Sequence[float] = ()) -> Calibration:
    """Sweep the extractive generator's abstention threshold over ``run``'s questions.

    Reuses each answer's retrieved passages, so nothing is retrieved again and each question
    is embedded twice in all (support score, answer), not once per threshold. The best
    threshold maximises balanced accuracy (the mean of answerable accuracy and unanswerable
    abstention) among thresholds that abstain on at most ``MAX_FALSE_ABSTENTION`` of the
    answerable questions and still answer something; among equal scores the middle of the
    longest run of neighbouring thresholds wins. When no threshold keeps false abstentions
    that low, the one with the fewest false abstentions is chosen.
    """
    extractive = assistant.generators.get("extractive")
    current = float(extractive.abstain_threshold)
    grid = sorted({*(thresholds or [round(i * 0.05, 2) for i in range(20)]), current})
    cases = []
    for result in run.results:
        if result.answer is None:
            continue
        text, sources = result.answer.question, result.answer.retrieved
        chosen, support = extractive.select(text, sources)
        said = extractive.answer(text, sources, threshold=0.0)
        citations = tuple(said.citations or ())
        spoken = Answer(
            text,
            said.text,
            said.abstained,
            bool(citations) and not said.abstained,
            said.generator,
            citations,
            sources,
        )
        silent = Answer(text, ABSTAIN_TEXT, True, False, extractive.name, (), sources)
        cases.append((result.question, support if chosen else -1.0, spoken, silent))
    points, answering = [], set()
    for threshold in grid:
        graded = []
        for question, support, spoken, silent in cases:
            answer = spoken if support >= threshold else silent
            graded.append(QuestionResult(question, answer, grade(question, answer)))
        m = summarise(graded)
        if any(not r.answer.abstained for r in graded):
            answering.add(threshold)
        parts = [v for v in (m.accuracy, m.abstention_rate) if v is not None]
        balanced = sum(parts) / len(parts) if parts else 0.0
        points.append(
            ThresholdPoint(
                threshold,
                m.accuracy,
                m.accuracy_cited,
                m.abstention_rate,
                m.false_abstention_rate,
                balanced,
            )
        )
    note = None
    if all(q.answerable for q, *_ in cases):
        note = "no unanswerable questions: add some, or the sweep only rewards answering"
    best = _most_robust(_admissible([p for p in points if p.threshold in answering] or points))
    return Calibration(tuple(points), best, current, len(cases), note)


def _admissible(points: Sequence[ThresholdPoint]) -> list[ThresholdPoint]:
    """The points within the false-abstention limit, else those with the fewest."""
    rates = [p.false_abstention or 0.0 for p in points]
    limit = MAX_FALSE_ABSTENTION if min(rates) <= MAX_FALSE_ABSTENTION else min(rates)
    return [p for p, rate in zip(points, rates, strict=True) if rate <= limit + 1e-9]


def _most_robust(points: Sequence[ThresholdPoint]) -> ThresholdPoint:
    """The best balanced point; of equals, the middle of the longest neighbouring run."""
    top = max(p.balanced for p in points)
    runs: list[list[ThresholdPoint]] = [[]]
    for point in points:
        if abs(point.balanced - top) < 1e-9:
            runs[-1].append(point)
        elif runs[-1]:
            runs.append([])
    longest = max(runs, key=len)
    return longest[(len(longest) - 1) // 2]

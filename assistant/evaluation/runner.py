"""Running a question set through the real ``Assistant``: answers, grades, one ``EvalRun``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.answering import QueryError
from assistant.evaluation.grading import QuestionResult, error_result, grade
from assistant.evaluation.metrics import Metrics, summarise
from assistant.evaluation.questions import Question, QuestionProblem, QuestionSet
from index.errors import RagError
from index.store import StoreError

log = logging.getLogger(__name__)


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

"""Evaluation (``rag eval``): question sets -> answers from the real ``Assistant`` -> grades.

One module per job: ``questions`` (the JSONL format), ``grading`` (one answer), ``metrics``
(aggregates), ``runner`` (asking through the public API), ``calibration`` (the abstention
threshold sweep), ``judge`` (the LLM faithfulness check), ``charts`` and ``report`` (HTML),
``cli`` (the command). The names below are the ones other code and the tests use.
"""

from assistant.evaluation.grading import (
    Check,
    Grade,
    QuestionResult,
    citation_precision,
    citation_recall,
    cited_files,
    error_result,
    fold,
    forbidden_found,
    grade,
    missing_groups,
    retrieval_rank,
    same_file,
)
from assistant.evaluation.metrics import Latency, Metrics, latency, percentile, summarise
from assistant.evaluation.runner import EvalRun, run_evaluation, settings_summary

__all__ = [
    "Check",
    "EvalRun",
    "Grade",
    "Latency",
    "Metrics",
    "QuestionResult",
    "citation_precision",
    "citation_recall",
    "cited_files",
    "error_result",
    "fold",
    "forbidden_found",
    "grade",
    "latency",
    "missing_groups",
    "percentile",
    "retrieval_rank",
    "run_evaluation",
    "same_file",
    "settings_summary",
    "summarise",
]

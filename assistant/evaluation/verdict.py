"""What a report says first and what its columns mean: the verdict and the legends."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.evaluation.runner import EvalRun

# What each column means, shown under the tables (terminal and report.html).
LEGEND = {
    "type": 'the question\'s label in the question set ("question" when it has none); '
    '"all" is every question',
    "n": "questions of this type",
    "correct": "answerable questions whose answer holds every required phrase (must)",
    "+cited": "correct and citing at least one of the files that hold the answer (sources)",
    "abstained": "questions the documents cannot answer where the answer said so "
    '("not in the documents"): higher is better',
    "false abst": 'answerable questions where the answer wrongly said "not in the '
    'documents": lower is better',
    "forbidden": "answers containing a phrase the question set forbids (forbid)",
    "cite P": "citation precision: share of cited files that hold the answer",
    "cite R": "citation recall: share of the files holding the answer that were cited",
    "hit@1": "a file holding the answer was the first passage retrieved",
    "hit@3": "... among the first 3 passages retrieved",
    "hit@5": "... among the first 5 passages retrieved",
    "MRR": "mean reciprocal rank: 1 when the right file is retrieved first, 1/2 when second, "
    "..., 0 when not retrieved",
    "grounded": "answers (not abstentions) that carry at least one valid [n] citation",
    "p50 ms": "median time to answer one question (retrieval + generation)",
    "p95 ms": "95th percentile: 19 of 20 questions were answered faster",
}
# The per-question table's columns.
QUESTION_LEGEND = {
    "result": "pass when every check holds (correct, cites a gold file, abstains when it "
    "should, no forbidden phrase)",
    "why": "the checks that failed and what was missing",
    "cited": "the files the answer's [n] markers point at",
    "gold": "the files that hold the answer (the question's sources)",
    "rank": "position of the first passage from a gold file among those retrieved (- : none)",
    "ms": "time to answer this question",
}


def wrong_file_answers(run: EvalRun) -> int:
    """Answers (not abstentions) to answerable questions that cite none of the gold files."""
    return sum(
        1
        for r in run.results
        if r.answer is not None and not r.answer.abstained and r.grade.cites_gold is False
    )


def verdict(run: EvalRun) -> str:
    """The plain-language verdict at the top of the report.

    "Answers 27 of 30 answerable questions correctly; said 'not in the documents' for 4 of 5
    that are not; 1 answer cited the wrong file."
    """
    m = run.overall
    parts = []
    if m.answerable:
        parts.append(f"Answers {m.correct} of {m.answerable} answerable questions correctly")
    if m.unanswerable:
        parts.append(
            f"said 'not in the documents' for {m.abstained_unanswerable} of {m.unanswerable} "
            "that are not"
        )
    wrong = wrong_file_answers(run)
    if wrong:
        parts.append(f"{wrong} answer{'s' * (wrong != 1)} cited the wrong file")
    if m.false_abstentions:
        n = m.false_abstentions
        parts.append(f"{n} answerable question{'s' * (n != 1)} got 'not in the documents'")
    if m.forbidden_violations:
        parts.append(f"{m.forbidden_violations} answer(s) contained a forbidden phrase")
    if m.errors:
        parts.append(f"{m.errors} question(s) failed with an error")
    if not parts:
        return "No question was run."
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def legend_lines(headers: Sequence[str] = tuple(LEGEND)) -> list[str]:
    """``"column: meaning"`` for each of ``headers`` that has an explanation."""
    return [f"{h}: {LEGEND[h]}" for h in headers if h in LEGEND]


def legend_html(headers: Sequence[str] = tuple(LEGEND)) -> str:
    """The legend as an HTML definition list."""
    items = "".join(
        f"<dt>{escape(h)}</dt><dd>{escape(LEGEND[h])}</dd>" for h in headers if h in LEGEND
    )
    return f'<dl class="legend">{items}</dl>'

"""Evaluation output: terminal tables, results.jsonl, summary.json and report.html.

report.html is self-contained (no JavaScript, no external CSS or fonts) so it opens offline;
its charts are inline SVG drawn by ``assistant.evaluation.charts``, each ``<svg>`` tagged
``data-chart="<name>"``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.evaluation.charts import grouped_bars, histogram, line_chart, pct, type_chart
from assistant.evaluation.grading import QuestionResult
from assistant.evaluation.metrics import Metrics
from assistant.evaluation.runner import EvalRun
from assistant.evaluation.verdict import QUESTION_LEGEND, legend_html, legend_lines, verdict

if TYPE_CHECKING:
    from assistant.evaluation.calibration import Calibration

CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:right;vertical-align:top}
th:first-child,td:first-child,td.text{text-align:left}
tr.fail td{background:#fdecea}tr.pass td:first-child{color:#2e7d32}
tr.fail td:first-child{color:#c62828;font-weight:bold}td:not(.text){white-space:nowrap}
td.text{max-width:30em;overflow-wrap:break-word}
td.text:nth-child(5){min-width:22em}td.text:nth-child(4),td.text:nth-child(6){min-width:12em}
figure{display:inline-block;margin:1em 2em 1em 0}figcaption{font-weight:bold}
svg text{font-family:system-ui,sans-serif;font-size:12px}.note{color:#555}
.verdict{font-size:1.2em;font-weight:600;margin:.5em 0 1em}
dl.legend{display:grid;grid-template-columns:max-content auto;gap:.2em 1em;font-size:.88em}
dl.legend dt{font-weight:600}dl.legend dd{margin:0;color:#333}"""


def ms(value: float | None) -> str:
    """Milliseconds without decimals, ``-`` when undefined."""
    return "-" if value is None else f"{value:.0f}"


def _frac(part: int, whole: int) -> str:
    return "-" if not whole else f"{part}/{whole} {part / whole * 100:.0f}%"


# -- tables ------------------------------------------------------------------------------------

SUMMARY_HEADERS = (
    "type",
    "n",
    "correct",
    "+cited",
    "abstained",
    "false abst",
    "forbidden",
    "cite P",
    "cite R",
    "hit@1",
    "hit@3",
    "hit@5",
    "MRR",
    "grounded",
    "p50 ms",
    "p95 ms",
)


def summary_rows(run: EvalRun) -> list[list[str]]:
    """One row per question type and one for all questions, as ``SUMMARY_HEADERS``."""
    groups = [*run.by_type().items(), ("all", run.overall)]
    return [
        [
            name,
            str(m.questions),
            _frac(m.correct, m.answerable),
            _frac(m.correct_cited, m.answerable),
            _frac(m.abstained_unanswerable, m.unanswerable),
            _frac(m.false_abstentions, m.answerable),
            str(m.forbidden_violations),
            pct(m.citation_precision),
            pct(m.citation_recall),
            pct(m.hit_at_1),
            pct(m.hit_at_3),
            pct(m.hit_at_5),
            "-" if m.mrr is None else f"{m.mrr:.2f}",
            pct(m.grounded_share),
            ms(m.total.median),
            ms(m.total.p95),
        ]
        for name, m in groups
    ]


def latency_rows(m: Metrics) -> list[list[str]]:
    """Median and p95 milliseconds for retrieval, generation and total."""
    stages = (("retrieve", m.retrieve), ("generate", m.generate), ("total", m.total))
    return [[name, ms(s.median), ms(s.p95)] for name, s in stages]


def metric_rows(run: EvalRun) -> list[tuple[str, str]]:
    """(name, value) of the settings and headline metrics, for side-by-side comparison."""
    m, s = run.overall, run.settings
    rows = [
        ("generator", run.generator),
        ("chunk_size", str(s.get("indexing", {}).get("chunk_size", "-"))),
        (
            "retrieval",
            f"{s.get('retrieval', {}).get('mode')} top {s.get('retrieval', {}).get('top_k')}",
        ),
        ("index_dir", str(s.get("index_dir", "-"))),
        ("questions", str(m.questions)),
        ("accuracy (answerable)", _frac(m.correct, m.answerable)),
        ("correct and cites gold", _frac(m.correct_cited, m.answerable)),
        ("abstained (unanswerable)", _frac(m.abstained_unanswerable, m.unanswerable)),
        ("false abstentions", _frac(m.false_abstentions, m.answerable)),
        ("forbidden violations", str(m.forbidden_violations)),
        ("citation precision", pct(m.citation_precision)),
        ("citation recall", pct(m.citation_recall)),
        ("hit@1 / hit@3 / hit@5", " / ".join(pct(v) for v in (m.hit_at_1, m.hit_at_3, m.hit_at_5))),
        ("MRR", "-" if m.mrr is None else f"{m.mrr:.2f}"),
        ("grounded (of answered)", pct(m.grounded_share)),
    ]
    if m.faithfulness is not None:
        rows.append(("faithfulness (judge)", pct(m.faithfulness)))
    if m.errors:
        rows.append(("errors", str(m.errors)))
    for name, median, p95 in latency_rows(m):
        rows.append((f"{name} p50 / p95 ms", f"{median} / {p95}"))
    return rows


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Aligned plain-text table: first column left, the others right."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def format_summary(run: EvalRun) -> str:
    """The terminal summary of one run: metrics per type, then latency."""
    lines = [verdict(run), ""]
    lines += [f"{run.label}: {run.overall.questions} questions, generator {run.generator}"]
    lines += [text_table(SUMMARY_HEADERS, summary_rows(run)), ""]
    lines += ["columns:", *(f"  {line}" for line in legend_lines()), ""]
    lines.append(text_table(("latency", "median ms", "p95 ms"), latency_rows(run.overall)))
    lines += [f"note: {n}" for n in run.notes]
    lines += [f"skipped invalid line: {p}" for p in run.problems]
    return "\n".join(lines)


def format_comparison(runs: Sequence[EvalRun]) -> str:
    """Several runs side by side, one column per configuration."""
    columns = [metric_rows(run) for run in runs]
    rows = [[name, *(col[i][1] for col in columns)] for i, (name, _) in enumerate(columns[0])]
    return text_table(["metric", *(r.label for r in runs)], rows)


def calibration_rows(cal: Calibration) -> list[list[str]]:
    """Threshold sweep rows; the best threshold is starred, the current one marked."""
    rows = []
    for p in cal.points:
        mark = ("*" if p is cal.best else "") + (" (current)" if p.threshold == cal.current else "")
        rows.append(
            [
                f"{p.threshold:.2f}{mark}",
                pct(p.accuracy),
                pct(p.accuracy_cited),
                pct(p.abstention),
                pct(p.false_abstention),
                f"{p.balanced:.3f}",
            ]
        )
    return rows


CALIBRATION_HEADERS = ("threshold", "accuracy", "+cited", "abstained", "false abst", "balanced")


def format_calibration(cal: Calibration) -> str:
    """The threshold trade-off table and the recommendation."""
    best = cal.best
    lines = [
        text_table(CALIBRATION_HEADERS, calibration_rows(cal)),
        f"best abstain threshold: {best.threshold:.2f} (accuracy {pct(best.accuracy)}, "
        f"abstention {pct(best.abstention)}); current {cal.current:.2f}. Set it with "
        f"--set generator.abstain_threshold={best.threshold:.2f} or in your config YAML.",
    ]
    return "\n".join(lines + ([f"note: {cal.note}"] if cal.note else []))


# -- HTML and files --------------------------------------------------------------------------


def html_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    classes: Sequence[str] = (),
    text_columns: Sequence[int] = (),
) -> str:
    """An HTML table with escaped cells; ``classes`` gives rows a class, ``text_columns`` are
    left-aligned prose columns."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes else ""
        cells = "".join(
            f'<td class="text">{escape(str(c))}</td>'
            if n in text_columns
            else f"<td>{escape(str(c))}</td>"
            for n, c in enumerate(row)
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _page(title: str, sections: list[str]) -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f"</title><style>{CSS}</style></head><body><h1>{escape(title)}</h1>"
        + "\n".join(sections)
        + "</body></html>\n"
    )


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{escape(caption)}</figcaption></figure>"


def _question_rows(results: Sequence[QuestionResult]) -> tuple[list[list[str]], list[str]]:
    ordered = sorted(results, key=lambda r: (r.grade.passed, r.question.line))
    rows, classes = [], []
    for r in ordered:
        a = r.answer
        why = "; ".join(f"{c.name}: {c.why}" for c in r.grade.failures())
        rows.append(
            [
                "pass" if r.grade.passed else "FAIL",
                r.question.id,
                r.question.type,
                r.question.question,
                (a.text[:400] if a else r.error or ""),
                why,
                ", ".join(dict.fromkeys(c.source for c in a.citations)) if a else "",
                ", ".join(r.question.sources),
                "-" if r.grade.rank is None else str(r.grade.rank),
                ms(a.timings.total if a else None),
            ]
        )
        classes.append("pass" if r.grade.passed else "fail")
    return rows, classes


def render_run(run: EvalRun, calibration: Calibration | None = None, source: str = "") -> str:
    """The self-contained HTML report of one run."""
    m = run.overall
    totals = [r.answer.timings.total for r in run.results if r.answer]
    markers = {"median": m.total.median, "p95": m.total.p95}
    rows, classes = _question_rows(run.results)
    sections = [
        f'<p class="verdict">{escape(verdict(run))}</p>',
        f'<p class="note">{escape(source)} · {m.questions} questions · generator '
        f"{escape(run.generator)} · {datetime.now():%Y-%m-%d %H:%M}</p>",
        *(f'<p class="note">{escape(n)}</p>' for n in run.notes),
        "<h2>Summary</h2>" + html_table(SUMMARY_HEADERS, summary_rows(run)) + legend_html(),
        html_table(("latency", "median ms", "p95 ms"), latency_rows(m)),
        '<h2>Charts</h2><div id="charts">'
        + _figure(type_chart(run), "Accuracy by question type")
        + _figure(
            histogram(
                "latency",
                "Total latency per question",
                totals,
                {k: v for k, v in markers.items() if v is not None},
            ),
            "Latency distribution (total ms per question)",
        )
        + "</div>",
    ]
    if calibration is not None:
        sections.append(render_calibration(calibration))
    if run.problems:
        items = "".join(f"<li>{escape(str(p))}</li>" for p in run.problems)
        sections.append(f"<h2>Invalid lines (skipped)</h2><ul>{items}</ul>")
    headers = ("result", "id", "type", "question", "answer", "why", "cited", "gold", "rank", "ms")
    question_legend = "".join(
        f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in QUESTION_LEGEND.items()
    )
    sections.append(
        "<h2>Questions (failures first)</h2>"
        + f'<dl class="legend">{question_legend}</dl>'
        + html_table(headers, rows, classes, range(1, 8))
    )
    return _page(f"Evaluation: {run.label}", sections)


def render_calibration(cal: Calibration) -> str:
    """The calibration section: the trade-off chart and table."""
    xs = [p.threshold for p in cal.points]
    series = [
        ("accuracy (answerable)", [p.accuracy for p in cal.points]),
        ("abstained (unanswerable)", [p.abstention for p in cal.points]),
        ("balanced", [p.balanced for p in cal.points]),
    ]
    chart = line_chart(
        "calibration", "Abstention threshold trade-off", xs, series, cal.best.threshold
    )
    text = format_calibration(cal).splitlines()[-1 if not cal.note else -2]
    return (
        "<h2>Abstention threshold calibration</h2>"
        + _figure(chart, "Threshold trade-off")
        + f"<p>{escape(text)}</p>"
        + html_table(CALIBRATION_HEADERS, calibration_rows(cal))
    )


def render_comparison(runs: Sequence[EvalRun], links: Sequence[str]) -> str:
    """The HTML comparison of several runs: side-by-side table, chart, links to each report."""
    columns = [metric_rows(run) for run in runs]
    rows = [[name, *(col[i][1] for col in columns)] for i, (name, _) in enumerate(columns[0])]
    categories = ["accuracy", "+cited", "abstained", "hit@1", "hit@5", "MRR", "grounded"]
    series = [
        (
            run.label,
            [
                m.accuracy,
                m.accuracy_cited,
                m.abstention_rate,
                m.hit_at_1,
                m.hit_at_5,
                m.mrr,
                m.grounded_share,
            ],
        )
        for run in runs
        for m in [run.overall]
    ]
    chart = grouped_bars("comparison", "Configurations compared", categories, series)
    items = "".join(
        f'<li><a href="{escape(link)}">{escape(run.label)}</a></li>'
        for run, link in zip(runs, links, strict=True)
    )
    return _page(
        "Evaluation: comparison",
        [
            "<h2>Side by side</h2>" + html_table(["metric", *(r.label for r in runs)], rows),
            '<div id="charts">' + _figure(chart, "Headline metrics per configuration") + "</div>",
            f"<h2>Reports per configuration</h2><ul>{items}</ul>",
        ],
    )


def summary_dict(run: EvalRun, calibration: Calibration | None = None) -> dict[str, Any]:
    """The content of summary.json."""
    return {
        "label": run.label,
        "generator": run.generator,
        "overall": run.overall.to_dict(),
        "by_type": {name: m.to_dict() for name, m in run.by_type().items()},
        "problems": [str(p) for p in run.problems],
        "notes": list(run.notes),
        "calibration": calibration.to_dict() if calibration else None,
        "settings": run.settings,
    }


def write_run(
    run: EvalRun, out: Path, calibration: Calibration | None = None, source: str = ""
) -> Path:
    """Write results.jsonl, summary.json and report.html into ``out``; returns the report."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.jsonl").open("w", encoding="utf-8") as f:
        for result in run.results:
            f.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
    summary = json.dumps(summary_dict(run, calibration), indent=2, ensure_ascii=False)
    (out / "summary.json").write_text(summary + "\n", encoding="utf-8")
    report = out / "report.html"
    report.write_text(render_run(run, calibration, source), encoding="utf-8")
    return report


def write_comparison(runs: Sequence[EvalRun], out: Path, folders: Sequence[str]) -> Path:
    """Write the comparison summary.json and report.html; each run's files are in ``folders``."""
    out.mkdir(parents=True, exist_ok=True)
    data = {"configs": {r.label: summary_dict(r) for r in runs}}
    (out / "summary.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    report = out / "report.html"
    links = [f"{folder}/report.html" for folder in folders]
    report.write_text(render_comparison(runs, links), encoding="utf-8")
    return report

"""Evaluation output: terminal tables, results.jsonl, summary.json and report.html.

report.html is self-contained (no JavaScript, no external CSS or fonts) so it opens offline;
its charts are inline SVG drawn here, each ``<svg>`` tagged ``data-chart="<name>"``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.evaluation import EvalRun, Metrics, QuestionResult

if TYPE_CHECKING:
    from assistant.eval_cli import Calibration

PALETTE = ("#3366cc", "#dc7633", "#2e8b57", "#8e44ad", "#c0392b", "#16a085")
CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:right;vertical-align:top}
th:first-child,td:first-child,td.text{text-align:left}
tr.fail td{background:#fdecea}tr.pass td:first-child{color:#2e7d32}
tr.fail td:first-child{color:#c62828;font-weight:bold}td.text{min-width:14em;max-width:30em}
figure{display:inline-block;margin:1em 2em 1em 0}figcaption{font-weight:bold}
svg text{font-family:system-ui,sans-serif;font-size:12px}.note{color:#555}"""


def pct(value: float | None) -> str:
    """A 0..1 rate as a percentage, ``-`` when undefined."""
    return "-" if value is None else f"{value * 100:.0f}%"


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
    lines = [f"{run.label}: {run.overall.questions} questions, generator {run.generator}"]
    lines += [text_table(SUMMARY_HEADERS, summary_rows(run)), ""]
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


# -- SVG charts ------------------------------------------------------------------------------


def _el(tag: str, content: str = "", **attrs: object) -> str:
    """An SVG element; ``text_anchor`` becomes ``text-anchor``, ``class_`` ``class``."""

    def value(v: object) -> str:
        return f"{v:.1f}" if isinstance(v, float) else escape(str(v))

    names = ((k.rstrip("_").replace("_", "-"), value(v)) for k, v in attrs.items())
    return f"<{tag} " + " ".join(f'{k}="{v}"' for k, v in names) + f">{content}</{tag}>"


def _text(x: float, y: float, text: str, **attrs: object) -> str:
    return _el("text", escape(text), x=x, y=y, **attrs)


def _legend(x: int, names: Sequence[str]) -> list[str]:
    return [
        _el("rect", x=x, y=4 + 16 * i, width=10, height=10, fill=PALETTE[i % len(PALETTE)])
        + _text(x + 14, 13 + 16 * i, name)
        for i, name in enumerate(names)
    ]


def _svg(name: str, width: int, height: int, body: list[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" data-chart="{name}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}"><title>{escape(label)}</title>{"".join(body)}</svg>'
    )


def bar_chart(name: str, label: str, items: Sequence[tuple[str, float | None, str]]) -> str:
    """Horizontal bars of 0..1 values: ``(category, value, note shown after the bar)``."""
    left, width, row = 160, 300, 26
    height = row * len(items) + 30
    body = [_el("line", x1=left, y1=5, x2=left, y2=height - 20, stroke="#888")]
    for i, (category, value, note) in enumerate(items):
        y, length = 8 + i * row, max(1.0, (value or 0) * width)
        tip = _el("title", escape(f"{category}: {pct(value)}"))
        body.append(_text(left - 6, y + 14, category, text_anchor="end"))
        body.append(
            _el(
                "rect",
                tip,
                class_="bar",
                x=left,
                y=y,
                width=length,
                height=row - 8,
                fill=PALETTE[0],
            )
        )
        body.append(_text(left + length + 6, y + 14, f"{pct(value)} {note}"))
    for tick in (0, 0.5, 1):
        body.append(_text(left + tick * width, height - 6, pct(tick), text_anchor="middle"))
    return _svg(name, left + width + 160, height, body, label)


def histogram(name: str, label: str, values: Sequence[float], markers: dict[str, float]) -> str:
    """A histogram of ``values`` (ms) with labelled vertical lines (e.g. median, p95)."""
    left, width, height, top = 40, 480, 200, 20
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    high = high if high > low else low + 1.0
    bins = max(1, min(15, len(values)))
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - low) / (high - low) * bins))] += 1
    step, base = width / bins, top + height
    body = [_el("line", x1=left, y1=base, x2=left + width, y2=base, stroke="#888")]
    for i, count in enumerate(counts):
        h = max(1.0, count / (max(counts) or 1) * height)
        tip = _el("title", f"{count} answers")
        body.append(
            _el(
                "rect",
                tip,
                class_="bar",
                x=left + i * step + 1.0,
                y=base - h,
                width=step - 2.0,
                height=h,
                fill=PALETTE[0],
            )
        )
    for i, (mark, value) in enumerate(markers.items()):
        x, colour = left + (value - low) / (high - low) * width, PALETTE[i + 1]
        body.append(_el("line", x1=x, y1=top, x2=x, y2=base, stroke=colour, stroke_dasharray="4 3"))
        body.append(_text(x + 3, top + 12 + 14 * i, f"{mark} {value:.0f} ms", fill=colour))
    body.append(_text(left, base + 16, f"{low:.0f} ms"))
    body.append(_text(left + width, base + 16, f"{high:.0f} ms", text_anchor="end"))
    return _svg(name, left + width + 20, base + 26, body, label)


def grouped_bars(
    name: str, label: str, categories: Sequence[str], series: Sequence[tuple[str, list]]
) -> str:
    """Vertical bars of 0..1 values grouped by category, one colour per series (a legend)."""
    left, top, height, group = 40, 20 + 16 * len(series), 180, 30 + 22 * len(series)
    width, base = group * len(categories), top + height
    bar = (group - 20) / max(1, len(series))
    body = _legend(left, [n for n, _ in series])
    for tick in (0, 0.5, 1):
        y = base - tick * height
        body.append(_el("line", x1=left, y1=y, x2=left + width, y2=y, stroke="#ddd"))
        body.append(_text(left - 4, y + 4, pct(tick), text_anchor="end"))
    for s, (series_name, values) in enumerate(series):
        for c, value in enumerate(values):
            h = max(1.0, (value or 0) * height)
            tip = _el("title", escape(f"{series_name} {categories[c]}: {pct(value)}"))
            body.append(
                _el(
                    "rect",
                    tip,
                    class_="bar",
                    x=left + c * group + 10 + s * bar,
                    y=base - h,
                    width=bar - 2,
                    height=h,
                    fill=PALETTE[s % len(PALETTE)],
                )
            )
    for c, category in enumerate(categories):
        body.append(_text(left + c * group + group / 2, base + 14, category, text_anchor="middle"))
    return _svg(name, left + width + 10, base + 24, body, label)


def line_chart(
    name: str, label: str, xs: Sequence[float], series: Sequence[tuple[str, list]], mark: float
) -> str:
    """Lines of 0..1 values over ``xs`` in 0..1, with a vertical line at ``mark``."""
    left, top, width, height = 40, 20 + 16 * len(series), 420, 180
    base = top + height
    body = _legend(left, [n for n, _ in series])
    body.append(_el("rect", x=left, y=top, width=width, height=height, fill="none", stroke="#ccc"))
    for s, (_, ys) in enumerate(series):
        points = " ".join(
            f"{left + x * width:.1f},{base - (y or 0) * height:.1f}"
            for x, y in zip(xs, ys, strict=True)
        )
        body.append(
            _el(
                "polyline",
                class_="line",
                points=points,
                fill="none",
                stroke=PALETTE[s % len(PALETTE)],
                stroke_width=2,
            )
        )
    x = left + mark * width
    body.append(_el("line", x1=x, y1=top, x2=x, y2=base, stroke="#222", stroke_dasharray="4 3"))
    body.append(_text(x + 3, top + 12, f"best {mark:.2f}"))
    body.append(
        _text(left, base + 14, "0") + _text(left + width, base + 14, "1", text_anchor="end")
    )
    return _svg(name, left + width + 20, base + 24, body, label)


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


def type_chart(run: EvalRun) -> str:
    """Accuracy by type: correct and cited for answerable types, abstained for the others."""
    items = []
    for name, m in run.by_type().items():
        if m.answerable:
            items.append(
                (name, m.accuracy_cited, f"correct+cited {m.correct_cited}/{m.answerable}")
            )
        else:
            items.append(
                (name, m.abstention_rate, f"abstained {m.abstained_unanswerable}/{m.unanswerable}")
            )
    return bar_chart("accuracy-by-type", "Accuracy by question type", items)


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
        f'<p class="note">{escape(source)} · {m.questions} questions · generator '
        f"{escape(run.generator)} · {datetime.now():%Y-%m-%d %H:%M}</p>",
        *(f'<p class="note">{escape(n)}</p>' for n in run.notes),
        "<h2>Summary</h2>" + html_table(SUMMARY_HEADERS, summary_rows(run)),
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
    sections.append(
        "<h2>Questions (failures first)</h2>" + html_table(headers, rows, classes, (3, 4, 5))
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

"""Inline SVG charts for the evaluation reports: bars, histogram, grouped bars, lines, and
``type_chart`` (a run's accuracy by question type).

Each chart is one self-contained ``<svg>`` string (no scripts, no external fonts), tagged
``data-chart="<name>"`` so tests and readers can find it; every bar is a ``rect.bar``.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.evaluation.runner import EvalRun

PALETTE = ("#3366cc", "#dc7633", "#2e8b57", "#8e44ad", "#c0392b", "#16a085")


def pct(value: float | None) -> str:
    """A 0..1 rate as a percentage, ``-`` when undefined."""
    return "-" if value is None else f"{value * 100:.0f}%"


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

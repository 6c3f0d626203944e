"""Timing and memory helpers for the benchmark: medians with min, max and p95."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Row:
    """One measured figure: the median over ``n`` repetitions with min, max and p95."""

    section: str
    measure: str
    unit: str
    median: float
    low: float
    high: float
    n: int
    p95: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""

    def as_dict(self) -> dict:
        """Plain JSON-ready dict."""
        return asdict(self)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` percentile (0..100) of ``values``, linearly interpolated."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def row(section: str, measure: str, unit: str, values: Sequence[float], **extra) -> Row:
    """A ``Row`` summarising ``values`` (p95 included when there are at least 10)."""
    return Row(
        section,
        measure,
        unit,
        statistics.median(values),
        min(values),
        max(values),
        len(values),
        p95=percentile(values, 95) if len(values) >= 10 else None,
        **extra,
    )


def timed(fn: Callable[[], object], before: Callable[[], object] | None = None) -> float:
    """Seconds one call of ``fn`` takes (``before`` runs first, untimed)."""
    if before is not None:
        before()
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


@dataclass
class ProcessRun:
    """Wall time, peak resident memory and output of one child process."""

    seconds: float
    peak_rss_mb: float
    returncode: int
    output: str


def run_process(args: Sequence[str], env: dict[str, str] | None = None) -> ProcessRun:
    """Run ``args`` to completion; the peak RSS is the child's own (``wait4``), in MiB."""
    environment = {**os.environ, **(env or {})}
    started = time.perf_counter()
    with subprocess.Popen(
        list(args),
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        output = proc.stdout.read() if proc.stdout else ""
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    return ProcessRun(seconds, usage.ru_maxrss / 1024, proc.returncode, output)


def rag(*args: str) -> list[str]:
    """The command line of the installed ``rag`` script, run by this interpreter's venv."""
    return [str(Path(sys.executable).with_name("rag")), *args]

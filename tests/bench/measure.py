"""Timing and memory helpers for the benchmark: medians with min, max and p95."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
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
    step: str = ""  # the `make bench` step that measured it (``--only`` re-runs steps)
    date: str = ""  # when that step ran

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
    """Seconds one call of ``fn`` takes (``before`` runs first, untimed; ``* 1000`` for ms)."""
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


# Runs argv[2:] and writes its peak RSS (KiB) to argv[1]. The child is forked from this small
# interpreter: forked from the benchmark itself, it would report the benchmark's own memory.
_MEASURE_CHILD = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_process(args: Sequence[str], env: dict[str, str] | None = None) -> ProcessRun:
    """Run ``args`` to completion; its wall time, peak RSS in MiB and output."""
    environment = {**os.environ, **(env or {})}
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _MEASURE_CHILD, rss.name, *args],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        peak = int(rss.read() or 0) / 1024
    return ProcessRun(seconds, peak, done.returncode, done.stdout)


def rag(*args: str) -> list[str]:
    """The command line of the installed ``rag`` script, run by this interpreter's venv."""
    return [str(Path(sys.executable).with_name("rag")), *args]

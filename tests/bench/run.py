"""`make bench`: indexing, query, start-up and memory figures, written as JSON and markdown.

Every figure is a median over repetitions with min and max (p95 where there are enough
samples); ratios pair the repetitions of one run. Usage:

    python tests/bench/run.py            # the full run (about an hour on 2 cores)
    python tests/bench/run.py --quick    # a smaller corpus, one round; results not written
    python tests/bench/run.py --only indexing,big-folder   # some steps; the others' rows kept
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from corpus import write_articles, write_notes  # noqa: E402
from embedder_quality import bench_embedder_quality  # noqa: E402
from indexing import bench_index_memory, bench_indexing, bench_no_change  # noqa: E402
from large_files import bench_large_files_memory  # noqa: E402
from measure import Row  # noqa: E402
from query import bench_query, bench_startup  # noqa: E402
from scale import bench_big_folder  # noqa: E402

from assistant.settings import load_settings  # noqa: E402


def machine() -> dict:
    """What the figures were measured on."""
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = ""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    return {
        "date": datetime.date.today().isoformat(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def fmt(value: float | None, unit: str) -> str:
    """A figure with as many digits as it deserves."""
    if value is None:
        return ""
    if unit in ("share",):
        return f"{value:.3f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def markdown(rows: list[Row], info: dict, settings: dict) -> str:
    """The results table, with the machine and the run's parameters."""
    lines = [
        "# Benchmark results",
        "",
        f"Measured {info['date']} on {info['cpu']} ({info['cores']} cores, {info['memory']}), "
        f"Python {info['python']}, {info['platform']}. Command: `make bench`.",
        f"Parameters: {', '.join(f'{k}={v}' for k, v in settings.items())}. "
        "The corpora are synthetic, built from the seeds (see `tests/bench/corpus.py`).",
        "",
        "When each step ran: "
        + ", ".join(f"{s} {d}" for s, d in dict.fromkeys((r.step, r.date) for r in rows))
        + " (`--only` re-runs some steps and keeps the others' last rows).",
        "",
        "Median over repetitions, with min, max and p95 (p95 only with 10+ samples); ratios are",
        "paired rounds of this run. Absolute times on a shared 2-core machine are indicative.",
        "",
        "| section | measure | unit | median | min | max | p95 | n | target | met | note |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        met = "" if r.met is None else ("yes" if r.met else "**no**")
        lines.append(
            f"| {r.section} | {r.measure} | {r.unit} | {fmt(r.median, r.unit)} | "
            f"{fmt(r.low, r.unit)} | {fmt(r.high, r.unit)} | {fmt(r.p95, r.unit)} | {r.n} | "
            f"{r.target} | {met} | {r.note} |"
        )
    return "\n".join(lines) + "\n"


STEPS = ("indexing", "no-change", "index-memory", "big-folder", "large-files", "fp32-vs-int8",
         "query", "start-up")  # fmt: skip


def _merged(rows: list[Row], only: list[str], params: dict) -> tuple[list[Row], dict]:
    """This run's rows of the steps in ``only``, in step order with the last results' others."""
    results = HERE / "results.json"
    if not results.is_file():
        return rows, params
    last = json.loads(results.read_text(encoding="utf-8"))
    kept = [Row(**r) for r in last["results"] if r.get("step") not in only]
    by_step = {name: [r for r in kept + rows if r.step == name] for name in STEPS}
    merged = [r for name in STEPS for r in by_step[name]]
    kept_params = {k: v for k, v in last.get("parameters", {}).items() if "steps" not in k}
    return merged, {**kept_params, **params}


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark and write ``results.json`` and ``RESULTS.md`` next to this file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small corpus, one round")
    parser.add_argument("--rounds", type=int, default=3, help="repetitions per figure")
    parser.add_argument("--articles", type=int, default=400, help="synthetic articles to index")
    parser.add_argument("--notes", type=int, default=1000, help="small files to re-index")
    parser.add_argument("--scales", default="10000,100000", help="synthetic store sizes")
    parser.add_argument("--large-files", type=int, default=24, help="large files (20-45 MB)")
    parser.add_argument("--big-folder", type=int, default=10_000, help="chunks to index at once")
    parser.add_argument("--only", default="", help=f"comma-separated steps of: {', '.join(STEPS)}")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.articles, args.notes, args.scales = 1, 40, 200, "10000"
        args.large_files, args.big_folder = 3, 500
    only = [s for s in args.only.split(",") if s]
    unknown = sorted(set(only) - set(STEPS))
    if unknown:
        parser.error(f"unknown step(s) {', '.join(unknown)}; the steps are {', '.join(STEPS)}")
    scales = [int(s) for s in args.scales.split(",") if s]
    params = {
        "rounds": args.rounds,
        "articles": args.articles,
        "notes": args.notes,
        "scales": args.scales,
        "large_files": args.large_files,
        "big_folder": args.big_folder,
    }

    settings = load_settings(None, environ={})
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        work = Path(tmp)
        corpus = write_articles(work / "articles", args.articles)
        notes = write_notes(work / "notes", args.notes)
        steps = [
            ("indexing", lambda: bench_indexing(settings, corpus, work, args.rounds)),
            ("no-change", lambda: bench_no_change(settings, notes, work, args.rounds)),
            ("index-memory", lambda: [bench_index_memory(corpus, work)]),
            ("big-folder", lambda: bench_big_folder(work, args.big_folder)),
            ("large-files", lambda: bench_large_files_memory(work, args.large_files)),
            ("fp32-vs-int8", bench_embedder_quality),
            (
                "query",
                lambda: bench_query(
                    settings,
                    ROOT / "seeds",
                    ROOT / "tests/eval/questions.jsonl",
                    work,
                    args.rounds,
                    scales,
                ),
            ),
            ("start-up", lambda: bench_startup(work / "seeds", max(args.rounds, 5))),
        ]
        assert [name for name, _ in steps] == list(STEPS)
        for name, step in steps:
            if only and name not in only:
                continue
            print(f"-- {name}", flush=True)
            today = datetime.date.today().isoformat()
            found = [replace(r, step=name, date=today) for r in step()]
            for r in found:
                print(
                    f"   {r.measure}: {fmt(r.median, r.unit)} {r.unit} "
                    f"[{fmt(r.low, r.unit)}..{fmt(r.high, r.unit)}]",
                    flush=True,
                )
            rows += found

    info = machine()
    if only:
        rows, params = _merged(rows, only, params)
    table = markdown(rows, info, params)
    print(table)
    if not args.quick:
        (HERE / "RESULTS.md").write_text(table, encoding="utf-8")
        (HERE / "results.json").write_text(
            json.dumps(
                {"machine": info, "parameters": params, "results": [r.as_dict() for r in rows]},
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``rag eval``: run a question set, write the reports, compare configs, calibrate, gate CI.

``add_eval_arguments`` adds the eval-specific options (the common ``--config``/``--set``/...
come from the CLI); ``run_eval_command`` runs them and returns the exit code: 0, or 1 when a
``--min-*``/``--max-*`` threshold is not met (one line per unmet threshold on stderr).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant.evaluation.calibration import calibrate
from assistant.evaluation.judge import judge_run
from assistant.evaluation.questions import QuestionSet, load_questions
from assistant.evaluation.report import (
    format_calibration,
    format_comparison,
    format_summary,
    pct,
    write_comparison,
    write_run,
)
from assistant.evaluation.runner import EvalRun, run_evaluation
from assistant.settings import Settings, load_settings
from assistant.wiring import choices
from index.errors import RagError

log = logging.getLogger(__name__)

EVAL_EPILOG = """\
--compare runs each CONFIG (a YAML settings file, merged over the defaults and --config) on
the same questions and shows them side by side. Each config should name its own index_dir
when it changes indexing (chunk_size, chunk_overlap, embedder); a config whose index does not
exist yet is built from its docs_dir first (or run `rag index --config CONFIG` yourself).
Rates may be given as fractions (0.8) or percentages (80). Exit code 1 when a threshold fails.
"""


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; use e.g. 0.8 or 80") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text} is outside 0..1 (or 0..100 %)")
    return value / 100 if value > 1 else value


def add_eval_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``rag eval``'s own arguments to ``parser`` (not the common --config/--set/...)."""
    parser.epilog = EVAL_EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("questions", type=Path, metavar="QUESTIONS", help="question set (JSONL)")
    parser.add_argument("--generator", choices=choices("generator.name"))
    parser.add_argument("--out", type=Path, help="output folder (default: .rag/eval/<timestamp>)")
    parser.add_argument(
        "--compare", nargs="+", type=Path, metavar="CONFIG", help="configs to run side by side"
    )
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="sweep the extractive abstain threshold and report the best value",
    )
    parser.add_argument(
        "--min-accuracy", type=_rate, metavar="RATE", help="fail below this answerable accuracy"
    )
    parser.add_argument(
        "--min-abstention",
        type=_rate,
        metavar="RATE",
        help="fail below this unanswerable abstention",
    )
    parser.add_argument(
        "--max-p95-ms", type=float, metavar="MS", help="fail above this p95 total latency"
    )
    parser.add_argument(
        "--judge", action="store_true", help="LLM faithfulness judge (needs Ollama; else skipped)"
    )


def run_eval_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``rag eval`` as parsed by ``add_eval_arguments``; returns the exit code."""
    from assistant import Assistant

    questions = load_questions(args.questions)
    for problem in questions.problems:
        _say(f"skipping invalid line {problem}")
    out = args.out or Path(".rag/eval") / datetime.now().strftime("%Y%m%d-%H%M%S")
    if args.generator:
        settings = settings.replace(**{"generator.name": args.generator})
    if args.compare:
        configs = _compare_settings(args)
        runs: list[EvalRun] = []
        for label, config_settings in configs:
            assistant = Assistant.from_settings(config_settings)
            ensure_index(assistant, label)
            run = _evaluate(assistant, questions, label, args, out / label)
            runs.append(run)
        report = write_comparison(runs, out, [label for label, _ in configs])
        print(format_comparison(runs))
    else:
        run = _evaluate(Assistant.from_settings(settings), questions, "default", args, out)
        runs, report = [run], out / "report.html"
    failures = [line for run in runs for line in check_thresholds(run, args, len(runs) > 1)]
    for line in failures:
        _say(f"threshold not met: {line}")
    print(f"\nreport: {report}")
    return 1 if failures else 0


def _say(line: str) -> None:
    print(line, file=sys.stderr)


def _evaluate(
    assistant: Any, questions: QuestionSet, label: str, args: argparse.Namespace, out: Path
) -> EvalRun:
    run = run_evaluation(assistant, questions, progress=True, label=label)
    if args.judge:
        run = judge_run(assistant, run)
    calibration = calibrate(assistant, run) if args.calibrate else None
    write_run(run, out, calibration, source=str(args.questions))
    if not args.compare:
        print(format_summary(run))
    if calibration is not None:
        print(f"\ncalibration ({label}):\n{format_calibration(calibration)}")
    return run


def check_thresholds(run: EvalRun, args: argparse.Namespace, named: bool = False) -> list[str]:
    """One line per threshold in ``args`` that ``run`` does not meet (empty when all pass)."""
    m, who = run.overall, f"{run.label}: " if named else ""
    failures = []
    if args.min_accuracy is not None and (m.accuracy or 0) < args.min_accuracy:
        failures.append(
            f"{who}accuracy {pct(m.accuracy)} ({m.correct}/{m.answerable} answerable) is below "
            f"--min-accuracy {pct(args.min_accuracy)}"
        )
    if args.min_abstention is not None and (m.abstention_rate or 0) < args.min_abstention:
        failures.append(
            f"{who}abstention {pct(m.abstention_rate)} ({m.abstained_unanswerable}/"
            f"{m.unanswerable} unanswerable) is below --min-abstention {pct(args.min_abstention)}"
        )
    p95 = m.total.p95
    if args.max_p95_ms is not None and (p95 is None or p95 > args.max_p95_ms):
        shown = "unmeasured" if p95 is None else f"{p95:.0f} ms"
        failures.append(f"{who}p95 total latency {shown} is above --max-p95-ms {args.max_p95_ms:g}")
    return failures


# -- --compare --------------------------------------------------------------------------------


def _compare_settings(args: argparse.Namespace) -> list[tuple[str, Settings]]:
    """Settings per compare config: defaults, --config, the config, then --generator/--set."""
    base = [p.strip() for p in (getattr(args, "config", None) or "").split(",") if p.strip()]
    overrides: dict[str, Any] = {
        "generator.name": args.generator,
        "docs_dir": getattr(args, "docs_dir", None),
    }
    for item in getattr(args, "set", None) or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise RagError(f"--set {item!r}: expected KEY=VALUE, e.g. --set retrieval.top_k=8")
        overrides[key.strip()] = value
    if getattr(args, "index_dir", None):
        _say("--index-dir is ignored with --compare: each config uses its own index_dir")
    configs: list[tuple[str, Settings]] = []
    for path in args.compare:
        label = path.stem
        if any(label == other for other, _ in configs):
            label = f"{label}-{len(configs) + 1}"
        configs.append((label, load_settings([*base, path], overrides=overrides)))
    _check_distinct_indexes(configs, args.compare)
    return configs


def _check_distinct_indexes(configs: list[tuple[str, Settings]], paths: Sequence[Path]) -> None:
    """Two configs sharing one index must agree on how it is built, or one run is wrong."""
    seen: dict[tuple, tuple[Path, dict]] = {}
    for (_, s), path in zip(configs, paths, strict=True):
        c = s.chroma
        where = (c.mode, str(Path(s.index_dir).resolve()), c.host, c.port, c.collection)
        built = {**s.indexing.model_dump(), **s.embedder.model_dump()}
        if where in seen and seen[where][1] != built:
            other, before = seen[where]
            diff = ", ".join(f"{k} {before[k]} vs {v}" for k, v in built.items() if before[k] != v)
            raise RagError(
                f"--compare configs {other} and {path} share the index {s.index_dir} "
                f"(collection {c.collection}) but build it differently ({diff}); "
                "give each config its own index_dir"
            )
        seen.setdefault(where, (path, built))


def ensure_index(assistant: Any, label: str) -> None:
    """Build ``assistant``'s index from its docs_dir when it does not exist yet, saying so."""
    s = assistant.settings
    try:
        if assistant.library.status().chunks:
            return
    except RagError:
        pass  # no index yet
    docs = Path(s.docs_dir)
    if not docs.exists():
        raise RagError(
            f"config {label}: no index in {s.index_dir} and its docs_dir {docs} does not exist; "
            "set docs_dir in the config or run `rag index --config <config>` first"
        )
    _say(
        f"{label}: no index in {s.index_dir} yet; building it from {docs} "
        f"(chunk_size {s.indexing.chunk_size})"
    )
    report = assistant.library.add([docs], on_message=_say)
    _say(f"{label}: {report.summary()}")

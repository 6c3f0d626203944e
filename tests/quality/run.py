"""``make quality``: index the seeds and the RGB dev subset, run ``rag eval`` on both, one table.

Each corpus gets its own index folder under ``.rag/quality/`` and is re-indexed with
``--rebuild`` (so a changed tokenizer or chunker is measured, not a stale index). The
answerer is the offline extractive one; the figures are read from each run's summary.json.
Pass ``--no-rebuild`` to reuse the indexes when only the answerer changed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# ../shared beside the checkout (a worktree one level deeper finds it two levels up).
SHARED = next((p / "shared" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared").is_dir()),
              ROOT.parent / "shared")  # fmt: skip
RGB = SHARED / "eval" / "external" / "rgb_en_dev"
SETS = {
    "seeds (dev questions)": (ROOT / "seeds", ROOT / "tests" / "eval" / "questions.jsonl"),
    "rgb_en_dev": (RGB / "docs", RGB / "questions.jsonl"),
}
COLUMNS = [
    ("accuracy", "accuracy"),
    ("correct+cited", "accuracy_cited"),
    ("abstained unans.", "abstention_rate"),
    ("false abst.", "false_abstention_rate"),
    ("hit@1", "hit_at_1"),
    ("hit@5", "hit_at_5"),
    ("MRR", "mrr"),
]


def run_set(
    name: str, docs: Path, questions: Path, rebuild: bool, overrides: list[str] = ()
) -> dict:
    """Index ``docs`` into its own folder and evaluate ``questions``; returns ``overall``.

    ``overrides`` (``KEY=VALUE``, as ``--set`` takes them) give the run its own folders, so
    two configurations (say the fp32 and int8 embedders) are measured side by side.
    """
    slug = name.split()[0] + "".join(f"-{o.replace('=', '-')}" for o in overrides)
    index_dir = ROOT / ".rag" / "quality" / slug
    out = ROOT / ".rag" / "quality" / f"{slug}-eval"
    if rebuild:  # from nothing: an index of another embedder would otherwise keep its own
        shutil.rmtree(index_dir, ignore_errors=True)
    rag = str(Path(sys.executable).with_name("rag"))
    common = ["--index-dir", str(index_dir), *(f"--set={o}" for o in overrides)]
    index = [rag, "index", str(docs), *common, *(["--rebuild"] if rebuild else [])]
    evaluate = [rag, "eval", str(questions), "--generator", "extractive", "--out", str(out)]
    for command in (index, [*evaluate, *common]):
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return json.loads((out / "summary.json").read_text())["overall"]


def table(rows: dict[str, dict]) -> str:
    """A Markdown table: one row per question set."""
    head = ["set", "n", *(c for c, _ in COLUMNS), "p50 retrieve ms", "p50 answer ms"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, m in rows.items():
        cells = [name, f"{m['answerable']}+{m['unanswerable']}"]
        cells += ["—" if m[key] is None else f"{m[key]:.2f}" for _, key in COLUMNS]
        for part in ("retrieve", "generate"):
            median = m[f"latency_{part}_ms"]["median"]
            cells.append("—" if median is None else f"{median:.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-rebuild", action="store_true", help="reuse existing indexes")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a setting for both sets"
    )
    args = parser.parse_args()
    rows = {
        name: run_set(name, docs, questions, not args.no_rebuild, args.set)
        for name, (docs, questions) in SETS.items()
    }
    print(table(rows))
    if not args.set:  # the fixed-passage protocol reads the default rgb index just built
        sys.path.insert(0, str(Path(__file__).parent))
        import rgb_fixed

        print()
        print(rgb_fixed.table(rgb_fixed.run(RGB, ROOT / ".rag" / "quality" / "rgb_en_dev")))


if __name__ == "__main__":
    main()

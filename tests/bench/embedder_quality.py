"""The int8 decision: retrieval and answers of the fp32 and int8 embedders on both quality sets."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from measure import Row

SECTION = "fp32 vs int8"
QUALITY = Path(__file__).resolve().parents[1] / "quality" / "run.py"
MEASURES = [("hit@1", "hit_at_1"), ("hit@5", "hit_at_5"), ("answer accuracy", "accuracy")]
# int8 becomes the default only if every figure is within this of fp32 (issue 16).
TOLERANCE = 0.02


def _quality_module():
    spec = importlib.util.spec_from_file_location("quality_run", QUALITY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bench_embedder_quality() -> list[Row]:
    """``make quality``'s two sets indexed and answered with each embedder; int8 - fp32."""
    quality = _quality_module()
    rows: list[Row] = []
    for name, (docs, questions) in quality.SETS.items():
        fp32 = quality.run_set(name, docs, questions, rebuild=True)
        int8 = quality.run_set(name, docs, questions, True, ["embedder.backend=onnx-int8"])
        for label, key in MEASURES:
            a, b = fp32[key], int8[key]
            if a is None or b is None:
                continue
            diff = b - a
            rows.append(
                Row(SECTION, f"{name}: {label}, int8 minus fp32", "share", diff, diff, diff, 1,
                    target=f">= -{TOLERANCE}", met=diff >= -TOLERANCE,
                    note=f"fp32 {a:.3f}, int8 {b:.3f}")
            )  # fmt: skip
    return rows

"""RGB's own protocol: each question answered from five fixed passages, no retrieval.

RGB (Chen et al., AAAI 2024) gives the model five passages per question, a share of them
noise (passages about the topic without the answer): noise 0 / 0.4 / 0.8 for the answerable
questions (accuracy), 1.0 for the unanswerable ones (how often it says the documents do not
say). Here the passages are the subset's own files (``qNNN-posKK`` / ``qNNN-negKK``), drawn
with a fixed seed and shuffled; the answerer is the offline extractive one, its word rarities
taken from the pooled index ``make quality`` built. As in RGB's own code, a question with too
few passages of one kind gets fewer passages (the table says how many on average).
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from assistant.evaluation.grading import missing_groups
from assistant.settings import load_settings
from assistant.types import RetrievedChunk
from assistant.wiring import build
from index.cleaning import clean_text

PASSAGES = 5
NOISE = (0.0, 0.4, 0.8)
_FILE = re.compile(r"-q(\d+)-(pos|neg)\d+\.txt$")


def _passages(docs: Path) -> dict[int, dict[str, list[Path]]]:
    found: dict[int, dict[str, list[Path]]] = defaultdict(lambda: {"pos": [], "neg": []})
    for path in sorted(docs.iterdir()):
        match = _FILE.search(path.name)
        if match:
            found[int(match.group(1))][match.group(2)].append(path)
    return found


def _draw(files: dict[str, list[Path]], noise: float, rng: random.Random) -> list[Path]:
    """Up to five passages, ``noise`` of them negatives, shuffled."""
    negatives = round(PASSAGES * noise)
    neg = rng.sample(files["neg"], min(negatives, len(files["neg"])))
    pos = rng.sample(files["pos"], min(PASSAGES - negatives, len(files["pos"])))
    picked = neg + pos
    rng.shuffle(picked)
    return picked


def run(rgb: Path, index_dir: Path, seed: int = 13) -> list[dict]:
    """One row per noise ratio: questions, correct (or abstained), passages given."""
    settings = load_settings(overrides={"index_dir": str(index_dir)}, environ={})
    wired = build(settings)
    embedder = wired.assistant.retriever.embedder
    extractive = wired.assistant.generators.get("extractive")
    questions = [json.loads(line) for line in (rgb / "questions.jsonl").open(encoding="utf-8")]
    files = _passages(rgb / "docs")
    rows = []
    for noise in (*NOISE, 1.0):
        rng = random.Random(seed)
        asked = [q for q in questions if q["answerable"] == (noise < 1.0)]
        good = given = 0
        for question in asked:
            number = int(question["id"].rsplit("-", 1)[1])
            paths = _draw(files[number], noise, rng)
            given += len(paths)
            sources = _sources(question["question"], paths, embedder)
            generation = extractive.answer(question["question"], sources)
            if noise < 1.0:
                good += not generation.abstained and not missing_groups(
                    generation.text, question["must"]
                )
            else:
                good += generation.abstained
        rows.append({"noise": noise, "questions": len(asked), "good": good, "given": given})
    return rows


def _sources(question: str, paths: list[Path], embedder) -> list[RetrievedChunk]:
    texts = [clean_text(p.read_text(encoding="utf-8")).text for p in paths]
    vectors = embedder.embed([question, *texts])
    similarity = vectors[1:] @ vectors[0]
    order = np.argsort(-similarity, kind="stable")  # as a retriever would hand them over
    return [
        RetrievedChunk(
            chunk_id=paths[i].name,
            source=paths[i].name,
            title=None,
            text=texts[i],
            start=0,
            end=len(texts[i]),
            score=float(similarity[i]),
            dense_score=float(similarity[i]),
        )  # fmt: skip
        for i in order
    ]


def table(rows: list[dict]) -> str:
    """Markdown: accuracy per noise ratio, rejection at noise 1.0."""
    lines = [
        "| RGB fixed passages (5, no retrieval) | questions | figure | passages per question |",
        "|---|---|---|---|",
    ]
    for r in rows:
        share = r["good"] / r["questions"] if r["questions"] else 0.0
        what = "abstained" if r["noise"] == 1.0 else "accuracy"
        per = r["given"] / r["questions"] if r["questions"] else 0.0
        lines.append(f"| noise {r['noise']:.1f} | {r['questions']} | {what} {share:.2f} | "
                     f"{per:.1f} |")  # fmt: skip
    return "\n".join(lines)

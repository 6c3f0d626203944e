"""Query latency (retrieval and extractive answers), start-up time and query memory."""

from __future__ import annotations

import shutil
import statistics
import sys
import time
from pathlib import Path

from corpus import fill_store
from measure import Row, rag, row, run_process, timed

from assistant.answering import Assistant
from assistant.evaluation import same_file
from assistant.evaluation.questions import load_questions
from assistant.reranking import IdentityReranker
from assistant.retrieval import HybridRetriever
from assistant.settings import Settings
from assistant.wiring import build, build_indexer
from index.embedders import SentenceTransformerEmbedder
from index.sentence_vectors import FILE as SENTENCES_FILE

SECTION = "query"
MODES = ("dense", "lexical", "hybrid")
ASK = "Which company did Luo Fuli join?"


def seeds_index(settings: Settings, embedder, seeds: Path, folder: Path) -> Settings:
    """``seeds`` indexed into a fresh ``folder``; the settings that point at it."""
    shutil.rmtree(folder, ignore_errors=True)
    the_settings = settings.replace(index_dir=str(folder), docs_dir=str(seeds))
    build_indexer(the_settings, embedder, progress=False).run([seeds])
    return the_settings


def retriever_for(settings: Settings, embedder) -> HybridRetriever:
    """A retriever on the index ``settings`` name, with the default options."""
    return build(settings, embedder).assistant.retriever


def latency_rows(
    label: str,
    retriever: HybridRetriever,
    questions: list[str],
    rounds: int,
    targets: dict[str, tuple[str, float]],
) -> list[Row]:
    """Retrieval latency per mode, query embedding included (the text cache cleared first)."""
    rows = []
    for mode in MODES:
        retriever.retrieve(questions[0], mode=mode)  # warm: BM25 loaded, collection open
        samples = [
            1000
            * timed(
                lambda q=q, m=mode: retriever.retrieve(q, mode=m), retriever.embedder.clear_cache
            )
            for _ in range(rounds)
            for q in questions
        ]
        target, goal = targets.get(mode, ("", 0.0))
        measured = row(SECTION, f"retrieval {mode}, {label}", "ms", samples, target=target)
        if target:
            measured.met = measured.p95 < goal and (
                mode != "hybrid" or label != "seeds" or measured.median < 10
            )
        rows.append(measured)
    return rows


def reranker_rows(retriever: HybridRetriever, questions: list[str], rounds: int) -> list[Row]:
    """Hybrid retrieval on the seeds with the configured reranker, and without one (reference)."""
    reranker = retriever.reranker
    samples = {}
    for name in (reranker.name, "none"):
        retriever.reranker = reranker if name == reranker.name else IdentityReranker()
        retriever.retrieve(questions[0])
        samples[name] = [
            1000 * timed(lambda q=q: retriever.retrieve(q), retriever.embedder.clear_cache)
            for _ in range(rounds)
            for q in questions
        ]
    retriever.reranker = reranker
    ranked = samples[reranker.name]
    return [
        row(
            SECTION,
            "retrieval hybrid + reranker, seeds",
            "ms",
            ranked,
            target="p50 < 15 ms",
            met=statistics.median(ranked) < 15,
            note=f"reranker '{reranker.name}', depth {reranker.depth}; query embedding included",
        ),
        row(
            SECTION,
            "retrieval hybrid, no reranker, seeds",
            "ms",
            samples["none"],
            note="reference: what the reranker adds",
        ),
    ]


def hit_at_3(retriever: HybridRetriever, questions) -> float:
    """Share of answerable questions whose gold file is among the top 3 hybrid results."""
    answerable = [q for q in questions if q.sources]
    hits = 0
    for question in answerable:
        found = [c.source for c in retriever.retrieve(question.question, top_k=3)]
        hits += any(same_file(s, gold) for s in found for gold in question.sources)
    return hits / len(answerable)


def bench_query(
    settings: Settings,
    seeds: Path,
    questions_file: Path,
    work: Path,
    rounds: int,
    scales: list[int],
) -> list[Row]:
    """Latency on the seeds and at each scale, hit@3 per backend, extractive answers."""
    questions = list(load_questions(questions_file).questions)
    texts = [q.question for q in questions]
    default = SentenceTransformerEmbedder(settings.embedder.model)
    int8 = SentenceTransformerEmbedder(settings.embedder.model, backend="onnx-int8")
    seeds_settings = seeds_index(settings, default, seeds, work / "seeds")
    int8_settings = seeds_index(
        settings.replace(**{"embedder.backend": "onnx-int8"}), int8, seeds, work / "seeds-int8"
    )
    retriever = retriever_for(seeds_settings, default)
    rows = latency_rows(
        "seeds", retriever, texts, rounds, {"hybrid": ("p50 < 10 ms, p95 < 20 ms", 20.0)}
    )

    rows += reranker_rows(retriever, texts, rounds)

    hits = {
        "default": hit_at_3(retriever, questions),
        "onnx-int8": hit_at_3(retriever_for(int8_settings, int8), questions),
    }
    for name, value in hits.items():
        rows.append(
            Row(
                SECTION,
                f"hit@3 on the development set, {name} (hybrid)",
                "share",
                value,
                value,
                value,
                1,
            )
        )
    gap = hits["default"] - hits["onnx-int8"]
    rows.append(
        Row(
            SECTION,
            "hit@3 default minus onnx-int8",
            "share",
            gap,
            gap,
            gap,
            1,
            target="<= 0.02",
            met=gap <= 0.02,
        )
    )

    assistant = Assistant.from_settings(
        seeds_settings.replace(**{"generator.name": "extractive"}), default
    )
    assistant.ask(texts[0])
    cold = [
        1000 * timed(lambda q=q: assistant.ask(q), default.clear_cache)
        for _ in range(rounds)
        for q in texts
    ]
    warm = [1000 * timed(lambda q=q: assistant.ask(q)) for _ in range(rounds) for q in texts]
    # The same index without its sentence vectors (built before them, or on torch).
    bare = work / "seeds-no-sentence-vectors"
    shutil.rmtree(bare, ignore_errors=True)
    shutil.copytree(work / "seeds", bare)
    for stored in bare.glob(f"state/*/{SENTENCES_FILE}"):
        stored.unlink()
    fallback = Assistant.from_settings(
        seeds_settings.replace(index_dir=str(bare), **{"generator.name": "extractive"}), default
    )
    fallback.ask(texts[0])
    embedded = [
        1000 * timed(lambda q=q: fallback.ask(q), default.clear_cache)
        for _ in range(rounds)
        for q in texts
    ]
    rows += [
        row(
            SECTION,
            "extractive answer end to end, sentence cache cleared",
            "ms",
            cold,
            target="p50 < 60 ms",
            met=statistics.median(cold) < 60,
            note="retrieval + sentence scoring; sentence vectors from the index, question "
            "embedded afresh",
        ),
        row(
            SECTION,
            "extractive answer end to end, no stored sentence vectors, cache cleared",
            "ms",
            embedded,
            note="an index without sentences.sqlite: every sentence embedded when asked",
        ),
        row(
            SECTION,
            "extractive answer end to end, sentence cache warm",
            "ms",
            warm,
            note="questions asked before: sentence vectors come from the cache",
        ),
    ]

    for count in scales:
        scale_settings = settings.replace(index_dir=str(work / f"scale-{count}"))
        shutil.rmtree(work / f"scale-{count}", ignore_errors=True)
        started = time.perf_counter()
        fill_store(scale_settings, default.name, default.dimension, count)
        built = time.perf_counter() - started
        scale_rows = latency_rows(
            f"{count:,} chunks",
            retriever_for(scale_settings, default),
            texts,
            max(1, rounds // 2),
            {"hybrid": ("p95 < 50 ms", 50.0)} if count >= 100_000 else {},
        )
        scale_rows[0].note = f"synthetic store built in {built:.0f} s"
        rows += scale_rows
    if scales:
        biggest = max(scales)
        run = run_process(
            rag("ask", ASK, "--generator", "extractive"),
            {"RAG_INDEX_DIR": str(work / f"scale-{biggest}")},
        )
        assert run.returncode == 0, run.output
        rows.append(
            Row(
                "memory",
                f"peak RSS, `rag ask` at {biggest:,} chunks",
                "MiB",
                run.peak_rss_mb,
                run.peak_rss_mb,
                run.peak_rss_mb,
                1,
                note=f"whole process, {run.seconds:.1f} s wall",
            )
        )
    return rows


def bench_startup(seeds_index_dir: Path, rounds: int) -> list[Row]:
    """Wall time of a fresh ``rag ask`` process and of ``import assistant``."""
    env = {"RAG_INDEX_DIR": str(seeds_index_dir)}
    asks = [run_process(rag("ask", ASK, "--generator", "extractive"), env) for _ in range(rounds)]
    failed = [a.output for a in asks if a.returncode]
    assert not failed, failed[0]
    imports = [run_process([sys.executable, "-c", "import assistant"]) for _ in range(rounds)]
    heavy = [
        run_process([sys.executable, "-c", "import chromadb, llama_index.core"])
        for _ in range(rounds)
    ]
    seconds = [a.seconds for a in asks]
    return [
        row(
            "start-up",
            "fresh `rag ask --generator extractive`",
            "s",
            seconds,
            target="< 4 s",
            met=statistics.median(seconds) < 4,
        ),
        row("start-up", "python -c 'import assistant'", "s", [i.seconds for i in imports]),
        row(
            "start-up",
            "python -c 'import chromadb, llama_index.core' (reference)",
            "s",
            [h.seconds for h in heavy],
            note="what an eager import would cost",
        ),
    ]

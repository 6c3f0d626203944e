"""Indexing throughput against raw encoding and a plain llama-index pipeline."""

from __future__ import annotations

import shutil
import statistics
import time
from functools import partial
from pathlib import Path

from measure import Row, rag, row, run_process, timed

from assistant.settings import Settings
from assistant.wiring import build_indexer, build_store
from index.embedders import SentenceTransformerEmbedder

SECTION = "indexing"


def index_once(settings: Settings, embedder, corpus: Path, folder: Path) -> tuple[float, object]:
    """Index ``corpus`` into a fresh ``folder``; (seconds, report)."""
    shutil.rmtree(folder, ignore_errors=True)
    indexer = build_indexer(settings.replace(index_dir=str(folder)), embedder, progress=False)
    started = time.perf_counter()
    report = indexer.run([corpus])
    return time.perf_counter() - started, report


def embedded_texts(settings: Settings, embedder, folder: Path) -> list[str]:
    """Exactly what the pipeline embedded for each chunk in the index at ``folder``."""
    store = build_store(settings.replace(index_dir=str(folder)))
    store.expect(embedder.name, embedder.dimension)
    return [c.embedding_text for c in store.iter_chunks(include_text=True)]


def llama_index_once(model_folder: Path, corpus: Path, tokens) -> tuple[float, int, int, int]:
    """The plain llama-index pipeline with its defaults; (seconds, characters, chunks, truncated).

    ``SimpleDirectoryReader`` + ``VectorStoreIndex.from_documents`` (default splitter and
    in-memory store) with ``HuggingFaceEmbedding`` on the same model folder.
    """
    from llama_index.core import SimpleDirectoryReader, VectorStoreIndex
    from llama_index.core.schema import MetadataMode
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    embed = HuggingFaceEmbedding(model_name=str(model_folder), device="cpu")
    embed.get_text_embedding("warm up")
    started = time.perf_counter()
    documents = SimpleDirectoryReader(str(corpus)).load_data()
    index = VectorStoreIndex.from_documents(documents, embed_model=embed)
    seconds = time.perf_counter() - started
    nodes = list(index.docstore.docs.values())
    embedded = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
    truncated = sum(tokens(text) > 256 for text in embedded)
    return seconds, sum(len(d.text) for d in documents), len(nodes), truncated


def bench_indexing(settings: Settings, corpus: Path, work: Path, rounds: int) -> list[Row]:
    """Throughput of ``rag index`` per backend and of raw encoding, in the same rounds."""
    embedders = {
        backend: SentenceTransformerEmbedder(settings.embedder.model, backend=backend)
        for backend in ("onnx", "torch", "onnx-int8")
    }
    for embedder in embedders.values():
        embedder.embed(["warm up"])
    # Warm the process as a long-running indexer would be: imports (splitter, Chroma) done.
    one = next(corpus.iterdir())
    (work / "warm-up").mkdir(exist_ok=True)
    shutil.copy(one, work / "warm-up" / one.name)
    index_once(settings, embedders["onnx"], work / "warm-up", work / "warm-up-index")
    fp32 = embedders["onnx"]
    torch_model = embedders["torch"].model  # sentence-transformers, for the raw baseline

    runs: dict[str, list[float]] = {
        k: [] for k in ("onnx", "torch", "onnx-int8", "st", "ort", "ort-int8", "llama")
    }
    characters = chunks = 0
    texts: list[str] = []
    llama: tuple[int, int, int] = (0, 0, 0)
    raw = {"st": torch_model, "ort": fp32.encoder, "ort-int8": embedders["onnx-int8"].encoder}
    for number in range(rounds):

        def pipeline(backend: str, number: int = number) -> None:
            nonlocal characters, chunks, texts
            # A new folder each round: Chroma keeps one client per path for the process.
            folder = work / f"{backend}-{number}"
            seconds, report = index_once(settings, embedders[backend], corpus, folder)
            runs[backend].append(seconds)
            characters, chunks = report.characters, report.chunks_written
            if backend == "onnx":
                texts = embedded_texts(settings, fp32, folder)

        def encode(name: str) -> None:
            encoder = raw[name]
            runs[name].append(timed(lambda: encoder.encode(texts, batch_size=64)))

        # Each pipeline run beside the raw encoding it is compared with, the order alternating
        # between rounds, so drifting machine load falls on both sides of a ratio alike.
        pairs = [("onnx", "ort"), ("torch", "st"), ("onnx-int8", "ort-int8")]
        for backend, name in pairs:
            steps = [partial(pipeline, backend), partial(encode, name)]
            for step in steps if number % 2 == 0 or not texts else steps[::-1]:
                step()
        seconds, *llama = llama_index_once(fp32.folder, corpus, fp32.count_tokens)
        runs["llama"].append(seconds)
        done = ", ".join(f"{k} {v[-1]:.0f} s" for k, v in runs.items())
        print(f"   round {number + 1}/{rounds}: {done}", flush=True)

    truncated = sum(fp32.count_tokens(t) > fp32.max_tokens for t in texts)
    per_second = {k: [chunks / s for s in v] for k, v in runs.items()}
    return [
        row(SECTION, "rag index (default: onnx-int8), chars/s", "chars/s",
            [characters / s for s in runs["onnx-int8"]],
            note=f"{chunks} chunks, {characters} cleaned chars, {truncated} truncated"),
        row(SECTION, "rag index (default: onnx-int8), chunks/s", "chunks/s",
            per_second["onnx-int8"]),
        row(SECTION, "rag index (backend onnx, full precision), chunks/s", "chunks/s",
            per_second["onnx"]),
        row(SECTION, "rag index (backend torch), chunks/s", "chunks/s", per_second["torch"]),
        row(SECTION, "raw SentenceTransformer.encode (torch), chunks/s", "chunks/s",
            per_second["st"], note="same chunk texts, model already loaded"),
        row(SECTION, "raw OnnxEncoder.encode (fp32), chunks/s", "chunks/s", per_second["ort"]),
        row(SECTION, "raw OnnxEncoder.encode (int8), chunks/s", "chunks/s",
            per_second["ort-int8"]),
        ratio("rag index (default: onnx-int8) / raw OnnxEncoder.encode (fp32)", runs["ort"],
              runs["onnx-int8"], target=">= 2", goal=2.0,
              note="issue 16: the default pipeline against the full-precision model alone"),
        ratio("rag index (onnx, full precision) / raw SentenceTransformer.encode", runs["st"],
              runs["onnx"], target=">= 0.9", goal=0.9),
        ratio("rag index (torch) / raw SentenceTransformer.encode", runs["st"], runs["torch"],
              note="pipeline overhead on one engine: loading, cleaning, chunking, Chroma, BM25"),
        ratio("rag index (onnx) / raw OnnxEncoder.encode (fp32)", runs["ort"], runs["onnx"],
              note="the pipeline's overhead on one engine, with the stages overlapped"),
        ratio("rag index (onnx-int8) / raw OnnxEncoder.encode (int8)", runs["ort-int8"],
              runs["onnx-int8"], note="the same on the int8 engine"),
        ratio("rag index onnx-int8 / rag index onnx", runs["onnx"], runs["onnx-int8"]),
        ratio("rag index onnx-int8 / rag index torch", runs["torch"], runs["onnx-int8"],
              target=">= 2", goal=2.0, note="torch: the default when the target was set"),
        ratio("raw encode int8 / raw encode fp32 (onnxruntime)", runs["ort"], runs["ort-int8"],
              note="the model alone, without the pipeline"),
        row(SECTION, "llama-index defaults (VectorStoreIndex + HuggingFaceEmbedding), chars/s",
            "chars/s", [llama[0] / s for s in runs["llama"]],
            note=f"{llama[1]} chunks, {llama[2]} truncated by the embedder "
            f"({llama[2] / max(llama[1], 1):.0%}): what follows their first 256 word pieces "
            "is never embedded"),
        Row(SECTION, "truncated chunks, rag index", "chunks", truncated, truncated, truncated, 1,
            target="0", met=truncated == 0),
    ]  # fmt: skip


def ratio(
    measure: str,
    base: list[float],
    other: list[float],
    target: str = "",
    goal: float | None = None,
    note: str = "",
) -> Row:
    """Throughput of ``other`` over ``base`` from paired seconds of the same rounds."""
    values = [b / o for b, o in zip(base, other, strict=True)]
    met = None if goal is None else statistics.median(values) >= goal
    return row(SECTION, measure, "x", values, target=target, met=met, note=note)


def bench_no_change(settings: Settings, notes: Path, work: Path, rounds: int) -> list[Row]:
    """A no-change re-index of ``notes`` (1,000 small files): in process and as ``rag index``."""
    embedder = SentenceTransformerEmbedder(settings.embedder.model)
    folder = work / "notes-index"
    shutil.rmtree(folder, ignore_errors=True)
    the_settings = settings.replace(index_dir=str(folder))
    first = build_indexer(the_settings, embedder, progress=False).run([notes])
    files = len(first.added)
    in_process = []
    for _ in range(max(rounds, 5)):
        indexer = build_indexer(the_settings, embedder, progress=False)
        started = time.perf_counter()
        report = indexer.run([notes])
        in_process.append(time.perf_counter() - started)
        assert report.unchanged == files and not report.added, report.summary()
    env = {"RAG_INDEX_DIR": str(folder)}
    processes = [run_process(rag("index", str(notes)), env) for _ in range(max(rounds, 3))]
    failed = [p.output for p in processes if p.returncode]
    assert not failed, failed[0]
    return [
        row(
            SECTION,
            f"no-change re-index of {files} files, in process",
            "s",
            in_process,
            target="< 2 s",
            met=statistics.median(in_process) < 2,
        ),
        row(
            SECTION,
            f"no-change `rag index` of {files} files, whole process",
            "s",
            [p.seconds for p in processes],
            note="includes Python start-up and imports",
        ),
    ]


def bench_index_memory(corpus: Path, work: Path) -> Row:
    """Peak RSS of a fresh ``rag index`` process on the synthetic corpus."""
    folder = work / "memory-index"
    shutil.rmtree(folder, ignore_errors=True)
    run = run_process(rag("index", str(corpus)), {"RAG_INDEX_DIR": str(folder)})
    assert run.returncode == 0, run.output
    return Row(
        "memory",
        "peak RSS, `rag index` of the synthetic corpus",
        "MiB",
        run.peak_rss_mb,
        run.peak_rss_mb,
        run.peak_rss_mb,
        1,
        note=f"whole process, {run.seconds:.1f} s wall",
    )

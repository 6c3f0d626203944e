"""A big folder: a measured 10,000-chunk synthetic index, extrapolated to 100,000 chunks."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from corpus import write_articles
from measure import Row, rag, run_process

SECTION = "big folder"
# Synthetic articles give about 5.4 chunks each (see corpus.write_articles).
CHUNKS_PER_ARTICLE = 5.4
_CHUNKS = re.compile(r"(\d+) chunks? written")


def bench_big_folder(work: Path, chunks: int, target_chunks: int = 100_000) -> list[Row]:
    """``rag index`` of about ``chunks`` chunks in a fresh process; wall time, rate, peak RSS.

    The 100,000-chunk figure is the measured run scaled linearly (said in its note): the
    model's work is linear in chunks, and Chroma's index inserts grow only slowly with size.
    """
    corpus = write_articles(work / "big-folder", round(chunks / CHUNKS_PER_ARTICLE))
    folder = work / "big-folder-index"
    shutil.rmtree(folder, ignore_errors=True)
    run = run_process(rag("index", str(corpus)), {"RAG_INDEX_DIR": str(folder)})
    assert run.returncode == 0, run.output[-2000:]
    found = _CHUNKS.findall(run.output)
    written = int(found[-1]) if found else chunks
    scaled = run.seconds * target_chunks / written
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)

    def one(measure: str, unit: str, value: float, **extra) -> Row:
        return Row(SECTION, measure, unit, value, value, value, 1, **extra)

    return [
        one(f"`rag index` of {written:,} chunks, whole process", "s", run.seconds,
            note=f"measured: {written / run.seconds:.1f} chunks/s, fresh process and index"),
        one(f"`rag index` of {target_chunks:,} chunks (extrapolated)", "min", scaled / 60,
            note=f"the measured {written:,}-chunk run scaled linearly, not run"),
        one(f"peak RSS, `rag index` of {written:,} chunks", "MiB", run.peak_rss_mb),
    ]  # fmt: skip

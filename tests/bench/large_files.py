"""Peak memory of ``rag index`` over a folder of large files (issue 15, finding 6).

24 text files of 20-45 MB that the loader refuses after reading them (an undecodable byte at
the end, as in a large export saved in another encoding). Before files were processed one at a
time, every changed file's bytes were held until the run ended, so peak RSS grew with the
folder (1.4 GB here); now it stays near one file's worth. A second run over the same files
shows that refused files are remembered by hash and not loaded again.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from measure import Row, rag, run_process

MB = 1_000_000


def write_large_files(folder: Path, count: int = 24, low_mb: int = 20, high_mb: int = 45) -> int:
    """``count`` files of ``low_mb``..``high_mb`` MB of text ending in a non-UTF-8 byte."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = random.Random(15)
    line = b"The quarterly archive lists every shipment, its weight and its destination.\n"
    block = line * (MB // len(line) + 1)
    total = 0
    for i in range(count):
        size = rng.randint(low_mb, high_mb)
        with open(folder / f"export_{i:02d}.txt", "wb") as handle:
            for _ in range(size):
                handle.write(block[:MB])
            handle.write(b"caf\xe9\n")  # Latin-1: the loader refuses the file after reading it
        total += size
    return total


def bench_large_files_memory(work: Path, count: int = 24) -> list[Row]:
    """Peak RSS and wall time of two ``rag index`` runs over ``count`` large files."""
    folder = work / "large-files"
    total = write_large_files(folder, count)
    index = work / "large-files-index"
    shutil.rmtree(index, ignore_errors=True)
    rows = []
    for label in ("first run (every file read and refused)", "second run (remembered)"):
        run = run_process(rag("index", str(folder)), {"RAG_INDEX_DIR": str(index)})
        assert run.returncode == 0, run.output
        assert f"{count} skipped" in run.output, run.output
        rows.append(
            Row(
                "memory",
                f"peak RSS, `rag index` of {count} files ({total} MB), {label}",
                "MiB",
                run.peak_rss_mb,
                run.peak_rss_mb,
                run.peak_rss_mb,
                1,
                target="< 600",
                met=run.peak_rss_mb < 600,
                note=f"whole process, {run.seconds:.1f} s wall",
            )
        )
    shutil.rmtree(folder, ignore_errors=True)
    return rows

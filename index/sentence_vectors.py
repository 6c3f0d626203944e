"""Sentence vectors from the index-time forward pass, kept beside the index in SQLite.

The extractive answerer compares every sentence of the retrieved passages with the question;
embedding them at question time is most of its latency. The indexing pass already computes
each chunk's token states, so each sentence's mean over its word pieces is kept
(``OnnxEncoder.encode_spans``): float16, one row per chunk, in ``sentences.sqlite`` in the
collection's state folder. Means are stored unnormalised with their word-piece counts, so a
quote spanning two adjacent sentences gets the mean of both (``pooled``).

SQLite rather than a second Chroma collection: the rows are only ever fetched by chunk id,
so a vector index over them would cost indexing time and memory for nothing.

Safety: rows are written before their chunks (and so before the manifest vouches for them).
A row is keyed by the chunk id, which hashes the file's content and the chunk's place in it,
and records the embedder, so a row left behind by a crash or a removed file can never be
mistaken for another text's; ``retain`` (at the end of each run) deletes the rows of files the
manifest no longer lists. A chunk without a row (an older index, a torch engine, a sidecar
that cannot be written) is embedded at question time as before.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.embedders.onnx import SpanMeans
from index.sentences import sentence_spans

if TYPE_CHECKING:
    from index.documents import Chunk
    from index.protocols import Embedder

log = logging.getLogger(__name__)
FILE = "sentences.sqlite"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS sentences (chunk_id TEXT PRIMARY KEY, key TEXT NOT NULL, "
    "embedder TEXT NOT NULL, spans BLOB NOT NULL, counts BLOB NOT NULL, means BLOB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS sentences_key ON sentences (key)",
)


def embed_chunks(
    embedder: Embedder, chunks: Sequence[Chunk]
) -> tuple[np.ndarray, list[SpanMeans] | None]:
    """The chunks' vectors, and their sentences' mean token states when the engine has them.

    Sentence spans are in the chunk's own text (``index.sentences``, as the answerer splits
    it); the embedded text has the title in front, so they are shifted for the encoder.
    """
    texts = [c.embedding_text for c in chunks]
    embed_spans = getattr(embedder, "embed_spans", None)
    if embed_spans is None:
        return embedder.embed(texts), None
    shifts = [len(t) - len(c.text) for t, c in zip(texts, chunks, strict=True)]
    spans = [
        [(a + shift, b + shift) for a, b in sentence_spans(c.text)]
        for c, shift in zip(chunks, shifts, strict=True)
    ]
    vectors, means = embed_spans(texts, spans)
    if means is None:
        return vectors, None
    return vectors, [
        SpanMeans(m.spans - shift, m.counts, m.means)
        for m, shift in zip(means, shifts, strict=True)
    ]


def pooled(means: SpanMeans | None, start: int, end: int) -> np.ndarray | None:
    """The L2-normalised mean token state of the sentences exactly covering ``[start, end)``.

    None when the stored sentences do not tile that range (another split, a truncated chunk).
    """
    if means is None or not len(means.spans):
        return None
    starts, ends = means.spans[:, 0], means.spans[:, 1]
    first = np.searchsorted(starts, start)
    last = np.searchsorted(ends, end, side="right")
    if first >= last or starts[first] != start or ends[last - 1] != end:
        return None
    counts = means.counts[first:last]
    if not counts.all():
        return None
    vector = (means.means[first:last] * counts[:, None]).sum(axis=0) / counts.sum()
    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype(np.float32) if norm > 0 else None


class SentenceVectors:
    """The ``sentences.sqlite`` of one collection: write per batch, read by chunk ids."""

    def __init__(self, path: Path, embedder: str):
        """``embedder``: the name recorded with each row; rows of another embedder are ignored."""
        self.path = path
        self.embedder = embedder

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        for statement in _SCHEMA:
            connection.execute(statement)
        return connection

    def put(self, keys: Iterable[str], chunks: Sequence[Chunk], means: Sequence[SpanMeans]) -> None:
        """Replace the rows of the files ``keys`` with those of ``chunks`` (one transaction).

        A failure (a read-only folder, a full disk) is logged and leaves those chunks to be
        embedded at question time.
        """
        rows = [
            (
                c.id,
                c.key,
                self.embedder,
                m.spans.astype(np.int32).tobytes(),
                m.counts.astype(np.int32).tobytes(),
                m.means.astype(np.float16).tobytes(),
            )
            for c, m in zip(chunks, means, strict=True)
        ]
        try:
            connection = self._connect()
            try:
                with connection:
                    connection.executemany(
                        "DELETE FROM sentences WHERE key = ?", [(k,) for k in set(keys)]
                    )
                    connection.executemany(
                        "INSERT OR REPLACE INTO sentences VALUES (?, ?, ?, ?, ?, ?)", rows
                    )
            finally:
                connection.close()
        except (sqlite3.Error, OSError) as exc:
            log.info("sentence vectors not kept in %s: %s", self.path, exc)

    def retain(self, keys: Iterable[str]) -> None:
        """Delete the rows of every file not in ``keys`` (removed, replaced by a copy)."""
        if not self.path.exists():
            return
        try:
            connection = self._connect()
            try:
                with connection:
                    connection.execute("CREATE TEMP TABLE kept (key TEXT PRIMARY KEY)")
                    connection.executemany(
                        "INSERT OR IGNORE INTO kept VALUES (?)", [(k,) for k in keys]
                    )
                    connection.execute(
                        "DELETE FROM sentences WHERE key NOT IN (SELECT key FROM kept)"
                    )
            finally:
                connection.close()
        except (sqlite3.Error, OSError) as exc:
            log.info("stale sentence vectors not removed from %s: %s", self.path, exc)

    def get(self, chunk_ids: Sequence[str]) -> dict[str, SpanMeans]:
        """The stored sentence means of those ``chunk_ids`` that have them."""
        if not chunk_ids or not self.path.exists():
            return {}
        try:
            connection = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True, timeout=5)
            try:
                marks = ",".join("?" * len(chunk_ids))
                rows = connection.execute(
                    f"SELECT chunk_id, spans, counts, means FROM sentences "  # noqa: S608
                    f"WHERE embedder = ? AND chunk_id IN ({marks})",
                    [self.embedder, *chunk_ids],
                ).fetchall()
            finally:
                connection.close()
        except sqlite3.Error as exc:
            log.info("sentence vectors unreadable in %s: %s", self.path, exc)
            return {}
        found = {}
        for chunk_id, spans, counts, means in rows:
            n = len(counts) // 4
            found[chunk_id] = SpanMeans(
                np.frombuffer(spans, dtype=np.int32).reshape(n, 2),
                np.frombuffer(counts, dtype=np.int32),
                np.frombuffer(means, dtype=np.float16).reshape(n, -1).astype(np.float32),
            )
        return found

"""``MemoryStore``: the reference ``VectorStore``, exact cosine search over numpy arrays.

Nothing persists: a store lives as long as the object. It is the second implementation that
keeps the ``VectorStore`` contract honest (the contract tests run against it and against
Chroma) and the fast store of unit tests that need ranking but not a database.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace

import numpy as np

from index.documents import Chunk, StoredChunk
from index.store import StoreError


class MemoryStore:
    """Chunks and their vectors in process memory; cosine distance, exact nearest neighbours."""

    def __init__(self, name: str = "memory") -> None:
        self.where = f"memory:{name}"
        self._lock = threading.RLock()
        self._collection: tuple[str, int] | None = None  # (embedder, dimension) once created
        self._expected: tuple[str, int] | None = None
        self._chunks: dict[str, StoredChunk] = {}
        self._vectors: dict[str, np.ndarray] = {}
        self._generation = 0
        self._incarnation = 0  # a new collection after every drop, as Chroma gives a new id

    # -- collection lifecycle ---------------------------------------------------------------

    def open(self, embedder: str, dimension: int, create: bool) -> None:
        """Create (``create``) or check the collection's embedder, as Chroma's store does."""
        with self._lock:
            if self._collection is None:
                if not create:
                    raise StoreError(f"no index yet in {self.where}; run `rag index` first")
                self._collection = (embedder, dimension)
            if self._collection != (embedder, dimension):
                built, size = self._collection
                raise StoreError(
                    f"the index in {self.where} was built with embedder '{built}' ({size} "
                    f"dimensions) but the settings use '{embedder}' ({dimension}); run "
                    "`rag index --rebuild` to re-embed, or change embedder.model"
                )

    def expect(self, embedder: str, dimension: int) -> None:
        """Check the embedder on first use instead of now."""
        self._expected = (embedder, dimension)

    def forget(self) -> None:
        """Nothing is cached apart from the data itself."""

    def drop(self) -> None:
        """Delete the collection and everything in it."""
        with self._lock:
            self._collection = None
            self._chunks.clear()
            self._vectors.clear()
            self._generation = 0
            self._incarnation += 1

    def _ready(self) -> None:
        if self._collection is None:
            if self._expected is None:
                raise RuntimeError("MemoryStore.open() or expect() must be called first")
            self.open(*self._expected, create=False)

    # -- metadata ---------------------------------------------------------------------------

    def generation(self) -> str:
        """``"<collection>:<counter>"``: changes when bumped and when the collection is replaced."""
        with self._lock:
            self._ready()
            return f"{self._incarnation}:{self._generation}"

    def bump_generation(self) -> str:
        """Increment the change counter; returns the new ``generation()``."""
        with self._lock:
            self._ready()
            self._generation += 1
            return f"{self._incarnation}:{self._generation}"

    # -- reading and writing ----------------------------------------------------------------

    def count(self) -> int:
        """Number of chunks stored."""
        with self._lock:
            self._ready()
            return len(self._chunks)

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Insert or replace ``chunks``; row ``i`` of ``vectors`` belongs to chunk ``i``."""
        with self._lock:
            self._ready()
            for chunk, vector in zip(chunks, vectors, strict=True):
                self._chunks[chunk.id] = _record(chunk)
                self._vectors[chunk.id] = np.asarray(vector, dtype=np.float32).copy()

    def ids_for(self, *keys: str) -> list[str]:
        """Ids of all chunks of the documents ``keys``."""
        wanted = set(keys)
        with self._lock:
            self._ready()
            return [i for i, c in self._chunks.items() if c.key in wanted]

    def delete(self, ids: Sequence[str]) -> None:
        """Delete chunks by id (missing ids are ignored)."""
        with self._lock:
            self._ready()
            for chunk_id in ids:
                self._chunks.pop(chunk_id, None)
                self._vectors.pop(chunk_id, None)

    def iter_chunks(self, include_text: bool = True) -> Iterator[StoredChunk]:
        """Every chunk, in insertion order (a snapshot: writes meanwhile are not seen)."""
        with self._lock:
            self._ready()
            chunks = list(self._chunks.values())
        for chunk in chunks:
            yield chunk if include_text else _without_text(chunk)

    def get(self, ids: Sequence[str]) -> list[StoredChunk]:
        """Chunks by id, in the order asked (missing ids are left out)."""
        with self._lock:
            self._ready()
            return [self._chunks[i] for i in ids if i in self._chunks]

    def query(self, vector: np.ndarray, n: int) -> list[StoredChunk]:
        """The ``n`` nearest chunks to ``vector`` by cosine distance, nearest first."""
        with self._lock:
            self._ready()
            if n <= 0 or not self._chunks:
                return []
            ids = list(self._vectors)
            matrix = np.stack([self._vectors[i] for i in ids])
        query = np.asarray(vector, dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1) * max(float(np.linalg.norm(query)), 1e-12)
        distances = 1.0 - (matrix @ query) / np.maximum(norms, 1e-12)
        # Ties broken by id, so results never depend on insertion order.
        order = sorted(range(len(ids)), key=lambda row: (float(distances[row]), ids[row]))[:n]
        return [_with_distance(self._chunks[ids[row]], float(distances[row])) for row in order]


def _record(chunk: Chunk) -> StoredChunk:
    page = chunk.extra.get("page")
    return StoredChunk(
        id=chunk.id,
        key=chunk.key,
        source=chunk.source,
        text=chunk.text,
        start=chunk.start,
        end=chunk.end,
        position=chunk.position,
        content_hash=chunk.content_hash,
        title=chunk.title,
        author=chunk.extra.get("author") or None,
        date=chunk.extra.get("date") or None,
        page=int(page) if page not in (None, "") else None,
        location=chunk.extra.get("location") or None,
    )


def _without_text(chunk: StoredChunk) -> StoredChunk:
    return replace(chunk, text="")


def _with_distance(chunk: StoredChunk, distance: float) -> StoredChunk:
    return replace(chunk, distance=distance)

"""The contracts of the index side, written once: ``Embedder``, ``VectorStore``, ``KeywordIndex``.

Every backend (Chroma embedded or over HTTP, the in-memory reference store; ONNX, torch and the
hashing embedders) implements one of these; the rest of the code names only the protocol. The
contract tests in ``tests/contracts/`` run the same suite against every implementation.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from index.documents import Chunk, StoredChunk


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of ``dimension``.

    ``name`` identifies the vectors in an index (two embedders with the same name must give
    the same vectors); ``max_tokens`` is the input limit in word pieces, special tokens
    included, and ``count_tokens`` measures a text as the model sees it; ``token_spans`` gives
    the character span of each of its word pieces (special tokens left out). Nothing heavy loads
    until the first ``embed``.
    """

    name: str
    dimension: int
    max_tokens: int

    def count_tokens(self, text: str) -> int: ...

    def token_spans(self, text: str) -> list[tuple[int, int]]: ...

    def embed(self, texts: list[str], show_progress: bool = False) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


@runtime_checkable
class VectorStore(Protocol):
    """One collection of chunks with their vectors, searched by cosine distance.

    ``open`` checks the collection was filled by the same embedder (a ``StoreError`` says to
    rebuild otherwise); ``expect`` defers that to first use. ``generation`` is an opaque token
    that changes whenever an indexing run (in any process) bumps it and whenever the collection
    is replaced, so long-lived readers notice writers and reopen what they must.
    ``where`` names the store in messages (a folder or host:port).
    """

    where: str

    def open(self, embedder: str, dimension: int, create: bool) -> None: ...

    def expect(self, embedder: str, dimension: int) -> None: ...

    def forget(self) -> None: ...

    def drop(self) -> None: ...

    def generation(self) -> str: ...

    def bump_generation(self) -> str: ...

    def count(self) -> int: ...

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None: ...

    def ids_for(self, *keys: str) -> list[str]: ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def iter_chunks(self, include_text: bool = True) -> Iterator[StoredChunk]: ...

    def get(self, ids: Sequence[str]) -> list[StoredChunk]: ...

    def query(self, vector: np.ndarray, n: int) -> list[StoredChunk]: ...


@runtime_checkable
class KeywordIndex(Protocol):
    """Lexical (BM25) search over every chunk of a store, kept in step with its generation."""

    def rebuild(self, generation: int) -> None: ...

    def refresh(self) -> None: ...

    def search(self, query: str, n: int) -> list: ...

    def document_frequency(self, token: str) -> float: ...

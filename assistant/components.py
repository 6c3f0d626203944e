"""The composition root: builds the index-side collaborators from ``Settings``.

Everything is constructed here once and passed into constructors; nothing is global.
"""

from __future__ import annotations

from pathlib import Path

from assistant.settings import Settings
from index.chunking import Chunker
from index.embedding import SentenceTransformerEmbedder
from index.lexical import LexicalIndex
from index.pipeline import Indexer
from index.store import ChromaStore


def build_embedder(settings: Settings) -> SentenceTransformerEmbedder:
    """The embedder named by ``embedder.*`` (not loaded until first used)."""
    return SentenceTransformerEmbedder(
        settings.embedder.model,
        batch_size=settings.embedder.batch_size,
        backend=settings.embedder.backend,
    )


def build_store(settings: Settings) -> ChromaStore:
    """The Chroma store named by ``chroma.*`` (collection not opened yet)."""
    chroma = settings.chroma
    if chroma.mode == "http":
        return ChromaStore.http(
            chroma.host, chroma.port, chroma.collection, ssl=chroma.ssl, token=chroma.auth_token
        )
    return ChromaStore.embedded(Path(settings.index_dir) / "chroma", chroma.collection)


def state_folder(settings: Settings) -> Path:
    """Local state that belongs to one collection: manifest, lock and BM25 index."""
    chroma = settings.chroma
    where = "embedded" if chroma.mode == "embedded" else f"{chroma.host}_{chroma.port}"
    return Path(settings.index_dir) / "state" / f"{where}-{chroma.collection}"


def build_lexical(settings: Settings, store: ChromaStore) -> LexicalIndex:
    """The BM25 index derived from ``store``."""
    return LexicalIndex(store, state_folder(settings) / "bm25")


def build_indexer(
    settings: Settings,
    embedder: SentenceTransformerEmbedder | None = None,
    on_message=None,
    progress: bool | None = None,
) -> Indexer:
    """An ``Indexer`` wired to the configured store, embedder, chunker and lexical index."""
    embedder = embedder or build_embedder(settings)
    store = build_store(settings)
    chunker = Chunker(
        embedder.count_tokens,
        embedder.max_tokens,
        chunk_size=settings.indexing.chunk_size,
        chunk_overlap=settings.indexing.chunk_overlap,
    )
    extra = {} if on_message is None else {"on_message": on_message}
    return Indexer(
        store=store,
        embedder=embedder,
        chunker=chunker,
        lexical=build_lexical(settings, store),
        state_dir=state_folder(settings),
        max_file_bytes=int(settings.indexing.max_file_mb * 1e6),
        progress=progress,
        **extra,
    )

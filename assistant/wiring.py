"""The composition root: registries of backends, and ``build(settings)`` that wires them.

This is the only module that names concrete backends. Each registry maps a settings value to
a factory; a new backend is one class plus one line here. The settings' allowed values, the
CLI's choices and the UI's options are all read from these registries (``choices``), never
retyped. Everything is built once per ``build`` and passed into constructors; nothing is
global.

- ``GENERATORS`` (``generator.name``): who writes the answer; ``AUTO_ORDER`` is the ``auto``
  policy's order of preference, ending with the fallback that needs nothing outside.
- ``EMBEDDERS`` (``embedder.backend``): the engine that runs the embedding model.
- ``STORES`` (``chroma.mode``): where chunks and vectors live.
- ``RERANKERS`` (``retrieval.reranker``): the stage after fusion.
- retrieval modes (``retrieval.mode``): ``HybridRetriever.MODES``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.generators.choice import AUTO, GeneratorChoice
from assistant.retrieval import HybridRetriever

if TYPE_CHECKING:
    from assistant.answering import Assistant
    from assistant.generators.base import Generator
    from assistant.library import Library
    from assistant.reranking import Reranker
    from assistant.settings import Settings
    from index.lexical import LexicalIndex
    from index.pipeline import Indexer
    from index.protocols import Embedder, KeywordIndex, VectorStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Parts:
    """What a generator factory may use: the settings, the embedder, the keyword index."""

    settings: Settings
    embedder: Embedder
    lexical: KeywordIndex


# -- generators -------------------------------------------------------------------------------


def _extractive(parts: Parts, model: str | None) -> Generator:
    from assistant.generators.extractive import ExtractiveGenerator
    from index.sentence_vectors import FILE, SentenceVectors

    g = parts.settings.generator
    stored = SentenceVectors(state_folder(parts.settings) / FILE, parts.embedder.name)
    return ExtractiveGenerator(
        parts.embedder,
        parts.lexical.document_frequency,
        abstain_threshold=g.abstain_threshold,
        max_sentences=g.max_sentences,
        sentence_vectors=stored.get,
    )


def _ollama(parts: Parts, model: str | None) -> Generator:
    from assistant.generators.ollama import OllamaGenerator

    ollama = parts.settings.ollama
    return OllamaGenerator(ollama.model_copy(update={"model": model}) if model else ollama)


def _openai(parts: Parts, model: str | None) -> Generator:
    from assistant.generators.openai import OpenAIGenerator

    # `model` is the Ollama model override of the UI / --model; the server has its own names.
    return OpenAIGenerator(parts.settings.openai)


def _llamacpp(parts: Parts, model: str | None) -> Generator:
    from assistant.generators.llamacpp import LlamaCppGenerator

    return LlamaCppGenerator(parts.settings.llamacpp)


GENERATORS: dict[str, Callable[[Parts, str | None], Generator]] = {
    "ollama": _ollama,
    "openai": _openai,
    "llamacpp": _llamacpp,
    "extractive": _extractive,
}
# A backend whose `configured` is False (openai without base_url, llamacpp without a file) is
# skipped by `auto` without a word: most users have neither.
AUTO_ORDER = ("ollama", "openai", "llamacpp", "extractive")
# Backends that ignore the per-call `model` (an Ollama model name): built once per `build`.
MODEL_FREE = (_openai, _llamacpp)


# -- embedders --------------------------------------------------------------------------------


def _sentence_transformer(backend: str) -> Callable[[Settings], Embedder]:
    def make(settings: Settings) -> Embedder:
        from index.embedders import SentenceTransformerEmbedder

        e = settings.embedder
        return SentenceTransformerEmbedder(
            e.model, batch_size=e.batch_size, backend=backend, device=e.device
        )

    return make


def _hashing(settings: Settings) -> Embedder:
    from index.embedders.hashing import HashEmbedder

    return HashEmbedder()


# The default before int8 (issue 16): indexes built with it keep it (``backend_for_index``).
FORMER_DEFAULT_BACKEND = "onnx"
EMBEDDERS: dict[str, Callable[[Settings], Embedder]] = {
    "onnx": _sentence_transformer("onnx"),
    "torch": _sentence_transformer("torch"),
    "onnx-int8": _sentence_transformer("onnx-int8"),
    "hashing": _hashing,
}


# -- stores -----------------------------------------------------------------------------------


def _embedded(settings: Settings) -> VectorStore:
    from index.store import ChromaStore

    return ChromaStore.embedded(Path(settings.index_dir) / "chroma", settings.chroma.collection)


def _http(settings: Settings) -> VectorStore:
    from index.store import ChromaStore

    c = settings.chroma
    return ChromaStore.http(c.host, c.port, c.collection, ssl=c.ssl, token=c.auth_token)


def _memory(settings: Settings) -> VectorStore:
    from index.memory_store import MemoryStore

    return MemoryStore(settings.chroma.collection)


STORES: dict[str, Callable[[Settings], VectorStore]] = {
    "embedded": _embedded,
    "http": _http,
    "memory": _memory,
}


# -- rerankers --------------------------------------------------------------------------------


def _identity(settings: Settings, embedder: Embedder) -> Reranker:
    from assistant.reranking import IdentityReranker

    return IdentityReranker()


def _signals(settings: Settings, embedder: Embedder) -> Reranker:
    from assistant.reranking import SignalReranker

    return SignalReranker(depth=settings.retrieval.candidates)


RERANKERS: dict[str, Callable[[Settings, Embedder], Reranker]] = {
    "none": _identity,
    "signals": _signals,
}


def choices(setting: str) -> tuple[str, ...]:
    """The allowed values of a registry-backed ``setting`` (e.g. ``"generator.name"``)."""
    table = {
        "generator.name": (AUTO, *GENERATORS),
        "embedder.backend": tuple(EMBEDDERS),
        "chroma.mode": tuple(STORES),
        "retrieval.reranker": tuple(RERANKERS),
        "retrieval.mode": HybridRetriever.MODES,
    }
    return table[setting]


# -- building -----------------------------------------------------------------------------------


def build_embedder(settings: Settings) -> Embedder:
    """The embedder named by ``embedder.*`` (not loaded until first used).

    An index built with the earlier default (full precision) keeps it while
    ``embedder.backend`` is left unset, so it keeps working; a notice says how to switch.
    """
    return EMBEDDERS[backend_for_index(settings)](settings)


def backend_for_index(settings: Settings) -> str:
    """``embedder.backend``, or ``FORMER_DEFAULT_BACKEND`` for an index built with it when
    the setting was left at its default."""
    from index.manifest import Manifest

    backend = settings.embedder.backend
    if backend == FORMER_DEFAULT_BACKEND or "embedder.backend" in settings.sources:
        return backend
    former = EMBEDDERS[FORMER_DEFAULT_BACKEND](settings).name
    if Manifest.recorded_embedder(state_folder(settings) / "manifest.json") != former:
        return backend
    log.warning(
        "this index was built with the full-precision embedder and keeps using it; "
        "`rag index --rebuild --set embedder.backend=%s` re-embeds it with the default "
        "(1.85x as fast to index on the bench corpus, same answers on the quality sets)",
        backend,
    )
    return FORMER_DEFAULT_BACKEND


def build_store(settings: Settings) -> VectorStore:
    """The store named by ``chroma.*`` (collection not opened yet)."""
    return STORES[settings.chroma.mode](settings)


def state_folder(settings: Settings) -> Path:
    """Local state that belongs to one collection: manifest, lock and BM25 index."""
    chroma = settings.chroma
    where = {"http": f"{chroma.host}_{chroma.port}"}.get(chroma.mode, chroma.mode)
    return Path(settings.index_dir) / "state" / f"{where}-{chroma.collection}"


def build_lexical(settings: Settings, store: VectorStore) -> LexicalIndex:
    """The BM25 index derived from ``store``."""
    from index.lexical import LexicalIndex

    return LexicalIndex(store, state_folder(settings) / "bm25")


def build_indexer(
    settings: Settings,
    embedder: Embedder | None = None,
    on_message: Callable[[str], None] | None = None,
    progress: bool | None = None,
    store: VectorStore | None = None,
    lexical: KeywordIndex | None = None,
) -> Indexer:
    """An ``Indexer`` wired to the configured store, embedder, chunker and keyword index."""
    from index.chunking import Chunker
    from index.pipeline import Indexer

    embedder = embedder or build_embedder(settings)
    store = store or build_store(settings)
    chunker = Chunker(
        embedder.count_tokens,
        embedder.max_tokens,
        chunk_size=settings.indexing.chunk_size,
        chunk_overlap=settings.indexing.chunk_overlap,
        token_spans=embedder.token_spans,
    )
    extra = {} if on_message is None else {"on_message": on_message}
    return Indexer(
        store=store,
        embedder=embedder,
        chunker=chunker,
        lexical=lexical or build_lexical(settings, store),
        state_dir=state_folder(settings),
        max_file_bytes=int(settings.indexing.max_file_mb * 1e6),
        progress=progress,
        **extra,
    )


@dataclass(frozen=True)
class Wired:
    """An assistant and its library, sharing one store, keyword index and embedder."""

    assistant: Assistant
    library: Library


def build(settings: Settings, embedder: Embedder | None = None) -> Wired:
    """The assistant and the library for ``settings``; nothing heavy is loaded yet."""
    from assistant.answering import Assistant
    from assistant.library import Library

    embedder = embedder or build_embedder(settings)
    store = build_store(settings)
    store.expect(embedder.name, embedder.dimension)
    lexical = build_lexical(settings, store)
    r = settings.retrieval
    retriever = HybridRetriever(
        store,
        lexical,
        embedder,
        mode=r.mode,
        top_k=r.top_k,
        candidates=r.candidates,
        rrf_k=r.rrf_k,
        reranker=RERANKERS[r.reranker](settings, embedder),
    )
    parts = Parts(settings, embedder, lexical)
    generators = GeneratorChoice(
        {name: _bound(factory, parts) for name, factory in GENERATORS.items()},
        auto_order=AUTO_ORDER,
        default=settings.generator.name,
    )

    def make_indexer(on_message, progress) -> Indexer:
        return build_indexer(settings, embedder, on_message, progress, store, lexical)

    library = Library(
        Path(settings.docs_dir),
        store,
        lexical,
        embedder,
        make_indexer,
        sources_file=state_folder(settings) / "sources.json",
    )
    return Wired(Assistant(settings, retriever, generators, library), library)


def _bound(factory, parts: Parts):
    if factory not in MODEL_FREE:
        return lambda model: factory(parts, model)
    # One instance whatever `model` is asked for: a llamacpp generator holds a loaded model.
    made: list[Generator] = []

    def once(model: str | None) -> Generator:
        if not made:
            made.append(factory(parts, None))
        return made[0]

    return once

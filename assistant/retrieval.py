"""Dense and lexical retrieval fused by reciprocal rank.

Reciprocal rank fusion is the few lines below rather than llama-index's fusion retriever:
the query path then needs neither llama-index nor its node objects, which keeps a fresh
``rag ask`` process fast to start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from assistant.types import RetrievedChunk
from index.embedding import SentenceTransformerEmbedder
from index.lexical import LexicalIndex
from index.store import ChromaStore, StoredChunk

Mode = Literal["hybrid", "dense", "lexical"]


@dataclass(frozen=True)
class RetrievalOptions:
    """Per-call retrieval parameters (defaults come from settings)."""

    mode: Mode = "hybrid"
    top_k: int = 5
    candidates: int = 20
    rrf_k: int = 60


class HybridRetriever:
    """Finds the chunks that best match a query in one Chroma collection and its BM25 index."""

    def __init__(
        self,
        store: ChromaStore,
        lexical: LexicalIndex,
        embedder: SentenceTransformerEmbedder,
        options: RetrievalOptions,
    ):
        self.store = store
        self.lexical = lexical
        self.embedder = embedder
        self.options = options

    def retrieve(self, query: str, options: RetrievalOptions | None = None) -> list[RetrievedChunk]:
        """The ``top_k`` best chunks for ``query``, best first."""
        opts = options or self.options
        n = max(opts.candidates, opts.top_k)
        dense: list[StoredChunk] = []
        lexical_scores: dict[str, float] = {}
        if opts.mode in ("hybrid", "dense"):
            dense = self.store.query(self.embedder.embed_query(query), n)
        if opts.mode in ("hybrid", "lexical"):
            lexical_scores = {hit.id: hit.score for hit in self.lexical.search(query, n)}

        dense_scores = {c.id: 1.0 - (c.distance or 0.0) for c in dense}
        fused = rrf([list(dense_scores), list(lexical_scores)], opts.rrf_k)
        best = sorted(fused, key=lambda cid: (-fused[cid], cid))[: opts.top_k]

        known = {c.id: c for c in dense}
        missing = [cid for cid in best if cid not in known]
        known.update({c.id: c for c in self.store.get(missing)})
        return [
            _to_retrieved(known[cid], fused[cid], dense_scores.get(cid), lexical_scores.get(cid))
            for cid in best
            if cid in known
        ]


def rrf(rankings: list[list[str]], k: int = 60) -> dict[str, float]:
    """Reciprocal rank fusion: ``sum(1 / (k + rank))`` over the rankings an id appears in."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return scores


def _to_retrieved(
    chunk: StoredChunk, score: float, dense: float | None, lexical: float | None
) -> RetrievedChunk:
    meta = chunk.metadata
    return RetrievedChunk(
        chunk_id=chunk.id,
        source=str(meta.get("source", "")),
        title=meta.get("title"),
        text=chunk.text,
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        score=score,
        dense_score=dense,
        lexical_score=lexical,
        location=meta.get("location") or None,
        page=int(meta["page"]) if meta.get("page") else None,
    )

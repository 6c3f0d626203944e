"""Dense and lexical retrieval fused by reciprocal rank, then reranked.

Reciprocal rank fusion is the few lines below rather than llama-index's fusion retriever:
the query path then needs neither llama-index nor its node objects, which keeps a fresh
``rag ask`` process fast to start. Only protocols are named here; the wiring module chooses
the store, the keyword index, the embedder and the reranker.
"""

from __future__ import annotations

from assistant.reranking import IdentityReranker, Reranker
from assistant.types import RetrievedChunk
from index.documents import StoredChunk
from index.protocols import Embedder, KeywordIndex, VectorStore


class HybridRetriever:
    """Finds the chunks that best match a query in one store and its keyword index.

    ``mode`` (one of ``MODES``), ``top_k``, ``candidates`` (fetched from each retriever before
    fusion) and ``rrf_k`` are the defaults; ``retrieve`` can override ``mode`` and ``top_k``.
    """

    MODES = ("hybrid", "dense", "lexical")

    def __init__(
        self,
        store: VectorStore,
        lexical: KeywordIndex,
        embedder: Embedder,
        *,
        mode: str,
        top_k: int,
        candidates: int,
        rrf_k: int,
        reranker: Reranker | None = None,
    ):
        self.store = store
        self.lexical = lexical
        self.embedder = embedder
        self.mode = mode
        self.top_k = top_k
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.reranker = reranker or IdentityReranker()

    def retrieve(
        self, query: str, *, top_k: int | None = None, mode: str | None = None
    ) -> list[RetrievedChunk]:
        """The ``top_k`` best chunks for ``query``, best first."""
        mode = mode or self.mode
        top_k = int(top_k or self.top_k)
        if mode not in self.MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; use one of {self.MODES}")
        n = max(self.candidates, top_k)
        dense: list[StoredChunk] = []
        lexical_scores: dict[str, float] = {}
        if mode in ("hybrid", "dense"):
            dense = self.store.query(self.embedder.embed_query(query), n)
        if mode in ("hybrid", "lexical"):
            lexical_scores = {hit.id: hit.score for hit in self.lexical.search(query, n)}

        dense_scores = {c.id: 1.0 - (c.distance or 0.0) for c in dense}
        fused = rrf([list(dense_scores), list(lexical_scores)], self.rrf_k)
        depth = max(top_k, self.reranker.depth)
        best = sorted(fused, key=lambda cid: (-fused[cid], cid))[:depth]

        known = {c.id: c for c in dense}
        missing = [cid for cid in best if cid not in known]
        known.update({c.id: c for c in self.store.get(missing)})
        ranked = [
            to_retrieved(known[cid], fused[cid], dense_scores.get(cid), lexical_scores.get(cid))
            for cid in best
            if cid in known
        ]
        if self.reranker.depth:
            ranked = self.reranker.rerank(query, ranked)
        return ranked[:top_k]


def rrf(rankings: list[list[str]], k: int = 60) -> dict[str, float]:
    """Reciprocal rank fusion: ``sum(1 / (k + rank))`` over the rankings an id appears in."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return scores


def to_retrieved(
    chunk: StoredChunk, score: float, dense: float | None = None, lexical: float | None = None
) -> RetrievedChunk:
    """The answer-side record of a stored chunk, with the scores that ranked it."""
    return RetrievedChunk(
        chunk_id=chunk.id,
        source=chunk.source,
        title=chunk.title,
        text=chunk.text,
        start=chunk.start,
        end=chunk.end,
        score=score,
        dense_score=dense,
        lexical_score=lexical,
        location=chunk.location,
        page=chunk.page,
    )

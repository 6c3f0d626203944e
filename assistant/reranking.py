"""The reranking stage after fusion: reorders the fused candidates before the top ``k`` are kept.

A ``Reranker`` sees the query and up to ``depth`` fused candidates (best first) and returns
them in its own order; the retriever keeps the first ``top_k``. ``IdentityReranker`` keeps the
fusion order and asks for no extra candidates, so retrieval costs exactly what fusion costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from assistant.types import RetrievedChunk


@runtime_checkable
class Reranker(Protocol):
    """Reorders fused candidates; ``depth`` is how many it wants to see (0: just ``top_k``)."""

    name: str
    depth: int

    def rerank(self, query: str, chunks: Sequence[RetrievedChunk]) -> list[RetrievedChunk]: ...


class IdentityReranker:
    """Keeps the fusion order."""

    name = "none"
    depth = 0

    def rerank(self, query: str, chunks: Sequence[RetrievedChunk]) -> list[RetrievedChunk]:
        """``chunks`` unchanged."""
        return list(chunks)

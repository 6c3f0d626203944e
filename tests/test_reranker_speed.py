"""The reranker's shortcuts (token cache, Jaccard bound) leave its ranking exactly as it was."""

from __future__ import annotations

import json

from conftest import QUESTIONS

from assistant.reranking import (
    DUPLICATE_JACCARD,
    IdentityReranker,
    SignalReranker,
    TokenCache,
    fold_duplicates,
)
from assistant.types import RetrievedChunk
from index.lexical import tokenize

DEV = [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]


def _fold_by_definition(chunks, bags):
    """The fold as first written: Jaccard of every pair, union built."""
    kept = []
    for chunk, tokens in zip(chunks, bags, strict=True):
        if any(
            tokens and len(tokens & other) / len(tokens | other) >= DUPLICATE_JACCARD
            for _, other in kept
        ):
            continue
        kept.append((chunk, tokens))
    return [chunk for chunk, _ in kept]


def _chunk(n: int, text: str) -> RetrievedChunk:
    return RetrievedChunk(f"c{n}", f"doc{n}.txt", None, text, 0, len(text), 1.0 - n / 100)


def test_fold_matches_the_definition_at_the_threshold():
    words = [f"word{i}" for i in range(40)]
    # Jaccard with the first: 32/40 = 0.8 (folded), 31/41 and 30/40 below, disjoint.
    texts = [
        " ".join(words),
        " ".join(words[:32]),
        " ".join(words[:31] + ["other"]),
        " ".join(words[:30]),
        " ".join(words[5:40] + [f"new{i}" for i in range(9)]),
        "completely different text here",
        "",
    ]
    chunks = [_chunk(n, t) for n, t in enumerate(texts)]
    bags = [set(tokenize(t)) for t in texts]
    assert [c.chunk_id for c in fold_duplicates(chunks, bags)] == [
        c.chunk_id for c in _fold_by_definition(chunks, bags)
    ]
    assert "c1" not in [c.chunk_id for c in fold_duplicates(chunks, bags)]


def test_ranking_on_the_dev_questions_is_unchanged_by_the_shortcuts(seed_assistant, monkeypatch):
    import assistant.reranking as reranking

    retriever = seed_assistant.retriever
    reranker = retriever.reranker
    assert isinstance(reranker, SignalReranker)
    monkeypatch.setattr(retriever, "reranker", IdentityReranker())
    fused = {q: retriever.retrieve(q, top_k=reranker.depth) for q in DEV}
    shortcut = {q: reranker.rerank(q, fused[q]) for q in DEV}
    again = {q: reranker.rerank(q, fused[q]) for q in DEV}  # every passage's tokens cached now
    # As first written: every passage tokenized every time, the fold by its definition.
    plain = SignalReranker(reranker.depth)
    plain._tokens = TokenCache(entries=0)
    monkeypatch.setattr(reranking, "fold_duplicates", _fold_by_definition)
    for question in DEV:
        expected = [(c.chunk_id, c.score) for c in plain.rerank(question, fused[question])]
        assert [(c.chunk_id, c.score) for c in shortcut[question]] == expected, question
        assert [(c.chunk_id, c.score) for c in again[question]] == expected, question


def test_the_token_cache_is_bounded():
    cache = TokenCache(entries=2)
    for text in ("one alpha", "two beta", "three gamma"):
        assert cache.tokens(text) == tokenize(text)
    assert list(cache._cache) == ["two beta", "three gamma"]

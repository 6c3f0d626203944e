"""Reranking after fusion: reorder the fused candidates so the answer-bearing passage leads.

``Reranker.rerank(query, chunks)`` returns the chunks best first. ``IdentityReranker`` keeps
the fused order. ``SignalReranker`` (the default, ``retrieval.reranker: signals``) adds signals
the passages already give, all lexical and cheap: how much of the question's IDF-weighted
vocabulary the passage holds, whether it meets the question's constraints (the asked year,
number, names, qualifiers), whether it holds the kind of thing asked for (a name, date,
number) and, for a question with a year, how much of its talk of years is of that year.
``fold_duplicates`` drops passages that repeat an earlier one nearly word for word, so one
story copied five times does not fill the top five.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Sequence, Set
from dataclasses import replace
from typing import Protocol, runtime_checkable

from assistant import answer_rules
from assistant.answer_patterns import YEAR
from assistant.types import RetrievedChunk
from index.lexical import tokenize

# Weights of the signals added to the fused score (normalised to 1 for the best candidate).
# A phrase signal (question word pairs found adjacent) was measured and left out: on news
# snippets the passages that restate the question win it (RGB hit@1 0.67 -> 0.56 at 0.1).
# So was an answer-kind signal per sentence (kind x the sentence's question words) in place of
# the passage's: RGB hit@1 0.56-0.63 against 0.67.
# A cosine term (0.3 x the passage's dense score) was measured too: RGB hit@1 0.67 -> 0.70
# but seeds 0.92 -> 0.88. So was the best sentence's coverage (0.2-0.4): RGB 0.67 -> 0.59.
W_COVER, W_CONSTRAINT, W_KIND = 0.6, 0.4, 0.5
# Weight of the share of a passage's year mentions that are the asked year(s): a page about
# the 2022 tournament that mentions 2018 once is not about 2018 (RGB hit@1 0.67 -> 0.70 at
# 0.1 to 0.3, seeds unchanged).
W_YEAR = 0.2
# Two passages sharing this share of their tokens are one passage.
DUPLICATE_JACCARD = 0.8


@runtime_checkable
class Reranker(Protocol):
    """Reorders fused candidates; ``depth`` is how many it wants to see (0: just ``top_k``)."""

    name: str
    depth: int

    def rerank(self, query: str, chunks: Sequence[RetrievedChunk]) -> list[RetrievedChunk]: ...


class IdentityReranker:
    """Keeps the fusion order and asks for no extra candidates."""

    name = "none"
    depth = 0

    def rerank(self, query: str, chunks: Sequence[RetrievedChunk]) -> list[RetrievedChunk]:
        """``chunks`` unchanged."""
        return list(chunks)


class SignalReranker:
    """Fused score plus coverage, constraint and answer-kind signals."""

    name = "signals"

    def __init__(self, depth: int = 20):
        """``depth``: fused candidates reranked (the rest are never seen)."""
        self.depth = depth
        self._tokens = TokenCache()

    def rerank(self, query: str, chunks: Sequence[RetrievedChunk]) -> list[RetrievedChunk]:
        """``chunks`` reordered by the combined score (stored in ``score``), near-duplicates
        folded, best first.

        Question words are weighted by their rarity among ``chunks`` themselves (a word every
        candidate holds tells them apart no better than none).
        """
        if not chunks:
            return []
        fr = answer_rules.frame(query)
        tokens = tokenize(query)
        sequences = [self._tokens.tokens(f"{c.title or ''}\n{c.text}") for c in chunks]
        bags = [set(seq) for seq in sequences]
        weights = {
            t: math.log(1.0 + len(bags) / (1 + sum(t in bag for bag in bags))) for t in tokens
        }
        total = sum(weights.values()) or 1.0
        top = max(c.score for c in chunks) or 1.0
        scored = []
        for chunk, seq, present in zip(chunks, sequences, bags, strict=True):
            text = f"{chunk.title or ''}\n{chunk.text}"
            cover = sum(w for t, w in weights.items() if t in present) / total
            meets = 0.0 if answer_rules.violations(fr, text, seq) else 1.0
            kind = answer_rules.answer_kind(fr, chunk.text)[0] if fr.wanted else 0.0
            score = chunk.score / top + W_COVER * cover + W_CONSTRAINT * meets + W_KIND * kind
            score += W_YEAR * year_share(fr.years, text)
            scored.append((replace(chunk, score=score), present))
        scored.sort(key=lambda pair: (-pair[0].score, pair[0].chunk_id))
        return fold_duplicates([c for c, _ in scored], [bag for _, bag in scored])


def year_share(years: frozenset[str], text: str) -> float:
    """The share of the years ``text`` mentions that are among ``years`` (0 when none asked)."""
    if not years:
        return 0.0
    mentioned = YEAR.findall(text)
    return sum(y in years for y in mentioned) / len(mentioned) if mentioned else 0.0


def fold_duplicates(
    chunks: Sequence[RetrievedChunk], bags: Sequence[Set[str]] | None = None
) -> list[RetrievedChunk]:
    """``chunks`` without those nearly repeating an earlier (better) one.

    ``bags`` are the chunks' token sets when the caller already has them.
    """
    if bags is None:
        bags = [set(tokenize(c.text)) for c in chunks]
    kept: list[tuple[RetrievedChunk, Set[str]]] = []
    for chunk, tokens in zip(chunks, bags, strict=True):
        if tokens and any(_near_duplicates(tokens, other) for _, other in kept):
            continue
        kept.append((chunk, tokens))
    return [chunk for chunk, _ in kept]


def _near_duplicates(one: Set[str], other: Set[str]) -> bool:
    """Jaccard similarity at least ``DUPLICATE_JACCARD``.

    It is at most the ratio of the two sizes, so most pairs are settled without intersecting
    (0.99 of the limit keeps float rounding on the safe side); the union's size is counted,
    not built.
    """
    small, large = sorted((len(one), len(other)))
    if small < 0.99 * DUPLICATE_JACCARD * large:
        return False
    shared = len(one & other)
    return shared / (len(one) + len(other) - shared) >= DUPLICATE_JACCARD


class TokenCache:
    """``tokenize`` of passage texts, remembered: the same passages come back question after
    question, and tokenizing twenty of them is most of the reranker's time. Bounded, LRU,
    thread-safe (one reranker serves every session)."""

    def __init__(self, entries: int = 1024):
        self.entries = entries
        self._cache: OrderedDict[str, list[str]] = OrderedDict()
        self._lock = threading.Lock()

    def tokens(self, text: str) -> list[str]:
        """``tokenize(text)``; the list is shared, so callers must not change it."""
        with self._lock:
            found = self._cache.get(text)
            if found is not None:
                self._cache.move_to_end(text)
                return found
        found = tokenize(text)
        with self._lock:
            self._cache[text] = found
            while len(self._cache) > self.entries:
                self._cache.popitem(last=False)
        return found

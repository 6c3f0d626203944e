"""``HashEmbedder``: a deterministic reference ``Embedder`` with no model at all.

Words (the BM25 tokens) and their neighbouring pairs are hashed into ``dimension`` buckets with
a sign, then L2-normalised: texts that share words get similar vectors, so it ranks (unlike a
constant mock), in microseconds, identically on every machine. It keeps the ``Embedder``
contract honest and makes retrieval and answering unit tests fast; the real model stays in the
integration tests.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from index.lexical import tokenize

_WORDS = re.compile(r"\S+")


class HashEmbedder:
    """Signed feature hashing of words and word pairs into ``dimension`` dimensions."""

    def __init__(self, dimension: int = 256, max_tokens: int = 256) -> None:
        self.dimension = dimension
        self.max_tokens = max_tokens
        self.name = f"hashing-{dimension}"

    def count_tokens(self, text: str) -> int:
        """Whitespace words plus the two special tokens a transformer would add."""
        return len(text.split()) + 2

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the whitespace words (special tokens left out)."""
        return [m.span() for m in _WORDS.finditer(text)]

    def embed(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        """One normalised vector per text; an empty text is the zero vector."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            tokens = tokenize(text)
            for feature in tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]:
                digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dimension
                out[row, bucket] += 1.0 if digest[4] & 1 else -1.0
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """The vector of one query."""
        return self.embed([text])[0]

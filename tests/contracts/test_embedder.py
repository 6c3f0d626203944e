"""One contract, every ``Embedder``: the bundled model on onnxruntime and the hashing reference."""

from __future__ import annotations

import numpy as np
import pytest

from index.embedders.hashing import HashEmbedder
from index.protocols import Embedder

TEXTS = ["Luo Fuli joined Xiaomi.", "Xiaomi hired Luo Fuli in 2024.", "The weather is mild."]


@pytest.fixture(params=["bundled", "hashing"])
def any_embedder(request) -> Embedder:
    if request.param == "bundled":
        return request.getfixturevalue("embedder")
    return HashEmbedder()


def test_vectors_are_normalised_float32_of_the_stated_dimension(any_embedder):
    assert isinstance(any_embedder, Embedder)
    vectors = any_embedder.embed(TEXTS)
    assert vectors.shape == (3, any_embedder.dimension) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert any_embedder.embed([]).shape == (0, any_embedder.dimension)


def test_the_same_text_gives_the_same_vector_alone_or_in_a_batch(any_embedder):
    alone = any_embedder.embed_query(TEXTS[1])
    assert np.allclose(alone, any_embedder.embed(TEXTS)[1], atol=1e-5)


def test_related_texts_are_closer_than_unrelated_ones(any_embedder):
    a, b, c = any_embedder.embed(TEXTS)
    assert a @ b > a @ c


def test_token_counts_grow_with_the_text_and_include_special_tokens(any_embedder):
    short, long = any_embedder.count_tokens("one"), any_embedder.count_tokens("one two three four")
    assert 2 < short < long
    assert any_embedder.max_tokens >= 128 and any_embedder.name

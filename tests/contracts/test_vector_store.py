"""One contract, every ``VectorStore``: the memory reference, embedded Chroma, a Chroma server.

A new store backend is added to ``STORES`` below and must pass the same suite unchanged.
"""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from assistant.settings import load_settings
from assistant.wiring import build_store
from index.documents import Chunk
from index.protocols import VectorStore
from index.store import StoreError

STORES = ["memory", "embedded", "http"]
DIM = 8


@pytest.fixture(params=STORES)
def store(request, tmp_path) -> VectorStore:
    overrides = {
        "index_dir": str(tmp_path / "index"),
        "chroma.mode": request.param,
        "chroma.collection": f"contract-{uuid.uuid4().hex[:12]}",
    }
    if request.param == "http":
        overrides["chroma.port"] = request.getfixturevalue("chroma_server")
    store = build_store(load_settings(overrides=overrides, environ={}))
    assert isinstance(store, VectorStore)
    return store


def chunk(n: int, key: str = "a.txt", **extra: str) -> Chunk:
    text = f"passage {n} of {key}"
    return Chunk(
        id=f"{key}-{n}",
        key=key,
        source=key,
        text=text,
        start=10 * n,
        end=10 * n + len(text),
        position=n,
        content_hash=f"hash-{key}",
        title=f"Title of {key}",
        extra=extra,
    )


def axis(i: int, dim: int = DIM) -> np.ndarray:
    v = np.zeros(dim, dtype=np.float32)
    v[i % dim] = 1.0
    return v


def test_a_store_that_was_never_filled_says_to_index_first(store):
    with pytest.raises(StoreError, match="rag index"):
        store.open("e", DIM, create=False)


def test_written_chunks_come_back_typed_and_in_the_order_asked(store):
    store.open("e", DIM, create=True)
    assert store.count() == 0
    chunks = [chunk(0), chunk(1, author="Ann", date="2024-01-02", page="3", location="p. 3")]
    store.upsert(chunks, np.stack([axis(0), axis(1)]))
    assert store.count() == 2
    got = store.get(["a.txt-1", "missing", "a.txt-0"])
    assert [c.id for c in got] == ["a.txt-1", "a.txt-0"]
    second = got[0]
    assert (second.key, second.source, second.text) == ("a.txt", "a.txt", "passage 1 of a.txt")
    assert (second.start, second.end, second.position) == (10, 28, 1)
    assert (second.title, second.author, second.date) == ("Title of a.txt", "Ann", "2024-01-02")
    assert (second.page, second.location, second.content_hash) == (3, "p. 3", "hash-a.txt")
    assert got[1].page is None and got[1].author is None


def test_query_returns_the_nearest_first_with_cosine_distances(store):
    store.open("e", DIM, create=True)
    store.upsert([chunk(i) for i in range(4)], np.stack([axis(i) for i in range(4)]))
    query = axis(2) + 0.5 * axis(3)
    hits = store.query(query / np.linalg.norm(query), 3)
    assert [h.id for h in hits][:2] == ["a.txt-2", "a.txt-3"]
    distances = [h.distance for h in hits]
    assert distances == sorted(distances)
    assert distances[0] == pytest.approx(1 - 1 / np.sqrt(1.25), abs=1e-4)
    assert hits[0].text == "passage 2 of a.txt"
    assert store.query(query, 0) == []


def test_upserting_an_id_again_replaces_it(store):
    store.open("e", DIM, create=True)
    store.upsert([chunk(0)], np.stack([axis(0)]))
    store.upsert([chunk(0)], np.stack([axis(1)]))
    assert store.count() == 1
    assert store.query(axis(1), 1)[0].distance == pytest.approx(0.0, abs=1e-5)


def test_chunks_of_a_document_are_found_and_deleted_by_key(store):
    store.open("e", DIM, create=True)
    chunks = [chunk(0), chunk(1), chunk(0, key="b.txt")]
    store.upsert(chunks, np.stack([axis(i) for i in range(3)]))
    assert sorted(store.ids_for("a.txt")) == ["a.txt-0", "a.txt-1"]
    store.delete(store.ids_for("a.txt") + ["never-there"])
    assert [c.id for c in store.iter_chunks()] == ["b.txt-0"]
    assert [c.text for c in store.iter_chunks(include_text=False)] == [""]


def test_chunks_of_several_documents_are_found_in_one_call(store):
    store.open("e", DIM, create=True)
    chunks = [chunk(0), chunk(1), chunk(0, key="b.txt"), chunk(0, key="c.txt")]
    store.upsert(chunks, np.stack([axis(i) for i in range(4)]))
    assert sorted(store.ids_for("a.txt", "c.txt", "nowhere")) == ["a.txt-0", "a.txt-1", "c.txt-0"]
    assert store.ids_for() == []


def test_the_change_token_moves_when_bumped_and_when_the_collection_is_replaced(store):
    store.open("e", DIM, create=True)
    start = store.generation()
    bumped = store.bump_generation()
    assert bumped != start and store.generation() == bumped
    store.upsert([chunk(0)], np.stack([axis(0)]))
    assert store.generation() == bumped  # writes alone do not move it: the indexer bumps once
    store.drop()
    store.open("e", DIM, create=True)
    assert store.generation() not in (start, bumped)


def test_another_embedder_is_refused_with_the_fix(store):
    store.open("e", DIM, create=True)
    with pytest.raises(StoreError, match="rebuild"):
        store.open("other", DIM, create=True)
    with pytest.raises(StoreError, match="rebuild"):
        store.open("e", DIM * 2, create=False)


def test_a_lazy_store_checks_the_embedder_on_first_use(store):
    store.open("e", DIM, create=True)
    store.upsert([chunk(0)], np.stack([axis(0)]))
    store.forget()
    store.expect("e", DIM)
    assert store.count() == 1


def test_dropping_removes_everything(store):
    store.open("e", DIM, create=True)
    store.upsert([chunk(0)], np.stack([axis(0)]))
    store.drop()
    with pytest.raises(StoreError):
        store.open("e", DIM, create=False)
    store.open("e", DIM, create=True)
    assert store.count() == 0

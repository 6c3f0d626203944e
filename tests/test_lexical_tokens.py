"""The BM25 tokens kept per chunk: a rebuild after a change reads no chunk text back, and
finds what a rebuild from every chunk's text finds."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import SEEDS

from assistant.wiring import build_indexer, build_lexical, build_store
from index.lexical import tokenize
from index.lexical_tokens import ChunkTokens

QUERIES = ["Which company did Luo Fuli join?", "HR lessons from DeepSeek", "Xiaomi model"]


def _index(settings, embedder) -> None:
    build_indexer(settings, embedder, progress=False).run([Path(settings.docs_dir)])


def _opened(settings, embedder):
    store = build_store(settings)
    store.expect(embedder.name, embedder.dimension)
    return store


def _results(lexical) -> list[list[tuple[str, float]]]:
    return [[(h.id, round(h.score, 5)) for h in lexical.search(q, 8)] for q in QUERIES]


class _TextsCounted:
    """A store that counts the chunk texts read back from it."""

    def __init__(self, inner):
        self.inner = inner
        self.texts_read = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def get(self, ids):
        self.texts_read += len(ids)
        return self.inner.get(ids)

    def iter_chunks(self, include_text=True):
        for chunk in self.inner.iter_chunks(include_text):
            self.texts_read += include_text
            yield chunk


def test_indexing_keeps_each_chunks_tokens_and_a_rebuild_reads_no_text(fresh_settings, embedder):
    docs = Path(fresh_settings.docs_dir)
    for path in sorted(SEEDS.iterdir())[:3]:
        shutil.copy(path, docs / path.name)
    writing = _TextsCounted(build_store(fresh_settings))
    build_indexer(fresh_settings, embedder, progress=False, store=writing).run([docs])
    assert writing.texts_read == 0  # tokenized as written, not read back for the rebuild
    store = _opened(fresh_settings, embedder)
    lexical = build_lexical(fresh_settings, store)
    kept = lexical.tokens.get(store.ids())
    chunks = list(store.iter_chunks())
    assert len(kept) == len(chunks) == store.count()
    assert all(kept[c.id] == tokenize(c.embedding_text) for c in chunks)

    counted = _TextsCounted(store)
    from_kept = build_lexical(fresh_settings, counted)
    from_kept.rebuild(store.bump_generation())
    assert counted.texts_read == 0
    with_tokens = _results(from_kept)

    for suffix in ("", "-wal", "-shm"):  # forget every kept token
        Path(f"{lexical.tokens.path}{suffix}").unlink(missing_ok=True)
    from_text = build_lexical(fresh_settings, counted)
    from_text.rebuild(store.bump_generation())
    assert counted.texts_read == len(chunks)  # nothing kept: every text read once, then kept
    assert _results(from_text) == with_tokens and any(with_tokens)
    assert len(lexical.tokens.get(store.ids())) == len(chunks)


def test_a_removed_file_leaves_the_kept_tokens_and_a_new_one_joins(fresh_settings, embedder):
    docs = Path(fresh_settings.docs_dir)
    first, second = sorted(SEEDS.iterdir())[:2]
    shutil.copy(first, docs / first.name)
    shutil.copy(second, docs / second.name)
    _index(fresh_settings, embedder)
    store = _opened(fresh_settings, embedder)
    gone = set(store.ids_for(str(docs / first.name)))
    (docs / first.name).unlink()
    (docs / "new.txt").write_text("Quokka Labs builds small robots for warehouses.\n")
    _index(fresh_settings, embedder)
    store = _opened(fresh_settings, embedder)
    lexical = build_lexical(fresh_settings, store)
    everything = lexical.tokens.get([*store.ids(), *gone])
    assert set(everything) == set(store.ids()) and not gone & set(everything)
    assert [h.id for h in lexical.search("quokka robots", 3)] == store.ids_for(
        str(docs / "new.txt")
    )


def test_tokens_that_cannot_be_kept_cost_nothing_but_speed(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    tokens = ChunkTokens(blocked / "tokens.sqlite")  # its folder cannot be made
    tokens.put({"c1": ["quokka"]})
    tokens.retain(["c1"])
    assert tokens.get(["c1"]) == {}
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"this is not SQLite" * 100)
    assert ChunkTokens(corrupt).get(["c1"]) == {}

"""The indexer end to end on real parts: tokenizer, sentence-transformers, embedded Chroma."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
from conftest import SEEDS

from assistant.wiring import build_indexer, build_store
from index.chunking import Chunker
from index.cleaning import clean_text
from index.documents import Document
from index.manifest import Manifest
from index.runs import PathNotFound
from index.store import StoreError


def _indexer(settings, embedder, messages=None):
    return build_indexer(
        settings,
        embedder=embedder,
        on_message=(messages if messages is not None else []).append,
        progress=False,
    )


def _store_contents(settings, embedder):
    store = build_store(settings)
    store.open(embedder.name, embedder.dimension, create=False)
    return list(store.iter_chunks())


def _seed_documents() -> list[Document]:
    docs = []
    for path in sorted(SEEDS.iterdir()):
        cleaned = clean_text(path.read_text(encoding="utf-8"))
        docs.append(Document(str(path), path.name, cleaned.text, "h", title=cleaned.title))
    return docs


# -- chunking ------------------------------------------------------------------------------


def test_no_seed_chunk_exceeds_the_embedder_limit_and_spans_round_trip(embedder):
    chunker = Chunker(embedder.count_tokens, embedder.max_tokens, chunk_size=200, chunk_overlap=30)
    assert embedder.max_tokens == 256
    total = 0
    for document in _seed_documents():
        chunks = chunker.split(document)
        assert chunks, document.source
        for chunk in chunks:
            total += 1
            assert embedder.count_tokens(chunk.embedding_text) <= embedder.max_tokens
            assert document.text[chunk.start : chunk.end] == chunk.text
        # Chunks cover the whole document, in order.
        assert chunks[0].start == 0 and chunks[-1].end == len(document.text)
        assert all(a.start < b.start for a, b in zip(chunks, chunks[1:], strict=False))
    assert total >= 20


def test_counting_from_one_tokenization_gives_the_same_chunks_as_counting_each_piece(embedder):
    exact = Chunker(embedder.count_tokens, embedder.max_tokens)
    fast = Chunker(embedder.count_tokens, embedder.max_tokens, token_spans=embedder.token_spans)
    for document in _seed_documents():
        assert [(c.start, c.end) for c in fast.split(document)] == [
            (c.start, c.end) for c in exact.split(document)
        ], document.source


@pytest.mark.parametrize("counting", ["exact", "spans"])
def test_oversized_settings_and_pathological_text_still_fit(embedder, counting):
    spans = embedder.token_spans if counting == "spans" else None
    chunker = Chunker(
        embedder.count_tokens, embedder.max_tokens, chunk_size=5000, chunk_overlap=0,
        token_spans=spans,
    )  # fmt: skip
    words = " ".join(f"Zxqv{i}ptr" for i in range(3000))  # rare word pieces, no sentence ends
    blob = "x" * 20000  # one "word" with no spaces at all
    long_title = "Very long title " * 100
    # Long words cut at chunk edges make a span count low; the exact recount catches them.
    cut_words = " ".join("Pneumonoultramicroscopicsilicovolcanoconiosis" for _ in range(800))
    for text in [words, blob, "第一句话。" * 2000, cut_words]:
        document = Document("k", "k.txt", text, "h", title=long_title)
        chunks = chunker.split(document)
        assert chunks
        for chunk in chunks:
            assert embedder.count_tokens(chunk.embedding_text) <= embedder.max_tokens
            assert text[chunk.start : chunk.end] == chunk.text


def test_chunk_ids_derive_from_content_and_position(embedder):
    chunker = Chunker(embedder.count_tokens, embedder.max_tokens)
    document = _seed_documents()[1]
    first = [c.id for c in chunker.split(document)]
    assert first == [c.id for c in chunker.split(document)]
    assert len(set(first)) == len(first)
    changed = Document(document.key, document.source, document.text, "other-hash")
    assert set(first).isdisjoint(c.id for c in chunker.split(changed))


# -- incremental pipeline ------------------------------------------------------------------


def test_incremental_add_change_delete_and_rebuild(fresh_settings, embedder):
    docs = Path(fresh_settings.docs_dir)
    for name in ["000_46770c1c8835f142.txt", "002_922202727007834a.txt"]:
        shutil.copy(SEEDS / name, docs / name)

    first = _indexer(fresh_settings, embedder).run([docs])
    assert sorted(first.added) == ["000_46770c1c8835f142.txt", "002_922202727007834a.txt"]
    assert first.chunks_total == len(_store_contents(fresh_settings, embedder))

    again = _indexer(fresh_settings, embedder).run([docs])
    assert again.summary().startswith("0 added, 0 changed, 0 removed, 2 unchanged")

    shutil.copy(SEEDS / "003_c453d3a694f8c582.txt", docs / "new.txt")
    (docs / "000_46770c1c8835f142.txt").write_text("A short replacement about Quokka Labs.\n")
    (docs / "002_922202727007834a.txt").unlink()
    report = _indexer(fresh_settings, embedder).run([docs])
    assert (report.added, report.changed, report.removed) == (
        ["new.txt"],
        ["000_46770c1c8835f142.txt"],
        ["002_922202727007834a.txt"],
    )
    chunks = _store_contents(fresh_settings, embedder)
    by_source = Counter(c.source for c in chunks)
    assert set(by_source) == {"000_46770c1c8835f142.txt", "new.txt"}
    assert by_source["000_46770c1c8835f142.txt"] == 1
    assert any("Quokka Labs" in c.text for c in chunks)
    assert not any("Luo Fuli" in c.text for c in chunks)

    rebuilt = _indexer(fresh_settings, embedder).run([docs], rebuild=True)
    assert sorted(rebuilt.added) == ["000_46770c1c8835f142.txt", "new.txt"]
    assert len(_store_contents(fresh_settings, embedder)) == rebuilt.chunks_total


def test_unchanged_run_does_not_load_the_model(fresh_settings, embedder):
    from index.embedders import SentenceTransformerEmbedder

    docs = Path(fresh_settings.docs_dir)
    shutil.copy(SEEDS / "001_77900fa6cfd08d2a.txt", docs / "a.txt")
    _indexer(fresh_settings, embedder).run([docs])
    cold = SentenceTransformerEmbedder(backend=embedder.backend)
    report = _indexer(fresh_settings, cold).run([docs])
    assert report.unchanged == 1
    assert cold._torch is None and cold._encoder is None


def test_a_corpus_without_a_single_word_indexes_and_searches_empty(fresh_settings, embedder):
    """bm25s cannot index a corpus with no tokens at all; the lexical index is then empty."""
    from assistant.wiring import build_lexical

    docs = Path(fresh_settings.docs_dir)
    (docs / "dashes.txt").write_text("--- !!! ... ---\n")
    report = _indexer(fresh_settings, embedder).run([docs])
    assert report.added == ["dashes.txt"] and report.chunks_total == 1
    store = build_store(fresh_settings)
    store.expect(embedder.name, embedder.dimension)
    lexical = build_lexical(fresh_settings, store)
    assert lexical.search("anything at all", 5) == []
    (docs / "words.txt").write_text("Quokka Labs builds small robots.\n")
    _indexer(fresh_settings, embedder).run([docs])
    assert [hit.id for hit in lexical.search("quokka", 5)] == store.ids_for(str(docs / "words.txt"))


def test_chunk_metadata_records_source_title_span_and_hash(fresh_settings, embedder):
    docs = Path(fresh_settings.docs_dir)
    shutil.copy(SEEDS / "000_46770c1c8835f142.txt", docs / "hr.txt")
    _indexer(fresh_settings, embedder).run([docs])
    chunks = _store_contents(fresh_settings, embedder)
    manifest = Manifest.load(next(Path(fresh_settings.index_dir).rglob("manifest.json")))
    entry = next(iter(manifest.files.values()))
    cleaned = clean_text((docs / "hr.txt").read_text(encoding="utf-8")).text
    for chunk in chunks:
        assert chunk.source == "hr.txt"
        assert chunk.title == "A Lesson from DeepSeek to HR in the Age of AI"
        assert chunk.author == "Gershon Goren"
        assert chunk.date == "March 25, 2025"
        assert chunk.content_hash == entry.content_hash
        assert cleaned[chunk.start : chunk.end] == chunk.text


# -- bad input -----------------------------------------------------------------------------


def test_bad_input_is_skipped_with_one_line_each_and_nothing_lost(fresh_settings, embedder):
    docs = Path(fresh_settings.docs_dir)
    shutil.copy(SEEDS / "001_77900fa6cfd08d2a.txt", docs / "good.txt")
    _indexer(fresh_settings, embedder).run([docs])
    before = len(_store_contents(fresh_settings, embedder))

    (docs / "empty.txt").write_bytes(b"")
    (docs / "binary.txt").write_bytes(b"\x89PNG\x00\x00\x01")
    (docs / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    (docs / "huge.md").write_bytes(b"word " * 300_000)
    (docs / "image.png").write_bytes(b"\x89PNG")
    (docs / "dangling.txt").symlink_to(docs / "missing-target.txt")
    outside = Path(fresh_settings.index_dir).parent / "outside.txt"
    outside.write_text("secret outside the folder")
    (docs / "escape.txt").symlink_to(outside)

    messages: list[str] = []
    big = fresh_settings.replace(**{"indexing.max_file_mb": 1})
    report = _indexer(big, embedder, messages).run([docs])
    reasons = dict(report.skipped)
    assert reasons["empty.txt"] == "empty file"
    assert "binary" in reasons["binary.txt"]
    assert "PDF" in reasons["broken.pdf"]
    assert "over the 1 MB limit" in reasons["huge.md"]
    assert reasons["dangling.txt"] == "broken symlink"
    assert "outside the folder" in reasons["escape.txt"]
    assert report.unsupported == ["image.png"]
    assert report.added == ["latin1.txt"]  # a legacy encoding is detected, not refused
    assert len(messages) == len(report.skipped) == 6
    assert all(m.startswith("skipped ") for m in messages)
    assert len(_store_contents(fresh_settings, embedder)) == before + 1  # latin1.txt


def test_missing_path_is_an_error_with_exit_code_2(fresh_settings, embedder):
    with pytest.raises(PathNotFound, match="does-not-exist") as info:
        _indexer(fresh_settings, embedder).run([Path("/does-not-exist")])
    assert info.value.exit_code == 2


def test_a_file_that_turns_bad_keeps_its_indexed_version(fresh_settings, embedder):
    docs = Path(fresh_settings.docs_dir)
    (docs / "a.txt").write_text("The Zorblax project is led by Quentin Marlowe.")
    _indexer(fresh_settings, embedder).run([docs])
    (docs / "a.txt").write_bytes(b"now \x00\x01 broken")
    report = _indexer(fresh_settings, embedder).run([docs])
    assert report.skipped and not report.removed
    assert any("Zorblax" in c.text for c in _store_contents(fresh_settings, embedder))


# -- embedder identity ---------------------------------------------------------------------


def test_opening_with_another_embedder_says_to_rebuild(fresh_settings, embedder, tmp_path):
    from index.embedders import SentenceTransformerEmbedder

    docs = Path(fresh_settings.docs_dir)
    (docs / "a.txt").write_text("Some text about anything at all.")
    _indexer(fresh_settings, embedder).run([docs])
    other_folder = tmp_path / "other-model"
    other_folder.symlink_to(embedder.folder)
    other = SentenceTransformerEmbedder(str(other_folder))
    with pytest.raises(StoreError, match=r"rag index --rebuild"):
        _indexer(fresh_settings, other).run([docs])
    rebuilt = _indexer(fresh_settings, other).run([docs], rebuild=True)
    assert rebuilt.added == ["a.txt"]


def test_index_dir_is_created_and_nothing_is_written_outside(fresh_settings, embedder):
    docs = Path(fresh_settings.docs_dir)
    (docs / "a.txt").write_text("Text.")
    before = set(os.listdir(docs))
    _indexer(fresh_settings, embedder).run([docs])
    assert set(os.listdir(docs)) == before
    assert (Path(fresh_settings.index_dir) / "chroma").is_dir()


def test_chunks_are_cut_where_the_answerers_sentences_start():
    from index.chunking import sentence_pieces
    from index.sentences import split_sentences

    text = 'Dr. Smith arrived. He said: "Yes!" Then he left.\n\nA new paragraph. 中文句子。第二句。'
    pieces = sentence_pieces(text)
    assert "".join(pieces) == text  # the splitter can find every chunk in the text
    assert [p.strip() for p in pieces] == split_sentences(text)
    assert sentence_pieces("") == [] and sentence_pieces("   ") == ["   "]

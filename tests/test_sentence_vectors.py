"""Sentence vectors kept from the indexing pass: stored, used, replaced, removed, and absent.

Real embedder (onnxruntime), real Chroma, real SQLite.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant
from assistant.generators.extractive import RESCORE_TOP
from assistant.wiring import build_indexer, state_folder
from index.embedders.onnx import span_means
from index.sentence_vectors import FILE, SentenceVectors, embed_chunks, pooled
from index.sentences import sentence_spans
from index.store import ChromaStore

LUO = (
    "Luo Fuli is an AI researcher. She joined Xiaomi in 2025 to lead its large model team. "
    "Before that she worked at DeepSeek on the V2 model."
)
FILLER = " ".join(f"The lab moved to building {n} in the year {1990 + n}." for n in range(10))
TEA = "Green tea is picked in spring. The leaves are steamed within hours of picking."


def _sentence_store(settings, embedder) -> SentenceVectors:
    return SentenceVectors(state_folder(settings) / FILE, embedder.name)


def _chunks(settings, embedder):
    store = ChromaStore.embedded(state_folder(settings).parents[1] / "chroma", "documents")
    store.open(embedder.name, embedder.dimension, create=False)
    return list(store.iter_chunks())


def _rows(settings) -> list[tuple[str, str]]:
    import sqlite3

    with sqlite3.connect(state_folder(settings) / FILE) as connection:
        return connection.execute("SELECT chunk_id, key FROM sentences").fetchall()


def test_span_means_average_the_word_pieces_of_each_sentence(embedder):
    text = "Luo Fuli joined Xiaomi. The team builds models."
    spans = sentence_spans(text)
    encoding = embedder.encoder.tokenizer.encode(text)
    hidden, _ = embedder.encoder._hidden([encoding])
    means = span_means(hidden[0], encoding, spans)
    alone = [
        len(embedder.tokenizer.encode(text[a:b], add_special_tokens=False).ids) for a, b in spans
    ]
    assert means.counts.tolist() == alone  # every word piece of the sentence, no special token
    first = hidden[0, 1 : 1 + alone[0]].mean(axis=0)  # after [CLS]
    assert np.allclose(means.means[0], first, atol=1e-5)
    # Two adjacent sentences pooled together: the count-weighted mean of both.
    both = pooled(means, spans[0][0], spans[1][1])
    whole = hidden[0, 1 : 1 + sum(alone)].mean(axis=0)
    assert np.allclose(both, whole / np.linalg.norm(whole), atol=1e-5)
    # A range the sentences do not tile has no stored vector.
    assert pooled(means, spans[0][0] + 1, spans[0][1]) is None
    assert pooled(means, spans[0][0], spans[1][1] - 1) is None


def test_a_truncated_sentence_gets_no_vector(embedder):
    text = "A short opening sentence. " + "Word " * 400 + "end."
    spans = sentence_spans(text)
    _, [means] = embedder.embed_spans([text], [spans])
    assert means.counts[0] > 0 and means.counts[-1] == 0
    assert pooled(means, *spans[-1]) is None


def test_indexing_stores_each_chunks_sentence_vectors(seed_index, embedder):
    settings, _ = seed_index
    chunks = _chunks(settings, embedder)
    stored = _sentence_store(settings, embedder).get([c.id for c in chunks])
    assert set(stored) == {c.id for c in chunks}
    _, fresh = embed_chunks(embedder, chunks[:3])
    for chunk, again in zip(chunks[:3], fresh, strict=True):
        kept = stored[chunk.id]
        assert kept.spans.tolist() == [list(s) for s in sentence_spans(chunk.text)]
        assert kept.counts.tolist() == again.counts.tolist()
        # float16 on disk, and int8 quantises activations per batch: a text's token states
        # move a little with the texts it was batched with. The direction stays.
        cosine = (kept.means * again.means).sum(axis=1) / (
            np.linalg.norm(kept.means, axis=1) * np.linalg.norm(again.means, axis=1)
        )
        assert cosine.min() > 0.98, cosine  # 0.990-0.993 measured here
    # Rows of another embedder are never read.
    other = SentenceVectors(state_folder(settings) / FILE, "another-model")
    assert other.get([c.id for c in chunks]) == {}


def test_answers_use_the_stored_vectors_and_embed_only_the_best_few(seed_assistant, embedder):
    question = "Which company did Luo Fuli join?"
    embedder.clear_cache()
    answer = seed_assistant.ask(question)
    assert not answer.abstained and "Xiaomi" in answer.text
    embedded = list(embedder._cache)
    assert embedded[0] == question and 1 < len(embedded) <= 1 + RESCORE_TOP
    quoted = [c.quote for c in answer.citations]
    assert any(q in text for q in quoted for text in embedded[1:])  # the quote was re-embedded


def test_without_stored_vectors_sentences_are_embedded_when_asked(fresh_settings, embedder):
    docs = Path(fresh_settings.docs_dir)
    (docs / "luo.txt").write_text(f"{LUO} {FILLER}", encoding="utf-8")
    build_indexer(fresh_settings, embedder=embedder, progress=False).run([docs])
    assistant = Assistant.from_settings(fresh_settings, embedder=embedder)
    embedder.clear_cache()
    with_vectors = assistant.ask("Which company did Luo Fuli join?")
    assert len(embedder._cache) <= 1 + RESCORE_TOP
    (state_folder(fresh_settings) / FILE).unlink()  # an index built before sentence vectors
    embedder.clear_cache()
    without = assistant.ask("Which company did Luo Fuli join?")
    assert len(embedder._cache) > 1 + RESCORE_TOP  # every sentence embedded for this answer
    assert "Xiaomi" in with_vectors.text and "Xiaomi" in without.text
    assert [c.source for c in without.citations] == [c.source for c in with_vectors.citations]


def test_a_changed_or_removed_file_takes_its_vectors_along(fresh_settings, embedder):
    docs = Path(fresh_settings.docs_dir)
    (docs / "luo.txt").write_text(LUO, encoding="utf-8")
    (docs / "tea.txt").write_text(TEA, encoding="utf-8")
    indexer = build_indexer(fresh_settings, embedder=embedder, progress=False)
    indexer.run([docs])
    keys = {key for _, key in _rows(fresh_settings)}
    assert keys == {str((docs / "luo.txt").resolve()), str((docs / "tea.txt").resolve())}

    (docs / "tea.txt").write_text(TEA + " Black tea is fully oxidised.", encoding="utf-8")
    indexer.run([docs])
    ids = {c.id for c in _chunks(fresh_settings, embedder)}
    assert {chunk_id for chunk_id, _ in _rows(fresh_settings)} == ids  # old chunk's row gone

    (docs / "tea.txt").unlink()
    indexer.run([docs])
    assert {key for _, key in _rows(fresh_settings)} == {str((docs / "luo.txt").resolve())}

    indexer.forget([str((docs / "luo.txt").resolve())])
    assert _rows(fresh_settings) == []


@pytest.mark.parametrize("broken", ["directory", "garbage"])
def test_an_unusable_sentence_file_falls_back_to_embedding(fresh_settings, embedder, broken):
    docs = Path(fresh_settings.docs_dir)
    (docs / "luo.txt").write_text(LUO, encoding="utf-8")
    path = state_folder(fresh_settings) / FILE
    path.parent.mkdir(parents=True)
    if broken == "directory":
        path.mkdir()  # cannot be opened as a database: indexing goes on without it
    else:
        path.write_bytes(b"not a database" * 100)
    build_indexer(fresh_settings, embedder=embedder, progress=False).run([docs])
    answer = Assistant.from_settings(fresh_settings, embedder=embedder).ask(
        "Which company did Luo Fuli join?"
    )
    assert "Xiaomi" in answer.text

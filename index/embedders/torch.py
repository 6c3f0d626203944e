"""The torch engine: sentence-transformers running the model (the reference vectors)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import RagError


class TorchEncoder:
    """A sentence-transformers model on ``device``; vectors L2-normalised float32."""

    engine = "torch"

    def __init__(self, folder: Path, device: str = "cpu"):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # "Loading weights" bars on every start
        try:
            self.model = SentenceTransformer(str(folder), device=device, local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - library errors vary; the user needs the folder
            raise RagError(f"cannot load embedder from {folder}: {exc}") from exc
        self.max_seq_length = int(self.model.max_seq_length)

    def get_sentence_embedding_dimension(self) -> int:
        """Length of the vectors."""
        return int(self.model.get_sentence_embedding_dimension())

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, show_progress: bool = False, **_: Any
    ) -> np.ndarray:
        """Vectors of shape (len(texts), dimension), in input order."""
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return vectors.astype(np.float32, copy=False)

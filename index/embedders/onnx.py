"""The ONNX engine: an exported transformer on onnxruntime (fp32 or dynamic int8).

``OnnxEncoder`` tokenizes, runs the session, pools and L2-normalises exactly as
sentence-transformers does, so the fp32 export gives the same vectors as torch. The export
itself is made once per model by ``index.embedders.export``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

# A text joins a batch only if it is at least this share of the batch's longest text.
SAME_WIDTH = 0.75


class OnnxEncoder:
    """Runs an exported transformer on onnxruntime: tokenize, forward, pool, L2-normalise.

    Inputs are sorted by length and batched, so padding stays small; texts longer than
    ``max_tokens`` word pieces (special tokens included) are truncated, as
    sentence-transformers does. Thread-safe: onnxruntime sessions may be run concurrently.
    """

    engine = "onnxruntime"

    def __init__(
        self,
        path: Path,
        tokenizer: Tokenizer,
        max_tokens: int,
        pooling: str = "mean",
        providers: Sequence[str] = ("CPUExecutionProvider",),
    ):
        """``tokenizer`` is copied; the copy truncates at ``max_tokens``. ``providers`` are
        onnxruntime's execution providers, best first (CUDA when ``embedder.device`` allows)."""
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
        self.session = ort.InferenceSession(str(path), options, providers=list(providers))
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

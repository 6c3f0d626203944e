"""The ONNX engine: an exported transformer on onnxruntime (fp32 or dynamic int8).

``OnnxEncoder`` tokenizes, runs the session, pools and L2-normalises exactly as
sentence-transformers does, so the fp32 export gives the same vectors as torch. The export
itself is made once per model by ``index.embedders.export``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

# A text joins a batch only if it is at least this share of the batch's longest text, or
# shorter by no more than FREE_PADDING word pieces (short texts: a call costs more than the
# padding). Many narrow batches beat fewer padded ones: with 0.75, `rag index` of 64-chunk
# groups computed 8.6% more word pieces than the chunks have (0.95: 2.1%), and paired runs
# measured 1.007x raw encoding instead of 0.957x (200 synthetic articles, 2 cores).
SAME_WIDTH = 0.95
FREE_PADDING = 16
# On the CPU a forward pass holds at most this many word pieces (rows x padded width): the
# attention scores of 64 rows of 256 pieces (200 MB a layer) spill out of the CPU's caches,
# 8 rows fit better. Measured on the bench's 2,170 chunks (2 cores, two alternating rounds):
# fp32 64 rows a pass 50.7 chunks/s, 8 rows 52.4 / 51.4; int8 110 / 99 vs 115 / 109. A small
# gain, never a loss. Short texts (questions, sentences) still go 64 at a time. A GPU: no cap.
CPU_BATCH_TOKENS = 2048


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
        on_cpu = list(providers) == ["CPUExecutionProvider"]
        self.batch_tokens = CPU_BATCH_TOKENS if on_cpu else None
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
        for rows in _length_batches(lengths, batch_size, self.batch_tokens):
            out[rows] = self._forward([encodings[i] for i in rows])
        return out

    def encode_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], batch_size: int = 64
    ) -> tuple[np.ndarray, list[SpanMeans]]:
        """``encode(texts)``, plus each text's token states averaged over each character span.

        The span means come from the same forward pass (no second one): for span ``(a, b)``
        of ``texts[i]`` the mean of the hidden states of the word pieces inside it, special
        tokens left out, not normalised (so means of adjacent spans can be merged, weighted
        by their counts). A span cut off by truncation gets count 0.
        """
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        means: list[SpanMeans] = [SpanMeans.empty(self.dimension)] * len(texts)
        if not texts:
            return out, means
        encodings = self.tokenizer.encode_batch(list(texts))
        lengths = [len(e.ids) for e in encodings]
        for rows in _length_batches(lengths, batch_size, self.batch_tokens):
            batch = [encodings[i] for i in rows]
            hidden, mask = self._hidden(batch)
            out[rows] = _normalised(_pool(hidden, mask, self.pooling))
            for row, i in enumerate(rows):
                means[i] = span_means(hidden[row, : lengths[i]], encodings[i], spans[i])
        return out, means

    def _hidden(self, batch: list) -> tuple[np.ndarray, np.ndarray]:
        """The token states of a batch (rows padded to its longest) and the attention mask."""
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
        return self.session.run(None, {k: feeds[k] for k in self.input_names})[0], mask

    def _forward(self, batch: list) -> np.ndarray:
        hidden, mask = self._hidden(batch)
        return _normalised(_pool(hidden, mask, self.pooling))


@dataclass(frozen=True)
class SpanMeans:
    """Mean token states over character spans of one text: ``spans`` (n, 2) int32,
    ``counts`` (n,) int32 word pieces per span, ``means`` (n, dimension) float32."""

    spans: np.ndarray
    counts: np.ndarray
    means: np.ndarray

    @classmethod
    def empty(cls, dimension: int) -> SpanMeans:
        """No spans."""
        none = np.zeros((0, 2), dtype=np.int32)
        return cls(none, np.zeros(0, dtype=np.int32), np.zeros((0, dimension), np.float32))


def span_means(hidden: np.ndarray, encoding, spans: Sequence[tuple[int, int]]) -> SpanMeans:
    """Mean of ``hidden`` (one text's token states, unpadded) over the word pieces of each span.

    A word piece belongs to a span when its characters lie inside it (offsets from the
    tokenizer; special tokens have empty offsets and belong to none).
    """
    offsets = np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2)
    real = np.flatnonzero(offsets[:, 1] > offsets[:, 0])
    starts, ends = offsets[real, 0], offsets[real, 1]  # both ascending
    covered = int(ends[-1]) if len(ends) else 0  # the last character the model saw
    result = np.zeros((len(spans), hidden.shape[1]), dtype=np.float32)
    counts = np.zeros(len(spans), dtype=np.int32)
    firsts = np.searchsorted(starts, [a for a, _ in spans], side="left")
    lasts = np.searchsorted(ends, [b for _, b in spans], side="right")
    for n, (first, last) in enumerate(zip(firsts.tolist(), lasts.tolist(), strict=True)):
        if last <= first or spans[n][1] > covered:
            continue
        counts[n] = last - first
        result[n] = hidden[real[first] : real[last - 1] + 1].mean(axis=0)
    return SpanMeans(np.asarray(spans, dtype=np.int32).reshape(-1, 2), counts, result)


def _normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _length_batches(
    lengths: list[int], batch_size: int, max_tokens: int | None = None
) -> list[list[int]]:
    """Row indices grouped longest first, every batch padded little (``SAME_WIDTH``), of at
    most ``batch_size`` rows and (when given) ``max_tokens`` padded word pieces.

    Padding is computed like real tokens: one 300-token sentence among forty short ones would
    otherwise make the batch cost as much as 40 x 256 tokens (4x the work of sub-batches).
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    rows = 0  # the current batch's room, set by its first (longest) text
    for i in order:
        current = batches[-1] if batches else None
        if current and len(current) < rows and _same_width(lengths[i], lengths[current[0]]):
            current.append(i)
        else:
            batches.append([i])
            rows = batch_size if not max_tokens else max_tokens // max(lengths[i], 1)
            rows = max(1, min(batch_size, rows))
    return batches


def _same_width(length: int, longest: int) -> bool:
    return length >= SAME_WIDTH * longest or longest - length <= FREE_PADDING


def _pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """sentence-transformers' pooling over the tokens the mask keeps."""
    if mode == "cls":
        return hidden[:, 0]
    keep = mask[..., None].astype(hidden.dtype)
    if mode == "max":
        return np.where(keep > 0, hidden, -1e9).max(axis=1)
    return (hidden * keep).sum(axis=1) / np.maximum(keep.sum(axis=1), 1e-9)

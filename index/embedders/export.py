"""Offline ONNX exports of a sentence-transformers model: full precision and dynamic int8.

The export runs once per model and is cached under ``~/.cache/rag-assistant/onnx/<key>/``
(``$XDG_CACHE_HOME`` is honoured; callers may pass another folder). ``<key>`` is derived from
the model's files, so a changed model gets a new export and an unchanged one is reused by every
process and every index. Files are written under a lock to a temporary name and renamed into
place, so a crash or a concurrent process never leaves a half-written model behind.

- ``model.onnx``: the transformer (``input_ids``, ``attention_mask``, ``token_type_ids`` ->
  ``token_embeddings``), exported with ``torch.onnx`` and checked against torch. Pooling and
  normalisation stay in numpy (``index.embedders``), as sentence-transformers does them.
- ``model-int8.onnx``: ``onnxruntime.quantization.quantize_dynamic`` of the above, int8 weights
  per output channel on the ``MatMul`` nodes only (per-tensor scales cost about 0.06 of cosine
  similarity on this model; per-channel about 0.007).

Nothing is downloaded: only torch, transformers, onnx and onnxruntime on this machine are used.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from index.errors import RagError

log = logging.getLogger(__name__)
# Bump when the export procedure changes, so old cached exports are not reused.
EXPORT_VERSION = 1
OPSET = 17
FILES = {"fp32": "model.onnx", "int8": "model-int8.onnx"}
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT = "token_embeddings"
# Files whose contents define the model; weights are keyed by size and mtime (hashing 90 MB on
# every start would cost more than the rest of a query process's start-up).
_CONFIG_FILES = (
    "config.json",
    "modules.json",
    "sentence_bert_config.json",
    "tokenizer.json",
    "1_Pooling/config.json",
)
_WEIGHT_SUFFIXES = (".safetensors", ".bin")
_POOLING_MODES = {
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
}
# Largest deviation of the export from torch accepted (hidden states, absolute).
MAX_EXPORT_ERROR = 1e-3

Variant = Literal["fp32", "int8"]


class ExportUnavailable(RagError):
    """The model cannot be exported here (``onnx`` missing, or a layout this code cannot run)."""


def default_cache_root() -> Path:
    """``$XDG_CACHE_HOME/rag-assistant/onnx``, or ``~/.cache/rag-assistant/onnx``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rag-assistant" / "onnx"


def model_key(folder: Path) -> str:
    """A short key that changes when the model's configuration or weights change."""
    digest = hashlib.sha256(f"export-v{EXPORT_VERSION}".encode())
    for name in _CONFIG_FILES:
        path = folder / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    for path in sorted(folder.iterdir()):
        if path.suffix in _WEIGHT_SUFFIXES and path.is_file():
            stat = path.stat()
            digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def check_layout(folder: Path) -> str:
    """The pooling mode (``mean``, ``cls`` or ``max``) if the model can run on onnxruntime.

    Supported: a Transformer, then Pooling, then optionally Normalize (the common layout).
    Anything else (Dense layers, custom modules) raises ``ExportUnavailable``.
    """
    modules_file = folder / "modules.json"
    if modules_file.is_file():
        modules = json.loads(modules_file.read_text(encoding="utf-8"))
        kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            raise ExportUnavailable(
                f"embedder model {folder} has modules {kinds}; the ONNX path supports "
                "Transformer + Pooling (+ Normalize) only; use embedder.backend: torch"
            )
    pooling_file = folder / "1_Pooling" / "config.json"
    if not pooling_file.is_file():
        return "mean"
    pooling = json.loads(pooling_file.read_text(encoding="utf-8"))
    enabled = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v is True]
    modes = [_POOLING_MODES[k] for k in enabled if k in _POOLING_MODES]
    if len(enabled) != 1 or len(modes) != 1:
        raise ExportUnavailable(
            f"embedder model {folder} pools with {enabled}; the ONNX path supports one of "
            "mean, cls or max pooling; use embedder.backend: torch"
        )
    return modes[0]


def exported_model(folder: Path, variant: Variant = "fp32", cache_root: Path | None = None) -> Path:
    """The ONNX file of ``variant`` for the model in ``folder``, exported first if not cached.

    The first call for a model imports torch and takes several seconds (logged once); later
    calls, in any process, only check that the file exists. Raises ``ExportUnavailable`` when
    the ``onnx`` package is missing or the export does not reproduce torch's output.
    """
    check_layout(folder)
    target = (cache_root or default_cache_root()) / model_key(folder)
    path = target / FILES[variant]
    if path.is_file():
        return path
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportUnavailable(f"cannot create the ONNX cache folder {target}: {exc}") from exc
    with _locked(target / ".lock"):
        if path.is_file():  # another process finished it while we waited
            return path
        fp32 = target / FILES["fp32"]
        if not fp32.is_file():
            log.info("exporting the embedder %s to ONNX in %s (one-time)", folder, target)
            started = time.perf_counter()
            export_fp32(folder, fp32)
            log.info("ONNX export done in %.1f s", time.perf_counter() - started)
        if variant == "int8":
            log.info("quantising the ONNX embedder to int8 (one-time)")
            quantize_int8(fp32, path)
        _write_meta(target, folder)
    return path


def export_fp32(folder: Path, destination: Path) -> None:
    """Export the transformer in ``folder`` to ``destination`` and check it against torch."""
    _require("onnx")
    import numpy as np
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    # Eager attention exports a plain graph that honours the padding mask for every input;
    # the SDPA path can specialise on the all-ones mask seen while tracing.
    model = AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval()
    wrapper = _last_hidden_state(model)
    ids = torch.tensor([[101, 7592, 2088, 2003, 2307, 102], [101, 7592, 102, 0, 0, 0]])
    mask = (ids != 0).long()
    types = torch.zeros_like(ids)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, OUTPUT)}
    tmp = destination.with_name(f"{destination.name}.tmp-{os.getpid()}")
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer and deprecation chatter, not problems
            torch.onnx.export(
                wrapper,
                (ids, mask, types),
                str(tmp),
                input_names=list(INPUTS),
                output_names=[OUTPUT],
                dynamic_axes=axes,
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
            expected = wrapper(ids, mask, types).numpy()
        got = _run(tmp, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        error = float(np.abs((got - expected) * mask.numpy()[..., None]).max())
        if error > MAX_EXPORT_ERROR:
            raise ExportUnavailable(
                f"the ONNX export of {folder} differs from torch by {error:.2g}; "
                "use embedder.backend: torch"
            )
        os.replace(tmp, destination)
    finally:
        tmp.unlink(missing_ok=True)


def quantize_int8(source: Path, destination: Path) -> None:
    """Dynamic int8 quantisation of ``source`` (weights per channel, ``MatMul`` nodes only)."""
    _require("onnx")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = destination.with_name(f"{destination.name}.tmp-{os.getpid()}")
    try:
        with _quiet_root_logger():  # it advises pre-processing on the root logger, every time
            quantize_dynamic(
                str(source),
                str(tmp),
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul"],
            )
        os.replace(tmp, destination)
    finally:
        tmp.unlink(missing_ok=True)


def _last_hidden_state(model):
    """``model`` as a module with positional inputs and one output, as the export wants."""
    import torch

    class LastHiddenState(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    return LastHiddenState(model).eval()


def _run(path: Path, feeds: dict) -> object:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    return session.run([OUTPUT], {k: v.numpy() for k, v in feeds.items() if k in names})[0]


def _require(module: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ExportUnavailable(
            f"the '{module}' package is needed once to export the embedder to ONNX; "
            f"install it (pip install {module}) or use embedder.backend: torch"
        )


def _write_meta(target: Path, folder: Path) -> None:
    import onnxruntime
    import torch

    meta = {
        "model_folder": str(folder),
        "export_version": EXPORT_VERSION,
        "opset": OPSET,
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "files": sorted(p.name for p in target.glob("*.onnx")),
    }
    tmp = target / f"meta.json.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    os.replace(tmp, target / "meta.json")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock, so concurrent processes export once."""
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    quiet = logging.Filter("nothing-from-root")  # passes only records of a logger by that name
    root.addFilter(quiet)
    try:
        yield
    finally:
        root.removeFilter(quiet)

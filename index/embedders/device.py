"""Where the embedding model runs: ``embedder.device`` (auto, cpu, cuda) against the machine.

Pure decisions, so they are tested on every machine; the engines ask the libraries what the
machine has (onnxruntime's providers, ``torch.cuda.is_available()``) and pass it in.
"""

from __future__ import annotations

from collections.abc import Sequence

DEVICES = ("auto", "cpu", "cuda")
CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"


def onnx_providers(setting: str, available: Sequence[str]) -> tuple[list[str], str | None]:
    """onnxruntime providers for ``setting``, best first, and why CUDA is not used (or None).

    ``auto`` takes CUDA when onnxruntime offers it; ``cuda`` asks for it and falls back to the
    CPU with a reason when this onnxruntime build or machine has none.
    """
    if setting == "cpu":
        return [CPU_PROVIDER], None
    if CUDA_PROVIDER in available:
        return [CUDA_PROVIDER, CPU_PROVIDER], None
    why = (
        "onnxruntime here has no CUDA provider (no GPU, or the CPU-only onnxruntime package; "
        "install onnxruntime-gpu for a GPU)"
    )
    return [CPU_PROVIDER], why if setting == "cuda" else None


def torch_device(setting: str, cuda_available: bool) -> tuple[str, str | None]:
    """The torch device for ``setting`` and why CUDA is not used when it was asked for."""
    if setting != "cpu" and cuda_available:
        return "cuda", None
    if setting == "cuda":
        return "cpu", "torch sees no CUDA device here"
    return "cpu", None


def cuda_for_torch() -> bool:
    """Whether torch can use a CUDA device (imports torch: only called on the torch path)."""
    import torch

    return bool(torch.cuda.is_available())

"""Where the embedder runs: the device choice, tested on every machine (no GPU needed)."""

from __future__ import annotations

import pytest

from index.embedders.device import CPU_PROVIDER, CUDA_PROVIDER, onnx_providers, torch_device

GPU = [CUDA_PROVIDER, CPU_PROVIDER]
CPU_ONLY = [CPU_PROVIDER]


@pytest.mark.parametrize(
    ("setting", "available", "providers", "warns"),
    [
        ("auto", GPU, GPU, False),
        ("auto", CPU_ONLY, CPU_ONLY, False),  # no GPU: the CPU, quietly
        ("cuda", GPU, GPU, False),
        ("cuda", CPU_ONLY, CPU_ONLY, True),  # asked for and missing: said why
        ("cpu", GPU, CPU_ONLY, False),  # never the GPU
    ],
)
def test_onnx_providers_follow_the_setting(setting, available, providers, warns):
    chosen, why = onnx_providers(setting, available)
    assert chosen == providers
    assert (why is not None) == warns
    if warns:
        assert "CUDA" in why and "onnxruntime-gpu" in why


@pytest.mark.parametrize(
    ("setting", "cuda", "device", "warns"),
    [("auto", True, "cuda", False), ("auto", False, "cpu", False), ("cuda", False, "cpu", True),
     ("cpu", True, "cpu", False), ("cuda", True, "cuda", False)],
)  # fmt: skip
def test_torch_device_follows_the_setting(setting, cuda, device, warns):
    chosen, why = torch_device(setting, cuda)
    assert chosen == device and (why is not None) == warns


def test_this_machine_embeds_on_the_cpu_and_says_why_when_cuda_is_asked_for(caplog):
    import onnxruntime

    from index.embedders import SentenceTransformerEmbedder

    if CUDA_PROVIDER in onnxruntime.get_available_providers():
        pytest.skip("this machine has a CUDA provider; the fallback cannot be seen here")
    embedder = SentenceTransformerEmbedder(device="cuda")
    with caplog.at_level("WARNING"):
        vector = embedder.embed_query("on the CPU")
    assert vector.shape == (embedder.dimension,)
    assert embedder.encoder.session.get_providers() == [CPU_PROVIDER]
    assert any("embedder on the CPU" in r.message for r in caplog.records)


@pytest.mark.skipif("not __import__('torch').cuda.is_available()", reason="no CUDA GPU here")
def test_the_gpu_is_used_when_there_is_one():
    from index.embedders import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder(backend="torch", device="cuda")
    embedder.embed_query("on the GPU")
    assert str(embedder.encoder.model.device).startswith("cuda")

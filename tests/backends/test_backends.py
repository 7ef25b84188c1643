"""cpu / cuda backends and the registry."""

from __future__ import annotations

import pytest
import torch

from pyrec.backends import BACKENDS, available_backends, get_backend
from pyrec.diagnostics import BackendUnavailable, ConfigError

HAS_CUDA = torch.cuda.is_available()


def test_cpu_describe_and_threads():
    before = torch.get_num_threads()
    try:
        b = get_backend("cpu", threads=1)
        d = b.describe()
        assert d["backend"] == "cpu" and d["threads"] == 1 and d["simulated"] is False
        assert d["device"] == "cpu" and d["dtype"] == "fp32" and "logical CPUs" in d["hardware"]
        assert b.is_available()
    finally:
        torch.set_num_threads(before)


def test_cpu_bf16_autocast():
    b = get_backend("cpu", dtype="bf16")
    x = torch.randn(4, 8)
    with b.autocast():
        y = torch.nn.functional.linear(x, torch.randn(3, 8))
    assert y.dtype == torch.bfloat16
    with get_backend("cpu").autocast():
        assert torch.nn.functional.linear(x, torch.randn(3, 8)).dtype == torch.float32


@pytest.mark.parametrize("name,kwargs,match", [
    ("tpu", {}, "'backend'"),
    ("cpu", {"threads": 0}, "'threads'"),
    ("cpu", {"dtype": "fp16"}, "'dtype'"),
    ("cpu", {"zero_stage": 1}, "keywords among"),
])
def test_bad_backend_settings(name, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        get_backend(name, **kwargs)


@pytest.mark.skipif(HAS_CUDA, reason="this machine has a GPU; the no-GPU error path cannot be exercised")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(BackendUnavailable, match="backend 'cuda' is not available.*(CPU-only|is_available)"):
        get_backend("cuda")
    assert available_backends()["cuda"] != ""


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
def test_cuda_backend_on_gpu():
    b = get_backend("cuda", dtype="bf16")
    assert b.device.type == "cuda" and "cuda" in b.label
    x = b.to_device(torch.randn(64, 64))
    with b.autocast():
        y = x @ x
    b.synchronize()
    assert y.dtype == torch.bfloat16 and y.device.type == "cuda"
    from pyrec.bench import peak_memory

    assert peak_memory(b)["cuda_max_allocated_mib"] > 0


def test_registry_lists_all_four():
    assert list(BACKENDS) == ["cpu", "cuda", "deepspeed", "fpga-sim"]
    avail = available_backends()
    assert avail["cpu"] == "" and set(avail) == set(BACKENDS)


def test_train_step_on_cpu_reduces_loss():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    x = torch.randn(64, 4)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
    step = get_backend("cpu").prepare_training(model, torch.optim.SGD(model.parameters(), lr=0.1))
    losses = []
    for _ in range(30):
        loss = torch.nn.functional.mse_loss(step(x), y)
        step.backward(loss)
        step.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.1 * losses[0]
    assert all(p.grad is None for p in model.parameters())  # step() zeroes gradients

import pytest
import torch

from studio.core.device import resolve_device
from studio.errors import ConfigError


@pytest.fixture
def two_gpus(monkeypatch):
    """Pretend CUDA has two devices, the current one being 1, so the CPU-only suite covers the CUDA branch."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)


@pytest.mark.parametrize("name", ["auto", "cuda"])
def test_cuda_devices_carry_their_index(two_gpus, name):
    # Tensors report cuda:N; a bare "cuda" device would compare unequal to them.
    assert resolve_device(name) == torch.device("cuda", 1)


def test_an_explicit_index_is_kept_and_checked(two_gpus):
    assert resolve_device("cuda:0") == torch.device("cuda", 0)
    with pytest.raises(ConfigError, match="only 2 CUDA device"):
        resolve_device("cuda:2")


def test_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ConfigError, match="sees no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(ConfigError, match="use auto, cpu"):
        resolve_device("tpu")


def test_auto_precision_is_float32_on_cuda_and_follows_the_cpu_otherwise(monkeypatch):
    from studio.core import device as device_module
    from studio.core.device import resolve_precision

    assert resolve_precision("auto", torch.device("cuda", 0)).name == "float32"
    monkeypatch.setattr(device_module, "cpu_has_fast_bf16", lambda: True)
    assert resolve_precision("auto", torch.device("cpu")).name == "bfloat16"
    monkeypatch.setattr(device_module, "cpu_has_fast_bf16", lambda: False)
    assert resolve_precision("auto", torch.device("cpu")).name == "float32"
    assert resolve_precision("float16", torch.device("cuda", 0)).needs_scaler
    with pytest.raises(ConfigError, match="float16 needs a CUDA GPU"):
        resolve_precision("float16", torch.device("cpu"))

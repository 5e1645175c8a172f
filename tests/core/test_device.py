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

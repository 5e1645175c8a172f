"""Choosing the device and the numeric precision of a run."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from studio.errors import ConfigError

__all__ = ["resolve_device", "Precision", "resolve_precision", "cpu_has_fast_bf16"]


def resolve_device(name: str) -> torch.device:
    """The torch device for a config's ``device``; CUDA devices always carry their index.

    Tensors report ``cuda:0``, never bare ``cuda``, so an index-less device would
    compare unequal to the device of every tensor placed on it.
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda:all":  # every CUDA device, one process each (train --gpus N); one process takes the current
        name = "cuda"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name!r}: this PyTorch sees no CUDA GPU; use auto or cpu")
        device = torch.device(name)
        if device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        if device.index >= torch.cuda.device_count():
            raise ConfigError(f"device {name!r}: only {torch.cuda.device_count()} CUDA device(s) present")
        return device
    if name == "cpu":
        return torch.device("cpu")
    raise ConfigError(f"device {name!r}: use auto, cpu, cuda or cuda:N")


def cpu_has_fast_bf16() -> bool:
    """Whether the CPU has bfloat16 dot-product instructions (AVX512-BF16, AMX, or Arm BF16).

    With them oneDNN runs bf16 convolutions about 1.6x faster than float32 for
    the DCGAN models (benchmarks/throughput.py); without them autocast only
    adds conversions, so float32 stays.
    """
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
            flags = set(f.read().split())
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})


@dataclass(frozen=True)
class Precision:
    name: str  # what the run uses: float32 | bfloat16 | float16
    device_type: str

    @property
    def dtype(self) -> torch.dtype | None:
        return {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(self.name)

    @property
    def needs_scaler(self) -> bool:
        return self.name == "float16"

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)


def resolve_precision(setting: str, device: torch.device) -> Precision:
    kind = device.type
    if setting == "auto":
        # On CUDA these models are too small for autocast to pay: on an H100,
        # dcgan-faces trains at ~10,100 img/s in float32 (TF32 convolutions)
        # against ~6,300 in bfloat16 and ~6,800 in float16, the casts costing
        # more than the narrower maths saves (benchmarks/throughput.py).
        name = "bfloat16" if kind == "cpu" and cpu_has_fast_bf16() else "float32"
        return Precision(name, kind)
    if setting == "float16" and kind == "cpu":
        raise ConfigError("precision float16 needs a CUDA GPU; on the CPU use bfloat16 or float32")
    return Precision(setting, kind)

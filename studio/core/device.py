"""Choosing the device and the numeric precision of a run."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from studio.errors import ConfigError

__all__ = ["resolve_device", "Precision", "resolve_precision", "cpu_has_fast_bf16"]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name!r}: this PyTorch sees no CUDA GPU; use auto or cpu")
        device = torch.device(name)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"device {name!r}: only {torch.cuda.device_count()} CUDA device(s) present")
        return device
    if name == "cpu":
        return torch.device("cpu")
    raise ConfigError(f"device {name!r}: use auto, cpu, cuda or cuda:N")


def cpu_has_fast_bf16() -> bool:
    """bfloat16 matrix units (AMX) make bf16 autocast pay off on a CPU.

    AVX512-BF16 alone converts and accumulates at about float32 speed, so
    autocast there only adds casts; we keep float32.
    """
    try:
        flags = open("/proc/cpuinfo", encoding="ascii", errors="ignore").read()
    except OSError:
        return False
    return "amx_bf16" in flags


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
        if kind == "cuda":
            name = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        else:
            name = "bfloat16" if cpu_has_fast_bf16() else "float32"
        return Precision(name, kind)
    if setting == "float16" and kind == "cpu":
        raise ConfigError("precision float16 needs a CUDA GPU; on the CPU use bfloat16 or float32")
    return Precision(setting, kind)

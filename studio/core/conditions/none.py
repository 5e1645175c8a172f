"""No condition: the unconditional GAN (DCGAN)."""

from __future__ import annotations

import torch

from studio.core.conditions.base import (
    INTERPOLATION_MODES,
    ConditionGrid,
    ConditionSpace,
    ExplorerChoices,
    register_space,
)

__all__ = ["NoCondition"]


@register_space
class NoCondition(ConditionSpace):
    """Unconditional GAN (DCGAN). Labels are ``(B, 0)`` floats: there is nothing to say."""

    kind = "none"
    label_dtype = torch.float32

    @property
    def dim(self) -> int:
        return 0

    def encode(self, labels: torch.Tensor) -> torch.Tensor:
        return torch.zeros(labels.shape[0], 0, device=labels.device)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.zeros(n, 0)

    def decode(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.zeros(logits.shape[0], 0)

    def caption(self, label: torch.Tensor) -> str:
        return ""

    def export_encoding(self) -> dict:
        return {"kind": "none", "text": "unconditional: pass a float tensor of shape (N, 0)"}

    def default_grid(self, max_images: int = 64) -> ConditionGrid:
        side = max(1, int(max_images**0.5))
        return ConditionGrid(torch.zeros(side * side, 0), side, side)

    def samples_grid(self, n: int = 8, seed: int = 0) -> ConditionGrid:
        side = max(1, n)
        return ConditionGrid(torch.zeros(side * side, 0), side, side)

    def explorer_choices(self) -> ExplorerChoices:
        return ExplorerChoices(modes=(("noise", "Noise samples"), INTERPOLATION_MODES[0]))

    def to_dict(self) -> dict:
        return {"kind": self.kind}

    @classmethod
    def from_dict(cls, data: dict) -> NoCondition:
        return cls()

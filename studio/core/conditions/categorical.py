"""One class out of K: digits, CIFAR-10, an image folder."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from studio.core.conditions.base import (
    INTERPOLATION_MODES,
    ConditionGrid,
    ConditionSpace,
    ExplorerChoices,
    register_space,
)
from studio.errors import ConfigError

__all__ = ["Categorical"]


@register_space
class Categorical(ConditionSpace):
    """One class out of K (digits, CIFAR-10, an image folder). Labels are ``(B,)`` int64 class indices."""

    kind = "categorical"
    layouts = ("classes",)
    one_class_per_image = True

    def __init__(self, names: list[str], attribute: str = "class"):
        if len(names) < 2:
            raise ConfigError(f"a categorical condition needs at least 2 classes, got {len(names)}")
        self.names = [str(n) for n in names]
        self.attribute = attribute

    @property
    def dim(self) -> int:
        return len(self.names)

    @property
    def class_sizes(self) -> tuple[int, ...]:
        return (self.dim,)

    def encode(self, labels: torch.Tensor) -> torch.Tensor:
        return F.one_hot(labels.long(), self.dim).float()

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randint(0, self.dim, (n,), generator=generator)

    def aux_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.float(), labels.long())

    def aux_correct(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return (logits.argmax(1) == labels).float()

    def decode(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.argmax(1)

    def judge_scores(self, logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        return {"accuracy": float((self.decode(logits) == labels.long()).float().mean())}

    def per_value_scores(self, logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        pred = self.decode(logits)
        return {
            name: float((pred[labels == k] == k).float().mean())
            for k, name in enumerate(self.names)
            if bool((labels == k).any())
        }

    def caption(self, label: torch.Tensor) -> str:
        return self.names[int(label)]

    def parse(self, text: str) -> torch.Tensor:
        text = text.strip()
        if text in self.names:
            return torch.tensor(self.names.index(text))
        if text.isdigit() and int(text) < self.dim:
            return torch.tensor(int(text))
        raise ConfigError(f"condition {text!r}: not a class; choose one of {', '.join(self.names)}")

    def export_encoding(self) -> dict:
        return {
            "kind": self.kind,
            "text": f"one-hot over {self.dim} {self.attribute} values, in this order",
            "values": list(self.names),
        }

    def label_counts(self, labels: torch.Tensor) -> list[tuple[str, int]]:
        counts = torch.bincount(labels.long(), minlength=self.dim)
        return list(zip(self.names, counts.tolist()))

    def default_grid(self, max_images: int = 64) -> ConditionGrid:
        rows = self.dim
        cols = max(1, min(10, max_images // rows))
        labels = torch.arange(rows).repeat_interleave(cols)
        return ConditionGrid(labels, rows, cols, row_captions=list(self.names), noise_layout="column")

    def class_grid(self, classes: list[str] | None = None, samples: int = 8) -> ConditionGrid:
        """Classes (all, or those named) down the rows x noise samples across, one noise vector per column."""
        names = classes or list(self.names)
        labels = torch.stack([self.parse(n) for n in names])
        return self._rows_by_noise(labels, samples, title=f"{self.attribute} x noise")

    def samples_grid(self, n: int = 8, seed: int = 0) -> ConditionGrid:
        return self.class_grid(None, n)

    def explorer_choices(self) -> ExplorerChoices:
        return ExplorerChoices(
            modes=(("classes", f"{self.attribute.capitalize()} x noise samples"), *INTERPOLATION_MODES)
        )

    def to_dict(self) -> dict:
        return {"kind": self.kind, "names": list(self.names), "attribute": self.attribute}

    @classmethod
    def from_dict(cls, data: dict) -> Categorical:
        return cls(data["names"], data.get("attribute", "class"))

    def describe(self) -> str:
        return f"categorical({self.dim})"

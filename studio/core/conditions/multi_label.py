"""Several distinct objects out of K per image, e.g. i-CLEVR's 1-3 of 24 objects."""

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

__all__ = ["MultiLabel"]


@register_space
class MultiLabel(ConditionSpace):
    """Several distinct objects out of K per image, e.g. 1-3 of 24 i-CLEVR objects.

    Labels are ``(B, K)`` float multi-hot.
    """

    kind = "multi-label"
    label_dtype = torch.float32
    layouts = ("sets",)

    def __init__(self, names: list[str], min_count: int = 1, max_count: int = 3):
        self.names = [str(n) for n in names]
        if len(self.names) < 2:
            raise ConfigError(f"a multi-label condition needs at least 2 labels, got {len(self.names)}")
        if not 1 <= min_count <= max_count <= len(self.names):
            raise ConfigError(f"object count range {min_count}..{max_count} is impossible for {len(self.names)} labels")
        self.min_count = int(min_count)
        self.max_count = int(max_count)

    @property
    def dim(self) -> int:
        return len(self.names)

    def encode(self, labels: torch.Tensor) -> torch.Tensor:
        return labels.float()

    def from_names(self, names: list[str]) -> torch.Tensor:
        label = torch.zeros(self.dim)
        for name in names:
            if name not in self.names:
                raise ConfigError(f"unknown object '{name}'")
            label[self.names.index(name)] = 1
        return label

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        counts = torch.randint(self.min_count, self.max_count + 1, (n,), generator=generator)
        # Distinct objects: rank random keys and keep the first `count` of each row.
        keys = torch.rand(n, self.dim, generator=generator)
        ranks = keys.argsort(1).argsort(1)
        return (ranks < counts[:, None]).float()

    def aux_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits.float(), labels.float())

    def aux_correct(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The i-CLEVR metric: of the k requested objects, how many are in the top k."""
        k = labels.sum(1).long().clamp(min=1)
        order = logits.argsort(1, descending=True)
        rank_of = order.argsort(1)
        in_topk = (rank_of < k[:, None]).float()
        return (in_topk * labels).sum(1) / k

    def decode(self, logits: torch.Tensor, counts: torch.Tensor | None = None) -> torch.Tensor:
        """Multi-hot labels: the top-k when counts are known, else probability > 0.5."""
        if counts is None:
            out = (logits > 0).float()
            # Every image shows at least min_count objects.
            top = logits.topk(self.min_count, dim=1).indices
            return out.scatter(1, top, 1.0)
        rank_of = logits.argsort(1, descending=True).argsort(1)
        return (rank_of < counts[:, None]).float()

    def judge_scores(self, logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        """``accuracy``, the i-CLEVR evaluator's figure (requested objects found among the top k, k the
        number requested, over all objects requested), and the micro ``f1`` of the judge's own reading
        (probability above 0.5), which also counts objects drawn unasked."""
        target = labels.float()
        found = float((self.decode(logits, target.sum(1).long()) * target).sum())
        pred = self.decode(logits)
        tp = float((pred * target).sum())
        fp = float((pred * (1 - target)).sum())
        fn = float(((1 - pred) * target).sum())
        f1 = 2 * tp / max(2 * tp + fp + fn, 1e-12)
        # Objects, not images, are counted: an image asking for three weighs three times one asking for one.
        return {"accuracy": found / max(float(target.sum()), 1.0), "f1": f1}

    def caption(self, label: torch.Tensor) -> str:
        return ", ".join(self.names[i] for i in label.nonzero().flatten().tolist())

    def parse(self, text: str) -> torch.Tensor:
        names = [p.strip() for p in text.split(",") if p.strip()]
        if len(set(names)) != len(names):
            raise ConfigError(f"condition {text!r}: each object may appear once")
        if not self.min_count <= len(names) <= self.max_count:
            raise ConfigError(
                f"condition {text!r}: asks for {len(names)} objects; give {self.min_count} to {self.max_count}"
            )
        return self.from_names(names)

    def export_encoding(self) -> dict:
        return {
            "kind": self.kind,
            "text": f"multi-hot over {self.dim} objects: 1 for each object wanted, "
            f"{self.min_count} to {self.max_count} of them",
            "values": list(self.names),
            "min_count": self.min_count,
            "max_count": self.max_count,
        }

    def label_counts(self, labels: torch.Tensor) -> list[tuple[str, int]]:
        return list(zip(self.names, labels.sum(0).long().tolist()))

    def default_grid(self, max_images: int = 64) -> ConditionGrid:
        rows = cols = max(1, int(max_images**0.5))
        g = torch.Generator().manual_seed(1234)
        row_labels = self.sample(rows, g)
        labels = row_labels.repeat_interleave(cols, dim=0)
        return ConditionGrid(
            labels, rows, cols, row_captions=[self.caption(r) for r in row_labels], noise_layout="column"
        )

    def sets_grid(self, sets=(), random: int = 0, samples: int = 8, seed: int = 0) -> ConditionGrid:
        """One row per composed set of objects (text or a list of names; min..max enforced), plus
        ``random`` valid sets drawn from ``seed``; ``samples`` noise samples across."""
        labels = [self.parse(item if isinstance(item, str) else ", ".join(item)) for item in sets]
        labels += self.random_labels(random, seed)
        if not labels:
            raise ConfigError("choose at least one set of objects, or ask for random sets")
        return self._rows_by_noise(torch.stack(labels), samples, title="objects x noise")

    def text_grid(self, texts=(), samples: int = 8, random: int = 0, seed: int = 0) -> ConditionGrid:
        return self.sets_grid(texts, random, samples, seed)

    def samples_grid(self, n: int = 8, seed: int = 0) -> ConditionGrid:
        return self.sets_grid((), random=n, samples=n, seed=seed)

    def explorer_choices(self) -> ExplorerChoices:
        return ExplorerChoices(
            modes=(("sets", "Object sets x noise samples"), *INTERPOLATION_MODES),
            objects=tuple(self.names),
            object_counts=(self.min_count, self.max_count),
        )

    def to_dict(self) -> dict:
        return {"kind": self.kind, "names": list(self.names), "min_count": self.min_count, "max_count": self.max_count}

    @classmethod
    def from_dict(cls, data: dict) -> MultiLabel:
        return cls(data["names"], data.get("min_count", 1), data.get("max_count", 3))

    def describe(self) -> str:
        return f"multi-label({self.dim}, {self.min_count}..{self.max_count})"

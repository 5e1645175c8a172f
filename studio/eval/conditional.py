"""Conditional accuracy: does a generator draw what it is asked for, as a judge sees it?"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from studio.core.conditions import ConditionSpace
from studio.errors import StudioError
from studio.eval.judge import Judge, score_predictions

__all__ = ["ConditionalResult", "conditional_accuracy", "real_accuracy", "load_conditions", "draw_conditions"]


@dataclass
class ConditionalResult:
    scores: dict[str, float]  # see judge.score_predictions
    n: int
    conditions: str  # where the conditions came from
    judge: str
    per_class: dict[str, float] = field(default_factory=dict)

    @property
    def headline(self) -> float:
        for key in ("accuracy", "all"):
            if key in self.scores:
                return self.scores[key]
        return next(iter(self.scores.values()))


def load_conditions(path: str | Path, space: ConditionSpace) -> torch.Tensor:
    """Labels from a JSON list of conditions, as i-CLEVR's test.json: ``[["gray cube", "red sphere"], ...]``.

    Each entry is a list of names (multi-label) or one text a user could type
    (``"red hair, blue eyes"``, ``"7"``).
    """
    path = Path(path)
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StudioError(f"{path}: cannot read the conditions ({exc})") from None
    if not isinstance(entries, list) or not entries:
        raise StudioError(f"{path}: expected a non-empty JSON list of conditions")
    labels = []
    for i, entry in enumerate(entries, 1):
        text = ", ".join(entry) if isinstance(entry, list) else str(entry)
        try:
            labels.append(space.parse(text))
        except StudioError as exc:
            raise StudioError(f"{path}: condition {i}: {exc}") from None
    return torch.stack(labels)


def draw_conditions(space: ConditionSpace, n: int, dataset=None, seed: int = 0) -> torch.Tensor:
    """``n`` conditions drawn as the dataset's are (its own labels, resampled), else from the space."""
    gen = torch.Generator().manual_seed(seed)
    if dataset is not None and len(dataset):
        return dataset.labels[torch.randint(len(dataset), (n,), generator=gen)]
    return space.sample(n, generator=gen)


def _per_class(space: ConditionSpace, logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    if space.kind == "categorical":
        pred = space.decode(logits)
        return {name: float((pred[labels == k] == k).float().mean())
                for k, name in enumerate(space.names) if bool((labels == k).any())}
    if space.kind == "multi-attribute":
        pred, out = space.decode(logits), {}
        for i in range(labels.shape[1]):
            for v in labels[:, i].unique().tolist():
                rows = labels[:, i] == v
                out[space.value_caption(i, v)] = float((pred[rows, i] == v).float().mean())
        return out
    return {}


@torch.no_grad()
def conditional_accuracy(
    generator: torch.nn.Module,
    space: ConditionSpace,
    nz: int,
    judge: Judge,
    n: int = 2000,
    conditions: torch.Tensor | None = None,
    conditions_name: str = "",
    dataset=None,
    batch_size: int = 250,
    seed: int = 0,
    progress: Callable[[int, int, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ConditionalResult:
    """Sample images for conditions and score them with ``judge``.

    ``conditions`` (e.g. from :func:`load_conditions`) are each drawn
    ``ceil(n / len)`` times with fresh noise; without them ``n`` conditions are
    drawn as the dataset's labels are (or from the space).
    """
    if judge.space != space:
        raise StudioError(
            f"the judge {judge.name} was trained for {judge.space.describe()}, the generator draws {space.describe()}"
        )
    if conditions is not None:
        repeat = max(1, -(-n // len(conditions)))
        labels = conditions.repeat((repeat,) + (1,) * (conditions.dim() - 1))
        source = conditions_name or f"{len(conditions)} given conditions x {repeat}"
    else:
        labels = draw_conditions(space, n, dataset, seed)
        source = "drawn as the dataset's labels" if dataset is not None else "drawn from the condition space"
    device = next(generator.parameters()).device
    gen = torch.Generator(device="cpu").manual_seed(seed + 7)
    generator.eval()
    logits = []
    total = len(labels)
    for i in range(0, total, batch_size):
        if should_stop is not None and should_stop():
            raise StudioError("evaluation cancelled")
        part = labels[i : i + batch_size]
        z = torch.randn(len(part), nz, generator=gen).to(device)
        images = generator(z, space.encode(part).to(device)).float()
        logits.append(judge.logits(images))
        if progress is not None:
            progress(min(i + batch_size, total), total, "conditional accuracy")
    logits = torch.cat(logits)
    return ConditionalResult(score_predictions(space, logits, labels), total, source, judge.name,
                             _per_class(space, logits, labels))


@torch.no_grad()
def real_accuracy(dataset, judge: Judge, n: int = 2000, seed: int = 0) -> ConditionalResult:
    """The judge's scores on real images of ``dataset``, read as if they had been generated for their labels."""
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(dataset), generator=gen)[:n]
    images = dataset.images[idx].float().div(127.5).sub(1.0)
    labels = dataset.labels[idx]
    logits = judge.logits(images)
    return ConditionalResult(score_predictions(dataset.space, logits, labels), len(idx), "real images",
                             judge.name, _per_class(dataset.space, logits, labels))

"""Conditional accuracy: does a generator draw what it is asked for, as a judge sees it?"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from studio.core import jsonio
from studio.core.conditions import ConditionSpace
from studio.errors import StudioError
from studio.eval.judge import Judge, Progress, check_stop, headline, score_predictions

__all__ = [
    "ConditionalResult",
    "conditional_accuracy",
    "real_accuracy",
    "load_conditions",
    "draw_conditions",
    "generate_batches",
]


@dataclass
class ConditionalResult:
    scores: dict[str, float]  # see judge.score_predictions
    n: int  # images scored
    conditions: str  # where the conditions came from
    judge: str  # the judge's name
    judge_id: str = ""
    per_class: dict[str, float] = field(default_factory=dict)  # categorical and multi-attribute: per value

    @property
    def headline(self) -> float:
        return headline(self.scores)


def load_conditions(path: str | Path, space: ConditionSpace) -> torch.Tensor:
    """Labels from a JSON list of conditions, as i-CLEVR's test.json: ``[["gray cube", "red sphere"], ...]``.

    Each entry is a list of names (multi-label) or one text a user could type
    (``"red hair, blue eyes"``, ``"7"``).
    """
    path = Path(path)
    entries = jsonio.read_json(path, StudioError, "list of conditions")
    if not isinstance(entries, list) or not entries:
        raise StudioError(f"{path}: expected a non-empty JSON list of conditions")
    labels = []
    for i, entry in enumerate(entries, 1):
        if isinstance(entry, list) and all(isinstance(e, str) for e in entry):
            text = ", ".join(entry)
        elif isinstance(entry, (str, int)):
            text = str(entry)
        else:
            raise StudioError(f"{path}: condition {i} is {json.dumps(entry)[:80]}; give a list of names or a text")
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


def generate_batches(
    generator: torch.nn.Module,
    space: ConditionSpace,
    nz: int,
    labels: torch.Tensor,
    batch_size: int = 250,
    seed: int = 0,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    what: str = "generating",
):
    """Yield ``(labels, images)`` batches of G's images in [-1, 1] for ``labels``, with seeded noise."""
    device = next(generator.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    generator.eval()
    total = len(labels)
    for i in range(0, total, batch_size):
        check_stop(should_stop, what)
        part = labels[i : i + batch_size]
        z = torch.randn(len(part), nz, generator=gen).to(device)
        with torch.no_grad():
            images = generator(z, space.encode(part).to(device)).float()
        yield part, images
        if progress is not None:
            done = min(i + batch_size, total)
            progress(f"{what}: {done}/{total} images", done / total)


def _per_class(space: ConditionSpace, logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    return space.per_value_scores(logits, labels)


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
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ConditionalResult:
    """Sample images for conditions and score them with ``judge``.

    ``conditions`` (e.g. from :func:`load_conditions`) are each drawn
    ``ceil(n / len)`` times with fresh noise; without them ``n`` conditions are
    drawn as the dataset's labels are (or from the space when no dataset is
    given). ``should_stop`` is polled between batches.
    """
    if judge.space != space:
        raise StudioError(
            f"the judge {judge.name} was trained for {judge.space.describe()}, the generator draws {space.describe()}"
        )
    if n < 1:
        raise StudioError(f"conditional accuracy needs at least 1 image (asked for {n})")
    if conditions is not None:
        repeat = max(1, -(-n // len(conditions)))
        labels = conditions.repeat((repeat,) + (1,) * (conditions.dim() - 1))
        source = conditions_name or f"{len(conditions)} given conditions"
        source += f" x {repeat}" if repeat > 1 else ""
    else:
        labels = draw_conditions(space, n, dataset, seed)
        source = "drawn as the dataset's labels" if dataset is not None else "drawn from the condition space"
    logits = [
        judge.logits(images)
        for _, images in generate_batches(
            generator, space, nz, labels, batch_size, seed + 7, progress, should_stop, "conditional accuracy"
        )
    ]
    logits = torch.cat(logits)
    return ConditionalResult(
        score_predictions(space, logits, labels),
        len(labels),
        source,
        judge.name,
        judge.id,
        _per_class(space, logits, labels),
    )


@torch.no_grad()
def real_accuracy(dataset, judge: Judge, n: int = 2000, seed: int = 0) -> ConditionalResult:
    """The judge's scores on real images of ``dataset``, read as if they had been generated for their labels.

    The ceiling a generator can reach by this judge's reading (the images may
    include the judge's own training images, so it is an upper figure).
    """
    if judge.space != dataset.space:
        raise StudioError(
            f"the judge {judge.name} was trained for {judge.space.describe()}, "
            f"{dataset.spec} is labelled {dataset.space.describe()}"
        )
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(dataset), generator=gen)[:n]
    images = dataset.images[idx].float().div(127.5).sub(1.0)
    labels = dataset.labels[idx]
    logits = judge.logits(images)
    return ConditionalResult(
        score_predictions(dataset.space, logits, labels),
        len(idx),
        "real images",
        judge.name,
        judge.id,
        _per_class(dataset.space, logits, labels),
    )

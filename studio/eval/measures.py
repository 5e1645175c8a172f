"""Precision, recall, density and coverage of generated images, and the classes intra-class figures group by.

Precision and recall as Kynkäänniemi et al. (2019) define them, density and
coverage as Naeem et al. (2020), computed as the latter's reference code
(``prdc``) does: each real image's feature owns a ball reaching its k-th
nearest real neighbour (k = 5 by default); precision is the share of
generated images inside some real ball, recall the share of real images inside
some generated ball (each generated image's ball reaching its own k-th
generated neighbour), density the mean number of real balls holding a
generated image divided by k (about 1 when the two sets are alike, above 1
where generated images crowd dense real regions), coverage the share of real
balls holding at least one generated image. torchmetrics and torch-fidelity
have none of the four, hence this file.

Distances are computed in blocks, so memory stays at a block of rows times
the other set's size, never the full square.
"""

from __future__ import annotations

import torch

from studio.core.conditions import ConditionSpace
from studio.errors import StudioError

__all__ = ["PRDC_METRICS", "prdc", "kth_neighbour_radii", "class_groups"]

PRDC_METRICS = ("precision", "recall", "density", "coverage")
_BLOCK = 1024


def kth_neighbour_radii(x: torch.Tensor, k: int, block: int = _BLOCK) -> torch.Tensor:
    """The distance from each row of ``x`` to its k-th nearest other row (itself, at 0, not counted)."""
    out = []
    for i in range(0, len(x), block):
        d = torch.cdist(x[i : i + block], x)
        out.append(d.kthvalue(k + 1, dim=1).values)
    return torch.cat(out)


def prdc(real: torch.Tensor, fake: torch.Tensor, k: int = 5, block: int = _BLOCK) -> dict[str, float]:
    """Precision, recall, density and coverage of ``fake`` features against ``real`` ones, with k neighbours."""
    if k < 1:
        raise StudioError(f"precision/recall need k >= 1 nearest neighbours (got {k})")
    if min(len(real), len(fake)) <= k:
        raise StudioError(
            f"precision/recall with k = {k} need more than {k} images on each side "
            f"(got {len(real)} real, {len(fake)} generated)"
        )
    real, fake = real.float(), fake.float()
    real_radii = kth_neighbour_radii(real, k, block)
    fake_radii = kth_neighbour_radii(fake, k, block)
    in_some_real_ball = torch.zeros(len(fake), dtype=torch.bool)
    real_balls_holding = torch.zeros(len(fake), dtype=torch.long)
    recalled = covered = 0
    for i in range(0, len(real), block):
        d = torch.cdist(real[i : i + block], fake)  # (block of real, fake)
        inside = d < real_radii[i : i + block, None]
        in_some_real_ball |= inside.any(0)
        real_balls_holding += inside.sum(0)
        recalled += int((d < fake_radii[None, :]).any(1).sum())
        covered += int((d.min(1).values < real_radii[i : i + block]).sum())
    return {
        "precision": float(in_some_real_ball.float().mean()),
        "recall": recalled / len(real),
        "density": float(real_balls_holding.float().mean()) / k,
        "coverage": covered / len(real),
    }


def class_groups(space: ConditionSpace, labels: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """(caption, mask of ``labels``) per class, or per attribute value of a multi-attribute space.

    Intra-class figures are measured within each group. Multi-label and colour
    spaces have no classes to group by and are refused.
    """
    if space.kind == "categorical":
        return [(name, labels == k) for k, name in enumerate(space.names)]
    if space.kind == "multi-attribute":
        return [
            (space.value_caption(i, v), labels[:, i] == v) for i, size in enumerate(space.sizes) for v in range(size)
        ]
    raise StudioError(
        f"intra-class FID needs classes or attribute values, and {space.describe()} has neither; leave out ifid",
        code="ifid.no_classes",
        space=space.describe(),
    )

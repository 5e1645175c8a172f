"""Adversarial losses on discriminator logits, and the targets BCE trains D towards.

Each loss is a pair of small functions (D's loss, G's loss); the trainer picks
one pair from the config and never branches on the loss kind in its loop.
WGAN-GP adds a gradient penalty, computed in float32 outside autocast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from studio.core.config import TrainConfig

__all__ = [
    "AdversarialLoss",
    "adversarial_loss",
    "d_targets",
    "gradient_penalty",
    "mode_seeking_loss",
    "paired_labels",
]


@dataclass(frozen=True)
class AdversarialLoss:
    name: str
    d: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
    g: Callable[[torch.Tensor], torch.Tensor]
    penalised: bool = False


def _bce_d(real: torch.Tensor, fake: torch.Tensor, real_t: torch.Tensor, fake_t: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(real.float(), real_t) + F.binary_cross_entropy_with_logits(
        fake.float(), fake_t
    )


def _bce_g(fake: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(fake.float(), torch.ones_like(fake, dtype=torch.float32))


def _hinge_d(real: torch.Tensor, fake: torch.Tensor, *_: torch.Tensor) -> torch.Tensor:
    return F.relu(1.0 - real.float()).mean() + F.relu(1.0 + fake.float()).mean()


def _mean_g(fake: torch.Tensor) -> torch.Tensor:
    return -fake.float().mean()


def _wgan_d(real: torch.Tensor, fake: torch.Tensor, *_: torch.Tensor) -> torch.Tensor:
    return fake.float().mean() - real.float().mean()


_LOSSES = {
    "bce": AdversarialLoss("bce", _bce_d, _bce_g),
    "hinge": AdversarialLoss("hinge", _hinge_d, _mean_g),
    "wgan-gp": AdversarialLoss("wgan-gp", _wgan_d, _mean_g, penalised=True),
}


def adversarial_loss(name: str) -> AdversarialLoss:
    return _LOSSES[name]


def d_targets(config: TrainConfig, n: int, device: torch.device | str) -> tuple[torch.Tensor, torch.Tensor]:
    """D's targets for real and fake images under smoothing, noise and flips.

    Real targets are drawn from [1 - s - noise, 1 - s], fake from [0, noise]
    (Salimans et al. 2016); with probability ``label_flip`` the two swap for
    this step, as in the i-CLEVR recipe.  Draws use torch's RNG so a seeded
    run repeats exactly.
    """
    top = 1.0 - config.label_smoothing
    real = torch.full((n,), top, device=device)
    fake = torch.zeros(n, device=device)
    if config.label_noise > 0:
        real = real - config.label_noise * torch.rand(n, device=device)
        fake = fake + config.label_noise * torch.rand(n, device=device)
    if config.label_flip > 0 and torch.rand(()).item() < config.label_flip:
        real, fake = fake, real
    return real, fake


def gradient_penalty(
    discriminator, real: torch.Tensor, fake: torch.Tensor, cond: torch.Tensor, alpha: torch.Tensor | None = None
) -> torch.Tensor:
    """WGAN-GP: (||grad D(x_hat)|| - 1)^2 on random interpolates of real and fake.

    ``alpha``: the mixing weights, shape (n, 1, 1, 1); drawn here when not given.
    """
    if alpha is None:
        alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    mixed = (alpha * real.float() + (1 - alpha) * fake.float()).requires_grad_(True)
    logit, _ = discriminator(mixed, cond)
    (grad,) = torch.autograd.grad(logit.float().sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()


def paired_labels(labels: torch.Tensor) -> torch.Tensor:
    """The batch's labels with the second half a copy of the first, so fakes i and i + n/2 share a condition."""
    h = labels.shape[0] // 2
    paired = labels.clone()
    paired[h : 2 * h] = labels[:h]
    return paired


def mode_seeking_loss(fake: torch.Tensor, z: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """MSGAN's term (Mao et al., 2019) over the pairs (i, i + n/2) that :func:`paired_labels` made.

    The ratio of image distance to noise distance is large when z matters; G
    minimises its reciprocal, so two noise vectors that give one image cost most.
    """
    h = fake.shape[0] // 2
    image_gap = (fake[:h].float() - fake[h : 2 * h].float()).abs().mean()
    noise_gap = (z[:h].float() - z[h : 2 * h].float()).abs().mean()
    return 1.0 / (image_gap / noise_gap + eps)

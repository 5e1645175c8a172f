"""Regularisers of the discriminator for small datasets: LeCam and lazy R1.

Both are opt-in settings (``lecam_weight``, ``r1_gamma``); the trainer builds
them once and adds their terms to D's loss, so a run with both off computes
nothing more than before.

LeCam (Tseng et al. 2021, "Regularizing Generative Adversarial Networks
under Limited Data") keeps exponential moving averages of D's mean logit on
real images (alpha_R) and on generated ones (alpha_F) and penalises

    R = mean(relu(D(x) - alpha_F)^2) + mean(relu(alpha_R - D(G(z)))^2)

The paper writes the term without the relu (||D(x) - alpha_F||^2 +
||D(G(z)) - alpha_R||^2); both official implementations (BigGAN's
``lecam_reg`` and StyleGAN2's ``lecamreg``) use the relu, which only ever
pulls a real logit down towards alpha_F and a fake logit up towards alpha_R,
never rewarding D for a real image it scores below the fakes' average.  The
published figures come from that code, so this module follows it.  The
averages follow the StyleGAN2 version: zero-initialised, decay 0.99, bias
corrected (TensorFlow's ``zero_debias``), and updated with the current batch
before the penalty is computed, so the first step's averages are that batch's
means rather than an arbitrary start value.  (The BigGAN code instead copies
the latest means for its first 1,000 iterations and applies the penalty only
after them; the bias correction gives a usable average from the first step.)

R1 (Mescheder et al. 2018) penalises the squared gradient norm of D's logit
with respect to real images, (gamma / 2) * E ||grad_x D(x)||^2.  Lazy
regularisation (Karras et al. 2020, StyleGAN2) computes it every ``every``
D steps only and multiplies it by ``every`` so the penalty keeps its average
strength; here the scaled term joins that step's D loss rather than a
separate optimiser step.  The trainer takes the gradient at the real images
D saw in that step, after DiffAugment where it is on.  BatchNorm in D makes
an image's gradient depend on the rest of its batch, so the settings refuse
R1 with ``d_batchnorm`` on, as they refuse wgan-gp.

In a distributed run the penalties act on each rank's share of the batch and
DDP averages their gradients; LeCam's two batch means are averaged over the
ranks first (one all-reduce of two numbers per step), so every rank keeps
the averages one process would.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = ["LECAM_DECAY", "LeCam", "LazyR1", "lecam_penalty", "r1_penalty"]

# The moving averages' decay in both official LeCam implementations.
LECAM_DECAY = 0.99


def lecam_penalty(
    real_logit: torch.Tensor, fake_logit: torch.Tensor, alpha_real: torch.Tensor, alpha_fake: torch.Tensor
) -> torch.Tensor:
    """mean(relu(D(x) - alpha_F)^2) + mean(relu(alpha_R - D(G(z)))^2), in float32; the averages are constants."""
    alpha_real, alpha_fake = alpha_real.detach().float(), alpha_fake.detach().float()
    return (
        F.relu(real_logit.float() - alpha_fake).square().mean()
        + F.relu(alpha_real - fake_logit.float()).square().mean()
    )


class LeCam:
    """LeCam's weighted term with its moving averages of D's logits (see the module's notes).

    ``__call__`` folds the batch's mean logits into the averages and returns
    ``weight * R``.  ``average_`` replaces the two means by their mean over a
    distributed group's ranks in place (each rank holds an equal share of the
    batch), so every rank keeps the same averages as one process would.
    """

    def __init__(self, weight: float, decay: float = LECAM_DECAY, device: torch.device | str | None = None):
        self.weight = float(weight)
        self.decay = float(decay)
        self.biased = torch.zeros(2, device=device)  # [real, fake], zero-initialised
        self.updates = 0

    def averages(self) -> torch.Tensor:
        """The bias-corrected [alpha_R, alpha_F] (zeros before the first update)."""
        if self.updates == 0:
            return torch.zeros_like(self.biased)
        return self.biased / (1.0 - self.decay**self.updates)

    def update(self, means: torch.Tensor) -> torch.Tensor:
        """Fold one step's [mean real logit, mean fake logit] into the averages; returns :meth:`averages`."""
        self.biased.lerp_(means.detach().float(), 1.0 - self.decay)
        self.updates += 1
        return self.averages()

    def __call__(
        self,
        real_logit: torch.Tensor,
        fake_logit: torch.Tensor,
        average_: Callable[[torch.Tensor], None] | None = None,
    ) -> torch.Tensor:
        means = torch.stack([real_logit.detach().float().mean(), fake_logit.detach().float().mean()])
        if average_ is not None:
            average_(means)
        alpha = self.update(means)
        return self.weight * lecam_penalty(real_logit, fake_logit, alpha[0], alpha[1])

    def state_dict(self) -> dict:
        return {"biased": self.biased.detach().clone(), "updates": self.updates, "decay": self.decay}

    def load_state_dict(self, state: dict) -> None:
        """Restore the averages; a malformed state raises KeyError, TypeError or ValueError."""
        biased, updates = state["biased"], state["updates"]
        if not isinstance(biased, torch.Tensor) or biased.shape != self.biased.shape:
            raise ValueError(f"LeCam averages should be a tensor of shape {tuple(self.biased.shape)}")
        if not isinstance(updates, int) or updates < 0:
            raise TypeError(f"LeCam update count should be a whole number, found {updates!r}")
        self.biased = biased.detach().to(device=self.biased.device, dtype=self.biased.dtype).clone()
        self.updates = updates


def r1_penalty(discriminator, real: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
    """E ||grad_x D(x, c)||^2 over the batch, in float32 (call it outside autocast), differentiable in D.

    The gradient is of the summed logits, which is each image's own gradient
    only when D treats the images of a batch independently: not with
    BatchNorm in D in training mode (the settings refuse that combination).
    """
    x = real.detach().float().requires_grad_(True)
    logit, _ = discriminator(x, cond)
    (grad,) = torch.autograd.grad(logit.float().sum(), x, create_graph=True)
    return grad.float().square().flatten(1).sum(1).mean()


class LazyR1:
    """(gamma / 2) * every * E ||grad_x D(x)||^2, applied at the D steps where :meth:`due` holds."""

    def __init__(self, gamma: float, every: int):
        self.gamma = float(gamma)
        self.every = int(every)

    def due(self, step: int) -> bool:
        """Whether D step ``step`` (counted from 0 over the whole run, so a resume keeps the rhythm) adds R1."""
        return step % self.every == 0

    def __call__(self, discriminator, real: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return (self.gamma / 2.0) * self.every * r1_penalty(discriminator, real, cond)

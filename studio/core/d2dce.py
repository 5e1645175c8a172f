"""Data-to-data cross-entropy (D2D-CE): ReACGAN's auxiliary classifier (Kang et al., NeurIPS 2021).

ACGAN's softmax classifier over D's features can collapse early in training
when there are many classes (its gradients explode).  ReACGAN projects D's
features to an embedding on the unit sphere and learns one unit *proxy* per
class.  For image i of class y_i, with embedding f_i, proxy v_y and
temperature T::

    pos_i  = min(f_i . v_{y_i} - m_p, 0) / T          (pull towards its own proxy, until m_p)
    neg_ij = max(f_i . f_j     - m_n, 0) / T          (push from images of other classes, down to m_n)
    loss_i = -log( exp(pos_i) / (exp(pos_i) + sum_{j: y_j != y_i} exp(neg_ij)) )

averaged over the batch.  Images of the same class are never pushed apart
(no false negatives), and well-separated pairs stop contributing (margins).
A space of several attributes (hair x eyes) gets one embedding and one set
of proxies per attribute, and the per-attribute losses add up as the
per-attribute softmaxes of ACGAN do.

The defaults follow StudioGAN's ReACGAN configurations (T = 0.5, m_p = 0.98;
its negatives count from a similarity of 1 - m_p = 0.02).

D's auxiliary head then outputs, per image, its cosine similarity to every
class proxy (the same width and layout as ACGAN's logits, so accuracy is the
space's own argmax per attribute) followed by its embeddings; the loss reads
both from that one tensor.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from studio.errors import ConfigError

__all__ = [
    "D2D_MARGIN_POSITIVE",
    "D2D_MARGIN_NEGATIVE",
    "ProxyHead",
    "SumPool",
    "aux_criterion",
    "d2d_ce",
    "d2d_refusal",
    "embedding_dim",
    "split_output",
]

D2D_MARGIN_POSITIVE = 0.98
D2D_MARGIN_NEGATIVE = 0.02  # StudioGAN: 1 - m_p

# A scalar auxiliary loss or accuracy from D's auxiliary output and the labels.
AuxFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def embedding_dim(feature_channels: int) -> int:
    """Width of each attribute's embedding: D's feature channels, at most ReACGAN's 512."""
    return max(1, min(512, feature_channels))


def _criterion(
    embeddings: torch.Tensor,
    positive: torch.Tensor,
    labels: torch.Tensor,
    temperature: float,
    m_p: float,
    m_n: float,
) -> torch.Tensor:
    """D2D-CE of unit ``embeddings`` (B, E) whose cosine to their own class proxy is ``positive`` (B,)."""
    pos = (positive - m_p).clamp(max=0.0) / temperature
    sim = (embeddings @ embeddings.T - m_n).clamp(min=0.0) / temperature
    # Only images of another class are negatives; this also leaves out each image itself.
    negatives = labels[:, None] != labels[None, :]
    sim = sim.masked_fill(~negatives, float("-inf"))
    return (torch.logsumexp(torch.cat([pos[:, None], sim], dim=1), dim=1) - pos).mean()


def d2d_ce(
    embeddings: torch.Tensor,
    proxies: torch.Tensor,
    labels: torch.Tensor,
    temperature: float = 0.5,
    m_p: float = D2D_MARGIN_POSITIVE,
    m_n: float = D2D_MARGIN_NEGATIVE,
) -> torch.Tensor:
    """D2D-CE of ``embeddings`` (B, E) against class ``proxies`` (K, E) for class indices ``labels`` (B,).

    Both are normalised to unit length here; the loss is computed in float32.
    """
    f = F.normalize(embeddings.float(), dim=1)
    v = F.normalize(proxies.float(), dim=1)
    labels = labels.long()
    return _criterion(f, (f * v[labels]).sum(1), labels, temperature, m_p, m_n)


class SumPool(nn.Module):
    """(B, C, H, W) features -> (B, C), summed over positions (as ReACGAN's and the projection D's heads read them)."""

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h.sum(dim=(2, 3))


class ProxyHead(nn.Module):
    """D's auxiliary head for D2D-CE: ``trunk`` maps D's features to one embedding per attribute.

    Output (B, sum(sizes) + len(sizes) * dim): the cosine of each attribute's
    embedding to each of that attribute's proxies, then the unit embeddings.
    """

    def __init__(self, trunk: nn.Module, sizes: tuple[int, ...], dim: int):
        super().__init__()
        self.trunk = trunk
        self.sizes = tuple(int(k) for k in sizes)
        self.dim = int(dim)
        self.proxies = nn.Embedding(sum(self.sizes), self.dim)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        out = self.trunk(h)
        # Cosines near the margin need float32: bfloat16 resolves only ~0.004 near 1.
        with torch.autocast(h.device.type, enabled=False):
            e = F.normalize(out.float().view(out.shape[0], len(self.sizes), self.dim), dim=2)
            v = F.normalize(self.proxies.weight.float(), dim=1)
            cosines, start = [], 0
            for a, k in enumerate(self.sizes):
                cosines.append(e[:, a] @ v[start : start + k].T)
                start += k
            return torch.cat([*cosines, e.flatten(1)], dim=1)


def split_output(out: torch.Tensor, sizes: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """A :class:`ProxyHead` output as (cosines to the proxies (B, sum(sizes)), unit embeddings (B, A, E))."""
    total = sum(sizes)
    embeddings = out[:, total:]
    return out[:, :total], embeddings.reshape(out.shape[0], len(sizes), embeddings.shape[1] // len(sizes))


class _D2DCE:
    """The D2D-CE of a :class:`ProxyHead` output, summed over attributes."""

    def __init__(self, sizes: tuple[int, ...], temperature: float):
        self.sizes = sizes
        self.offsets = [sum(sizes[:a]) for a in range(len(sizes))]
        self.temperature = temperature

    def loss(self, out: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        cosines, embeddings = split_output(out.float(), self.sizes)
        labels = labels.long().view(out.shape[0], len(self.sizes))
        total = out.new_zeros((), dtype=torch.float32)
        for a, offset in enumerate(self.offsets):
            y = labels[:, a]
            positive = cosines.gather(1, (y + offset)[:, None]).squeeze(1)
            total = total + _criterion(
                embeddings[:, a], positive, y, self.temperature, D2D_MARGIN_POSITIVE, D2D_MARGIN_NEGATIVE
            )
        return total


def aux_criterion(config, space) -> tuple[AuxFn, AuxFn]:
    """(loss, accuracy) of D's auxiliary output as ``config.aux_loss`` chooses.

    'ce' is the condition space's own loss on D's logits; 'd2d-ce' reads a
    :class:`ProxyHead` output, and its accuracy is the space's on the cosines
    to the proxies (the nearest proxy per attribute).
    """
    if getattr(config, "aux_loss", "ce") != "d2d-ce":
        return space.aux_loss, space.aux_accuracy
    sizes = tuple(space.class_sizes)
    if not sizes:
        raise ConfigError(d2d_refusal(space))
    criterion = _D2DCE(sizes, config.d2d_temperature)
    total = sum(sizes)

    def accuracy(out: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return space.aux_accuracy(out[:, :total], labels)

    return criterion.loss, accuracy


def d2d_refusal(space) -> str:
    """Why aux_loss 'd2d-ce' cannot train on ``space`` ('' when it can)."""
    if space.class_sizes:
        return ""
    return (
        f"aux_loss 'd2d-ce' pulls each image towards its class and away from images of other classes, and "
        f"the {space.describe()} condition has no single class per image (multi-label or colour); "
        "use aux_loss 'ce'"
    )

"""The DCGAN convolution discriminator with pluggable conditioning.

Blocks of (Conv 4x4 stride 2, [BN], LeakyReLU 0.2, [dropout]) bring the image
down to 4x4 features (the dropout is ``ByteDropout``, with a cheap CPU mask);
then a real/fake head and, by family:

* dcgan            -- nothing else
* cgan-concat      -- the condition, embedded and tiled 4x4, is concatenated to
                      the features and mixed by a 1x1 convolution (anime recipe)
* cgan-projection  -- adds <embed(c), sum of features> to the logit (Miyato & Koyama);
                      embed is linear, so continuous colours project as they are
* acgan            -- an auxiliary head of width ``space.aux_dim`` over the
                      features; its outputs are raw and the condition space's
                      loss reads them as softmax, per-attribute softmax,
                      sigmoid, or (colour) regressed RGB; with aux_loss 'd2d-ce'
                      (ReACGAN) it is a :class:`ProxyHead`: a linear map of the
                      features summed over positions to unit embeddings, and
                      their cosines to learned class proxies

With ``d_minibatch_std`` the real/fake head also sees one more feature map:
the standard deviation of the features over groups of up to 4 images
(Karras et al., ProGAN), so a batch without variety gives itself away.  The
auxiliary head and the projection read the per-image features alone.

Outputs are logits; the losses apply the sigmoid where they need it.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from studio.core.conditions import ConditionSpace
from studio.core.config import TrainConfig
from studio.core.d2dce import ProxyHead, SumPool, embedding_dim
from studio.core.models.dropout import ByteDropout


def minibatch_std(h: torch.Tensor, group: int = 4) -> torch.Tensor:
    """One (N, 1, H, W) map: the mean over channels and pixels of the std of ``h`` within groups of images.

    The group is the largest size up to ``group`` that divides the batch, so
    every image is in one; each image gets its own group's figure.
    """
    n, c, height, width = h.shape
    g = next(k for k in range(min(group, n), 0, -1) if n % k == 0)
    y = h.float().reshape(g, n // g, c, height, width)
    std = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (n // g,)
    return std.repeat(g)[:, None, None, None].expand(n, 1, height, width).to(h.dtype)


class Discriminator(nn.Module):
    def __init__(self, config: TrainConfig, space: ConditionSpace):
        super().__init__()
        sn = spectral_norm if config.d_spectral_norm else (lambda m: m)
        cond_dim = space.dim if config.conditional else 0
        # How D reads the condition: the family's d_mode, 'none' when there is no condition.
        self.mode = config.family_spec.d_mode if cond_dim else "none"

        def block(cin: int, cout: int, norm: bool, bias: bool) -> list[nn.Module]:
            layers: list[nn.Module] = [sn(nn.Conv2d(cin, cout, 4, 2, 1, bias=bias))]
            if norm:
                layers.append(nn.BatchNorm2d(cout))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            if config.d_dropout > 0:
                layers.append(ByteDropout(config.d_dropout))
            return layers

        downs = int(math.log2(config.image_size)) - 2
        # DCGAN's first convolution has neither BatchNorm nor bias.
        layers = block(config.channels, config.ndf, norm=False, bias=False)
        channels = config.ndf
        for _ in range(downs - 1):
            layers += block(channels, channels * 2, norm=config.d_batchnorm, bias=not config.d_batchnorm)
            channels *= 2
        self.features = nn.Sequential(*layers)
        self.feature_channels = channels

        if self.mode == "concat":
            self.cond_embed = nn.Sequential(sn(nn.Linear(cond_dim, config.d_embed)), nn.LeakyReLU(0.2, inplace=True))
            mix: list[nn.Module] = [sn(nn.Conv2d(channels + config.d_embed, channels, 1, bias=not config.d_batchnorm))]
            if config.d_batchnorm:
                mix.append(nn.BatchNorm2d(channels))
            self.mix = nn.Sequential(*mix, nn.LeakyReLU(0.2, inplace=True))
        elif self.mode == "projection":
            self.projection = sn(nn.Linear(cond_dim, channels, bias=False))

        self.minibatch_std = config.d_minibatch_std
        self.head = self._head(config, sn, channels + int(self.minibatch_std), 1)
        self.aux_head = self._aux_head(config, sn, channels, space) if self.mode == "aux" else None

    @staticmethod
    def _head(config: TrainConfig, sn, channels: int, outputs: int) -> nn.Module:
        if config.d_head == "conv" and outputs == 1:
            return nn.Sequential(sn(nn.Conv2d(channels, 1, 4, 1, 0, bias=False)), nn.Flatten())
        if config.d_head == "conv":
            return nn.Sequential(nn.Flatten(), sn(nn.Linear(channels * 16, outputs)))
        return nn.Sequential(
            nn.Flatten(),
            sn(nn.Linear(channels * 16, 512)),
            nn.LeakyReLU(0.2, inplace=True),
            sn(nn.Linear(512, outputs)),
        )

    @classmethod
    def _aux_head(cls, config: TrainConfig, sn, channels: int, space: ConditionSpace) -> nn.Module:
        if config.aux_loss != "d2d-ce":
            return cls._head(config, sn, channels, space.aux_dim)
        # A space without classes gets a head too (counting parameters); training it is refused.
        sizes = space.class_sizes or (space.aux_dim,)
        dim = embedding_dim(channels)
        # ReACGAN's projection: D's features summed over the 4x4 positions, one linear map to every embedding.
        return ProxyHead(nn.Sequential(SumPool(), sn(nn.Linear(channels, len(sizes) * dim))), sizes, dim)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.features(x)
        if self.mode == "concat":
            c = self.cond_embed(cond).to(h.dtype)
            c = c[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
            h = self.mix(torch.cat([h, c], dim=1))
        seen = torch.cat([h, minibatch_std(h)], dim=1) if self.minibatch_std else h
        logit = self.head(seen).flatten()
        if self.mode == "projection":
            pooled = h.sum(dim=(2, 3))
            logit = logit + (self.projection(cond).to(pooled.dtype) * pooled).sum(1)
        aux = self.aux_head(h) if self.aux_head is not None else None
        return logit, aux

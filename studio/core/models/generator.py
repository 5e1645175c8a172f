"""The DCGAN transposed-convolution generator for 32, 64 and 128 px.

At 64 px with ``g_input="conv"`` and no condition it is exactly the G of the
PyTorch DCGAN tutorial: z -> ConvT(4x4) -> (ConvT, BN, ReLU) x 3 -> ConvT -> tanh.
The condition enters before the first layer, either concatenated to z (an
optional dense embedding first, as in the anime recipe) or multiplied into z
by a label embedding (the ACGAN digits recipe).  With ``cbn`` it is also
concatenated to z and, in addition, every BatchNorm of G becomes conditional:
its gain and bias are linear in the (embedded) condition, as in the SNGAN
projection and BigGAN generators, so that the condition steers each layer
instead of the first alone.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from studio.core.conditions import ConditionSpace
from studio.core.config import TrainConfig


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm without its own affine; gain ``1 + W_g c`` and bias ``W_b c`` per condition.

    DCGAN initialisation gives ``W_g`` and ``W_b`` N(0, 0.02), so the gains start
    near 1 as DCGAN's BatchNorm weights do.
    """

    def __init__(self, channels: int, cond_dim: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Linear(cond_dim, channels, bias=False)
        self.bias = nn.Linear(cond_dim, channels, bias=False)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        c = c.to(x.dtype)
        return self.bn(x) * (1 + self.gain(c))[:, :, None, None] + self.bias(c)[:, :, None, None]


def activation(kind: str) -> nn.Module:
    return nn.ReLU(inplace=True) if kind == "relu" else nn.LeakyReLU(0.2, inplace=True)


class Generator(nn.Module):
    def __init__(self, config: TrainConfig, space: ConditionSpace):
        super().__init__()
        self.nz = config.nz
        self.cond_dim = space.dim if config.conditional else 0
        self.conditioning = config.g_conditioning if self.cond_dim else "none"

        in_dim = self.nz
        self.embed: nn.Module = nn.Identity()
        if self.conditioning == "multiply":
            # A bias-free linear map of a one-hot is an nn.Embedding lookup; it
            # also accepts multi-hot and continuous conditions.
            self.embed = nn.Linear(self.cond_dim, self.nz, bias=False)
        elif self.conditioning in ("concat", "cbn"):
            if config.g_embed > 0:
                self.embed = nn.Sequential(nn.Linear(self.cond_dim, config.g_embed), nn.LeakyReLU(0.2, inplace=True))
                in_dim += config.g_embed
            else:
                in_dim += self.cond_dim

        # What the conditional BatchNorms read: the embedding when there is one.
        cbn_dim = (config.g_embed or self.cond_dim) if self.conditioning == "cbn" else 0

        def norm(channels: int) -> nn.Module:
            return ConditionalBatchNorm2d(channels, cbn_dim) if cbn_dim else nn.BatchNorm2d(channels)

        size = config.image_size
        ups = int(math.log2(size)) - 2  # 4x4 -> size
        top = config.ngf * (size // 8)
        if config.g_input == "conv":
            stem = [nn.Unflatten(1, (in_dim, 1, 1)), nn.ConvTranspose2d(in_dim, top, 4, 1, 0, bias=False)]
        else:
            stem = [nn.Linear(in_dim, top * 16), nn.Unflatten(1, (top, 4, 4))]
        layers: list[nn.Module] = [*stem, norm(top), activation(config.g_activation)]
        channels = top
        for _ in range(ups - 1):
            layers += [
                nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1, bias=False),
                norm(channels // 2),
                activation(config.g_activation),
            ]
            channels //= 2
        layers += [nn.ConvTranspose2d(channels, config.channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def reset_embedding(self) -> None:
        """N(0, 1) like nn.Embedding, so that z * embedding keeps z's scale."""
        if self.conditioning == "multiply":
            nn.init.normal_(self.embed.weight, 0.0, 1.0)

    def forward(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if self.conditioning == "multiply":
            z = z * self.embed(cond)
        elif self.conditioning == "concat":
            z = torch.cat([z, self.embed(cond).to(z.dtype)], dim=1)
        elif self.conditioning == "cbn":
            e = self.embed(cond).to(z.dtype)
            h = torch.cat([z, e], dim=1)
            for layer in self.main:
                h = layer(h, e) if isinstance(layer, ConditionalBatchNorm2d) else layer(h)
            return h
        return self.main(z)

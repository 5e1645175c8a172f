"""The DCGAN transposed-convolution generator for 32, 64 and 128 px.

At 64 px with ``g_input="conv"`` and no condition it is exactly the G of the
PyTorch DCGAN tutorial: z -> ConvT(4x4) -> (ConvT, BN, ReLU) x 3 -> ConvT -> tanh.
The condition enters before the first layer, either concatenated to z (an
optional dense embedding first, as in the anime recipe) or multiplied into z
by a label embedding (the ACGAN digits recipe).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from studio.core.conditions import ConditionSpace
from studio.core.config import TrainConfig


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
        elif self.conditioning == "concat":
            if config.g_embed > 0:
                self.embed = nn.Sequential(nn.Linear(self.cond_dim, config.g_embed), nn.LeakyReLU(0.2, inplace=True))
                in_dim += config.g_embed
            else:
                in_dim += self.cond_dim

        size = config.image_size
        ups = int(math.log2(size)) - 2  # 4x4 -> size
        top = config.ngf * (size // 8)
        if config.g_input == "conv":
            stem = [nn.Unflatten(1, (in_dim, 1, 1)), nn.ConvTranspose2d(in_dim, top, 4, 1, 0, bias=False)]
        else:
            stem = [nn.Linear(in_dim, top * 16), nn.Unflatten(1, (top, 4, 4))]
        layers: list[nn.Module] = [*stem, nn.BatchNorm2d(top), activation(config.g_activation)]
        channels = top
        for _ in range(ups - 1):
            layers += [
                nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(channels // 2),
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
        return self.main(z)

"""Dropout whose CPU mask costs a random byte per element, not a random draw.

PyTorch's CPU ``bernoulli_`` draws one random number per element, some 120
million a second on a core; at the widths of a CPU-sized discriminator that is
about half of a training step (``benchmarks/throughput.py --torch-dropout``
compares).  Here one 64-bit draw gives seven uniform bytes, and an element is
kept when its byte is at or above ``round(256 * p)``.  So the drop probability
is rounded to the nearest 1/256 (0.25 and 0.5 are exact) and kept elements are
scaled by the exact inverse of the keep rate: the expectation is the input's,
as with ``nn.Dropout``.  Off the CPU, or at p = 0 or 1, it is ``nn.Dropout``
itself.  Like it, the mask comes from the default generator, so seeded runs
repeat.
"""

from __future__ import annotations

import math
import sys

import torch
from torch import nn

__all__ = ["ByteDropout", "byte_keep_mask"]

# ``random_()`` on int64 draws from [0, 2**63): the seven low bytes of a word
# are uniform, its most significant one is not.
_LOW_BYTES = slice(0, 7) if sys.byteorder == "little" else slice(1, 8)


def byte_keep_mask(shape: torch.Size, cut: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """A bool tensor of ``shape``, each element True with probability ``(256 - cut) / 256``."""
    n = math.prod(shape)
    words = torch.empty((n + 6) // 7, dtype=torch.int64, device=device).random_()
    uniform = words.view(torch.uint8).view(-1, 8)[:, _LOW_BYTES].reshape(-1)[:n]
    return uniform.view(shape) >= cut


class ByteDropout(nn.Dropout):
    """``nn.Dropout`` with a cheap CPU mask (see the module's text)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cut = round(self.p * 256)
        if not self.training or x.device.type != "cpu" or cut <= 0 or cut >= 256:
            return super().forward(x)
        # One float mask holding 0 or the scale: the product and its gradient are a single multiply each.
        mask = byte_keep_mask(x.shape, cut, x.device).to(x.dtype).mul_(256.0 / (256 - cut))
        return x.mul_(mask) if self.inplace else x * mask

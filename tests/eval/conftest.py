"""Shared pieces of the evaluation tests: one small digits set and one judge trained on it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from studio.data.dataset import load_dataset
from studio.eval.judge import train_judge


@pytest.fixture(scope="session")
def digits():
    return load_dataset("builtin:digits", 32, 3, size=4000)


@pytest.fixture(scope="session")
def digits_judge(digits):
    # Seven short epochs on 3,600 images: 0.99+ held out, in about ten seconds on two cores.
    return train_judge(digits, epochs=7, width=16, seed=0)


class ImagesGenerator(nn.Module):
    """Stands in for G: returns real images of the requested class, plus optional noise."""

    def __init__(self, dataset, noise: float = 0.0, seed: int = 0):
        super().__init__()
        self.images = dataset.images.float().div(127.5).sub(1.0)
        self.labels = dataset.labels
        self.noise = noise
        self.anchor = nn.Parameter(torch.zeros(1))  # so that next(parameters()) names a device
        self.gen = torch.Generator().manual_seed(seed)
        self.pools = {k: (self.labels == k).nonzero().flatten() for k in self.labels.unique().tolist()}

    def forward(self, z, cond):
        picks = []
        for k in cond.argmax(1).tolist():
            pool = self.pools[k]
            picks.append(pool[torch.randint(len(pool), (1,), generator=self.gen)])
        images = self.images[torch.cat(picks)]
        return (images + self.noise * torch.randn(images.shape, generator=self.gen)).clamp(-1, 1)


@pytest.fixture
def images_generator():
    """The class of a stand-in G drawing real images (``images_generator(dataset, noise)``)."""
    return ImagesGenerator

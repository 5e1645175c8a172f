"""Small builders shared by the tests."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from studio.core.conditions import Categorical, MultiAttribute, MultiLabel, NoCondition
from studio.core.config import TrainConfig
from studio.data.dataset import ImageDataset

SPACES = {
    "none": NoCondition(),
    "categorical": Categorical([str(i) for i in range(4)]),
    "multi-attribute": MultiAttribute([("hair", ["red", "blue", "green"]), ("eyes", ["black", "brown"])]),
    "multi-label": MultiLabel([f"obj{i}" for i in range(6)], 1, 3),
}


def cli_settings(**values) -> list[str]:
    """``--set KEY=VALUE`` arguments for the command line, each value written as JSON."""
    return [arg for key, value in values.items() for arg in ("--set", f"{key}={json.dumps(value)}")]


# The command line's tiny run: a 2-epoch hair x eyes project trained in seconds.
CLI_TINY = cli_settings(
    dataset_size=48, image_size=32, ngf=4, ndf=4, batch_size=16, epochs=2, log_every=1, precision="float32"
)


def new_cli_project(folder: Path, *extra: str) -> Path:
    """A hair x eyes project made at ``folder`` by the ``new`` command with :data:`CLI_TINY` (then ``extra``)."""
    from studio.cli import main

    assert main(["new", str(folder), "--preset", "acgan-hair-eyes", *CLI_TINY, *extra]) == 0
    return folder


def tiny_config(**changes) -> TrainConfig:
    base = dict(
        image_size=32,
        nz=8,
        ngf=4,
        ndf=4,
        batch_size=8,
        epochs=2,
        log_every=1,
        device="cpu",
        precision="float32",
        cpu_threads=1,  # tiny models gain nothing from a second thread, and a fixed count repeats bit for bit
        sample_grid_max=16,
    )
    base.update(changes)
    return TrainConfig(**base)


def random_dataset(space, n: int = 32, size: int = 32, channels: int = 3, seed: int = 0) -> ImageDataset:
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8, generator=g)
    labels = space.sample(n, g) if space.is_conditional else torch.zeros(n, 0)
    return ImageDataset(images, labels, space, "test:random")

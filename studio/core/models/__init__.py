"""Generator and discriminator families, built from a :class:`TrainConfig`."""

from studio.core.models.discriminator import Discriminator
from studio.core.models.generator import Generator
from studio.core.models.init import dcgan_init

__all__ = ["Generator", "Discriminator", "build_models", "dcgan_init", "count_parameters"]


def build_models(config, space):
    """G and D for ``config`` over condition ``space``, with DCGAN initialisation."""
    g = Generator(config, space)
    d = Discriminator(config, space)
    g.apply(dcgan_init)
    d.apply(dcgan_init)
    g.reset_embedding()
    return g, d


def count_parameters(module) -> int:
    return sum(p.numel() for p in module.parameters())

"""Every condition space x every D conditioning x every loss builds and trains a step."""

import itertools

import pytest
import torch
from helpers import SPACES, random_dataset, tiny_config

from studio.core.events import RunFinished, StepMetrics
from studio.core.models import build_models
from studio.core.models.dropout import ByteDropout
from studio.core.rundir import RunDirectory
from studio.core.trainer import Trainer

FAMILIES = ["dcgan", "cgan-concat", "cgan-projection", "acgan"]
LOSSES = ["bce", "hinge", "wgan-gp"]
CASES = [
    (space, family, loss)
    for space, family, loss in itertools.product(SPACES, FAMILIES, LOSSES)
    if family == "dcgan" or space != "none"
]


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("space_name,family,loss", CASES)
def test_builds_and_takes_a_step(tmp_path, space_name, family, loss, size):
    space = SPACES[space_name]
    cfg = tiny_config(family=family, loss=loss, image_size=size, d_batchnorm=loss != "wgan-gp", epochs=1)
    events = []
    trainer = Trainer(
        cfg,
        random_dataset(space, n=16, size=size),
        RunDirectory(tmp_path),
        events.append,
        max_steps=1,
        write_files=False,
    )
    before = [p.detach().clone() for p in trainer_models(trainer)]
    result = trainer.run()
    assert result.reason == "stopped", result.message
    steps = [e for e in events if isinstance(e, StepMetrics)]
    assert len(steps) == 1
    values = steps[0].values
    assert all(torch.isfinite(torch.tensor(values[k])) for k in ("d_loss", "g_loss", "d_x", "d_g_z1", "d_g_z2"))
    assert (values["aux_acc_real"] is not None) == (family == "acgan")
    after = list(trainer_models(trainer))
    assert any(not torch.equal(a, b) for a, b in zip(before, after)), "no weight changed"
    assert isinstance(events[-1], RunFinished)


def trainer_models(trainer):
    # Parameters exist only once run() set the trainer up; build the same models to compare.
    if not hasattr(trainer, "g"):
        torch.manual_seed(trainer.config.seed)
        g, d = build_models(trainer.config, trainer.space)
        return [*g.parameters(), *d.parameters()]
    return [*trainer.g.parameters(), *trainer.d.parameters()]


@pytest.mark.parametrize("size,channels", [(32, 1), (64, 3), (128, 3)])
def test_generator_and_discriminator_shapes(size, channels):
    space = SPACES["multi-attribute"]
    cfg = tiny_config(family="acgan", image_size=size, channels=channels)
    g, d = build_models(cfg, space)
    cond = space.encode(space.sample(3))
    images = g(torch.randn(3, cfg.nz), cond)
    assert images.shape == (3, channels, size, size)
    assert images.abs().max() <= 1.0
    logit, aux = d(images, cond)
    assert logit.shape == (3,) and aux.shape == (3, space.aux_dim)


def test_multiply_conditioning_scales_z_by_a_label_embedding():
    space = SPACES["categorical"]
    cfg = tiny_config(family="acgan", g_conditioning="multiply")
    g, _ = build_models(cfg, space)
    g.eval()
    z = torch.randn(1, cfg.nz)
    a = g(z, space.encode(torch.tensor([0])))
    b = g(z, space.encode(torch.tensor([1])))
    assert not torch.allclose(a, b)
    assert g.embed.weight.shape == (cfg.nz, space.dim)


def test_spectral_norm_and_dropout_options():
    cfg = tiny_config(family="cgan-projection", d_spectral_norm=True, d_dropout=0.3)
    _, d = build_models(cfg, SPACES["categorical"])
    assert any(hasattr(m, "parametrizations") for m in d.modules())
    assert any(isinstance(m, ByteDropout) and m.p == 0.3 for m in d.modules())


@pytest.mark.parametrize("space_name", ["categorical", "multi-label", "multi-attribute"])
def test_cbn_conditioning_makes_every_batchnorm_follow_the_condition(space_name):
    from studio.core.models.generator import ConditionalBatchNorm2d

    space = SPACES[space_name]
    cfg = tiny_config(family="acgan", g_conditioning="cbn", g_embed=16)
    g, d = build_models(cfg, space)
    norms = [m for m in g.modules() if isinstance(m, ConditionalBatchNorm2d)]
    assert norms and not any(type(m) is torch.nn.BatchNorm2d and m.affine for m in g.modules())
    assert all(m.gain.in_features == 16 for m in norms)
    cond = space.encode(space.sample(4))
    images = g(torch.randn(4, cfg.nz), cond)
    assert images.shape[0] == 4
    (d(images, cond)[0].mean() + images.mean()).backward()
    assert all(m.gain.weight.grad is not None and m.gain.weight.grad.abs().sum() > 0 for m in norms)
    # With the same z and the input embedding held fixed, a change of condition
    # still changes the image through the norms alone.
    g.eval()
    z = torch.randn(1, cfg.nz)
    conds = space.encode(space.sample(32))
    one = conds[:1]
    other = next(c[None] for c in conds if not torch.equal(c[None], one))
    e = g.embed(one)
    h1 = h2 = torch.cat([z, e], dim=1)
    for layer in g.main:
        if isinstance(layer, ConditionalBatchNorm2d):
            h1, h2 = layer(h1, e), layer(h2, g.embed(other))
        else:
            h1, h2 = layer(h1), layer(h2)
    assert not torch.allclose(h1, h2)


def test_minibatch_std_tells_a_batch_of_copies_from_a_varied_one():
    from studio.core.models.discriminator import minibatch_std

    varied = torch.randn(8, 5, 4, 4)
    copies = varied[:1].expand(8, -1, -1, -1)
    assert minibatch_std(copies).max() < 1e-3
    assert minibatch_std(varied).min() > 0.5
    assert minibatch_std(varied).shape == (8, 1, 4, 4)
    # Groups of 4 with 8 images: images 0 and 4 share a group, 0 and 1 do not.
    mixed = varied.clone()
    mixed[4] = mixed[0]
    mixed[[2, 6]] = mixed[[2, 6]] * 0 + mixed[2]  # group {2, 6} holds copies too
    out = minibatch_std(mixed)[:, 0, 0, 0]
    assert torch.equal(out[0], out[4]) and torch.equal(out[2], out[6]) and not torch.equal(out[0], out[1])
    # A batch no group size divides: every image alone, so no information but no failure.
    assert minibatch_std(torch.randn(5, 3, 4, 4)).max() < 1e-3


@pytest.mark.parametrize("family", ["dcgan", "cgan-concat", "cgan-projection", "acgan"])
def test_discriminator_with_minibatch_std_trains(family):
    space = SPACES["none" if family == "dcgan" else "categorical"]
    cfg = tiny_config(family=family, d_minibatch_std=True)
    g, d = build_models(cfg, space)
    cond = space.encode(space.sample(4)) if space.is_conditional else None
    images = g(torch.randn(4, cfg.nz), cond) if cond is not None else g(torch.randn(4, cfg.nz))
    logit, aux = d(images, cond)
    assert logit.shape == (4,)
    logit.sum().backward()
    head = d.head[0] if isinstance(d.head[0], torch.nn.Conv2d) else d.head[1]
    assert head.weight.shape[1] in (d.feature_channels + 1, (d.feature_channels + 1) * 16)
    assert head.weight.grad is not None

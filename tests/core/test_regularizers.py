"""LeCam and lazy R1: what each computes, when the trainer applies it, and that a resume repeats a straight run."""

import pytest
import torch
from helpers import SPACES, random_dataset, tiny_config
from test_trainer import assert_same_weights, train

import studio.core.regularizers as regularizers
from studio.core.checkpoint import load_checkpoint
from studio.core.config import TrainConfig
from studio.core.regularizers import LazyR1, LeCam, lecam_penalty, r1_penalty
from studio.errors import ConfigError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# --- LeCam -------------------------------------------------------------------------------------------------------
def test_lecam_penalty_matches_hand_computed_logits():
    real = torch.tensor([2.0, -1.0, 0.5])
    fake = torch.tensor([-2.0, 1.0, 0.0])
    alpha_real, alpha_fake = torch.tensor(0.5), torch.tensor(-0.5)
    # relu(real - alpha_F) = [2.5, 0, 1.0]; relu(alpha_R - fake) = [2.5, 0, 0.5]
    expected = (2.5**2 + 0 + 1.0**2) / 3 + (2.5**2 + 0 + 0.5**2) / 3
    value = lecam_penalty(real, fake, alpha_real, alpha_fake)
    assert value.dtype == torch.float32
    assert value.item() == pytest.approx(expected, rel=1e-6)


def test_lecam_averages_are_bias_corrected_moving_averages_updated_before_the_penalty():
    lecam = LeCam(weight=1.0, decay=0.99)
    assert torch.equal(lecam.averages(), torch.zeros(2))
    # The first update gives that batch's means exactly (zero-initialised, then bias-corrected).
    torch.testing.assert_close(lecam.update(torch.tensor([1.0, -1.0])), torch.tensor([1.0, -1.0]))
    # The second: (0.99 * 0.01 * x1 + 0.01 * x2) / (1 - 0.99^2) = (0.99 x1 + x2) / 1.99.
    second = lecam.update(torch.tensor([3.0, 1.0]))
    torch.testing.assert_close(second, torch.tensor([(0.99 + 3.0) / 1.99, (-0.99 + 1.0) / 1.99]))
    assert lecam.updates == 2

    # A call folds the batch's means in first, then weighs the penalty against the updated averages.
    lecam = LeCam(weight=0.3, decay=0.99)
    lecam.update(torch.tensor([1.0, -1.0]))
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([-1.0, -3.0])  # means 1 and -2
    value = lecam(real, fake)
    alpha = torch.tensor([(0.99 * 1.0 + 1.0) / 1.99, (0.99 * -1.0 - 2.0) / 1.99])
    torch.testing.assert_close(lecam.averages(), alpha)
    torch.testing.assert_close(value, 0.3 * lecam_penalty(real, fake, alpha[0], alpha[1]))


def test_lecam_averages_the_means_over_ranks_before_updating():
    seen = []

    def average_(means):  # what a 2-rank group does when the other rank's means are [5, -5]
        seen.append(means.clone())
        means.add_(torch.tensor([5.0, -5.0])).div_(2)

    lecam = LeCam(weight=1.0)
    lecam(torch.tensor([1.0, 3.0]), torch.tensor([-1.0, -3.0]), average_)
    torch.testing.assert_close(seen[0], torch.tensor([2.0, -2.0]))
    torch.testing.assert_close(lecam.averages(), torch.tensor([3.5, -3.5]))


def test_lecam_gradient_pulls_d_outputs_towards_the_opposite_averages():
    alpha_real, alpha_fake = torch.tensor(1.0), torch.tensor(-1.0)
    real = torch.tensor([2.0, 0.5, -3.0], requires_grad=True)  # the last is already below alpha_F
    fake = torch.tensor([-2.0, -0.5, 4.0], requires_grad=True)  # the last is already above alpha_R
    lecam_penalty(real, fake, alpha_real, alpha_fake).backward()
    assert (real.grad[:2] > 0).all() and real.grad[2] == 0  # descent lowers real logits towards alpha_F
    assert (fake.grad[:2] < 0).all() and fake.grad[2] == 0  # and raises fake logits towards alpha_R
    with torch.no_grad():
        new_real, new_fake = real - 0.1 * real.grad, fake - 0.1 * fake.grad
    assert ((new_real[:2] - alpha_fake).abs() < (real[:2] - alpha_fake).abs()).all()
    assert ((new_fake[:2] - alpha_real).abs() < (fake[:2] - alpha_real).abs()).all()


def test_lecam_state_round_trips_and_refuses_a_malformed_one():
    lecam = LeCam(weight=1.0)
    lecam.update(torch.tensor([0.7, -0.2]))
    other = LeCam(weight=1.0)
    other.load_state_dict(lecam.state_dict())
    assert other.updates == 1 and torch.equal(other.averages(), lecam.averages())
    with pytest.raises(ValueError):
        other.load_state_dict({"biased": torch.zeros(3), "updates": 1})
    with pytest.raises(KeyError):
        other.load_state_dict({"updates": 1})


# --- R1 ----------------------------------------------------------------------------------------------------------
class LinearD(torch.nn.Module):
    """D(x, c) = (w . x) * (1 + u . c) + b: its gradient in x is w * (1 + u . c), exactly."""

    def __init__(self, shape, cond_dim):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w = torch.nn.Parameter(torch.randn(shape, generator=g))
        self.u = torch.nn.Parameter(torch.randn(cond_dim, generator=g))
        self.b = torch.nn.Parameter(torch.tensor(0.3))

    def forward(self, x, cond):
        logit = (x * self.w).flatten(1).sum(1) * (1 + cond @ self.u) + self.b
        return logit, None


def test_r1_is_the_squared_gradient_norm_for_a_linear_d_and_includes_the_condition():
    d = LinearD((3, 4, 4), cond_dim=2)
    x = torch.randn(5, 3, 4, 4)
    cond = torch.randn(5, 2)
    with torch.no_grad():
        expected = (d.w.square().sum() * (1 + cond @ d.u).square()).mean()
    value = r1_penalty(d, x, cond)
    torch.testing.assert_close(value, expected)
    # Differentiable in D's weights: d/dw of mean(||w||^2 s_i^2) = 2 w mean(s_i^2).
    value.backward()
    with torch.no_grad():
        torch.testing.assert_close(d.w.grad, 2 * d.w * (1 + cond @ d.u).square().mean())
    lazy = LazyR1(gamma=0.5, every=16)
    torch.testing.assert_close(lazy(d, x, cond).detach(), 0.5 / 2 * 16 * expected)
    assert [s for s in range(40) if lazy.due(s)] == [0, 16, 32]


def test_trainer_applies_r1_every_r1_every_steps_scaled_by_it_and_nothing_when_off(tmp_path, monkeypatch):
    import studio.core.trainer as trainer_module

    steps, penalties, terms = [], [], []
    d_step, penalty, lazy_call = trainer_module.Trainer._d_step, regularizers.r1_penalty, LazyR1.__call__

    def spy_d_step(self, *args, **kwargs):
        steps.append(self.step)
        return d_step(self, *args, **kwargs)

    def spy_penalty(discriminator, real, cond):
        penalties.append((steps[-1], penalty(discriminator, real, cond)))
        return penalties[-1][1]

    def spy_call(self, discriminator, real, cond):
        terms.append(lazy_call(self, discriminator, real, cond))
        return terms[-1]

    monkeypatch.setattr(trainer_module.Trainer, "_d_step", spy_d_step)
    monkeypatch.setattr(regularizers, "r1_penalty", spy_penalty)
    monkeypatch.setattr(LazyR1, "__call__", spy_call)
    cfg = tiny_config(family="cgan-projection", d_batchnorm=False, r1_gamma=2.0, r1_every=3, epochs=2)
    train(tmp_path, cfg, name="r1")  # 2 epochs x 4 steps
    assert steps == list(range(8))
    assert [step for step, _ in penalties] == [0, 3, 6]
    for (_, value), term in zip(penalties, terms):
        assert value.item() > 0
        torch.testing.assert_close(term, 2.0 / 2 * 3 * value)

    penalties.clear()
    off, *_ = train(tmp_path, tiny_config(family="cgan-projection", d_batchnorm=False), name="off")
    assert penalties == [] and off.r1 is None and off.lecam is None


# --- settings ------------------------------------------------------------------------------------------------------
def test_settings_are_off_by_default_and_refuse_bad_values_by_name():
    cfg = TrainConfig()
    assert (cfg.lecam_weight, cfg.r1_gamma, cfg.r1_every) == (0.0, 0.0, 16)
    with pytest.raises(ConfigError, match="p.json: R1 .*BatchNorm in D.*turn d_batchnorm off"):
        TrainConfig.from_dict({"r1_gamma": 1.0}, source="p.json")
    TrainConfig.from_dict({"r1_gamma": 1.0, "d_batchnorm": False})  # accepted
    TrainConfig.from_dict({"lecam_weight": 0.3})  # LeCam reads logits only: BatchNorm is fine
    with pytest.raises(ConfigError, match="r1_every is 0; it must be at least 1"):
        TrainConfig.from_dict({"r1_every": 0})
    with pytest.raises(ConfigError, match="lecam_weight is -0.1; it must be at least 0"):
        TrainConfig.from_dict({"lecam_weight": -0.1})
    with pytest.raises(ConfigError, match="r1_gamma is -1.0; it must be at least 0"):
        TrainConfig.from_dict({"r1_gamma": -1.0, "d_batchnorm": False})


# --- the trainer -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "extra",
    [
        {"family": "acgan", "lecam_weight": 0.3},
        {"family": "cgan-concat", "d_batchnorm": False, "r1_gamma": 10.0, "r1_every": 2},
        {"family": "dcgan", "loss": "hinge", "d_batchnorm": False, "lecam_weight": 0.3, "r1_gamma": 1.0},
    ],
)
def test_a_tiny_run_with_the_regularisers_on_stays_finite(tmp_path, extra):
    cfg = tiny_config(**extra)
    dataset = random_dataset(SPACES["none"] if extra["family"] == "dcgan" else SPACES["multi-attribute"])
    trainer, run, _, result = train(tmp_path, cfg, dataset=dataset)
    assert result.reason == "completed", result.message
    for module in (trainer.g, trainer.d):
        assert all(torch.isfinite(p).all() for p in module.parameters())
    state = load_checkpoint(run.checkpoint_path(2))
    if cfg.lecam_weight:
        assert state["lecam"]["updates"] == trainer.step == 8
        assert torch.isfinite(state["lecam"]["biased"]).all() and state["lecam"]["biased"].abs().sum() > 0
    else:
        assert state["lecam"] is None


def test_resume_with_lecam_gives_the_same_weights_and_averages_as_a_straight_run(tmp_path):
    cfg = tiny_config(family="acgan", epochs=4, lecam_weight=0.5, label_noise=0.1)
    straight, *_ = train(tmp_path, cfg, name="straight")
    _, run, _, _ = train(tmp_path, cfg.replace(epochs=2), name="split")
    resumed, _, _, result = train(tmp_path, cfg, run=run, resume_from=run.checkpoint_path(2))
    assert result.reason == "completed" and resumed.step == straight.step == 16
    assert_same_weights(straight, resumed)
    assert resumed.lecam.updates == straight.lecam.updates == 16
    assert torch.equal(resumed.lecam.biased, straight.lecam.biased)


def test_a_checkpoint_without_lecam_averages_resumes_with_fresh_ones(tmp_path):
    cfg = tiny_config(family="acgan", epochs=2)
    _, run, _, _ = train(tmp_path, cfg, name="old")
    assert load_checkpoint(run.checkpoint_path(2))["lecam"] is None
    resumed, _, _, result = train(
        tmp_path, cfg.replace(epochs=3, lecam_weight=0.3), run=run, resume_from=run.checkpoint_path(2)
    )
    assert result.reason == "completed" and resumed.step == 12
    assert resumed.lecam.updates == 4  # the averages started at the resume

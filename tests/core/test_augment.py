import math

import pytest
import torch
from helpers import SPACES, random_dataset, tiny_config

import studio.core.trainer as trainer_module
from studio.app.reporting import model_text
from studio.core.augment import (
    AUTO_MAX_IMAGES,
    POLICIES,
    BatchDraws,
    colour_conditions,
    consistency_loss,
    diff_augment,
    parse_policy,
    rand_color,
    rand_cutout,
    rand_translation,
    resolve_policy,
)
from studio.core.checkpoint import load_checkpoint, save_checkpoint
from studio.core.conditions import Categorical, ColourSpace, MultiAttribute, MultiLabel, NoCondition
from studio.core.config import TrainConfig
from studio.core.events import RunStarted, StepMetrics
from studio.core.rundir import RunDirectory
from studio.core.trainer import Trainer
from studio.data.builtin.faces import EYE_COLOURS, HAIR_COLOURS
from studio.data.builtin.shapes import OBJECT_NAMES
from studio.errors import ConfigError

FACES = MultiAttribute([("hair", [n for n, _ in HAIR_COLOURS]), ("eyes", [n for n, _ in EYE_COLOURS])])
FACES_RGB = ColourSpace(["hair", "eyes"])
SHAPES = MultiLabel(OBJECT_NAMES, 1, 3)
CIFAR = Categorical(["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"])
DIGITS = Categorical([str(i) for i in range(10)], attribute="digit")


def positive_images(b=16, c=3, h=16, w=16) -> torch.Tensor:
    """Distinct, strictly positive values, so a zero can only have entered from outside."""
    return (torch.arange(b * c * h * w, dtype=torch.float32).view(b, c, h, w) + 1.0).contiguous(
        memory_format=torch.channels_last
    )


# --- the policies ----------------------------------------------------------------
def test_translation_shifts_content_with_zeros_entering():
    torch.manual_seed(0)
    x = positive_images()
    y = rand_translation(x)
    assert y.shape == x.shape and y.is_contiguous(memory_format=torch.channels_last)
    h = x.shape[2]
    limit = int(h * 0.125 + 0.5)  # 2 pixels of 16
    shifts = []
    for i in range(x.shape[0]):
        found = None
        for dy in range(-limit, limit + 1):
            for dx in range(-limit, limit + 1):
                padded = torch.nn.functional.pad(x[i], (limit, limit, limit, limit))
                window = padded[:, limit + dy : limit + dy + h, limit + dx : limit + dx + h]
                if torch.equal(y[i], window):
                    found = (dy, dx)
        assert found is not None, f"image {i} is not a shift of its input by at most {limit} pixels"
        shifts.append(found)
    assert len(set(shifts)) > 1 and any(s != (0, 0) for s in shifts)


def test_cutout_zeroes_one_square_of_half_the_side_per_image():
    torch.manual_seed(1)
    x = positive_images(b=64)
    y = rand_cutout(x)
    side = x.shape[2] // 2
    full_squares = 0
    for i in range(x.shape[0]):
        zero = y[i] == 0
        assert torch.equal(zero[0], zero[1]) and torch.equal(zero[0], zero[2])  # the same square in every channel
        assert torch.equal(y[i][~zero], x[i][~zero])  # nothing else changed
        rows = zero[0].any(dim=1).nonzero().flatten()
        cols = zero[0].any(dim=0).nonzero().flatten()
        assert len(rows) and len(cols)
        # One axis-aligned rectangle: the square clipped at the border (the paper's code draws its centre anywhere).
        assert int(zero[0].sum()) == len(rows) * len(cols)
        assert rows.tolist() == list(range(rows[0], rows[-1] + 1)) and cols.tolist() == list(
            range(cols[0], cols[-1] + 1)
        )
        for idx in (rows, cols):
            assert len(idx) <= side
            if len(idx) < side:
                assert idx[0] == 0 or idx[-1] == x.shape[2] - 1, "a square cut short away from the border"
        full_squares += len(rows) == side and len(cols) == side
    assert full_squares > 0


def test_colour_changes_values_not_places():
    torch.manual_seed(2)
    x = torch.rand(8, 3, 8, 8) * 2 - 1
    x[:, :, 0, 0] = x[:, :, 7, 7]  # two pixels of the same colour in each image
    y = rand_color(x)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert not torch.allclose(y, x)
    # A per-image function of the pixel's colour: equal colours stay equal wherever they are.
    assert torch.equal(y[:, :, 0, 0], y[:, :, 7, 7])


def test_colour_is_the_papers_brightness_saturation_contrast():
    x = torch.rand(16, 3, 8, 8) * 2 - 1
    torch.manual_seed(5)
    y = rand_color(x)
    torch.manual_seed(5)
    u = [torch.rand(16, 1, 1, 1) for _ in range(3)]  # the same draws, in the same order
    expected = x + (u[0] - 0.5)
    mean = expected.mean(dim=1, keepdim=True)
    expected = (expected - mean) * (u[1] * 2) + mean
    mean = expected.mean(dim=(1, 2, 3), keepdim=True)
    expected = (expected - mean) * (u[2] + 0.5) + mean
    torch.testing.assert_close(y, expected, rtol=0, atol=1e-5)


def test_off_returns_the_input_itself_and_every_policy_keeps_layout_and_gradients():
    x = positive_images(b=4, h=8, w=8)
    assert diff_augment(x, ()) is x
    x = (torch.rand(4, 3, 8, 8) * 2 - 1).contiguous(memory_format=torch.channels_last).requires_grad_(True)
    for policy in [("color",), ("translation",), ("cutout",), POLICIES]:
        x.grad = None
        y = diff_augment(x, policy)
        assert y.shape == x.shape and y.is_contiguous(memory_format=torch.channels_last)
        (y * torch.randn_like(y)).sum().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0, policy


def test_bfloat16_under_autocast_stays_bfloat16_and_finite():
    conv = torch.nn.Conv2d(3, 3, 3, padding=1)
    x = torch.randn(4, 3, 8, 8).contiguous(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        image = conv(x)
        assert image.dtype == torch.bfloat16
        y = diff_augment(image, POLICIES)
    assert y.dtype == torch.bfloat16 and torch.isfinite(y.float()).all()
    y.float().sum().backward()
    assert torch.isfinite(conv.weight.grad).all()


def test_processes_sharing_a_batch_augment_it_as_one_process_would():
    x = torch.rand(8, 3, 16, 16) * 2 - 1
    torch.manual_seed(4)
    alone = diff_augment(x, POLICIES)
    shares = []
    for rank in range(2):
        torch.manual_seed(4)
        draws = BatchDraws(lambda t, r=rank: t.chunk(2)[r], world=2)
        shares.append(diff_augment(x[4 * rank : 4 * rank + 4], POLICIES, draws))
    torch.testing.assert_close(torch.cat(shares), alone, rtol=0, atol=1e-6)


# --- the setting -------------------------------------------------------------------
def test_parse_policy_reads_lists_and_names_what_it_does_not_know():
    assert parse_policy("cutout, Translation") == ("translation", "cutout")
    assert parse_policy("colour,cutout") == ("color", "cutout")
    assert parse_policy("off") == ()
    with pytest.raises(ConfigError, match="'flip' is not a policy"):
        parse_policy("translation,flip")


def test_settings_are_validated_by_name():
    with pytest.raises(ConfigError, match="diffaugment"):
        TrainConfig(diffaugment="rotate").validate()
    with pytest.raises(ConfigError, match="cr_weight"):
        TrainConfig(cr_weight=-1.0).validate()
    TrainConfig(diffaugment="translation,cutout", cr_weight=10.0).validate()


@pytest.mark.parametrize(
    "space,coloured",
    [(FACES, True), (FACES_RGB, True), (SHAPES, True), (CIFAR, False), (DIGITS, False), (NoCondition(), False)],
)
def test_colour_conditioned_spaces_are_recognised(space, coloured):
    assert bool(colour_conditions(space)) == coloured


def test_auto_turns_on_for_small_sets_and_drops_colour_for_colour_conditions():
    auto = TrainConfig(diffaugment="auto")
    assert resolve_policy(auto, 10_000, CIFAR) == ("color", "translation", "cutout")
    assert resolve_policy(auto, AUTO_MAX_IMAGES, CIFAR) == ()
    assert resolve_policy(auto, 10_000, FACES) == ("translation", "cutout")
    assert resolve_policy(auto, 10_000, FACES_RGB) == ("translation", "cutout")
    assert resolve_policy(auto, 10_000, NoCondition()) == POLICIES  # an unconditional model may change colours
    assert resolve_policy(TrainConfig(diffaugment="off"), 100, CIFAR) == ()
    assert resolve_policy(TrainConfig(diffaugment="cutout"), 10**6, CIFAR) == ("cutout",)


def test_explicit_colour_on_a_colour_conditioned_space_is_refused_with_the_reason():
    cfg = TrainConfig(family="acgan", diffaugment="translation,color")
    with pytest.raises(ConfigError, match=r"diffaugment includes color, but the hair conditions name colours \(orange"):
        cfg.check_against(FACES, source="project.json")
    with pytest.raises(ConfigError, match="RGB colours"):
        resolve_policy(cfg, 100, FACES_RGB)
    cfg.check_against(CIFAR)  # colour of objects is no condition there
    TrainConfig(family="dcgan", diffaugment="color").check_against(FACES)  # unconditional: nothing to teach wrong


# --- consistency regularisation ------------------------------------------------------
def summing_d(x, cond):
    return x.flatten(1).sum(1), None


def test_consistency_term_is_zero_for_a_shift_invariant_d_and_positive_otherwise():
    torch.manual_seed(3)
    # Content away from the border by more than the largest shift (2 px of 16): summing D cannot tell a shift.
    centred = torch.zeros(8, 3, 16, 16)
    centred[:, :, 4:12, 4:12] = torch.randint(1, 5, (8, 3, 8, 8)).float()
    assert consistency_loss(summing_d, centred, None, summing_d(centred, None)[0]).item() == 0.0
    # Filling the frame, a shift drops some of it.
    full = torch.randint(1, 5, (8, 3, 16, 16)).float()
    assert consistency_loss(summing_d, full, None, summing_d(full, None)[0]).item() > 0.0


# --- in training -------------------------------------------------------------------------
def test_tiny_run_with_diffaugment_and_consistency_stays_finite(tmp_path, monkeypatch):
    seen = []
    real_augment = trainer_module.diff_augment

    def spy(x, policy, *draws):
        seen.append(policy)
        return real_augment(x, policy, *draws)

    monkeypatch.setattr(trainer_module, "diff_augment", spy)
    space = SPACES["categorical"]
    cfg = tiny_config(family="acgan", epochs=1, cr_weight=10.0, diffaugment="auto")  # a small set: all three
    run = RunDirectory.create(tmp_path, cfg, run_id="run")
    events = []
    result = Trainer(cfg, random_dataset(space), run, events.append).run()
    assert result.reason == "completed", result
    started = next(e for e in events if isinstance(e, RunStarted))
    assert started.augment == "color,translation,cutout"
    assert "DiffAugment color,translation,cutout" in model_text(started)
    steps = [e for e in events if isinstance(e, StepMetrics)]
    assert steps and all(math.isfinite(v) for e in steps for v in e.values.values() if v is not None)
    # Real and fake in D's step, the fake again in G's: three per iteration, all with the resolved policy.
    assert len(seen) == 3 * steps[-1].step and set(seen) == {POLICIES}


def test_tiny_run_on_colour_conditions_augments_without_colour(tmp_path):
    cfg = tiny_config(family="cgan-projection", epochs=1, precision="bfloat16", diffaugment="auto")
    run = RunDirectory.create(tmp_path, cfg, run_id="run")
    events = []
    result = Trainer(cfg, random_dataset(SPACES["multi-attribute"]), run, events.append).run()
    assert result.reason == "completed", result
    assert next(e for e in events if isinstance(e, RunStarted)).augment == "translation,cutout"
    off = RunStarted("run", "cpu", "float32", 0, 0, 2, 7, 16, 1, 1, False, augment="off")
    assert "DiffAugment" not in model_text(off)


def test_a_run_trained_before_diffaugment_resumes_unaugmented(tmp_path):
    space = SPACES["categorical"]
    cfg = tiny_config(family="acgan", epochs=1, diffaugment="auto")  # would augment this small set when new
    run = RunDirectory.create(tmp_path, cfg, run_id="run")
    assert Trainer(cfg, random_dataset(space), run).run().reason == "completed"
    path = run.checkpoints()[-1].path
    state = load_checkpoint(path)
    state.pop("checksums")
    del state["config"]["diffaugment"], state["config"]["cr_weight"]  # as written before these settings
    save_checkpoint(path, state)
    events = []
    longer = cfg.replace(epochs=2)
    result = Trainer(longer, random_dataset(space), run, events.append, resume_from=path).run()
    assert result.reason == "completed", result
    assert next(e for e in events if isinstance(e, RunStarted)).augment == "off"

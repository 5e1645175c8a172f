import re
from dataclasses import fields

import pytest
import torch

from studio.core.conditions import Categorical, NoCondition
from studio.core.config import TrainConfig, field_help
from studio.core.models import build_models, count_parameters
from studio.data.dataset import builtin_space
from studio.errors import ConfigError
from studio.presets import list_presets, load_preset


def test_round_trip_and_defaults():
    cfg = TrainConfig()
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_unknown_and_mistyped_settings_are_named():
    with pytest.raises(ConfigError, match="unknown setting.*ngff"):
        TrainConfig.from_dict({"ngff": 3}, source="p.json")
    with pytest.raises(ConfigError, match="p.json: batch_size must be a int"):
        TrainConfig.from_dict({"batch_size": "big"}, source="p.json")
    with pytest.raises(ConfigError, match="image_size is 48"):
        TrainConfig.from_dict({"image_size": 48})
    with pytest.raises(ConfigError, match="at least 1"):
        TrainConfig.from_dict({"epochs": 0})


def test_impossible_combinations_are_refused_with_a_reason():
    with pytest.raises(ConfigError, match="BatchNorm"):
        TrainConfig.from_dict({"loss": "wgan-gp", "d_batchnorm": True})
    with pytest.raises(ConfigError, match="needs a labelled dataset"):
        TrainConfig(family="cgan-projection").check_against(NoCondition())
    TrainConfig(family="dcgan").check_against(NoCondition())
    TrainConfig(family="acgan").check_against(Categorical(["a", "b"]))


def test_every_setting_has_help():
    for key in TrainConfig().to_dict():
        assert field_help(key), key


def test_presets_cover_the_recipes_and_are_valid():
    names = {p.name for p in list_presets()}
    assert names >= {
        "acgan-digits",
        "acgan-cifar10",
        "acgan-multilabel-shapes",
        "acgan-shapes-cpu",
        "cgan-hair-eyes",
        "acgan-hair-eyes",
        "dcgan-faces",
        "tiny-demo",
    }


@pytest.mark.parametrize(
    "real, builtin", [("cgan-anime-hair-eyes", "cgan-hair-eyes"), ("acgan-anime-hair-eyes", "acgan-hair-eyes")]
)
def test_anime_presets_are_the_hair_eyes_models_on_the_anime_table(real, builtin):
    # The figures measured on the built-in faces carry over only while the models stay the same.
    on_real, on_builtin = load_preset(real).config.to_dict(), load_preset(builtin).config.to_dict()
    assert {k for k in on_real if on_real[k] != on_builtin[k]} == {"dataset"}
    assert on_real["dataset"] == "table:~/data/anime-faces/tags.csv"


def test_real_cifar10_preset_is_the_recipe_model_on_real_cifar10():
    # Its description quotes figures of this model; they hold only while it stays the recipe's.
    real, recipe = load_preset("acgan-cifar10-real").config.to_dict(), load_preset("acgan-cifar10").config.to_dict()
    assert {k for k in real if real[k] != recipe[k]} == {"dataset"}
    assert real["dataset"] == "cifar10:~/data"


def test_every_real_data_preset_states_its_figures_and_how_to_measure_them():
    real = [p for p in list_presets() if not p.config.dataset.startswith("builtin:")]
    assert len(real) >= 5
    for preset in real:
        assert "python -m studio evaluate" in preset.description or "python benchmarks/" in preset.description, (
            preset.name
        )
        assert re.search(r"\b0\.\d\d", preset.description), f"{preset.name}: no measured figure"


def test_fashion_mnist_preset_is_the_mnist_model_on_fashion_mnist():
    # Its description quotes figures of this model; they hold only while it stays acgan-mnist's.
    fashion, mnist = load_preset("acgan-fashion-mnist").config.to_dict(), load_preset("acgan-mnist").config.to_dict()
    assert {k for k in fashion if fashion[k] != mnist[k]} == {"dataset", "epochs"}
    assert fashion["dataset"] == "fashion-mnist:~/data" and fashion["epochs"] == 20
    assert "python -m studio evaluate" in load_preset("acgan-fashion-mnist").description


def test_dcgan_faces_preset_is_the_pytorch_tutorial_dcgan():
    cfg = load_preset("dcgan-faces").config
    assert (cfg.nz, cfg.ngf, cfg.ndf, cfg.batch_size, cfg.g_lr, cfg.d_lr) == (100, 64, 64, 64, 2e-4, 2e-4)
    assert cfg.g_betas == [0.5, 0.999] and cfg.family == "dcgan" and cfg.image_size == 64
    assert (cfg.lr_step_epochs, cfg.lr_gamma) == (10, 0.8)
    g, d = build_models(cfg, NoCondition())
    # The parameter counts of the tutorial's Generator and Discriminator.
    assert count_parameters(g) == 3_576_704
    assert count_parameters(d) == 2_765_568
    convs_g = [type(m).__name__ for m in g.modules() if "Conv" in type(m).__name__]
    assert convs_g == ["ConvTranspose2d"] * 5
    assert [m.out_channels for m in d.modules() if type(m).__name__ == "Conv2d"] == [64, 128, 256, 512, 1]


def test_unknown_preset_lists_the_choices():
    with pytest.raises(Exception, match="choose one of .*dcgan-faces"):
        load_preset("nope")


@pytest.mark.parametrize(
    "preset", [p for p in list_presets() if p.config.dataset.startswith("builtin:")], ids=lambda p: p.name
)
def test_builtin_presets_build_for_their_condition_space(preset):
    cfg = preset.config
    space = builtin_space(cfg.dataset.split(":", 1)[1]) if cfg.conditional else NoCondition()
    cfg.check_against(space)
    g, d = build_models(cfg, space)
    g.eval()
    d.eval()
    labels = space.sample(4, torch.Generator().manual_seed(0))
    cond = space.encode(labels) if cfg.conditional else None
    with torch.no_grad():
        images = g(torch.randn(4, cfg.nz), cond)
        logit, aux = d(images, cond)
    assert images.shape == (4, cfg.channels, cfg.image_size, cfg.image_size)
    assert logit.shape == (4,)
    if cfg.family == "acgan":
        assert aux.shape == (4, space.aux_dim)
        assert torch.isfinite(space.aux_loss(aux, labels))
    else:
        assert aux is None


@pytest.mark.parametrize("name", [f.name for f in fields(TrainConfig) if f.type in ("float", float)])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_every_decimal_setting_refuses_nan_and_infinity_by_name(name, value):
    with pytest.raises(ConfigError, match=f"settings.json: {name} is {value}; give a finite number"):
        TrainConfig.from_dict({name: value}, source="settings.json")

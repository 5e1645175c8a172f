"""Model families come from one table, and the settings that define an architecture from the config's fields."""

import pytest
from helpers import SPACES, random_dataset, tiny_config

from studio.core.averaging import GENERATOR_KEYS
from studio.core.conditions import NoCondition
from studio.core.config import (
    FAMILIES,
    FAMILY_TABLE,
    TrainConfig,
    architecture_keys,
    family_keys,
    family_spec,
)
from studio.core.models import Discriminator
from studio.core.rundir import RunDirectory
from studio.core.trainer import Trainer
from studio.errors import ConfigError

SPACE = SPACES["multi-attribute"]


def test_the_family_table_says_what_each_family_is():
    assert FAMILIES == ("dcgan", "cgan-concat", "cgan-projection", "acgan") == tuple(FAMILY_TABLE)
    assert [f.name for f in FAMILY_TABLE.values() if f.conditional] == ["cgan-concat", "cgan-projection", "acgan"]
    assert [f.name for f in FAMILY_TABLE.values() if f.has_aux] == ["acgan"]
    assert {f.name: f.d_mode for f in FAMILY_TABLE.values()} == {
        "dcgan": "none",
        "cgan-concat": "concat",
        "cgan-projection": "projection",
        "acgan": "aux",
    }
    for name in FAMILIES:
        config = tiny_config(family=name)
        assert config.family_spec is family_spec(name) and config.conditional == family_spec(name).conditional
    with pytest.raises(ConfigError, match="choose one of dcgan"):
        family_spec("wgan")


@pytest.mark.parametrize("family", FAMILIES)
def test_discriminator_reads_the_condition_as_its_family_says(family):
    config = tiny_config(family=family)
    assert Discriminator(config, SPACE).mode == family_spec(family).d_mode
    assert Discriminator(config, NoCondition()).mode == "none"


def test_architecture_keys_come_from_field_metadata():
    keys = architecture_keys()
    # Everything the resume check and averaging listed by hand, and g_activation, which only averaging had.
    for key in (
        "family",
        "image_size",
        "channels",
        "nz",
        "ngf",
        "ndf",
        "g_input",
        "g_conditioning",
        "g_embed",
        "g_activation",
        "d_head",
        "d_embed",
        "d_batchnorm",
        "d_spectral_norm",
        "d_minibatch_std",
        "ema",
    ):
        assert key in keys, key
    assert "d_dropout" not in keys and "loss" not in keys and "batch_size" not in keys
    assert set(GENERATOR_KEYS) == set(architecture_keys(part="g"))
    assert "g_activation" in GENERATOR_KEYS and "ndf" not in GENERATOR_KEYS and "ema" not in GENERATOR_KEYS
    assert set(architecture_keys(part="d")) == {
        "image_size",
        "channels",
        "family",
        "ndf",
        "d_head",
        "d_embed",
        "d_batchnorm",
        "d_spectral_norm",
        "d_minibatch_std",
        "aux_loss",
    }
    # Settings of other families define nothing: dcgan has no condition to embed, only cgan-concat a d_embed.
    assert "g_embed" not in architecture_keys("dcgan") and "g_embed" in architecture_keys("acgan")
    assert "d_embed" in architecture_keys("cgan-concat") and "d_embed" not in architecture_keys("acgan")
    assert all(k in TrainConfig.__dataclass_fields__ for k in keys)


def test_family_keys_name_the_settings_of_some_families_only():
    assert family_keys() == {
        "g_conditioning": ("cgan-concat", "cgan-projection", "acgan"),
        "g_embed": ("cgan-concat", "cgan-projection", "acgan"),
        "d_embed": ("cgan-concat",),
        "aux_weight": ("acgan",),
        "aux_on_fake": ("acgan",),
        "aux_loss": ("acgan",),
        "d2d_temperature": ("acgan",),
    }


def _train(tmp_path, cfg, name, resume_from=None):
    run = RunDirectory.create(tmp_path, cfg, run_id=name)
    return Trainer(cfg, random_dataset(SPACE), run, None, resume_from).run()


def test_resume_refuses_another_activation_and_ignores_settings_of_other_families(tmp_path):
    cfg = tiny_config(family="acgan", epochs=1)
    first = RunDirectory.create(tmp_path, cfg, run_id="first")
    assert Trainer(cfg, random_dataset(SPACE), first).run().reason == "completed"
    checkpoint = first.checkpoint_path(1)
    refused = _train(tmp_path, cfg.replace(g_activation="leaky", epochs=2), "leaky", checkpoint)
    assert refused.reason == "error" and "g_activation" in refused.message
    # d_embed shapes only a cgan-concat D: an ACGAN's weights fit whatever it says.
    resumed = _train(tmp_path, cfg.replace(d_embed=32, epochs=2), "embed", checkpoint)
    assert resumed.reason == "completed", resumed.message

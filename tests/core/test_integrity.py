"""Damaged and crafted checkpoints are refused by name, never loaded silently or with a traceback."""

import shutil

import pytest
import torch
from helpers import SPACES, random_dataset, tiny_config

from studio.core.checkpoint import generator_from_checkpoint, load_checkpoint, resume_refusal
from studio.core.rundir import RunDirectory
from studio.core.trainer import Trainer
from studio.errors import CheckpointError


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    cfg = tiny_config(family="acgan", epochs=1, ema=True, ngf=8, ndf=8)
    run = RunDirectory.create(tmp_path_factory.mktemp("runs"), cfg)
    assert Trainer(cfg, random_dataset(SPACES["categorical"]), run).run().reason == "completed"
    return run.checkpoint_path(1)


@pytest.fixture
def checkpoint(trained, tmp_path):
    path = tmp_path / "epoch_0001.pt"
    shutil.copy(trained, path)
    return path


def flip_bytes_of(path, tensor, count=8):
    """Flip ``count`` bytes in the middle of ``tensor``'s payload inside the (uncompressed) zip file."""
    data = bytearray(path.read_bytes())
    raw = bytes(tensor.untyped_storage())  # as stored: the models are channels-last
    at = data.find(raw)
    assert at >= 0 and data.find(raw, at + 1) < 0
    middle = at + len(raw) // 2
    for i in range(middle, middle + count):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def test_flipped_bytes_in_g_are_found_by_every_loader(checkpoint):
    state = torch.load(checkpoint, weights_only=True)
    name, tensor = max(state["g"].items(), key=lambda kv: kv[1].numel())
    flip_bytes_of(checkpoint, tensor)
    for load in (
        lambda: load_checkpoint(checkpoint),
        lambda: load_checkpoint(checkpoint, mmap=True),
        lambda: generator_from_checkpoint(checkpoint),
    ):
        with pytest.raises(CheckpointError, match=f"tensor g/{name} does not match its checksum") as info:
            load()
        assert str(checkpoint) in str(info.value)


def test_flipped_bytes_in_d_are_found_when_resuming(checkpoint):
    state = torch.load(checkpoint, weights_only=True)
    name, tensor = max(state["d"].items(), key=lambda kv: kv[1].numel())
    flip_bytes_of(checkpoint, tensor)
    generator_from_checkpoint(checkpoint)  # G alone is intact and still loads
    with pytest.raises(CheckpointError, match=f"tensor d/{name} does not match"):
        load_checkpoint(checkpoint)


def resave(path, **changes):
    """Rewrite a checkpoint with some fields changed, as a stranger could (checksums left as they were)."""
    state = torch.load(path, weights_only=True)
    state.update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        del state[key]
    torch.save(state, path)
    return state


def test_non_finite_weights_are_refused_naming_the_tensor(checkpoint):
    state = torch.load(checkpoint, weights_only=True)
    name = next(k for k, v in state["g"].items() if v.is_floating_point())
    state["g"][name] = torch.full_like(state["g"][name], float("nan"))
    del state["checksums"]  # as a file written before checksums existed would be
    torch.save(state, checkpoint)
    with pytest.raises(CheckpointError, match=f"tensor g/{name} holds NaN or infinite values"):
        generator_from_checkpoint(checkpoint)


def test_a_checkpoint_written_before_checksums_still_loads(checkpoint):
    resave(checkpoint, checksums=None)
    g, _, _ = generator_from_checkpoint(checkpoint)
    assert load_checkpoint(checkpoint)["epoch"] == 1


@pytest.mark.parametrize(
    "field,value,expected",
    [
        ("space", "categorical", "'space' should be a table of values, found str"),
        ("g", [1, 2], "'g' should be a table of named tensors, found list"),
        ("epoch", "one", "'epoch' should be a whole number"),
        ("ema", [0.5], "'ema' should be a table of named tensors, found list"),
        ("config", 3, "'config' should be a table of values"),
        ("checksums", "none", "'checksums' should be a table"),
    ],
)
def test_crafted_fields_are_refused_by_name(checkpoint, field, value, expected):
    resave(checkpoint, **{field: value})
    with pytest.raises(CheckpointError, match=expected) as info:
        load_checkpoint(checkpoint, mmap=True)
    assert str(info.value).startswith(f"{checkpoint}: damaged checkpoint")


def test_a_space_of_the_wrong_shape_is_one_error(checkpoint):
    resave(checkpoint, space={"kind": "categorical"})
    with pytest.raises(CheckpointError, match="stored settings are invalid"):
        generator_from_checkpoint(checkpoint)


def test_a_checkpoint_without_d_is_not_called_an_average(checkpoint):
    state = resave(checkpoint, d=None)
    refusal = resume_refusal(load_checkpoint(checkpoint), checkpoint)
    assert "holds no d" in refusal and "average" not in refusal
    assert resume_refusal({**state, "kind": "average"}, checkpoint).startswith(f"{checkpoint}: an averaged generator")


def test_weights_of_the_wrong_shape_are_named_on_one_line(checkpoint):
    state = torch.load(checkpoint, weights_only=True)
    name = next(k for k, v in state["g"].items() if v.dim() == 4)
    state["g"][name] = state["g"][name][:1].clone()
    del state["checksums"]
    torch.save(state, checkpoint)
    with pytest.raises(CheckpointError, match="do not fit the stored architecture") as info:
        generator_from_checkpoint(checkpoint)
    assert "\n" not in str(info.value) and name in str(info.value)

import pickle

import pytest
import torch
from helpers import SPACES, random_dataset, tiny_config

from studio.core.checkpoint import generator_from_checkpoint, load_checkpoint, save_checkpoint
from studio.core.rundir import RunDirectory
from studio.core.sampling import generate_grid, grid_noise
from studio.core.trainer import Trainer
from studio.errors import CheckpointError


class Payload:
    """Unpickling this would run code; weights_only loading must refuse it."""

    def __reduce__(self):
        return (print, ("code ran",))


def test_a_checkpoint_with_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "gan-studio/checkpoint", "payload": Payload()}, path)
    with pytest.raises(CheckpointError, match="refused to load"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    "content,message",
    [
        (b"", "damaged"),
        (b"garbage" * 10, "damaged"),
        (pickle.dumps({"a": 1}), "damaged|refused"),
        (b"hello\n", "not a zip archive"),  # torch's legacy reader raised KeyError on this one
        (bytes([0x80, 0x02, 0x8A]), "not a zip archive"),
    ],
)
def test_damaged_files_are_named(tmp_path, content, message):
    path = tmp_path / "epoch_0003.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_foreign_and_newer_checkpoints(tmp_path):
    foreign = tmp_path / "model.pt"
    torch.save({"state_dict": {"w": torch.zeros(1)}}, foreign)
    with pytest.raises(CheckpointError, match="not a GAN Studio checkpoint"):
        load_checkpoint(foreign)
    newer = tmp_path / "newer.pt"
    save_checkpoint(newer, {"epoch": 1, "step": 1, "config": {}, "space": {}, "g": {}})
    state = torch.load(newer, weights_only=True)
    state["version"] = 99
    torch.save(state, newer)
    with pytest.raises(CheckpointError, match="newer GAN Studio"):
        load_checkpoint(newer)


def test_generator_and_ema_come_back_from_a_checkpoint(tmp_path):
    space = SPACES["categorical"]
    cfg = tiny_config(family="acgan", epochs=1, ema=True)
    run = RunDirectory.create(tmp_path, cfg)
    trainer = Trainer(cfg, random_dataset(space), run)
    assert trainer.run().reason == "completed"
    path = run.checkpoint_path(1)
    g, loaded_space, loaded_cfg = generator_from_checkpoint(path)
    assert loaded_space == space and loaded_cfg == cfg
    grid = space.default_grid(8)
    z = grid_noise(grid, cfg.nz, 0)
    trainer.g.eval()
    assert torch.allclose(generate_grid(g, space, grid, z), generate_grid(trainer.g, space, grid, z))
    ema, _, _ = generator_from_checkpoint(path, "ema")
    assert not torch.equal(ema.state_dict()["main.1.weight"], g.state_dict()["main.1.weight"])


def test_weights_in_torchs_older_file_format_still_load(tmp_path):
    from studio.core.checkpoint import load_weights_only

    legacy = tmp_path / "weights.pth"  # as some published weights (Inception's among them) are stored
    torch.save({"w": torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    assert torch.equal(load_weights_only(legacy)["w"], torch.ones(2))

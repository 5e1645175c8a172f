"""A new kind of condition space is new code only: a toy space defined here goes all the way through.

``Size`` (small or large, one number of -1 or +1) is registered in this file
and nowhere in studio; it round-trips through plain data, trains, is drawn by
the explorer, is exported with a description of its encoding, and is judged.
"""

import json

import pytest
import torch
import torch.nn.functional as F
from helpers import SPACES, random_dataset, tiny_config

from studio.core.checkpoint import checkpoint_config, generator_from_checkpoint, load_checkpoint
from studio.core.conditions import (
    INTERPOLATION_MODES,
    ColourSpace,
    ConditionGrid,
    ConditionSpace,
    register_space,
    space_from_dict,
    space_kinds,
)
from studio.core.explore import Explorer, attribute_table, class_rows, layout_from_request
from studio.core.export import export_generator, load_state_dict_export
from studio.core.rundir import RunDirectory
from studio.core.trainer import Trainer
from studio.errors import ConfigError
from studio.eval.judge import score_predictions


@register_space
class Size(ConditionSpace):
    """Small or large: labels are (B,) int64 0 or 1, encoded as one number, -1 or +1."""

    kind = "toy-size"
    NAMES = ("small", "large")

    def __init__(self, attribute: str = "size"):
        self.attribute = attribute

    @property
    def dim(self) -> int:
        return 1

    def encode(self, labels):
        return labels.float()[:, None] * 2 - 1

    def sample(self, n, generator=None):
        return torch.randint(0, 2, (n,), generator=generator)

    def aux_loss(self, logits, labels):
        return F.binary_cross_entropy_with_logits(logits[:, 0].float(), labels.float())

    def aux_correct(self, logits, labels):
        return (self.decode(logits) == labels).float()

    def decode(self, logits):
        return (logits[:, 0] > 0).long()

    def caption(self, label):
        return f"{self.NAMES[int(label)]} {self.attribute}"

    def parse(self, text):
        word = text.strip().removesuffix(self.attribute).strip()
        if word not in self.NAMES:
            raise ConfigError(f"condition {text!r}: small or large")
        return torch.tensor(self.NAMES.index(word))

    def default_grid(self, max_images=64):
        cols = max(1, min(8, max_images // 2))
        labels = torch.arange(2).repeat_interleave(cols)
        return ConditionGrid(labels, 2, cols, [self.caption(torch.tensor(v)) for v in range(2)], [], "column")

    def export_encoding(self):
        return {"kind": self.kind, "text": "one number: -1 for small, +1 for large", "values": list(self.NAMES)}

    def to_dict(self):
        return {"kind": self.kind, "attribute": self.attribute}


def test_a_registered_space_round_trips_through_plain_data():
    space = Size("height")
    assert "toy-size" in space_kinds()
    again = space_from_dict(json.loads(json.dumps(space.to_dict())))
    assert isinstance(again, Size) and again == space and again.attribute == "height"
    assert register_space(Size) is Size  # registering the same class again is harmless
    with pytest.raises(ValueError, match="taken"):
        register_space(type("Other", (Size,), {}))
    with pytest.raises(ConfigError, match="unknown condition space kind"):
        space_from_dict({"kind": "toy-colourful"})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny ACGAN run on the toy space: its trainer, run directory and events."""
    tmp = tmp_path_factory.mktemp("toy")
    cfg = tiny_config(family="acgan", epochs=1)
    run = RunDirectory.create(tmp, cfg, run_id="toy")
    events = []
    trainer = Trainer(cfg, random_dataset(Size(), n=16), run, events.append)
    return trainer, run, events, trainer.run()


def test_the_toy_space_trains_and_its_checkpoint_names_it(trained):
    trainer, run, events, result = trained
    assert result.reason == "completed" and trainer.has_aux
    assert trainer.d.aux_head is not None and trainer.grid.rows == 2
    steps = [e for e in events if type(e).__name__ == "StepMetrics"]
    assert steps and all(s.values["aux_acc_real"] is not None for s in steps)
    path = run.checkpoints()[-1].path
    _, space = checkpoint_config(load_checkpoint(path), path)
    assert space == Size()


def test_the_explorer_draws_the_toy_space(trained):
    _, run, _, _ = trained
    g, space, config = generator_from_checkpoint(run.checkpoints()[-1].path)
    layout = layout_from_request(space, n=8)  # the space's default grid of 8 images
    assert (layout.rows, layout.cols) == (2, 4) and layout.row_captions == ["small size", "large size"]
    rows = layout_from_request(space, ["large size", "small"], n=2)
    assert rows.row_captions == ["large size", "small size"]
    assert rows.cond[:, 0].tolist() == [1.0, 1.0, -1.0, -1.0]
    interp = layout_from_request(space, ["large"], interpolate_what="noise", steps=4)
    assert interp.noise == "interpolate" and interp.cols == 4
    result = Explorer(g, space, config.nz, layout, precision="float32").render()
    assert result.mosaic.shape[:2] == (2 * 34 + 2, 4 * 34 + 2) and result.rendered == 8
    choices = space.explorer_choices()
    assert choices.modes[-2:] == INTERPOLATION_MODES and not choices.axes and not choices.objects
    with pytest.raises(ConfigError, match="needs a multi-attribute condition space"):
        attribute_table(space)
    with pytest.raises(ConfigError, match="needs a categorical condition space"):
        class_rows(space)
    with pytest.raises(ConfigError, match="apply to multi-attribute spaces"):
        layout_from_request(space, rows="size")


def test_the_export_describes_the_toy_encoding(trained, tmp_path):
    _, run, _, _ = trained
    result = export_generator(run.checkpoints()[-1].path, tmp_path / "g.pt", "state_dict")
    info = json.loads(result.sidecar.read_text())
    assert info["inputs"]["condition"]["shape"] == ["N", 1]
    assert info["inputs"]["condition"]["encoding"] == Size().export_encoding()
    assert {e["condition"] for e in info["condition_examples"]} <= {"small size", "large size"}
    _, space, _ = load_state_dict_export(result.path)
    assert space == Size()


def test_the_defaults_judge_and_count_the_toy_space():
    space = Size()
    logits = torch.tensor([[2.0], [-1.0], [3.0], [0.5]])
    assert score_predictions(space, logits, torch.tensor([1, 0, 0, 0])) == {"accuracy": 0.5}
    assert space.per_value_scores(logits, torch.tensor([1, 0, 0, 0])) == {}
    assert random_dataset(space, n=4).class_counts() == []
    assert space.label_dtype == torch.long


BUILT_IN = {**SPACES, "colour": ColourSpace(["hair", "eyes"], palettes={"hair": [("red", "#d22"), ("blue", "#22e")]})}


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_built_in_spaces_describe_themselves(name):
    """Every built-in space answers the questions other modules used to ask its class."""
    space = BUILT_IN[name]
    choices = space.explorer_choices()
    keys = [key for key, _ in choices.modes]
    assert keys and ("noise-interp" in keys)
    assert set(space.layouts) <= set(keys) | {"table"}
    labels = space.sample(6, torch.Generator().manual_seed(0)) if space.is_conditional else torch.zeros(6, 0)
    assert labels.dtype == space.label_dtype or not space.is_conditional
    counts = space.label_counts(labels)
    assert all(isinstance(c, int) for _, c in counts)
    assert len(space.count_groups()) in (0, len(counts))
    assert space.one_class_per_image == (name == "categorical")
    grid = space.request_grid(n=2)
    assert grid.labels.shape[0] == grid.rows * grid.cols

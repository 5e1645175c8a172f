import pytest
import torch

from studio.core.conditions import Categorical, MultiAttribute, MultiLabel, NoCondition, space_from_dict
from studio.errors import ConfigError

HAIR = ["orange", "white", "aqua"]
EYES = ["black", "blue"]


def hair_eyes() -> MultiAttribute:
    return MultiAttribute([("hair", HAIR), ("eyes", EYES)])


def test_categorical_encode_sample_decode():
    space = Categorical(["a", "b", "c"])
    labels = torch.tensor([2, 0])
    assert space.encode(labels).tolist() == [[0, 0, 1], [1, 0, 0]]
    sample = space.sample(200, torch.Generator().manual_seed(0))
    assert sample.min() >= 0 and sample.max() <= 2 and len(sample.unique()) == 3
    logits = torch.tensor([[0.1, 3.0, 0.0], [5.0, 0.0, 0.0]])
    assert space.decode(logits).tolist() == [1, 0]
    assert space.aux_accuracy(logits, torch.tensor([1, 2])).item() == 0.5


def test_multi_attribute_encodes_concatenated_one_hots():
    space = hair_eyes()
    assert space.dim == 5
    enc = space.encode(torch.tensor([[2, 1]]))
    assert enc.tolist() == [[0, 0, 1, 0, 1]]


def test_multi_attribute_aux_scores_each_attribute():
    space = hair_eyes()
    logits = torch.tensor([[0.0, 9.0, 0.0, 9.0, 0.0]])  # hair 1, eyes 0
    assert space.decode(logits).tolist() == [[1, 0]]
    assert space.aux_accuracy(logits, torch.tensor([[1, 1]])).item() == 0.5
    loss_right = space.aux_loss(logits, torch.tensor([[1, 0]]))
    loss_wrong = space.aux_loss(logits, torch.tensor([[0, 1]]))
    assert loss_right < loss_wrong


def test_multi_attribute_table_and_vary_layout():
    space = hair_eyes()
    table = space.table(0, 1)
    assert (table.rows, table.cols) == (3, 2)
    # Row r holds hair r; column c holds eyes c.
    labels = table.labels.view(3, 2, 2)
    assert labels[:, :, 0].tolist() == [[0, 0], [1, 1], [2, 2]]
    assert labels[:, :, 1].tolist() == [[0, 1], [0, 1], [0, 1]]
    assert table.row_captions == ["orange hair", "white hair", "aqua hair"]
    assert table.col_captions == ["black eyes", "blue eyes"]

    fixed_eyes = space.vary(0, [0, 1], samples=4)  # fix blue eyes, vary hair
    assert (fixed_eyes.rows, fixed_eyes.cols) == (4, 3)
    assert (fixed_eyes.labels[:, 1] == 1).all()
    assert fixed_eyes.labels[:3, 0].tolist() == [0, 1, 2]
    assert fixed_eyes.noise_layout == "row"


def test_multi_attribute_parse_round_trips_captions():
    space = hair_eyes()
    label = torch.tensor([2, 1])
    assert space.caption(label) == "aqua hair, blue eyes"
    assert space.parse("aqua hair, blue eyes").tolist() == [2, 1]
    with pytest.raises(ConfigError, match="also give eyes"):
        space.parse("aqua hair")
    with pytest.raises(ConfigError, match="not a value of hair"):
        space.parse("pink hair, blue eyes")


def test_multi_label_samples_valid_distinct_objects():
    space = MultiLabel([f"o{i}" for i in range(24)], 1, 3)
    labels = space.sample(500, torch.Generator().manual_seed(1))
    counts = labels.sum(1)
    assert counts.min() >= 1 and counts.max() <= 3
    assert set(counts.long().tolist()) == {1, 2, 3}
    assert ((labels == 0) | (labels == 1)).all()


def test_multi_label_metric_uses_top_k_of_requested():
    space = MultiLabel([f"o{i}" for i in range(5)], 1, 3)
    labels = torch.tensor([[1.0, 1.0, 0, 0, 0], [0, 0, 1.0, 0, 0]])
    logits = torch.tensor([[5.0, -1.0, 4.0, -9.0, -9.0], [0, 0, 3.0, 0, 0]])
    # First: top-2 are objects 0 and 2, one of the two requested -> 0.5; second: 1.0.
    assert space.aux_correct(logits, labels).tolist() == [0.5, 1.0]
    assert space.decode(logits, counts=torch.tensor([2, 1])).tolist() == [[1, 0, 1, 0, 0], [0, 0, 1, 0, 0]]


def test_multi_label_parse_checks_count():
    space = MultiLabel(["red cube", "gray sphere", "blue cylinder", "cyan cube"], 1, 2)
    assert space.parse("red cube, blue cylinder").tolist() == [1, 0, 1, 0]
    with pytest.raises(ConfigError, match="give 1 to 2"):
        space.parse("red cube, blue cylinder, cyan cube")


def test_impossible_spaces_are_refused():
    with pytest.raises(ConfigError):
        Categorical(["only"])
    with pytest.raises(ConfigError):
        MultiLabel(["a", "b"], 2, 3)


@pytest.mark.parametrize(
    "space",
    [NoCondition(), Categorical(["x", "y"]), hair_eyes(), MultiLabel(["a", "b", "c"], 1, 2)],
    ids=lambda s: s.kind,
)
def test_spaces_round_trip_through_plain_data(space):
    again = space_from_dict(space.to_dict())
    assert again == space
    grid = space.default_grid(16)
    assert grid.labels.shape[0] == grid.rows * grid.cols

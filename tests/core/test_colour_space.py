"""The continuous colour condition space, the builtin:faces-rgb set and models trained on it."""

from __future__ import annotations

import colorsys
import io
import json

import pytest
import torch

from studio.core.checkpoint import generator_from_checkpoint, load_checkpoint
from studio.core.conditions import ColourSpace, ConditionGrid, MultiAttribute, colour_hex, space_from_dict
from studio.core.config import TrainConfig
from studio.core.models import build_models
from studio.core.rundir import RunDirectory
from studio.core.sampling import generate_grid, grid_noise
from studio.core.trainer import Trainer
from studio.data.builtin.faces import COLOUR_JITTER, EYE_COLOURS, HAIR_COLOURS
from studio.data.dataset import dataset_space, load_dataset
from studio.errors import ConfigError
from studio.presets import load_preset

PALETTES = {"hair": HAIR_COLOURS, "eyes": EYE_COLOURS}


def faces_space() -> ColourSpace:
    return ColourSpace(["hair", "eyes"], palettes=PALETTES, jitter=COLOUR_JITTER / 255)


def eight_bit(labels: torch.Tensor) -> torch.Tensor:
    return (labels * 255).round() / 255


# --- the space ---------------------------------------------------------------------


def test_encode_scales_to_plus_minus_one_and_decode_inverts_it():
    space = faces_space()
    assert (space.dim, space.aux_dim) == (6, 6)
    labels = torch.tensor([[0.0, 0.5, 1.0, 0.25, 0.75, 1.0]])
    assert space.encode(labels).tolist() == [[-1.0, 0.0, 1.0, -0.5, 0.5, 1.0]]
    assert torch.allclose(space.decode(space.encode(labels)), labels)
    # A regressor overshooting the range still decodes to a colour.
    assert space.decode(torch.tensor([[3.0, -3.0, 0.0, 0.0, 0.0, 0.0]]))[0, :2].tolist() == [1.0, 0.0]


def test_caption_names_the_hex_and_nearest_palette_colour_and_parses_back():
    space = faces_space()
    red_hair, blue_eyes = HAIR_COLOURS[5][1], EYE_COLOURS[9][1]
    label = torch.tensor([*red_hair, *blue_eyes], dtype=torch.float32) / 255
    assert space.caption(label) == f"hair {colour_hex(label[:3])} (red), eyes {colour_hex(label[3:])} (blue)"
    labels = eight_bit(space.sample(50, torch.Generator().manual_seed(3)))
    for label in labels:
        assert torch.allclose(space.parse(space.caption(label)), label, atol=1e-6)


def test_parse_accepts_hex_palette_names_css_names_and_rgb():
    space = faces_space()
    label = space.parse("hair=#ff0000, eyes=blue")
    assert colour_hex(label[:3]) == "#ff0000"
    # A palette name means the colour the set was drawn with, not CSS blue.
    assert colour_hex(label[3:]) == "#{:02x}{:02x}{:02x}".format(*EYE_COLOURS[9][1])
    same = space.parse("red hair, eyes rgb(0, 128, 255)")
    assert colour_hex(same[:3]) == "#{:02x}{:02x}{:02x}".format(*HAIR_COLOURS[5][1])
    assert colour_hex(same[3:]) == "#0080ff"
    assert colour_hex(space.parse("eyes: #123, hair: navy")[3:]) == "#112233"
    partial = space.parse_partial("eyes=lime")
    assert list(partial) == [1] and colour_hex(partial[1]) == "#00ff00"


@pytest.mark.parametrize(
    "text, message",
    [
        ("hair=blu, eyes=red", "'blu' is not a colour for hair"),
        ("hair=red", "also give eyes"),
        ("nose=red, hair=red, eyes=red", "no attribute 'nose'"),
        ("red", "ATTRIBUTE=COLOUR"),
    ],
)
def test_parse_refuses_bad_text_by_name(text, message):
    with pytest.raises(ConfigError, match=message):
        faces_space().parse(text)


def test_constructor_refuses_impossible_settings():
    with pytest.raises(ConfigError, match="at least one attribute"):
        ColourSpace([])
    with pytest.raises(ConfigError, match="unknown attribute"):
        ColourSpace(["hair"], palettes={"eyes": [("red", "#ff0000")]})
    with pytest.raises(ConfigError, match="not a colour"):
        ColourSpace(["hair"], palettes={"hair": [("red", "#zz0000")]})
    with pytest.raises(ConfigError, match="outside 0..255"):
        ColourSpace(["hair"], palettes={"hair": [("red", (300, 0, 0))]})


def test_palette_samples_stay_within_jitter_of_a_palette_colour_and_cover_it():
    space = faces_space()
    labels = space.sample(3000, torch.Generator().manual_seed(0))
    assert labels.shape == (3000, 6) and labels.dtype == torch.float32
    assert labels.min() >= 0 and labels.max() <= 1
    for i, palette in enumerate((HAIR_COLOURS, EYE_COLOURS)):
        base = torch.tensor([rgb for _, rgb in palette], dtype=torch.float32) / 255
        part = labels[:, 3 * i : 3 * i + 3]
        offsets = (part[:, None] - base[None]).abs().amax(2)  # (N, palette) largest channel offset
        assert offsets.min(1).values.max() <= COLOUR_JITTER / 255 + 1e-6
        assert len(offsets.argmin(1).unique()) == len(palette)
    # Names come back from the samples: each is named after the colour it was drawn from.
    names = space.nearest_names(labels)
    assert names.shape == (3000, 2) and len(names[:, 0].unique()) == len(HAIR_COLOURS)


def test_without_palette_samples_spread_over_the_rgb_cube():
    space = ColourSpace(["hair", "eyes"])
    labels = space.sample(2000, torch.Generator().manual_seed(0))
    assert labels.min() >= 0 and labels.max() <= 1
    assert (labels.amin(0) < 0.05).all() and (labels.amax(0) > 0.95).all()
    assert space.caption(torch.tensor([0.86, 0.16, 0.16, 0.18, 0.27, 0.84])).endswith("(blue)")


def test_aux_regression_loss_and_tolerance_accuracy():
    space = faces_space()
    labels = space.sample(8, torch.Generator().manual_seed(1))
    perfect = space.encode(labels)
    assert space.aux_loss(perfect, labels).item() == 0.0
    assert space.aux_accuracy(perfect, labels).item() == 1.0
    # Hair off by 0.1 per channel (distance 0.17 > 0.15): half of each label is right.
    hair_off = labels.clone()
    hair_off[:, :3] += torch.where(hair_off[:, :3] > 0.5, -0.1, 0.1)
    logits = space.encode(hair_off)
    assert space.aux_correct(logits, labels).tolist() == [0.5] * 8
    assert space.aux_loss(logits, labels) > space.aux_loss(perfect, labels)
    near = space.encode((labels + 0.05).clamp(0, 1))  # distance <= 0.087
    assert space.aux_accuracy(near, labels).item() == 1.0


def test_hue_sweep_varies_one_attribute_across_columns():
    space = faces_space()
    grid = space.hue_sweep("hair", steps=6, fixed_colours="eyes=#2850e1", samples=3)
    assert isinstance(grid, ConditionGrid)
    assert (grid.rows, grid.cols, grid.noise_layout) == (3, 6, "row")
    cells = grid.labels.view(3, 6, 6)
    # Every row holds the same sweep; eyes stay fixed everywhere.
    assert torch.equal(cells[0], cells[1]) and torch.equal(cells[0], cells[2])
    assert all(colour_hex(c) == "#2850e1" for c in cells.reshape(-1, 6)[:, 3:])
    hues = [colorsys.rgb_to_hsv(*c.tolist())[0] for c in cells[0, :, :3]]
    assert hues == sorted(hues) and hues[0] == 0.0 and len(set(round(h, 3) for h in hues)) == 6
    sats = [colorsys.rgb_to_hsv(*c.tolist())[1] for c in cells[0, :, :3]]
    assert all(abs(s - 0.8) < 1e-5 for s in sats)
    assert grid.row_captions == ["eyes #2850e1 (blue)"] * 3
    assert grid.col_captions == [colour_hex(c) for c in cells[0, :, :3]]


def test_hue_map_and_default_grids():
    space = ColourSpace(["hair", "eyes"])
    grid = space.hue_map("hair", "eyes", rows=4, cols=5)
    cells = grid.labels.view(4, 5, 6)
    assert (grid.rows, grid.cols) == (4, 5)
    assert (cells[:, :1, :3] == cells[:, :, :3]).all()  # hair constant along a row
    assert (cells[:1, :, 3:] == cells[:, :, 3:]).all()  # eyes constant down a column
    assert len(grid.row_captions) == 4 and grid.row_captions[0].startswith("hair #")
    assert space.default_grid(64).rows * space.default_grid(64).cols == 64
    with pytest.raises(ConfigError, match="different attributes"):
        space.hue_map("hair", "hair")
    # With palettes the per-epoch grid is the named table, like the multi-attribute set.
    table = faces_space().default_grid()
    assert (table.rows, table.cols) == (len(HAIR_COLOURS), len(EYE_COLOURS))
    assert [c.split("(")[-1][:-1] for c in table.row_captions] == [n for n, _ in HAIR_COLOURS]
    single = ColourSpace(["ink"]).default_grid(24)
    assert single.rows * single.cols == 24 and single.labels.shape == (24, 3)


def test_to_dict_round_trips_through_json_and_weights_only_load():
    space = faces_space()
    data = space.to_dict()
    assert space_from_dict(json.loads(json.dumps(data))) == space
    buffer = io.BytesIO()
    torch.save({"space": data}, buffer)
    buffer.seek(0)
    loaded = space_from_dict(torch.load(buffer, weights_only=True)["space"])
    assert loaded == space and loaded.jitter == space.jitter and loaded.tolerance == space.tolerance
    assert loaded != ColourSpace(["hair", "eyes"]) and loaded != MultiAttribute([("hair", ["a", "b"])])


# --- the built-in faces with true colours -------------------------------------------


@pytest.fixture(scope="module")
def faces_rgb():
    return load_dataset("builtin:faces-rgb", 64, size=24), load_dataset("builtin:faces", 64, size=24)


def test_faces_rgb_labels_are_the_painted_colours_near_the_named_ones(faces_rgb):
    rgb, named = faces_rgb
    assert rgb.space == dataset_space("builtin:faces-rgb") == faces_space()
    assert rgb.labels.dtype == torch.float32 and rgb.labels.shape == (24, 6)
    assert torch.equal(rgb.images, named.images)
    assert torch.equal(rgb.extras["classes"], named.labels)
    for i, palette in enumerate((HAIR_COLOURS, EYE_COLOURS)):
        base = torch.tensor([rgb_ for _, rgb_ in palette], dtype=torch.float32)[named.labels[:, i]]
        offset = (rgb.labels[:, 3 * i : 3 * i + 3] * 255 - base).abs().amax(1)
        assert offset.max() <= COLOUR_JITTER + 1e-3
    # The nearest palette name of each true colour is the image's named label.
    assert torch.equal(rgb.space.nearest_names(rgb.labels), named.labels)
    # And the colour is really painted: every face has pixels of exactly its hair and iris RGB.
    pixels = rgb.images.permute(0, 2, 3, 1).reshape(24, -1, 3).float()
    for i in range(2):
        target = (rgb.labels[:, None, 3 * i : 3 * i + 3] * 255).round()
        exact = ((pixels - target).abs().amax(2) == 0).sum(1)
        assert (exact > 0).all()


def test_faces_rgb_counts_by_nearest_name(faces_rgb):
    rgb, named = faces_rgb
    counts = dict(rgb.class_counts())
    assert sum(v for k, v in counts.items() if k.endswith(" hair")) == 24
    assert counts == dict(named.class_counts())


def test_rgb_presets_use_the_colour_set():
    for name, family in (("cgan-hair-eyes-rgb", "cgan-concat"), ("acgan-hair-eyes-rgb", "acgan")):
        cfg = load_preset(name).config
        assert (cfg.dataset, cfg.family) == ("builtin:faces-rgb", family)
        space = dataset_space(cfg.dataset)
        g, d = build_models(cfg.replace(ngf=8, ndf=8), space)
        z, cond = torch.randn(2, cfg.nz), space.encode(space.sample(2))
        logit, aux = d(g(z, cond), cond)
        assert logit.shape == (2,)
        assert (aux is None) if family == "cgan-concat" else aux.shape == (2, 6)


# --- training ------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["cgan-concat", "acgan", "cgan-projection"])
def test_tiny_training_on_faces_rgb_writes_a_reloadable_checkpoint(tmp_path, family):
    data = load_dataset("builtin:faces-rgb", 32, size=16)
    cfg = TrainConfig(
        dataset="builtin:faces-rgb", image_size=32, family=family, nz=8, ngf=8, ndf=8, g_embed=8, d_embed=8,
        batch_size=8, epochs=1, log_every=1, device="cpu", precision="float32", aux_on_fake=False,
    )  # fmt: skip
    events = []
    run = RunDirectory.create(tmp_path, cfg)
    result = Trainer(cfg, data, run, events.append).run()
    assert result.reason == "completed" and result.step == 2
    metrics = [e.values for e in events if type(e).__name__ == "StepMetrics"]
    if family == "acgan":
        assert all(0.0 <= m["aux_acc_real"] <= 1.0 for m in metrics)
    else:
        assert all(m["aux_acc_real"] is None for m in metrics)
    path = run.checkpoint_path(1)
    assert load_checkpoint(path)["space"] == data.space.to_dict()
    g, space, config = generator_from_checkpoint(path)
    assert space == data.space and config.family == family
    grid = space.hue_sweep("hair", steps=4, fixed_colours="eyes=blue", samples=2)
    images = generate_grid(g, space, grid, grid_noise(grid, config.nz, 0))
    assert images.shape == (8, 3, 32, 32) and torch.isfinite(images).all()
    # One z per row: the first and second cell differ only by the hair colour asked for.
    assert not torch.equal(images[0], images[1])

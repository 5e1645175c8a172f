"""Sample grids: one set of layout rules, the size bounds, the PNG written."""

import pytest
import torch
from helpers import SPACES
from PIL import Image

from studio.app.common import OutputExists
from studio.app.sampling import (
    MAX_GRID_PIXELS,
    LayoutRequest,
    SampleRequest,
    build_layout,
    check_grid_size,
    layout_modes,
    sample_grid,
)
from studio.errors import StudioError

HAIR_EYES = SPACES["multi-attribute"]


def test_the_command_lines_words_and_the_explorers_modes_build_the_same_layouts():
    words = build_layout(HAIR_EYES, LayoutRequest("words", rows="eyes", cols="hair"))
    table = build_layout(HAIR_EYES, LayoutRequest("table", rows=1, cols=0))
    assert (words.rows, words.cols) == (table.rows, table.cols) == (2, 3)
    assert torch.equal(words.cond, table.cond) and words.row_captions == table.row_captions
    vary = build_layout(HAIR_EYES, LayoutRequest("vary", cols=0, fix={1: 1}, samples=4))
    assert (vary.rows, vary.cols) == (4, 3) and "brown eyes" in vary.title
    fixed = build_layout(HAIR_EYES, LayoutRequest("words", fix=["brown eyes"], samples=4))
    assert torch.equal(fixed.cond, vary.cond)


def test_every_mode_a_space_offers_builds():
    for name in ("none", "categorical", "multi-attribute", "multi-label"):
        space = SPACES[name]
        texts = []
        if space.is_conditional:
            texts = [space.caption(label) for label in space.sample(2, torch.Generator().manual_seed(0))]
        for mode, label in layout_modes(space):
            layout = build_layout(space, LayoutRequest(mode, texts, rows=0, cols=1, samples=3, steps=4))
            assert layout.rows >= 1 and layout.cols >= 1 and label
            if mode in ("noise-interp", "cond-interp"):
                assert layout.cols == 4
    with pytest.raises(StudioError, match="Rows and columns show the same attribute"):
        build_layout(HAIR_EYES, LayoutRequest("table", rows=0, cols=0))
    grid = build_layout(SPACES["categorical"], LayoutRequest("grid", samples=3))
    assert (grid.rows, grid.cols) == (4, 3)


def test_a_grid_past_the_memory_bound_is_refused():
    layout = build_layout(SPACES["categorical"], LayoutRequest("words", samples=8))
    assert check_grid_size(layout, 32) == 4 * 8 * 34 * 34
    with pytest.raises(StudioError, match="megapixels, more than the 100 allowed") as refused:
        check_grid_size(layout, 32, scale=16, copies=12, out="big.png")
    assert str(refused.value).startswith("big.png: 4 x 8 images") and refused.value.fields["allowed"] == 100
    assert MAX_GRID_PIXELS == 100_000_000


def test_sample_grid_writes_the_png_it_describes(ema_run, tmp_path):
    out = tmp_path / "grid.png"
    request = SampleRequest(
        ema_run.checkpoint_path(3), out, LayoutRequest("words", ["1", "2"], samples=4), captions=False, scale=2
    )
    result = sample_grid(request)
    assert (result.rows, result.cols, result.labels) == (2, 4, [])
    assert Image.open(out).size == result.size == (2 * (4 * 34 + 2), 2 * (2 * 34 + 2))
    with pytest.raises(OutputExists, match="already exists; pass --force"):
        sample_grid(request)
    ema = sample_grid(
        SampleRequest(
            ema_run.checkpoint_path(3), out, request.layout, ema=True, captions=False, scale=2, overwrite=True
        )
    )
    assert ema.size == result.size


def test_a_sheet_holds_the_chosen_checkpoint_and_the_runs_comparison(ema_run, tmp_path):
    out = tmp_path / "sheet.png"
    result = sample_grid(
        SampleRequest(ema_run.checkpoint_path(1), out, LayoutRequest("words", samples=2), sheet=True, truncation=0.7)
    )
    assert result.labels == ["epoch_0001.pt", "last checkpoint (epoch 3)", "EMA at epoch 3"]
    assert Image.open(out).size == result.size and result.size[0] > 3 * 2 * 34


def test_outputs_over_a_runs_files_are_refused(ema_run):
    checkpoint = ema_run.checkpoint_path(3)
    with pytest.raises(StudioError, match="own input"):
        sample_grid(SampleRequest(checkpoint, checkpoint, overwrite=True))


def test_colour_spaces_sweep_hues_around_the_colours_held():
    from studio.data.dataset import dataset_space

    space = dataset_space("builtin:faces-rgb")
    base = space.fixed_label()
    held = [base[3 * i : 3 * i + 3] for i in range(2)]
    sweep = build_layout(space, LayoutRequest("hue-sweep", cols=1, samples=3, steps=5, colours=held))
    assert (sweep.rows, sweep.cols, sweep.title) == (3, 5, "eyes hue sweep")
    hue_map = build_layout(space, LayoutRequest("hue-map", rows=0, cols=1, steps=4, colours=held))
    assert (hue_map.rows, hue_map.cols) == (4, 4) and hue_map.title == "hair hue x eyes hue"
    with pytest.raises(StudioError, match="Rows and columns sweep the same attribute"):
        build_layout(space, LayoutRequest("hue-map", rows=1, cols=1, colours=held))

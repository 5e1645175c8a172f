import math

import numpy as np
import pytest
import torch
from helpers import SPACES, tiny_config
from torch import nn

from studio.core.explore import (
    Explorer,
    NoiseSettings,
    attribute_table,
    attribute_vary,
    class_rows,
    compare_generators,
    condition_interpolation,
    condition_rows,
    grid_image,
    interpolate,
    label_sets,
    layout_from_request,
    noise_interpolation,
    slerp,
    truncate,
)
from studio.core.models import build_models
from studio.core.sampling import compose_sheet, generate_grid, grid_from_request, grid_noise, to_uint8_grid
from studio.errors import ConfigError

SIZE = 8
NZ = 6


class ConditionEcho(nn.Module):
    """A stand-in G whose image spells out its inputs: row 0 the condition, row 1 the noise."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        self.offset = nn.Parameter(torch.zeros(()))

    def forward(self, z, cond):
        images = torch.full((z.shape[0], 3, SIZE, SIZE), -1.0)
        images[:, 0, 0, : self.dim] = cond * 2 - 1
        images[:, 1, 1, :NZ] = (z / 4).clamp(-1, 1)
        return images + self.offset


def cells(mosaic, rows, cols, padding=2):
    """(rows, cols, SIZE, SIZE, 3) views of the cells of a mosaic."""
    out = np.empty((rows, cols, SIZE, SIZE, 3), dtype=np.uint8)
    for r in range(rows):
        for c in range(cols):
            y, x = padding + r * (SIZE + padding), padding + c * (SIZE + padding)
            out[r, c] = mosaic[y : y + SIZE, x : x + SIZE]
    return out


def decoded_conditions(mosaic, layout, dim):
    """The condition each cell's G received, read back from its pixels."""
    return torch.from_numpy(cells(mosaic, layout.rows, layout.cols)[:, :, 0, :dim, 0].astype(np.float32) / 255)


def echo_explorer(space, layout, **kwargs):
    return Explorer(ConditionEcho(space.dim), space, NZ, layout, precision="float32", **kwargs)


def assert_captions_match(space, layout, mosaic):
    got = decoded_conditions(mosaic, layout, space.dim)
    for r in range(layout.rows):
        for c in range(layout.cols):
            parts = [
                layout.row_captions[r] if layout.row_captions else "",
                layout.col_captions[c] if layout.col_captions else "",
            ]
            expected = space.encode(space.parse(", ".join(p for p in parts if p))[None])[0]
            torch.testing.assert_close(got[r, c], expected, msg=f"cell ({r}, {c})")


@pytest.mark.parametrize("transpose", [False, True])
def test_attribute_table_puts_each_condition_under_its_captions(transpose):
    space = SPACES["multi-attribute"]
    layout = attribute_table(space, "hair", "eyes")
    if transpose:
        layout = layout.transposed()
    assert (layout.rows, layout.cols) == ((2, 3) if transpose else (3, 2))
    result = echo_explorer(space, layout).render()
    assert_captions_match(space, layout, result.mosaic)
    noise = cells(result.mosaic, layout.rows, layout.cols)[:, :, 1]
    shared = 1 if layout.noise == "row" else 0
    # One noise vector along each row (or down each column after transposing): only the condition changes.
    assert (np.diff(noise.astype(int), axis=shared) == 0).all()
    assert (np.diff(noise.astype(int), axis=1 - shared) != 0).any()


def test_fixing_one_attribute_varies_the_other_with_one_noise_per_row():
    space = SPACES["multi-attribute"]
    layout = attribute_vary(space, "hair", "brown eyes", samples=4)
    assert (layout.rows, layout.cols) == (4, 3) and layout.row_captions == ["brown eyes"] * 4
    result = echo_explorer(space, layout).render()
    assert_captions_match(space, layout, result.mosaic)
    noise = cells(result.mosaic, 4, 3)[:, :, 1]
    assert (noise == noise[:, :1]).all() and not (noise[0] == noise[1]).all()
    with pytest.raises(ConfigError, match="both fixed and varied"):
        attribute_vary(space, "eyes", "brown eyes")


def test_class_grid_is_classes_by_noise_samples():
    space = SPACES["categorical"]
    layout = class_rows(space, samples=5)
    result = echo_explorer(space, layout).render()
    assert layout.row_captions == ["0", "1", "2", "3"]
    assert_captions_match(space, layout, result.mosaic)
    noise = cells(result.mosaic, 4, 5)[:, :, 1]
    assert (noise == noise[:1]).all()  # each column one noise vector, every class


def test_multilabel_sets_respect_the_object_count():
    space = SPACES["multi-label"]
    layout = label_sets(space, ["obj1, obj4", ["obj0"]], random=3, samples=2, seed=7)
    assert layout.rows == 5 and layout.row_captions[:2] == ["obj1, obj4", "obj0"]
    counts = layout.labels.sum(1)
    assert ((counts >= space.min_count) & (counts <= space.max_count)).all()
    assert_captions_match(space, layout, echo_explorer(space, layout).render().mosaic)
    with pytest.raises(ConfigError, match="give 1 to 3"):
        label_sets(space, ["obj0, obj1, obj2, obj3"])


def test_explorer_draws_the_same_grid_as_the_sample_command():
    space = SPACES["multi-attribute"]
    config = tiny_config(family="acgan", ngf=8)
    torch.manual_seed(0)
    g, _ = build_models(config, space)
    g.eval()
    grid = grid_from_request(space, [], rows="eyes", cols="hair")
    z = grid_noise(grid, config.nz, seed=4)
    with torch.no_grad():
        expected = to_uint8_grid(generate_grid(g, space, grid, z), grid.cols)
    explorer = Explorer(
        g,
        space,
        config.nz,
        layout_from_request(space, rows="eyes", cols="hair"),
        NoiseSettings(seed=4),
        precision="float32",
    )
    assert torch.equal(explorer.z(), z)
    got = explorer.render().mosaic
    assert got.shape == expected.shape
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1


def test_cache_renders_only_what_changed_and_rows_arrive_in_order():
    space = SPACES["categorical"]
    layout = condition_rows(space, ["0", "1", "2", "3"], samples=5)
    explorer = echo_explorer(space, layout, chunk_cells=10)
    first_generator = explorer.generator
    strips = []
    first = explorer.render(on_rows=lambda a, b, strip: strips.append((a, b, strip)))
    assert (first.rendered, first.cached) == (20, 0)
    assert [(a, b) for a, b, _ in strips] == [(0, 2), (2, 4)]
    assert np.array_equal(np.concatenate([s for *_, s in strips]), first.mosaic)

    again = explorer.render()
    assert (again.rendered, again.cached) == (0, 20) and np.array_equal(again.mosaic, first.mosaic)

    explorer.resample_row(2)
    changed = explorer.render()
    assert changed.rendered == 5
    before, after = cells(first.mosaic, 4, 5), cells(changed.mosaic, 4, 5)
    assert np.array_equal(before[[0, 1, 3]], after[[0, 1, 3]]) and not np.array_equal(before[2], after[2])

    explorer.set_truncation(0.5)
    assert explorer.render().rendered == 20
    explorer.set_truncation(None)
    assert explorer.render().rendered == 0  # back to the earlier noise: all cached
    other = ConditionEcho(space.dim)
    explorer.set_generator(other)
    assert explorer.render().rendered == 20
    explorer.set_generator(first_generator)  # back to the first generator: its cells are still cached
    assert explorer.render().rendered == 0
    assert explorer.render(should_stop=lambda: True).stopped


def test_truncation_bounds_z():
    z = torch.randn(64, 32, generator=torch.Generator().manual_seed(0)) * 2
    clamped = truncate(z, 0.7, "clamp")
    assert clamped.abs().max() <= 0.7 and torch.equal(clamped[z.abs() < 0.7], z[z.abs() < 0.7])
    rescaled = truncate(z, 0.5, "rescale")
    limit = 0.5 * math.sqrt(32)
    assert (rescaled.norm(dim=1) <= limit + 1e-5).all()
    cosine = torch.nn.functional.cosine_similarity(rescaled, z, dim=1)
    torch.testing.assert_close(cosine, torch.ones(64))
    short = torch.full((1, 32), 0.01)
    assert torch.equal(truncate(short, 0.5, "rescale"), short)
    with pytest.raises(ConfigError):
        truncate(z, 0.0)

    explorer = echo_explorer(SPACES["categorical"], class_rows(SPACES["categorical"], samples=3))
    explorer.set_truncation(0.3, "clamp")
    assert explorer.z().abs().max() <= 0.3


def test_slerp_keeps_norms_and_hits_its_ends():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(50, generator=g), torch.randn(50, generator=g)
    b = b * (a.norm() / b.norm())
    path = interpolate(a, b, 9, "slerp")
    torch.testing.assert_close(path.norm(dim=1), a.norm().expand(9))
    assert torch.equal(path[0], a) and torch.equal(path[-1], b)
    # Equal angular steps along the great circle.
    cos = torch.nn.functional.cosine_similarity(path[:-1], path[1:], dim=1)
    torch.testing.assert_close(cos, cos[:1].expand(8))
    c = a * 3
    torch.testing.assert_close(slerp(a, c, torch.tensor([0.5]))[0].norm(), 2 * a.norm())
    line = interpolate(a, b, 5, "linear")
    torch.testing.assert_close(line[2], (a + b) / 2)


@pytest.mark.parametrize("path", ["linear", "slerp"])
def test_noise_interpolation_endpoints_are_the_end_images(path):
    space = SPACES["multi-attribute"]
    config = tiny_config(family="acgan", ngf=8)
    torch.manual_seed(0)
    g, _ = build_models(config, space)
    layout = noise_interpolation(space, ["red hair, brown eyes", "green hair, black eyes"], steps=5, path=path)
    explorer = Explorer(g, space, config.nz, layout, NoiseSettings(seed=2), precision="float32")
    z = explorer.z().view(2, 5, -1)
    result = explorer.render()
    ends = torch.stack([z[0, 0], z[0, -1], z[1, 0], z[1, -1]])
    cond = layout.cond.view(2, 5, -1)[[0, 0, 1, 1], [0, -1, 0, -1]]
    with torch.no_grad():
        direct = g.eval()(ends, cond).float()
    mosaic = torch.from_numpy(result.mosaic).permute(2, 0, 1).float()
    for k, (r, c) in enumerate([(0, 0), (0, 4), (1, 0), (1, 4)]):
        y, x = 2 + r * 34, 2 + c * 34
        cell = mosaic[:, y : y + 32, x : x + 32] / 255 * 2 - 1
        torch.testing.assert_close(cell, direct[k], atol=1.5 / 255 * 2, rtol=0)


def test_condition_interpolation_ends_are_the_two_conditions():
    space = SPACES["multi-attribute"]
    layout = condition_interpolation(space, "red hair, black eyes", "green hair, brown eyes", steps=5, samples=2)
    assert layout.title == "red hair, black eyes (0) -> green hair, brown eyes (1)"
    assert layout.col_captions == ["0.00", "0.25", "0.50", "0.75", "1.00"]
    got = decoded_conditions(echo_explorer(space, layout).render().mosaic, layout, space.dim)
    torch.testing.assert_close(got[:, 0], space.encode(space.parse("red hair, black eyes")[None]).expand(2, -1))
    torch.testing.assert_close(got[:, -1], space.encode(space.parse("green hair, brown eyes")[None]).expand(2, -1))
    torch.testing.assert_close(got[0, 2, 0], torch.tensor(0.5), atol=1 / 255, rtol=0)  # half red, half green
    with pytest.raises(ConfigError, match="exactly two"):
        layout_from_request(space, ["red hair, black eyes"], interpolate_what="condition")


def test_grids_and_sheets_are_captioned_images():
    space = SPACES["categorical"]
    layout = class_rows(space, samples=3)
    explorer = echo_explorer(space, layout)
    plain = grid_image(explorer.render().mosaic, layout, captions=False, title="")
    assert plain.size == (3 * 10 + 2, 4 * 10 + 2)
    captioned = explorer.image(title="digits")
    assert captioned.width > plain.width and captioned.height > plain.height
    sheet = compose_sheet([("first", captioned), ("second", plain)], columns=2, title="sheet")
    assert sheet.width >= captioned.width + plain.width and sheet.height > captioned.height
    same = compare_generators([("a", explorer.generator), ("b", ConditionEcho(space.dim))], space, NZ, layout)
    assert [label for label, _ in same] == ["a", "b"]
    assert np.array_equal(np.asarray(same[0][1]), np.asarray(same[1][1]))

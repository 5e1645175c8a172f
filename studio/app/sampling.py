"""Sample grids: which conditions go where (one set of layout rules), and a grid or sheet written to a PNG.

:func:`build_layout` turns what a user asked for into a
:class:`~studio.core.explore.Layout`: the ``sample`` command's words
(``mode='words'``) or one of the explorer's layouts (:func:`layout_modes`).
:func:`sample_grid` draws a checkpoint's grid, or the sheet of the run's
generators, within bounds that keep it in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from studio.app.common import OutputExists, Progress, ShouldStop, check_stop
from studio.errors import StudioError

__all__ = [
    "MAX_SAMPLES",
    "MAX_SCALE",
    "MAX_GRID_PIXELS",
    "LayoutRequest",
    "SampleRequest",
    "SampleResult",
    "layout_modes",
    "build_layout",
    "check_grid_size",
    "sample_grid",
]

# Upper bounds that keep a sample grid within memory: past them a request can only end in a MemoryError.
MAX_SAMPLES = 1024
MAX_SCALE = 16
MAX_GRID_PIXELS = 100_000_000


def layout_modes(space) -> list[tuple[str, str]]:
    """(key, label) of the explorer's layouts for a condition space (the space says which it offers)."""
    return list(space.explorer_choices().modes)


@dataclass
class LayoutRequest:
    """The conditions of a grid, in the words of the command line or the explorer's controls.

    ``mode`` 'words': the ``sample`` command (``conditions``, ``rows``/``cols``/
    ``fix`` by name, ``random``, ``interpolate`` 'noise' or 'condition').
    Otherwise an explorer layout of :func:`layout_modes` (any key but those
    below draws the space's own grid): ``rows``/``cols`` are
    attribute indices or names, ``fix`` {attribute: value}, ``conditions`` the
    object sets ('sets'), the condition held ('noise-interp') or the two ends
    ('cond-interp'), ``colours`` the colours held (colour spaces).
    """

    mode: str = "words"
    conditions: list = field(default_factory=list)
    rows: str | int | None = None
    cols: str | int | None = None
    fix: list | dict | None = None
    samples: int = 8
    random: int = 0
    interpolate: str | None = None
    steps: int = 8
    path: str = "slerp"
    seed: int = 0  # of the random conditions
    colours: list | None = None  # (3,) RGB tensors, one per colour attribute


def _two(rows, cols, what: str) -> None:
    if rows == cols:
        raise StudioError(f"Rows and columns {what} the same attribute: choose two different ones.")


def build_layout(space, request: LayoutRequest):
    """The :class:`~studio.core.explore.Layout` ``request`` asks of ``space``."""
    from studio.core import explore
    from studio.core.explore import Layout

    mode, n, steps = request.mode, request.samples, request.steps
    r, c = request.rows, request.cols
    if mode == "words":
        return explore.layout_from_request(
            space,
            request.conditions,
            r,
            c,
            request.fix,
            n,
            request.random,
            request.interpolate,
            steps,
            request.path,
            request.seed,
        )
    if mode == "table":
        _two(r, c, "show")
        return explore.attribute_table(space, r, c, request.fix)
    if mode == "vary":
        return explore.attribute_vary(space, c, request.fix, n)
    if mode == "classes":
        return explore.class_rows(space, None, n)
    if mode == "sets":
        return explore.label_sets(space, list(request.conditions), request.random, n, seed=request.seed)
    if mode in ("hue-sweep", "hue-map", "colour-table"):
        import torch

        base = torch.cat(list(request.colours)) if request.colours else None
        if mode == "hue-sweep":
            grid = space.hue_sweep(c, steps, fixed_colours=base, samples=n)
            return Layout.from_grid(space, grid, title=f"{space.attributes[c]} hue sweep")
        _two(r, c, "sweep")
        if mode == "hue-map":
            grid = space.hue_map(r, c, steps, steps, fixed_colours=base)
            return Layout.from_grid(space, grid, title=f"{space.attributes[r]} hue x {space.attributes[c]} hue")
        grid = space.table(r, c, fixed_colours=base)
        return Layout.from_grid(space, grid, title=f"{space.attributes[r]} x {space.attributes[c]}")
    if mode == "noise-interp":
        if space.is_conditional:
            held = request.conditions[0] if request.conditions else ""
            return explore.noise_interpolation(space, [held] * n, steps, request.path)
        return explore.noise_interpolation(space, None, steps, request.path, random=n)
    if mode == "cond-interp":
        ends = list(request.conditions) + ["", ""]
        return explore.condition_interpolation(space, ends[0], ends[1], steps, n)
    return explore.layout_from_request(space, n=n)  # any other mode: the space's own sample grid


def check_grid_size(layout, image_size: int, scale: int = 1, copies: int = 1, out: str | Path = "") -> int:
    """The pixels of ``copies`` grids of ``layout``; refused past :data:`MAX_GRID_PIXELS`."""
    cell = image_size + 2
    pixels = layout.rows * layout.cols * (cell * scale) ** 2 * copies
    if pixels > MAX_GRID_PIXELS:
        raise StudioError(
            f"{out}: {layout.rows} x {layout.cols} images of {image_size} px at scale {scale} make "
            f"{pixels / 1e6:.0f} megapixels, more than the {MAX_GRID_PIXELS // 1_000_000} allowed; "
            "lower --n, --random, --steps or --scale",
            code="grid.too_large",
            rows=layout.rows,
            cols=layout.cols,
            megapixels=round(pixels / 1e6),
            allowed=MAX_GRID_PIXELS // 1_000_000,
        )
    return pixels


@dataclass
class SampleRequest:
    """A grid of a checkpoint's samples (or, with ``sheet``, of the run's generators side by side) to a PNG."""

    checkpoint: str | Path
    out: str | Path
    layout: LayoutRequest = field(default_factory=LayoutRequest)
    ema: bool = False  # the checkpoint's EMA generator instead of G
    seed: int = 0  # of the noise
    truncation: float | None = None
    truncation_mode: str = "clamp"
    scale: int = 1
    captions: bool = True
    sheet: bool = False  # the run's last checkpoint, its saved averages and the EMA, with this grid
    overwrite: bool = False


@dataclass
class SampleResult:
    path: Path
    rows: int
    cols: int
    size: tuple[int, int]  # (width, height) px of the PNG
    labels: list[str] = field(default_factory=list)  # the generators of a sheet, in order


def sample_grid(
    request: SampleRequest, progress: Progress | None = None, should_stop: ShouldStop | None = None
) -> SampleResult:
    """Draw the grid ``request`` asks for and write it atomically; refused before any work when it cannot be."""
    from studio.core.atomic import atomic_save_image
    from studio.core.checkpoint import generator_from_checkpoint
    from studio.core.explore import Explorer, NoiseSettings, grid_image
    from studio.core.rundir import guard_output

    out, checkpoint = Path(request.out), Path(request.checkpoint)
    guard_output(out, [checkpoint])
    if out.exists() and not request.overwrite:
        raise OutputExists(out, f"{out}: already exists; pass --force to overwrite it")
    which = "ema" if request.ema else "g"
    g, space, config = generator_from_checkpoint(checkpoint, which)
    layout = build_layout(space, request.layout)
    noise = NoiseSettings(request.seed, request.truncation, request.truncation_mode)
    if request.sheet:
        from studio.app.compare import CompareRequest, compare, comparison_generators
        from studio.core.averaging import GeneratorRef

        run = checkpoint.parent.parent
        chosen = GeneratorRef(checkpoint, which, f"{checkpoint.name}{' (EMA)' if which == 'ema' else ''}")
        count = len(comparison_generators(run, "all", chosen))
        check_grid_size(layout, config.image_size, request.scale, count, out)
        comparison = compare(
            CompareRequest(run, "all", chosen, layout, noise, space=space, scale=request.scale), progress, should_stop
        )
        image = comparison.save(out, overwrite=True)
        return SampleResult(out, layout.rows, layout.cols, image.size, list(comparison.titles))
    check_grid_size(layout, config.image_size, request.scale, 1, out)
    # float32: the same pixels as the exports and every earlier run of this command.
    explorer = Explorer(g, space, config.nz, layout, noise, precision="float32", channels_last=False)
    result = explorer.render(should_stop=should_stop)
    check_stop(lambda: result.stopped, "the grid")
    image = grid_image(result.mosaic, layout, request.captions, request.scale, title=None if request.captions else "")
    atomic_save_image(image, out)
    return SampleResult(out, layout.rows, layout.cols, image.size)

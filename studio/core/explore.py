"""The condition explorer: grids of conditions x noise, noise controls, fast redraws.

A :class:`Layout` says which condition goes in each cell and which cells
share a noise vector; an :class:`Explorer` holds a generator, a layout and
the noise settings (seed, per-row resampling, truncation) and renders the
grid as a uint8 mosaic.  It is built to sit behind a panel that redraws on
every change of a control:

* inference runs under ``torch.inference_mode`` in batches, in bfloat16
  autocast where the CPU has bfloat16 dot products (as training decides, see
  :mod:`studio.core.device`), with channels-last weights;
* every rendered cell is cached under its exact noise and condition, so a
  change that touches one row renders only that row, and going back to an
  earlier setting renders nothing;
* :meth:`Explorer.render` fills the mosaic in chunks of rows and hands each
  finished strip to a callback, so a caller shows rows as they arrive, and
  polls ``should_stop`` between chunks so a newer request can cut it short.

Nothing here imports Qt: the window runs :meth:`Explorer.render` in a worker
thread and passes the numpy strips to the GUI thread.
"""

from __future__ import annotations

import itertools
import math
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from PIL import Image
from torch import nn

from studio.core.conditions import ConditionGrid, ConditionSpace
from studio.core.device import Precision, resolve_precision
from studio.core.sampling import GRID_PADDING, captioned_grid, titled
from studio.errors import ConfigError

__all__ = [
    "NOISE_LAYOUTS",
    "PATHS",
    "TRUNCATION_MODES",
    "Layout",
    "NoiseSettings",
    "RenderResult",
    "Explorer",
    "truncate",
    "lerp",
    "slerp",
    "interpolate",
    "attribute_table",
    "attribute_vary",
    "class_rows",
    "label_sets",
    "condition_rows",
    "noise_interpolation",
    "condition_interpolation",
    "layout_from_request",
    "images_to_uint8",
    "grid_image",
    "compare_generators",
]

NOISE_LAYOUTS = ("row", "column", "cell", "interpolate")
PATHS = ("linear", "slerp")
TRUNCATION_MODES = ("clamp", "rescale")


# --- noise --------------------------------------------------------------------------


def truncate(z: torch.Tensor, threshold: float | None, mode: str = "clamp") -> torch.Tensor:
    """The truncation trick: keep z near the centre of N(0, 1), trading variety for quality.

    * ``clamp``: every entry clipped to [-threshold, threshold];
    * ``rescale``: each vector scaled down (direction kept) so that its norm is
      at most ``threshold * sqrt(nz)``, the typical norm of z times the threshold.
    """
    if threshold is None:
        return z
    if threshold <= 0:
        raise ConfigError(f"truncation {threshold}: it must be above 0")
    if mode == "clamp":
        return z.clamp(-threshold, threshold)
    if mode == "rescale":
        limit = threshold * math.sqrt(z.shape[-1])
        norms = z.norm(dim=-1, keepdim=True)
        return z * (limit / norms.clamp(min=1e-12)).clamp(max=1.0)
    raise ConfigError(f"truncation mode {mode!r}: choose one of {', '.join(TRUNCATION_MODES)}")


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Straight-line points between two vectors; ``t`` is (T,), the result (T, nz)."""
    t = t.to(a.dtype)[:, None]
    return a[None] * (1 - t) + b[None] * t


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Points along the great circle from ``a`` to ``b``, the norm going linearly from |a| to |b|.

    Samples of a high-dimensional Gaussian lie near a sphere; a straight line
    between two of them passes through the low-norm middle G rarely saw, a
    great circle does not. Equal endpoint norms stay exactly that norm.
    """
    t = t.to(a.dtype)[:, None]
    na, nb = a.norm(), b.norm()
    ua, ub = a / na.clamp(min=1e-12), b / nb.clamp(min=1e-12)
    omega = torch.arccos((ua * ub).sum().clamp(-1.0, 1.0))
    if omega < 1e-6 or math.pi - omega < 1e-6:
        # Same or opposite directions: no single great circle, so walk the line between them.
        return lerp(a, b, t[:, 0])
    else:
        so = torch.sin(omega)
        direction = (torch.sin((1 - t) * omega) / so) * ua[None] + (torch.sin(t * omega) / so) * ub[None]
        direction = direction / direction.norm(dim=1, keepdim=True).clamp(min=1e-12)
    norm = na * (1 - t) + nb * t
    out = direction * norm
    # Exact endpoints, whatever rounding the trigonometry left.
    out[t[:, 0] == 0] = a
    out[t[:, 0] == 1] = b
    return out


def interpolate(a: torch.Tensor, b: torch.Tensor, steps: int, path: str = "linear") -> torch.Tensor:
    """``steps`` vectors from ``a`` to ``b`` inclusive, along ``path`` ('linear' or 'slerp')."""
    if steps < 2:
        raise ConfigError(f"interpolation needs at least 2 steps, got {steps}")
    t = torch.linspace(0, 1, steps)
    if path == "linear":
        return lerp(a, b, t)
    if path == "slerp":
        return slerp(a, b, t)
    raise ConfigError(f"interpolation path {path!r}: choose one of {', '.join(PATHS)}")


# --- layouts ------------------------------------------------------------------------


@dataclass
class Layout:
    """Which condition goes in each cell, and which cells share one noise vector.

    ``noise``: 'row' (one z per row, so only the condition changes along it),
    'column' (one z per column, the same noise samples in every row), 'cell',
    or 'interpolate' (each row walks from its own z_a to z_b over the columns).
    """

    cond: torch.Tensor  # (rows * cols, dim) float encodings, row-major
    rows: int
    cols: int
    row_captions: list[str] = field(default_factory=list)
    col_captions: list[str] = field(default_factory=list)
    noise: str = "cell"
    path: str = "linear"  # for noise == 'interpolate'
    title: str = ""
    labels: torch.Tensor | None = None  # per-cell labels where each cell has one

    def __post_init__(self) -> None:
        if self.noise not in NOISE_LAYOUTS:
            raise ConfigError(f"noise layout {self.noise!r}: choose one of {', '.join(NOISE_LAYOUTS)}")
        if self.rows < 1 or self.cols < 1:
            raise ConfigError(f"a grid needs at least one row and one column, got {self.rows} x {self.cols}")
        if self.cond.shape[0] != self.rows * self.cols:
            raise ConfigError(f"{self.cond.shape[0]} conditions do not fill {self.rows} x {self.cols} cells")
        if self.noise == "interpolate" and self.cols < 2:
            raise ConfigError("a noise interpolation needs at least 2 columns")

    @classmethod
    def from_grid(cls, space: ConditionSpace, grid: ConditionGrid, title: str = "") -> Layout:
        """A space's grid as a layout, titled ``title`` or else as the grid is."""
        cond = _encode(space, grid.labels)
        return cls(
            cond,
            grid.rows,
            grid.cols,
            list(grid.row_captions),
            list(grid.col_captions),
            grid.noise_layout,
            title=title or grid.title,
            labels=grid.labels,
        )

    @property
    def slots(self) -> int:
        """How many noise vectors the layout draws."""
        return {"row": self.rows, "column": self.cols, "cell": self.rows * self.cols, "interpolate": 2 * self.rows}[
            self.noise
        ]

    def transposed(self) -> Layout:
        """Rows and columns swapped (e.g. eyes down, hair across); row or column noise follows its cells."""
        order = torch.arange(self.rows * self.cols).view(self.rows, self.cols).t().reshape(-1)
        noise = {"row": "column", "column": "row"}.get(self.noise, self.noise)
        if self.noise == "interpolate":
            raise ConfigError("an interpolation cannot be transposed")
        labels = self.labels[order] if self.labels is not None else None
        return Layout(
            self.cond[order],
            self.cols,
            self.rows,
            list(self.col_captions),
            list(self.row_captions),
            noise,
            self.path,
            self.title,
            labels,
        )


def _encode(space: ConditionSpace, labels: torch.Tensor) -> torch.Tensor:
    if not space.is_conditional:
        return torch.zeros(labels.shape[0], 0)
    return space.encode(labels).float()


def _need(space: ConditionSpace, layout: str, what: str, kind: str) -> None:
    """Refuse a layout made for another kind of space (``space.layouts`` names those it has)."""
    if layout not in space.layouts:
        raise ConfigError(f"{what} needs a {kind} condition space, this model has {space.describe()}")


def attribute_table(
    space: ConditionSpace, rows: str | int = 0, cols: str | int = 1, fixed: dict | str | list | None = None
) -> Layout:
    """Every value of one attribute down the rows x every value of another across (the hair x eye table).

    Each row shares one noise vector, so along a row only the column attribute changes.
    """
    _need(space, "table", "an attribute table", "multi-attribute")
    r, c = space.attribute_index(rows), space.attribute_index(cols)
    chosen = space.held_values(fixed)
    base = [chosen.get(i, 0) for i in range(len(space.sizes))]
    return Layout.from_grid(space, space.table(r, c, base))


def attribute_vary(
    space: ConditionSpace, vary: str | int, fixed: dict | str | list | None = None, samples: int = 8
) -> Layout:
    """Hold the other attributes (e.g. blue eyes) and run one through all its values.

    One row per noise sample, shared along the row, so only the varied
    attribute changes from cell to cell.
    """
    _need(space, "vary", "varying one attribute", "multi-attribute")
    v = space.attribute_index(vary)
    chosen = space.held_values(fixed)
    if v in chosen:
        raise ConfigError(f"{space.attributes[v][0]} cannot be both fixed and varied")
    base = [chosen.get(i, 0) for i in range(len(space.sizes))]
    return Layout.from_grid(space, space.vary(v, base, samples=max(1, samples)))


def class_rows(space: ConditionSpace, classes: list[str] | None = None, samples: int = 8) -> Layout:
    """Classes down the rows x noise samples across; each column is one noise vector in every row."""
    _need(space, "classes", "a class grid", "categorical")
    return Layout.from_grid(space, space.class_grid(classes, samples))


def label_sets(
    space: ConditionSpace, sets: list[str] | list[list[str]] = (), random: int = 0, samples: int = 8, seed: int = 0
) -> Layout:
    """Multi-label: one row per composed set of objects (min..max enforced), plus random valid sets."""
    _need(space, "sets", "composing object sets", "multi-label")
    return Layout.from_grid(space, space.sets_grid(sets, random, samples, seed))


def condition_rows(
    space: ConditionSpace, texts: list[str] = (), samples: int = 8, random: int = 0, seed: int = 0
) -> Layout:
    """Any space: one row per condition typed as text, plus random valid ones; noise samples across."""
    return Layout.from_grid(space, space.text_grid(texts, samples, random, seed))


def noise_interpolation(
    space: ConditionSpace,
    conditions: list[str] | None = None,
    steps: int = 8,
    path: str = "linear",
    random: int = 0,
    seed: int = 0,
) -> Layout:
    """Each row one fixed condition, walking from one noise vector to another across ``steps`` columns."""
    if path not in PATHS:
        raise ConfigError(f"interpolation path {path!r}: choose one of {', '.join(PATHS)}")
    if space.is_conditional:
        labels = [space.parse(t) for t in conditions or []] + space.random_labels(random, seed)
        if not labels:
            raise ConfigError("give at least one condition to interpolate at, or ask for random ones")
        stacked = torch.stack(labels)
        captions = [space.caption(label) for label in stacked]
    else:
        if conditions:
            raise ConfigError("an unconditional model takes no condition")
        stacked = torch.zeros(max(1, random), 0)
        captions = []
    cells = stacked.repeat_interleave(steps, dim=0)
    t = torch.linspace(0, 1, steps)
    return Layout(
        _encode(space, cells),
        stacked.shape[0],
        steps,
        captions,
        [f"{x:.2f}" for x in t.tolist()],
        "interpolate",
        path,
        title=f"noise interpolation ({path})",
        labels=cells,
    )


def condition_interpolation(space: ConditionSpace, start: str, end: str, steps: int = 8, samples: int = 4) -> Layout:
    """At fixed noise (one z per row), the condition encoding moving from ``start`` to ``end``.

    Between the ends the encoding is a blend no label names, e.g. 0.75 red
    hair + 0.25 blue hair; the ends are exactly the two conditions.
    """
    if not space.is_conditional:
        raise ConfigError("an unconditional model has no condition to interpolate")
    if steps < 2:
        raise ConfigError(f"interpolation needs at least 2 steps, got {steps}")
    a, b = _encode(space, space.parse(start)[None])[0], _encode(space, space.parse(end)[None])[0]
    t = torch.linspace(0, 1, steps)
    row = lerp(a, b, t)
    cond = row.repeat(samples, 1)
    # The ends go in the title: a full condition rarely fits over one cell.
    a_text, b_text = space.caption(space.parse(start)), space.caption(space.parse(end))
    cols = [f"{x:.2f}" for x in t.tolist()]
    return Layout(cond, samples, steps, [], cols, "row", title=f"{a_text} (0) -> {b_text} (1)")


def layout_from_request(
    space: ConditionSpace,
    conditions: list[str] = (),
    rows: str | None = None,
    cols: str | None = None,
    fix: list[str] | None = None,
    n: int = 8,
    random: int = 0,
    interpolate_what: str | None = None,
    steps: int = 8,
    path: str = "linear",
    seed: int = 0,
) -> Layout:
    """The layout a user asked for in words (the ``sample`` command's options)."""
    conditions = list(conditions)
    if interpolate_what == "noise":
        if not space.is_conditional:  # one row per pair of noise vectors
            return noise_interpolation(space, conditions, steps, path, random=random or n, seed=seed)
        if not conditions and not random:
            random = n
        return noise_interpolation(space, conditions, steps, path, random=random, seed=seed + 1)
    if interpolate_what == "condition":
        if len(conditions) != 2:
            raise ConfigError("--interpolate condition needs exactly two --condition endpoints")
        return condition_interpolation(space, conditions[0], conditions[1], steps, samples=n)
    if interpolate_what is not None:
        raise ConfigError(f"--interpolate {interpolate_what!r}: choose noise or condition")
    # Random labels draw from seed + 1: the seed itself draws the noise.
    return Layout.from_grid(space, space.request_grid(conditions, rows, cols, fix, n, random, seed + 1))


# --- rendering ---------------------------------------------------------------------


def images_to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> (N, H, W, 3) uint8, rounded exactly as :func:`to_uint8_grid` does."""
    x = images.detach().float().cpu()
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    x = x.clamp(-1, 1).add(1).div(2).mul(255).add(0.5).clamp(0, 255).to(torch.uint8)
    return x.permute(0, 2, 3, 1).contiguous().numpy()


@dataclass(frozen=True)
class NoiseSettings:
    seed: int = 0
    truncation: float | None = None
    truncation_mode: str = "clamp"

    def __post_init__(self) -> None:
        if self.truncation_mode not in TRUNCATION_MODES:
            raise ConfigError(f"truncation mode {self.truncation_mode!r}: choose one of {', '.join(TRUNCATION_MODES)}")
        if self.truncation is not None and self.truncation <= 0:
            raise ConfigError(f"truncation {self.truncation}: it must be above 0 (or off)")


@dataclass
class RenderResult:
    mosaic: np.ndarray  # (H, W, 3) uint8, cells with GRID_PADDING white between them
    rows: int
    cols: int
    rendered: int  # cells that went through G
    cached: int  # cells taken from the cache
    seconds: float
    stopped: bool = False  # should_stop cut the render short; unrendered cells are white


RowsCallback = Callable[[int, int, np.ndarray], None]


class Explorer:
    """A generator, a layout and noise settings; renders grids and remembers every cell it drew.

    ``precision`` is 'auto' (bfloat16 autocast where the CPU or GPU is fast at
    it, as training decides), 'float32' or 'bfloat16'. Use 'float32' when the
    pixels must match the exports and the ``sample`` command exactly.
    ``channels_last`` (default: on the CPU only) stores the weights in the
    memory order oneDNN's convolutions run fastest in; on an H100 it was slower.
    """

    def __init__(
        self,
        generator: nn.Module,
        space: ConditionSpace,
        nz: int,
        layout: Layout | None = None,
        noise: NoiseSettings = NoiseSettings(),
        precision: str = "auto",
        channels_last: bool | None = None,
        cache_cells: int = 4096,
        chunk_cells: int = 40,
        padding: int = GRID_PADDING,
    ):
        self.space = space
        self.nz = nz
        self.padding = padding
        self.channels_last = channels_last
        self.cache_cells = cache_cells
        self.chunk_cells = max(1, chunk_cells)
        self._precision_setting = precision
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._tokens: weakref.WeakKeyDictionary[nn.Module, int] = weakref.WeakKeyDictionary()
        self._counter = itertools.count()
        self._resampled: dict[int, int] = {}
        self.noise = noise
        self.set_generator(generator)
        self.layout = layout if layout is not None else layout_from_request(space)

    # --- controls -------------------------------------------------------------------
    def set_generator(self, generator: nn.Module) -> None:
        """Switch generators (a checkpoint, an average, the EMA).

        Cells are cached per generator object, so switching back to one
        redraws from the cache; after changing a generator's weights in place,
        call :meth:`clear_cache`.
        """
        self.generator = generator.eval()
        self.device = next(generator.parameters()).device
        use = self.device.type == "cpu" if self.channels_last is None else self.channels_last
        if use:
            # In place: the weights keep their values, only their memory order changes.
            self.generator.to(memory_format=torch.channels_last)
        self.precision = self._resolve_precision(self._precision_setting)
        self._size = None
        if generator not in self._tokens:
            self._tokens[generator] = next(self._counter)
        token = self._tokens[generator]
        self._gen_key = f"{token}:{self.precision.name}:".encode()

    def _resolve_precision(self, setting: str) -> Precision:
        if setting == "float16" and self.device.type == "cpu":
            setting = "float32"
        return resolve_precision(setting, self.device)

    def set_layout(self, layout: Layout) -> None:
        """A new arrangement of conditions; per-row resampling is forgotten."""
        self.layout = layout
        self._resampled.clear()

    def set_noise(self, noise: NoiseSettings) -> None:
        if noise.seed != self.noise.seed:
            self._resampled.clear()
        self.noise = noise

    def set_seed(self, seed: int) -> None:
        self.set_noise(replace(self.noise, seed=int(seed)))

    def set_truncation(self, threshold: float | None, mode: str | None = None) -> None:
        self.set_noise(replace(self.noise, truncation=threshold, truncation_mode=mode or self.noise.truncation_mode))

    def resample_row(self, row: int) -> None:
        """New noise for one row only; every other row keeps its images."""
        if not 0 <= row < self.layout.rows:
            raise ConfigError(f"row {row}: the grid has rows 0-{self.layout.rows - 1}")
        self._resampled[row] = self._resampled.get(row, 0) + 1

    def clear_cache(self) -> None:
        self._cache.clear()

    # --- noise ------------------------------------------------------------------------
    def _row_noise(self, row: int, count: int) -> torch.Tensor:
        # A seed of its own per (seed, row, resample count): reproducible, and independent of other rows.
        mixed = (self.noise.seed * 1_000_003 + (row + 1) * 7_919 + count * 104_729) % (2**63 - 1)
        return torch.randn(self._row_slots(), self.nz, generator=torch.Generator().manual_seed(mixed))

    def _row_slots(self) -> int:
        return {"row": 1, "column": self.layout.cols, "cell": self.layout.cols, "interpolate": 2}[self.layout.noise]

    def z(self) -> torch.Tensor:
        """The noise of every cell (rows * cols, nz), after truncation and interpolation.

        The first draw from ``seed`` is the same as :func:`grid_noise` for the
        row, column and cell layouts, so a grid matches the ``sample`` command.
        """
        lay, nz = self.layout, self.nz
        g = torch.Generator().manual_seed(self.noise.seed)

        def t(v: torch.Tensor) -> torch.Tensor:
            return truncate(v, self.noise.truncation, self.noise.truncation_mode)

        if lay.noise == "interpolate":
            ends = torch.randn(2 * lay.rows, nz, generator=g).view(2, lay.rows, nz).transpose(0, 1).clone()
            for row, count in self._resampled.items():
                ends[row] = self._row_noise(row, count)
            ends = t(ends)
            return torch.cat([interpolate(ends[r, 0], ends[r, 1], lay.cols, lay.path) for r in range(lay.rows)])
        base = t(torch.randn(lay.slots, nz, generator=g))
        if lay.noise == "row":
            per_row = base.view(lay.rows, 1, nz).expand(lay.rows, lay.cols, nz)
        elif lay.noise == "column":
            per_row = base.view(1, lay.cols, nz).expand(lay.rows, lay.cols, nz)
        else:
            per_row = base.view(lay.rows, lay.cols, nz)
        per_row = per_row.clone()
        for row, count in self._resampled.items():
            per_row[row] = t(self._row_noise(row, count)).expand(lay.cols, nz)
        return per_row.reshape(lay.rows * lay.cols, nz)

    # --- rendering ------------------------------------------------------------------------
    def _cell_shape(self) -> tuple[int, int]:
        size = self._size
        if size is None:
            with torch.inference_mode():
                z = torch.zeros(1, self.nz, device=self.device)
                cond = self.layout.cond[:1].to(self.device)
                size = tuple(self.generator(z, cond).shape[-2:])
            self._size = size
        return size

    def mosaic_shape(self) -> tuple[int, int]:
        h, w = self._cell_shape()
        p = self.padding
        return self.layout.rows * (h + p) + p, self.layout.cols * (w + p) + p

    def _run(self, z: torch.Tensor, cond: torch.Tensor) -> np.ndarray:
        z = z.to(self.device, non_blocking=True)
        cond = cond.to(self.device, non_blocking=True)
        with torch.inference_mode(), self.precision.autocast():
            images = self.generator(z, cond)
        return images_to_uint8(images)

    def render(
        self, on_rows: RowsCallback | None = None, should_stop: Callable[[], bool] | None = None
    ) -> RenderResult:
        """The whole grid as a uint8 mosaic, rendering only cells not seen before.

        Rows are filled top to bottom in chunks of about ``chunk_cells`` new
        cells; after each chunk ``on_rows(first_row, end_row, strip)`` gets a
        copy of those finished rows of the mosaic, starting at pixel row
        ``first_row * (cell height + padding)``: the strips tile the mosaic.
        """
        started = time.perf_counter()
        lay = self.layout
        h, w = self._cell_shape()
        p = self.padding
        mosaic = np.full((lay.rows * (h + p) + p, lay.cols * (w + p) + p, 3), 255, dtype=np.uint8)
        z = self.z().float()
        cond = lay.cond.float()
        packed = torch.cat([z, cond], dim=1).contiguous().numpy()
        keys = [self._gen_key + row.tobytes() for row in packed]

        def paste(i: int, cell: np.ndarray) -> None:
            r, c = divmod(i, lay.cols)
            y, x = p + r * (h + p), p + c * (w + p)
            mosaic[y : y + h, x : x + w] = cell

        rendered = cached = 0
        stopped = False
        row = 0
        while row < lay.rows:
            if should_stop is not None and should_stop():
                stopped = True
                break
            first, todo = row, []
            while row < lay.rows and (not todo or len(todo) + lay.cols <= self.chunk_cells):
                for i in range(row * lay.cols, (row + 1) * lay.cols):
                    cell = self._cache.get(keys[i])
                    if cell is None:
                        todo.append(i)
                    else:
                        self._cache.move_to_end(keys[i])
                        paste(i, cell)
                        cached += 1
                row += 1
            if todo:
                index = torch.tensor(todo)
                cells = self._run(z[index], cond[index])
                for i, cell in zip(todo, cells):
                    paste(i, cell)
                    self._remember(keys[i], cell)
                rendered += len(todo)
            if on_rows is not None:
                bottom = row * (h + p) + (p if row == lay.rows else 0)
                on_rows(first, row, mosaic[first * (h + p) : bottom].copy())
        return RenderResult(mosaic, lay.rows, lay.cols, rendered, cached, time.perf_counter() - started, stopped)

    def _remember(self, key: bytes, cell: np.ndarray) -> None:
        self._cache[key] = cell
        while len(self._cache) > self.cache_cells:
            self._cache.popitem(last=False)

    def image(self, captions: bool = True, scale: int = 1, title: str | None = None) -> Image.Image:
        """The grid as a PIL image with row/column captions and a title (the layout's, unless given)."""
        result = self.render()
        return grid_image(result.mosaic, self.layout, captions, scale, title)


def grid_image(
    mosaic: np.ndarray, layout: Layout, captions: bool = True, scale: int = 1, title: str | None = None
) -> Image.Image:
    if captions:
        image = captioned_grid(mosaic, layout.rows, layout.cols, layout.row_captions, layout.col_captions, scale)
    else:
        image = Image.fromarray(mosaic)
        if scale != 1:
            image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    text = layout.title if title is None else title
    return titled(image, text) if text else image


def compare_generators(
    generators: list[tuple[str, nn.Module]],
    space: ConditionSpace,
    nz: int,
    layout: Layout,
    noise: NoiseSettings = NoiseSettings(),
    precision: str = "float32",
    scale: int = 1,
) -> list[tuple[str, Image.Image]]:
    """The same noise and conditions through each generator: (label, captioned grid) per generator."""
    if not generators:
        raise ConfigError("nothing to compare: no generators given")
    explorer = Explorer(generators[0][1], space, nz, layout, noise, precision=precision, channels_last=False)
    out = []
    for label, generator in generators:
        explorer.set_generator(generator)
        out.append((label, grid_image(explorer.render().mosaic, layout, True, scale, title="")))
    return out

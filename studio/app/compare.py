"""The comparison sheet: the same noise and conditions through a run's last checkpoint, averages and EMA.

One place decides which generators a comparison shows
(:func:`comparison_generators`), what each is called (:func:`sheet_label`)
and how the grids become one image (:meth:`Comparison.sheet`); the checkpoint
lab, the explorer's sheet and ``sample --sheet`` all draw through
:func:`compare`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from studio.app.common import Progress, ShouldStop, check_stop, report
from studio.core.rundir import RunDirectory
from studio.errors import StudioError

__all__ = [
    "COMPARE_SAMPLES",
    "SHEET_COLUMNS",
    "CompareRequest",
    "Comparison",
    "sheet_label",
    "comparison_generators",
    "compare",
    "average_and_compare",
]

COMPARE_SAMPLES = 6  # noise samples per condition of the default comparison layout
SHEET_COLUMNS = 3  # grids side by side on a sheet before it wraps


def sheet_label(ref) -> str:
    """What a generator of a run's comparison is called: the run's last checkpoint says so, the others their name."""
    return f"last checkpoint ({ref.label})" if ref.kind == "checkpoint" else str(ref)


def _same(a, b) -> bool:
    from studio.core.snapshot import generator_file_key  # an epoch's checkpoint and snapshot: one generator

    return generator_file_key(a.path) == generator_file_key(b.path) and a.which == b.which


def comparison_generators(
    run: RunDirectory | str | Path, averages: str | list = "newest", chosen=None
) -> list[tuple[str, object]]:
    """(label, GeneratorRef) of what a comparison of ``run`` shows, in order.

    The run's last checkpoint, its saved averages (``'newest'``, ``'all'``, or
    these files) and its EMA. ``chosen`` (a GeneratorRef, e.g. the checkpoint
    a sample command names) comes first, under its own label, unless it is
    one of them already.
    """
    from studio.core.averaging import comparison_refs

    run = run if isinstance(run, RunDirectory) else RunDirectory(Path(run).expanduser())
    if isinstance(averages, str) and averages not in ("newest", "all"):
        raise StudioError(f"averages {averages!r}: 'newest', 'all', or a list of files")
    refs = []
    if run.exists():
        if isinstance(averages, str):
            wanted = run.averages()[-1:] if averages == "newest" else None
        else:
            wanted = list(averages)
        refs = comparison_refs(run, wanted)
    out = [(sheet_label(ref), ref) for ref in refs]
    if chosen is not None and not any(_same(ref, chosen) for ref in refs):
        out.insert(0, (str(chosen), chosen))
    return out


@dataclass
class CompareRequest:
    """A comparison of a run's generators.

    ``layout`` and ``noise`` (a :class:`~studio.core.explore.Layout` and
    :class:`~studio.core.explore.NoiseSettings`) default to the condition
    space's own layout with ``samples`` noise samples per condition, seed 0.
    With ``space`` given, every generator must draw that condition space
    (the one ``layout`` was made for).
    """

    run: RunDirectory | str | Path
    averages: str | list = "newest"  # 'newest', 'all', or these average files
    chosen: object | None = None  # a GeneratorRef drawn first, unless among the others
    layout: object | None = None
    noise: object | None = None
    samples: int = COMPARE_SAMPLES
    space: object | None = None
    scale: int = 1
    precision: str = "float32"  # the same pixels as the exports and the sample command
    device: str = "cpu"
    loaded: dict = field(default_factory=dict)  # generators in memory by file: {Path: G}, e.g. a fresh average

    def seed(self) -> int:
        return self.noise.seed if self.noise is not None else 0


@dataclass
class Comparison:
    """Captioned grids of the same noise and conditions through several generators."""

    titles: list[str]
    images: list  # PIL images, one per generator
    refs: list  # GeneratorRef, one per image
    seed: int
    run_id: str = ""
    layout: object | None = None  # the Layout every grid shows

    def arrays(self) -> list:
        """The grids as (H, W, 3) uint8 numpy arrays, for a view that paints them."""
        import numpy as np

        return [np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8)) for image in self.images]

    def title(self) -> str:
        """The sheet's heading: the run, what the grids show, the seed."""
        shown = getattr(self.layout, "title", "") or "same noise and conditions"
        return f"{self.run_id + ': ' if self.run_id else ''}{shown}, seed {self.seed}"

    def sheet(self, columns: int = SHEET_COLUMNS, title: str | None = None):
        """One PIL image: every grid under its label, ``columns`` across, under the heading."""
        from studio.core.sampling import compose_sheet

        return compose_sheet(
            list(zip(self.titles, self.images)),
            columns=min(columns, len(self.images)),
            title=self.title() if title is None else title,
        )

    def save(self, path: str | Path, overwrite: bool = False, columns: int = SHEET_COLUMNS):
        """Write :meth:`sheet` as a PNG, atomically; an existing file only with ``overwrite``. Returns the image."""
        from studio.app.common import OutputExists
        from studio.core.atomic import atomic_save_image

        path = Path(path)
        image = self.sheet(columns)
        try:
            atomic_save_image(image, path, format="PNG", overwrite=overwrite)
        except FileExistsError:
            raise OutputExists(path, f"{path}: already exists") from None
        return image


def _load(ref, request: CompareRequest):
    """(G, space, config) of ``ref``, from memory when the request holds it."""
    from studio.core.averaging import load_generator
    from studio.core.checkpoint import checkpoint_config, load_checkpoint

    for path, generator in request.loaded.items():
        if ref.which == "g" and Path(path).resolve() == Path(ref.path).resolve():
            config, space = checkpoint_config(load_checkpoint(ref.path, mmap=True), ref.path)
            return generator, space, config
    return load_generator(ref, request.device)


def compare(
    request: CompareRequest, progress: Progress | None = None, should_stop: ShouldStop | None = None
) -> Comparison:
    """Draw each generator of the comparison in turn (one in memory at a time), the same noise in each.

    Refused when the run has nothing to compare or a generator draws another
    condition space; a stop raises :class:`~studio.app.common.Cancelled`.
    """
    from studio.core.explore import NoiseSettings, compare_generators, layout_from_request

    run = request.run if isinstance(request.run, RunDirectory) else RunDirectory(Path(request.run).expanduser())
    generators = comparison_generators(run, request.averages, request.chosen)
    if not generators:
        raise StudioError(f"{run.checkpoints_dir}: no generators to compare yet")
    noise = request.noise if request.noise is not None else NoiseSettings()
    out = report(progress)
    layout, space, nz = request.layout, request.space, 0
    titles, images = [], []
    for i, (label, ref) in enumerate(generators):
        check_stop(should_stop, "the comparison")
        out(f"drawing {label}", i / len(generators))
        generator, ref_space, config = _load(ref, request)
        if space is None:
            space = ref_space
        elif ref_space != space:
            raise StudioError(f"{ref.path}: its condition space differs from the layout's")
        if nz and config.nz != nz:
            raise StudioError(f"{ref.path}: its noise has {config.nz} dimensions, the others' {nz}")
        nz = config.nz
        if layout is None:
            layout = layout_from_request(space, n=request.samples, seed=noise.seed)
        [(_, image)] = compare_generators(
            [(label, generator)], space, nz, layout, noise, request.precision, request.scale
        )
        titles.append(label)
        images.append(image)
    out("compared", 1.0)
    run_id = run.run_id if run.exists() else ""
    return Comparison(titles, images, [ref for _, ref in generators], noise.seed, run_id, layout)


def average_and_compare(
    request, seed: int = 0, progress: Progress | None = None, should_stop: ShouldStop | None = None
):
    """Average as ``request`` (an :class:`~studio.app.checkpoints.AverageRequest`) asks, then compare the result.

    Returns (AverageOutcome, Comparison or None): the comparison shows the
    run's last checkpoint, the new average (drawn from memory) and the EMA; a
    stop during it keeps the saved average and gives no comparison.
    """
    from studio.app.checkpoints import average
    from studio.app.common import Cancelled, scaled
    from studio.core.explore import NoiseSettings

    outcome = average(request, scaled(progress, 0.0, 0.65), should_stop)
    run = outcome.path.parent.parent
    try:
        comparison = compare(
            CompareRequest(
                run, [outcome.path], noise=NoiseSettings(seed=seed), loaded={outcome.path: outcome.result.generator}
            ),
            scaled(progress, 0.7, 0.3),
            should_stop,
        )
    except Cancelled:
        comparison = None
    return outcome, comparison

"""The explorer's render job: one plain function, run in a :class:`~studio.gui.worker.Worker`.

:func:`render_job` brings the one :class:`~studio.core.explore.Explorer` up to
a :class:`RenderRequest` (generator, layout, noise, rows to resample) and
draws, handing finished rows to ``on_rows`` as they come; ``should_stop``
(the worker's, true after ``cancel()``) cuts it short when a newer request
waits.  What the jobs keep between renders (the Explorer and its cache, the
generators loaded) lives in one :class:`RenderState`, touched by one job at
a time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from studio.core.averaging import GeneratorRef, load_generator
from studio.core.explore import Explorer, Layout, NoiseSettings, RenderResult

__all__ = ["KEEP_GENERATORS", "RenderRelay", "RenderRequest", "RenderState", "render_job"]

KEEP_GENERATORS = 4  # generators kept loaded, so switching back is instant


class RenderRelay(QObject):
    """Signals a render job emits from its thread; they arrive queued on the GUI thread."""

    begin = Signal(int, object)  # job id, ((height, width) of the mosaic, its layout)
    rows = Signal(int, int, int, object)  # job id, first row, end row, uint8 strip


@dataclass(frozen=True)
class RenderRequest:
    """One render: the newest settings of the panel, numbered so that a superseded job's rows are dropped."""

    job_id: int
    ref: GeneratorRef
    layout: Layout
    noise: NoiseSettings
    resample: tuple[int, ...] = ()  # rows (0-based) that get new noise first
    precision: str = "auto"


class RenderState:
    """What render jobs keep between them: the Explorer (with its cache) and the last generators loaded."""

    def __init__(self, keep: int = KEEP_GENERATORS):
        self.explorer: Explorer | None = None
        self.keep = keep
        self._generators: OrderedDict[tuple, tuple] = OrderedDict()
        self._lock = threading.Lock()

    def generator(self, ref: GeneratorRef):
        """(G, space, config) for ``ref``, loaded once (again when its file changed)."""
        try:
            stamp = ref.path.stat().st_mtime_ns
        except OSError:
            stamp = 0
        key = (str(ref.path), ref.which, stamp)
        with self._lock:
            if key in self._generators:
                self._generators.move_to_end(key)
                return self._generators[key]
        loaded = load_generator(ref)
        with self._lock:
            self._generators[key] = loaded
            while len(self._generators) > self.keep:
                self._generators.popitem(last=False)
        return loaded

    def explorer_for(self, request: RenderRequest) -> Explorer:
        """The Explorer set to ``request``: the one kept, unless the space or the noise width changed."""
        generator, space, config = self.generator(request.ref)
        explorer = self.explorer
        if explorer is None or explorer.space != space or explorer.nz != config.nz:
            explorer = Explorer(generator, space, config.nz, request.layout, request.noise, precision=request.precision)
            self.explorer = explorer
            return explorer
        if explorer.generator is not generator:
            explorer.set_generator(generator)
        if explorer.layout is not request.layout:
            explorer.set_layout(request.layout)
        explorer.set_noise(request.noise)
        return explorer


def render_job(
    request: RenderRequest,
    state: RenderState,
    on_begin: Callable[[int, tuple], None] | None = None,
    on_rows: Callable[[int, int, int, object], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[int, Layout, RenderResult]:
    """Draw ``request``: (job id, layout, RenderResult), the result ``stopped`` when cut short.

    ``on_begin(job_id, (mosaic shape, layout))`` before the first row,
    ``on_rows(job_id, first, end, strip)`` as rows finish (a
    :class:`RenderRelay`'s ``emit`` carries both to the GUI thread).
    """
    explorer = state.explorer_for(request)
    layout, job_id = request.layout, request.job_id
    for row in request.resample:
        if row < layout.rows:
            explorer.resample_row(row)
    if on_begin is not None:
        on_begin(job_id, (explorer.mosaic_shape(), layout))
    rows = None
    if on_rows is not None:

        def rows(first: int, end: int, strip) -> None:
            on_rows(job_id, first, end, strip)

    result = explorer.render(on_rows=rows, should_stop=should_stop)
    return job_id, layout, result

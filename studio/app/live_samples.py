"""Samples on demand while a run trains: a grid before the first step, and "sample now" from the current G and EMA.

:class:`LiveSampler` sits between a :class:`~studio.core.trainer.Trainer` and whoever hears its
events. It passes every event on; after the run's start (a fresh run: step 0) and, when asked
with :meth:`LiveSampler.request`, after the next step report, it draws the trainer's fixed-noise
grid through G (and its EMA when the run keeps one) and passes a :class:`LiveSamples` on too.
It draws on the trainer's own thread, between two steps, so no step is ever half-applied.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from studio.core.events import RunStarted, StepMetrics

__all__ = ["LiveSamples", "LiveSampler", "draw_live_samples"]


@dataclass
class LiveSamples:
    """Grids drawn from the generators as they are at ``step`` (an event of the app layer)."""

    step: int
    epoch: int  # complete epochs
    before_training: bool
    grids: list[tuple[str, np.ndarray]] = field(default_factory=list)  # (title, (H, W, 3) uint8)
    rows: int = 0
    cols: int = 0
    row_captions: list[str] = field(default_factory=list)
    col_captions: list[str] = field(default_factory=list)
    error: str = ""


def draw_live_samples(trainer, before_training: bool = False) -> LiveSamples:
    """The trainer's fixed-noise grid through its G and, when kept, its EMA, as they are now."""
    import torch

    from studio.core.sampling import generate_grid, to_uint8_grid

    grid = trainer.grid
    found = LiveSamples(
        trainer.step,
        trainer.epoch,
        before_training,
        rows=grid.rows,
        cols=grid.cols,
        row_captions=list(grid.row_captions),
        col_captions=list(grid.col_captions),
    )
    when = "before training" if before_training else f"step {trainer.step:,}"
    models = [(f"G, {when}", trainer.g)]
    ema = getattr(trainer, "ema", None)
    if ema is not None and not before_training:  # before the first step the EMA is G itself
        models.append((f"EMA of G, {when}", ema.module))
    for title, model in models:
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                images = generate_grid(model, trainer.space, grid, trainer.grid_z)
            found.grids.append((title, to_uint8_grid(images, grid.cols)))
        finally:
            model.train(was_training)
    return found


class LiveSampler:
    """Passes a trainer's events on to ``forward``, adding :class:`LiveSamples` at the start and on request."""

    def __init__(self, forward: Callable, first_grid: bool = True):
        self.forward = forward
        self.first_grid = first_grid
        self.trainer = None  # set once the trainer exists, before it runs
        self._requested = threading.Event()

    def request(self) -> None:
        """Draw after the next step report (from any thread)."""
        self._requested.set()

    def __call__(self, event) -> None:
        self.forward(event)
        if self.trainer is None:
            return
        if isinstance(event, RunStarted) and event.start_step == 0 and self.first_grid:
            self._draw(before_training=True)
        elif isinstance(event, StepMetrics) and self._requested.is_set():
            self._requested.clear()
            self._draw(before_training=False)

    def _draw(self, before_training: bool) -> None:
        try:
            samples = draw_live_samples(self.trainer, before_training)
        except Exception as exc:  # noqa: BLE001 - a sample that cannot be drawn must not end the run
            samples = LiveSamples(self.trainer.step, self.trainer.epoch, before_training, error=str(exc))
        self.forward(samples)

"""What the trainer reports: small dataclasses of plain data.

The GUI's worker forwards them as Qt signals, the CLI prints them; neither
needs torch to read them.  Images travel as uint8 numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Event",
    "RunStarted",
    "StepMetrics",
    "EpochEnd",
    "CheckpointSaved",
    "RunPaused",
    "RunResumed",
    "RunFinished",
    "RunError",
    "RunAlarm",
    "RunNotice",
    "METRIC_NAMES",
]

# The per-step figures, in the order the trainer reports them.
METRIC_NAMES = ("d_loss", "g_loss", "d_x", "d_g_z1", "d_g_z2", "aux_acc_real", "aux_acc_fake")


class Event:
    """Base class of trainer events."""


@dataclass
class RunStarted(Event):
    run_dir: str
    device: str
    precision: str
    start_epoch: int  # epochs already done (0 for a fresh run)
    start_step: int
    epochs: int
    steps_per_epoch: int
    batch_size: int
    g_parameters: int
    d_parameters: int
    has_aux: bool
    augment: str = ""  # the DiffAugment policy D sees images through ('translation,cutout'; 'off'; '' unknown)


@dataclass
class StepMetrics(Event):
    epoch: int  # 1-based epoch in progress
    step: int  # global step count, after this report
    epoch_step: int  # steps done in this epoch
    steps_per_epoch: int
    values: dict[str, float | None]  # METRIC_NAMES -> mean since the last report (None: not applicable)
    images_per_second: float
    lrs: dict[str, float] = field(default_factory=dict)


@dataclass
class EpochEnd(Event):
    epoch: int
    step: int
    grid: np.ndarray  # (H, W, 3) uint8 fixed-noise samples
    rows: int
    cols: int
    row_captions: list[str]
    col_captions: list[str]
    cell_size: int  # px of one image in the grid (padding excluded)
    padding: int
    means: dict[str, float | None]
    seconds: float
    images_per_second: float
    lrs: dict[str, float]
    sample_path: str


@dataclass
class CheckpointSaved(Event):
    path: str
    epoch: int  # complete epochs in it
    step: int


@dataclass
class RunPaused(Event):
    step: int


@dataclass
class RunResumed(Event):
    step: int


@dataclass
class RunFinished(Event):
    reason: str  # "completed" | "stopped" | "error"
    epoch: int
    step: int
    message: str = ""


@dataclass
class RunError(Event):
    message: str
    details: str = ""  # traceback for the log panel; empty for user errors


@dataclass
class RunNotice(Event):
    """One line for the run's log (the CLI prints it, the window's log shows it): what the trainer chose or fell
    back to, such as a compiled step that could not be compiled."""

    message: str
    step: int = 0
    level: str = "info"  # "info" | "warning"


@dataclass
class RunAlarm(Event):
    """A sign of collapse crossed its threshold (see :mod:`studio.core.monitor`)."""

    kind: str  # "diversity" | "d_gap" | "accuracy"
    epoch: int  # the epoch in which it was raised
    step: int
    since_epoch: int  # the first epoch the sign was beyond its threshold
    message: str  # what was seen, for a person
    figures: dict = field(default_factory=dict)
    action: str = "none"  # the run's on_alarm: "none" | "stop" | "stop-and-mark-best"
    marked: str = ""  # the generator marked as the one to use (stop-and-mark-best), when one was

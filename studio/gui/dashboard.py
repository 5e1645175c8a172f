"""The training dashboard: controls and progress, live plots, the sample timeline.

Trainer events arrive here on the GUI thread (queued from the worker).  They
are only buffered: the plots redraw from their own timer and the progress
bars and status texts from this one, both at most ten times a second.  A
past run is shown the same way from its files (metrics.jsonl, samples/).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from studio.app.epochs import saved_progress, time_left_text
from studio.app.live_samples import LiveSamples
from studio.app.run_health import run_alarms
from studio.core.events import (
    METRIC_NAMES,
    EpochEnd,
    RunAlarm,
    RunFinished,
    RunPaused,
    RunResumed,
    RunStarted,
    StepMetrics,
)
from studio.core.rundir import RunDirectory
from studio.gui.alarm_banner import AlarmBanner
from studio.gui.compare_view import DashboardComparison
from studio.gui.plots import REDRAW_INTERVAL_MS, TrainingPlots
from studio.gui.timeline import SampleTimelinePanel, TimelineFrame
from studio.gui.training_panel import TrainingControls

__all__ = ["TrainingDashboard", "RunFiles", "read_run_files"]


@dataclass
class RunFiles:
    """What a run folder holds, read for the dashboard."""

    config: object
    rows: list  # [(step, values with lrs)]
    frames: list  # [TimelineFrame]
    has_aux: bool


def _grid_layout(config):
    """(rows, cols, row captions, col captions) of a run's per-epoch grid, as the trainer lays it out."""
    from studio.core.conditions import NoCondition
    from studio.data.dataset import dataset_space

    space = NoCondition()
    if config.conditional:
        try:
            space = dataset_space(config.dataset)
        except Exception:  # noqa: BLE001 - a moved dataset only costs the captions
            space = None
    if space is None:
        return None
    grid = space.default_grid(config.sample_grid_max)
    return grid.rows, grid.cols, list(grid.row_captions), list(grid.col_captions)


def frames_from_samples(run: RunDirectory, config, up_to_epoch: int | None = None) -> list[TimelineFrame]:
    layout = _grid_layout(config)
    frames = []
    for epoch, path in run.samples():
        if up_to_epoch is not None and epoch > up_to_epoch:
            continue
        if layout is None:
            rows, cols, rc, cc = 1, 1, [], []
        else:
            rows, cols, rc, cc = layout
        frames.append(TimelineFrame(epoch, rows, cols, rc, cc, path=str(path)))
    return frames


def read_run_files(run: RunDirectory, up_to_step: int | None = None, up_to_epoch: int | None = None) -> RunFiles:
    config = run.read_config()
    rows = []
    has_aux = False
    for row in run.read_metrics():
        if row.get("kind") != "step":
            continue
        step = row.get("step", 0)
        if up_to_step is not None and step > up_to_step:
            continue
        values = {k: row.get(k) for k in METRIC_NAMES}
        values["g_lr"] = row.get("g_lr")
        values["d_lr"] = row.get("d_lr")
        has_aux = has_aux or values.get("aux_acc_real") is not None
        rows.append((float(step), values))
    return RunFiles(config, rows, frames_from_samples(run, config, up_to_epoch), has_aux)


class TrainingDashboard(QWidget):
    """Controls on top; plots and the sample timeline side by side below."""

    statusChanged = Signal(str, str)  # (rate text, ETA text)
    liveSamples = Signal(object)  # studio.app.live_samples.LiveSamples drawn on request ("Sample now")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("trainingDashboard")
        self.controls = TrainingControls()
        self.plots = TrainingPlots()
        self.timeline = SampleTimelinePanel()
        self.title = QLabel("No run shown")
        self.title.setObjectName("runTitle")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("dashboardSplitter")
        self.splitter.addWidget(self.plots)
        self.splitter.addWidget(self.timeline)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.controls)
        layout.addWidget(self.title)
        self.alarm_banner = AlarmBanner()  # the collapse alarm: hidden until one is raised
        layout.addWidget(self.alarm_banner)
        layout.addWidget(self.splitter, 1)

        self.run_path: str | None = None
        self.live = False
        self.started: RunStarted | None = None
        self.last_step = 0
        self.last_metrics: StepMetrics | None = None
        self._progress_dirty = False
        self._rate = None
        self._marks: deque[tuple[float, int]] = deque(maxlen=40)
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_INTERVAL_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()
        self.comparison = DashboardComparison(self)  # several runs overlaid, grids side by side

    # --- live run -------------------------------------------------------------
    def begin_live(self, run_path: str, title: str) -> None:
        self.comparison.end()
        self.comparison.mark_events(None)
        self.run_path = run_path
        self.live = True
        self.started = None
        self.last_step = 0
        self.last_metrics = None
        self._rate = None
        self._marks.clear()
        self.plots.clear()
        self.timeline.clear()
        self.alarm_banner.clear()
        self.controls.reset_progress()
        self.title.setText(title)
        self.statusChanged.emit("", "")

    def on_event(self, event) -> None:
        if isinstance(event, StepMetrics):
            self.plots.add(event.step, event.values, event.lrs)
            self.last_step = event.step
            self.last_metrics = event
            self._marks.append((time.perf_counter(), event.step))
            rate = event.images_per_second
            self._rate = rate if self._rate is None else 0.8 * self._rate + 0.2 * rate
            self._progress_dirty = True
        elif isinstance(event, EpochEnd):
            self.timeline.add_frame(
                TimelineFrame(
                    event.epoch,
                    event.rows,
                    event.cols,
                    list(event.row_captions),
                    list(event.col_captions),
                    path=event.sample_path,
                    grid=event.grid,
                )
            )
        elif isinstance(event, LiveSamples):
            self._on_live_samples(event)
        elif isinstance(event, RunAlarm):
            self._on_alarm(event)
        elif isinstance(event, RunStarted):
            self._on_started(event)
        elif isinstance(event, (RunPaused, RunResumed)):
            self._marks.clear()  # the pause is not part of the speed
        elif isinstance(event, RunFinished):
            self.live = False
            self._progress_dirty = True
            self.plots.fit_tight()

    def _on_live_samples(self, event: LiveSamples) -> None:
        """The grid before the first step shows until the first epoch's arrives; one drawn on request is passed on."""
        if event.before_training and event.grids and not event.error:
            _, grid = event.grids[0]
            frame = TimelineFrame(0, event.rows, event.cols, event.row_captions, event.col_captions, grid=grid)
            self.timeline.show_preview(grid, frame)
        else:
            self.liveSamples.emit(event)

    def _on_alarm(self, event: RunAlarm) -> None:
        """Banner, a mark on the plots (the alarm row is on disk already) and on the timeline."""
        self.alarm_banner.add(event)
        self.timeline.set_alarms(self.alarm_banner.marks())
        if self.run_path:
            self.comparison.mark_events(RunDirectory(self.run_path))

    def _on_started(self, event: RunStarted) -> None:
        self.started = event
        self.last_step = event.start_step
        self.plots.set_has_aux(event.has_aux)
        if event.start_step > 0:
            # A resumed run: its history so far comes from its files, cut at the checkpoint.
            try:
                files = read_run_files(RunDirectory(event.run_dir), event.start_step, event.start_epoch)
            except Exception:  # noqa: BLE001 - a history we cannot read is only not shown
                files = None
            if files is not None:
                self.plots.history.clear()
                self.plots.extend(files.rows)
                self.timeline.set_frames(files.frames)
                self.comparison.mark_events(RunDirectory(event.run_dir))
        self._progress_dirty = True

    def _tick(self) -> None:
        if not self._progress_dirty:
            return
        self._progress_dirty = False
        s = self.started
        if s is None:
            return
        total = s.epochs * s.steps_per_epoch
        m = self.last_metrics
        if m is not None:
            epoch, epoch_step, spe = m.epoch, m.epoch_step, m.steps_per_epoch
        else:
            epoch, epoch_step, spe = s.start_epoch + 1, 0, s.steps_per_epoch
        done = epoch if epoch_step >= spe else epoch - 1  # complete epochs: one definition (studio.app.epochs)
        if done == epoch:
            epoch_step = 0
        self.controls.set_progress(min(done, s.epochs), s.epochs, epoch_step, spe, self.last_step, total)
        rate_text = f"{self._rate:,.0f} img/s" if self._rate else ""
        eta_text = ""
        if self.live and len(self._marks) >= 2:
            (t0, s0), (t1, s1) = self._marks[0], self._marks[-1]
            if s1 > s0 and t1 > t0:
                eta = (total - self.last_step) * (t1 - t0) / (s1 - s0)
                eta_text = time_left_text(eta)
        elif not self.live:
            eta_text = ""
        self.statusChanged.emit(rate_text, eta_text)

    def show_empty(self, title: str) -> None:
        self.comparison.end()
        self.comparison.mark_events(None)
        self.run_path = None
        self.live = False
        self.started = None
        self.last_metrics = None
        self.plots.clear()
        self.plots.set_has_aux(True)
        self.timeline.clear()
        self.alarm_banner.clear()
        self.controls.reset_progress()
        self.title.setText(title)
        self.statusChanged.emit("", "")

    def _show_alarms(self, rows: list[dict]) -> None:
        self.alarm_banner.set_rows(rows)
        self.timeline.set_alarms(self.alarm_banner.marks())

    # --- a run from its files ---------------------------------------------------
    def show_run(self, run: RunDirectory, files: RunFiles, title: str) -> None:
        self.comparison.end()
        self.run_path = str(run.path)
        self.live = False
        self.started = None
        self.last_metrics = None
        self.plots.clear()
        self.plots.set_has_aux(files.has_aux or files.config.family_spec.has_aux)
        self.plots.extend(files.rows)
        self.plots.fit_tight()
        self.comparison.mark_events(run)  # resumes, evaluations, alarms: after the curves they sit on
        self.timeline.set_frames(files.frames)
        self._show_alarms(run_alarms(run))
        self.last_step = int(files.rows[-1][0]) if files.rows else 0
        self.controls.reset_progress()
        try:
            done, planned, into, spe, step = saved_progress(run, files.config.epochs, self.last_step)
        except Exception:  # noqa: BLE001 - progress we cannot read is only not shown
            pass
        else:
            self.controls.set_progress(done, planned, into, spe, step, planned * spe)
        self.title.setText(title)
        self.statusChanged.emit("", "")

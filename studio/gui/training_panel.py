"""Train, Pause/Resume, Stop and Resume-from-checkpoint, with epoch and run progress.

The panel only shows state and emits requests; the main window owns the
worker.  Progress and rates are set from the window's redraw timer, so a
fast run does not repaint the bars for every report.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QStyle,
    QWidget,
)

from studio.gui.resources import icon

__all__ = ["TrainingControls", "format_duration"]


def format_duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "–"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class TrainingControls(QWidget):
    trainRequested = Signal()
    pauseRequested = Signal()
    continueRequested = Signal()
    stopRequested = Signal()
    resumeRequested = Signal()
    sampleRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("trainingControls")
        self.state = "idle"
        self._reason = ""

        def button(name: str, text: str, icon_name: str, fallback, tip: str) -> QPushButton:
            b = QPushButton(text)
            b.setObjectName(name)
            b.setIcon(icon(icon_name, self.style().standardIcon(fallback)))
            b.setIconSize(QSize(16, 16))
            b.setToolTip(tip)
            return b

        sp = QStyle.StandardPixmap
        self.train_button = button(
            "trainButton", "Train", "train", sp.SP_MediaPlay, "Start a new run with the settings shown (F5)"
        )
        self.train_button.setProperty("primary", True)
        self.pause_button = button(
            "pauseButton", "Pause", "pause", sp.SP_MediaPause, "Pause after the current step; press again to go on"
        )
        self.stop_button = button(
            "stopButton", "Stop", "stop", sp.SP_MediaStop, "Finish the current step, write a checkpoint and end the run"
        )
        self.resume_button = button(
            "resumeButton",
            "Resume run…",
            "resume",
            sp.SP_MediaSeekForward,
            "Continue a run from its latest checkpoint (the run selected in Runs, or a checkpoint file you choose)",
        )
        self.sample_button = QPushButton("Sample now")
        self.sample_button.setObjectName("sampleNowButton")
        self.sample_button.setToolTip(
            "Draw the fixed-noise grid from the generator as it is now, and from its EMA when the run keeps one "
            "(after the next step; training goes on)"
        )
        self.sample_button.clicked.connect(self.sampleRequested)
        self.train_button.clicked.connect(self.trainRequested)
        self.pause_button.clicked.connect(self._on_pause_clicked)
        self.stop_button.clicked.connect(self.stopRequested)
        self.resume_button.clicked.connect(self.resumeRequested)

        self.epoch_progress = QProgressBar()
        self.epoch_progress.setObjectName("epochProgress")
        self.epoch_progress.setFormat("no epoch in progress")
        self.epoch_progress.setToolTip("Steps done in the current epoch")
        self.run_progress = QProgressBar()
        self.run_progress.setObjectName("runProgress")
        self.run_progress.setFormat("no run shown")
        self.run_progress.setToolTip("Steps done in the whole run")
        for bar in (self.epoch_progress, self.run_progress):
            bar.setRange(0, 1)
            bar.setValue(0)
            bar.setTextVisible(True)
            bar.setMinimumWidth(160)

        self.reason = QLabel()
        self.reason.setObjectName("trainReason")
        self.reason.setWordWrap(True)
        self.reason.setProperty("error", True)
        self.reason.hide()
        self.state_label = QLabel("Ready")
        self.state_label.setObjectName("runState")

        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        for b in (self.train_button, self.pause_button, self.stop_button, self.resume_button, self.sample_button):
            buttons.addWidget(b)
        buttons.addSpacing(8)
        buttons.addWidget(self.state_label)
        buttons.addStretch(1)

        bars = QGridLayout()
        bars.setHorizontalSpacing(6)
        bars.addWidget(QLabel("Epoch"), 0, 0)
        bars.addWidget(self.epoch_progress, 0, 1)
        bars.addWidget(QLabel("Run"), 0, 2)
        bars.addWidget(self.run_progress, 0, 3)
        bars.setColumnStretch(1, 1)
        bars.setColumnStretch(3, 1)

        layout = QGridLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons, 0, 0)
        layout.addLayout(bars, 1, 0)
        layout.addWidget(self.reason, 2, 0)
        self.set_state("idle")

    # --- state -------------------------------------------------------------
    def _on_pause_clicked(self) -> None:
        if self.state == "paused":
            self.continueRequested.emit()
        elif self.state == "running":
            self.pauseRequested.emit()

    def set_state(self, state: str) -> None:
        """idle | starting | running | pausing | paused | stopping."""
        self.state = state
        active = state != "idle"
        self.train_button.setEnabled(not active and not self._reason)
        self.resume_button.setEnabled(not active)
        self.stop_button.setEnabled(state in ("starting", "running", "pausing", "paused"))
        self.pause_button.setEnabled(state in ("running", "paused"))
        self.sample_button.setEnabled(state == "running")
        self.pause_button.setText("Continue" if state == "paused" else "Pause")
        self.pause_button.setToolTip(
            "Go on training from where it paused"
            if state == "paused"
            else "Pause after the current step; press again to go on"
        )
        text = {
            "idle": "Ready",
            "starting": "Starting…",
            "running": "Training",
            "pausing": "Pausing…",
            "paused": "Paused",
            "stopping": "Stopping: writing a checkpoint…",
        }[state]
        self.state_label.setText(text)
        self._show_reason()

    def set_train_blocked(self, reason: str) -> None:
        """Disable Train with ``reason`` shown (empty to allow it)."""
        self._reason = reason
        self.train_button.setEnabled(self.state == "idle" and not reason)
        self.train_button.setToolTip(
            f"Cannot train: {reason}" if reason else "Start a new run with the settings shown (F5)"
        )
        self._show_reason()

    def _show_reason(self) -> None:
        show = bool(self._reason) and self.state == "idle"
        self.reason.setText(f"Train is off: {self._reason}" if show else "")
        self.reason.setVisible(show)

    # --- progress ----------------------------------------------------------
    def set_progress(
        self, done: int, epochs: int, epoch_step: int, steps_per_epoch: int, step: int, total_steps: int
    ) -> None:
        """``done`` complete epochs of ``epochs`` planned, ``epoch_step`` steps into the next one."""
        from studio.app.epochs import progress_texts

        epoch_text, run_text = progress_texts(done, epochs, epoch_step, steps_per_epoch, step, total_steps)
        if done >= epochs:
            epoch_step = steps_per_epoch  # a finished run: the epoch bar is full, not blank
        self.epoch_progress.setRange(0, max(1, steps_per_epoch))
        self.epoch_progress.setValue(min(epoch_step, steps_per_epoch))
        self.epoch_progress.setFormat(f"{epoch_text} (%p%)")
        self.run_progress.setRange(0, max(1, total_steps))
        self.run_progress.setValue(min(step, total_steps))
        self.run_progress.setFormat(run_text)

    def reset_progress(self) -> None:
        for bar, text in ((self.epoch_progress, "no epoch in progress"), (self.run_progress, "no run shown")):
            bar.setRange(0, 1)
            bar.setValue(0)
            bar.setFormat(text)

    def sizeHint(self) -> QSize:
        return QSize(600, super().sizeHint().height())

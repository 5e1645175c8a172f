"""Runs trained by another process, followed through their files: a mixin of the main window.

Two ways in: the window starts the training itself as a child process
(every CUDA device, one process each: ``python -m studio train --gpus N``),
or the user opens a run that something else trains -- a terminal, torchrun,
another machine sharing the folder. Either way a
:class:`~studio.app.follow.RunFollower` polled from a timer on the GUI thread
(a few ``stat`` calls when nothing changed) turns the new files into trainer
events, handed to the same handler as an in-process run's, so the dashboard,
the timeline and the progress look the same. Pause, Continue and Stop reach
the trainer through the run's control.json.
"""

from __future__ import annotations

import socket
import warnings
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox

from studio.app.follow import (
    ALL_CUDA,
    RunFollower,
    TrainingProcess,
    being_trained,
    changed_settings,
    cuda_device_count,
    describe_trainer,
    resume_run_child_argv,
    send_request,
    train_argv,
)
from studio.core.events import RunStarted
from studio.core.rundir import RunDirectory
from studio.errors import StudioError, StudioWarning
from studio.gui.dashboard import read_run_files
from studio.gui.main_window.common import _error_text

FOLLOW_INTERVAL_MS = 500
# How long closing the window waits for a child it started to write its checkpoint and end.
CHILD_STOP_SECONDS = 120.0


class FollowMixin:
    """Follows a run that another process trains; starts such a process for every-GPU runs."""

    def _init_follow(self) -> None:
        self._follower: RunFollower | None = None
        self._child: TrainingProcess | None = None
        self._follow_timer = QTimer(self)
        self._follow_timer.setObjectName("followTimer")
        self._follow_timer.setInterval(FOLLOW_INTERVAL_MS)
        self._follow_timer.timeout.connect(self._poll_follow)
        self.status_follow = QLabel()
        self.status_follow.setObjectName("statusFollow")
        self.status_follow.setToolTip(
            "This run is trained by another process; the window follows its files "
            "(metrics, sample grids, checkpoints, status.json) and sends Pause and Stop through control.json"
        )
        self.statusBar().addPermanentWidget(self.status_follow)
        self.status_follow.hide()

    @property
    def following(self) -> bool:
        """A run trained by another process is shown live (or such a process started by this window is starting)."""
        return self._follower is not None or self._child is not None

    @property
    def following_foreign_run(self) -> bool:
        """Following a run this window did not start: closing the window leaves it training."""
        return self._follower is not None and self._child is None

    # --- starting a child -------------------------------------------------------------------------
    def _train_in_child(self, config, max_steps: int | None = None) -> bool:
        """Train ``config`` in a child process when it asks for every CUDA device; False otherwise."""
        if config.device != ALL_CUDA:
            return False
        gpus = cuda_device_count()
        if gpus < 2:
            self.show_error("Cannot train", f"device {ALL_CUDA}: this machine has {gpus} CUDA device(s)")
            return True
        return self.train_in_child_process(config.replace(device="cuda"), gpus=gpus, max_steps=max_steps)

    def train_in_child_process(
        self, config, gpus: int | None = None, processes: int | None = None, max_steps: int | None = None
    ) -> bool:
        """A new run of ``config`` trained by ``python -m studio train`` in a child process, followed here."""
        if self.training or self.project is None:
            return False
        try:
            changes = changed_settings(self.project.folder, config)
        except (StudioError, OSError) as exc:
            self.show_error("Cannot train", _error_text(exc))
            return False
        argv = train_argv(self.project.folder, changes, gpus=gpus, processes=processes, max_steps=max_steps)
        return self._start_child(argv, None, gpus or processes or 1)

    def _resume_in_child(self, request) -> bool:
        """Resume ``request`` in a child when its settings ask for every CUDA device; False otherwise."""
        if request.config.device != ALL_CUDA:
            return False
        gpus = cuda_device_count()
        if gpus < 2:
            self.show_error("Cannot resume", f"device {ALL_CUDA}: this machine has {gpus} CUDA device(s)")
            return True
        argv = resume_run_child_argv(request, gpus=gpus)
        # The run is known, but followed only from the child's "run PATH" line: its status.json until then is
        # the last session's.
        return self._start_child(argv, None, gpus)

    def _start_child(self, argv: list[str], run: RunDirectory | None, processes: int) -> bool:
        try:
            child = TrainingProcess(argv, run=run).start()
        except StudioError as exc:
            self.show_error("Cannot start the run", str(exc))
            return False
        self._child = child
        self.log_view.log(f"Started the training process {child.pid}: {' '.join(argv[1:])}")
        self.dashboard.show_empty(f"Starting {processes} training process(es)…")
        self.controls.set_state("starting")
        self.controls.state_label.setText(f"Starting {processes} training process(es)…")
        self._follow_timer.start()
        self._update_train_reason()
        return True

    # --- following ----------------------------------------------------------------------------------
    def _follow_instead(self, run: RunDirectory) -> bool:
        """Follow ``run`` when another process trains it (True: shown). Showing a run nobody trains lets go
        of a followed run this window did not start."""
        if self._worker is not None or self._pending is not None or self._child is not None:
            return False
        if self._follower is not None and Path(self._follower.run.path) == Path(run.path):
            return True
        try:
            writer = being_trained(run)
        except OSError:
            writer = None
        if self._follower is not None:
            self.stop_following()
        if writer is None:
            return False
        self.follow_run(run, writer, replay=False)
        return True

    def follow_run(self, run: RunDirectory, writer: dict, replay: bool = False) -> None:
        """Show ``run``, trained by ``writer``'s process, live from its files."""
        self._follower = RunFollower(run, replay=replay)
        self._live_run = str(run.path)
        self._session_states.pop(self._live_run, None)
        title = self._follow_title(run, writer)
        self.dashboard.begin_live(self._live_run, title)
        if not replay:
            self._show_history(run, title)
        self.status_follow.setText(f"followed: trained by {describe_trainer(writer)}")
        self.status_follow.show()
        self.controls.set_state("starting")
        self.controls.state_label.setText("Waiting for the trainer's first report…")
        self.log_view.log(f"Following run {run.path}: trained by {describe_trainer(writer)}")
        self._follow_timer.start()
        self._update_train_reason()
        self.refresh_runs()
        self.runs_panel.select_run(run.path)
        self._poll_follow()

    def _show_history(self, run: RunDirectory, title: str) -> None:
        """What the run wrote so far, shown until its trainer's status arrives (its RunStarted reads it again)."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", StudioWarning)  # a damaged line: said when the run is shown idle
                files = read_run_files(run)
        except (StudioError, OSError):
            return
        self.dashboard.show_run(run, files, title)
        self.dashboard.live = True

    def _follow_title(self, run: RunDirectory, writer: dict) -> str:
        try:
            c = run.read_config()
            what = f" — {c.family} on {c.dataset}"
        except StudioError:
            what = ""
        return f"Run <b>{run.run_id}</b>{what} · followed: trained by {describe_trainer(writer)}"

    def _poll_follow(self) -> None:
        child = self._child
        if self._follower is None:
            if child is None:
                self._follow_timer.stop()
                return
            if child.run is not None:
                self.follow_run(child.run, {"pid": child.pid, "host": socket.gethostname()}, replay=True)
            elif child.poll() is not None:
                if child.stop_requested:
                    self.log_view.log("Train cancelled before the run started")
                    self._end_follow()
                else:
                    self._end_follow(child.error_message())
            return
        try:
            events = self._follower.poll()
        except OSError as exc:  # a network share gone away: say so, keep trying
            self.statusBar().showMessage(f"Cannot read the followed run: {_error_text(exc)}", 4000)
            return
        if self._follower.started is None and child is None and not events and self._writer_gone():
            run = self._follower.run  # ended before it wrote a status (or a trainer that writes none)
            self._end_follow()
            self.show_run(run)
            return
        for event in events:
            if isinstance(event, RunStarted):
                self._on_follow_started()
            self._on_train_event(event)
        if self._follower.finished is not None:
            self._end_follow()
        elif child is not None and child.poll() is not None and not self._follower.started:
            self._end_follow(child.error_message())  # ended before its trainer started

    def _writer_gone(self) -> bool:
        try:
            return being_trained(self._follower.run) is None
        except OSError:
            return False

    def _on_follow_started(self) -> None:
        status = self._follower.status or {}
        if status.get("pid") is not None:  # the trainer itself (under torchrun: rank 0, not the launcher)
            writer = {"pid": status.get("pid"), "host": status.get("host", "?")}
            self.status_follow.setText(f"followed: trained by {describe_trainer(writer)}")
            self.dashboard.title.setText(self._follow_title(self._follower.run, writer))

    def _end_follow(self, error: str = "") -> None:
        """The followed run ended (or its child failed before it began): back to idle, as after an in-process run."""
        self._follow_timer.stop()
        follower, child = self._follower, self._child
        self._follower = self._child = None
        if error:
            self.show_error("Training stopped", f"Training stopped: {error}", child.output() if child else "")
        if child is not None:
            child.wait(timeout=2)  # it is writing its last lines; never block the window for long
        self.controls.set_state("idle")
        self.dashboard.live = False
        self.status_follow.hide()
        live = self._live_run
        self._live_run = None
        self._update_train_reason()
        self.refresh_runs()
        if live and follower is not None:
            self.runs_panel.select_run(live)

    def stop_following(self) -> None:
        """Let go of a followed run this window did not start; it goes on training."""
        if not self.following_foreign_run:
            return
        run = self._follower.run
        self._follow_timer.stop()
        self._follower = None
        self.controls.set_state("idle")
        self.dashboard.live = False
        self.status_follow.hide()
        self._live_run = None
        self._update_train_reason()
        self.log_view.log(f"Stopped following run {run.path}; it goes on training")

    # --- pause, continue, stop ------------------------------------------------------------------------
    def _follow_request(self, action: str) -> bool:
        """Pass Pause ('pause'), Continue ('resume') or Stop ('stop') to the followed run; False when none."""
        if not self.following:
            return False
        state = self.controls.state
        if action == "stop":
            if self._child is not None:
                self._child.stop()
            elif state in ("running", "paused", "pausing", "starting"):
                if not self._confirm_foreign_stop():
                    return True
                self._send(action)
            self.controls.set_state("stopping")
            self.log_view.log("Stopping: the trainer finishes its step and writes a checkpoint")
        elif action == "pause" and state == "running":
            if self._send(action):
                self.controls.set_state("pausing")
        elif action == "resume" and state in ("paused", "pausing"):
            if self._send(action):
                self.controls.set_state("running")
        return True

    def _send(self, action: str) -> bool:
        if self._follower is None:
            return False
        try:
            send_request(self._follower.run, action)
        except OSError as exc:
            self.show_error("Cannot reach the training process", _error_text(exc))
            return False
        return True

    def _confirm_foreign_stop(self) -> bool:
        status = self._follower.status or {}
        who = describe_trainer(status) if status else "another process"
        sb = QMessageBox.StandardButton
        answer = self._ask(
            "Stop the run?",
            f"Run {self._follower.run.run_id} is trained by {who}, not by this window. Stop it? "
            "It finishes its step and writes a checkpoint first.",
            sb.Yes | sb.Cancel,
            sb.Cancel,
        )
        return answer == sb.Yes

    # --- closing ----------------------------------------------------------------------------------------
    def _shutdown_follow(self) -> None:
        """Stop a child this window started (it writes its checkpoint) and wait for it; let go of other runs."""
        self._follow_timer.stop()
        child = self._child
        self._follower = self._child = None
        if child is None or child.poll() is not None:
            return
        child.stop()
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            child.wait(timeout=CHILD_STOP_SECONDS)
        finally:
            QApplication.restoreOverrideCursor()
        if child.poll() is None:
            child.kill()

"""Train, resume, pause, stop and the trainer's events: a mixin of :class:`~studio.gui.main_window.MainWindow`.

A run is a :class:`~studio.app.training.TrainRequest` trained in a QThread
(worker.py); resuming follows :func:`~studio.app.training.resume_run_request`'s rules.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from studio.app.epochs import finish_text
from studio.app.reporting import alarm_line, epoch_line, model_text
from studio.app.runs import create_run
from studio.app.training import RewindNeeded, TrainRequest, resume_run_request
from studio.core.events import (
    CheckpointSaved,
    EpochEnd,
    RunAlarm,
    RunError,
    RunFinished,
    RunNotice,
    RunPaused,
    RunResumed,
    RunStarted,
)
from studio.core.rundir import RunDirectory
from studio.errors import StudioError
from studio.gui.main_window.common import _error_text
from studio.gui.worker import TrainingWorker, join_thread


class TrainingMixin:
    """Starts runs in a worker thread and follows their events."""

    def start_training(self, max_steps: int | None = None) -> bool:
        """A new run of the settings shown; ``max_steps`` ends it early (benchmarks, tests)."""
        if self.training or self.project is None:
            return False
        if self.binder.error:
            self.show_error("Cannot train", self.binder.error)
            return False
        from studio.gui.main_window.user_folder import move_out_of_install

        if not move_out_of_install(self):  # an example opened from the install: its runs go to the user's folder
            return False
        if self._train_in_child(self.binder.config, max_steps):  # every CUDA device: a child process, followed
            return True
        return self._launch(TrainRequest(self.binder.config, runs_dir=self.project.runs_dir, max_steps=max_steps))

    def resume_training(self, run: RunDirectory | None = None, checkpoint: str | Path | None = None) -> bool:
        if self.training or self.project is None:
            return False
        if run is None and checkpoint is None:
            run = self.runs_panel.selected_run()
        if run is None and checkpoint is None:
            start = str(self.project.runs_dir if self.project.runs_dir.is_dir() else self.project.folder)
            path, _ = QFileDialog.getOpenFileName(self, "Resume from checkpoint", start, "Checkpoints (*.pt)")
            if not path:
                return False
            checkpoint = path
        target = checkpoint if checkpoint is not None else run
        # Go on to the run's own epoch count, or further when the panel asks for more.
        ask = {"device": self.binder.config.device, "at_least": self.binder.config.epochs}
        try:
            try:
                request = resume_run_request(target, **ask)
            except RewindNeeded as exc:
                if not self._confirm_rewind(exc.plan):
                    return False
                request = resume_run_request(target, rewind=True, **ask)
        except (StudioError, OSError) as exc:
            self.show_error("Cannot resume", _error_text(exc))
            return False
        self.log_view.log(f"Resuming {request.run.path} from {request.resume_from}")
        if self._resume_in_child(request):  # every CUDA device: a child process, followed
            return True
        return self._launch(request)

    def _confirm_rewind(self, plan) -> bool:
        """Resuming from ``plan``'s checkpoint overwrites the run's later ones: only when the user says so."""
        sb = QMessageBox.StandardButton
        answer = self._ask(
            "Rewind the run?",
            f"{Path(plan.checkpoint).name} is not the run's latest checkpoint. Resuming from it "
            f"rewinds the run: training overwrites its {len(plan.later)} later checkpoint(s), up "
            f"to {plan.later[-1].path.name}, as it reaches their epochs. Resume from it?",
            sb.Yes | sb.Cancel,
            sb.Cancel,
        )
        return answer == sb.Yes

    def _launch(self, request: TrainRequest) -> bool:
        """Start now, or as soon as the dataset panel has loaded the data this run needs.

        Pressing Train while the preview is still loading must not draw the same
        dataset twice at once on the same cores.
        """
        dataset = self.dataset_panel.dataset_for(request.config)
        if dataset is None and self.dataset_panel.will_load(request.config):
            self._pending = request
            self.controls.set_state("starting")
            self.controls.state_label.setText("Waiting for the dataset to load…")
            self._update_train_reason()
            return True
        return self._launch_now(request, dataset)

    def _launch_now(self, request: TrainRequest, dataset) -> bool:
        """Start ``request`` on ``dataset`` (None: the worker loads it); a new run's folder is made here, at once,
        so the runs list and the dashboard show it while the data loads."""
        self._pending = None
        request = dataclasses.replace(request, dataset=dataset)
        if request.run is None:
            try:
                run = create_run(request.runs_dir, request.config, dataset)
            except (StudioError, OSError) as exc:
                self.controls.set_state("idle")
                self._update_train_reason()
                self.show_error("Cannot start the run", _error_text(exc))
                return False
            self.log_view.log(f"New run {run.path}")
            request = dataclasses.replace(request, runs_dir=None, run=run)
        config, run = request.config, request.run
        resumed = " (resumed)" if request.resumes else ""
        self._start(request, f"Run <b>{run.run_id}</b>{resumed} — {config.family} on {config.dataset}")
        return True

    def _on_dataset_loaded(self, summary) -> None:
        if self._pending is None:
            return
        config = self._pending.config
        dataset = self.dataset_panel.dataset_for(config)
        if dataset is not None:
            self._launch_now(self._pending, dataset)
        elif not self.dataset_panel.will_load(config):
            self._launch_now(self._pending, None)  # the settings moved on: the worker loads its own

    def _on_dataset_failed(self, text: str) -> None:
        if self._pending is not None:
            self._pending = None
            self.controls.set_state("idle")
            self._update_train_reason()
            self.show_error("Cannot train", f"The dataset did not load: {text}")

    def _start(self, request: TrainRequest, title: str) -> None:
        self._live_run = str(request.run.path)
        self._session_states.pop(self._live_run, None)
        self.dashboard.begin_live(self._live_run, title)
        worker = TrainingWorker(request)
        worker.event.connect(self._on_train_event)
        worker.progress.connect(self._on_train_dataset_progress)  # the dataset's load, when the run loads it
        worker.finished.connect(self._on_worker_finished)
        self._worker = worker
        self.controls.set_state("starting")
        self._update_train_reason()
        self._thread = worker.start()
        self.refresh_runs()
        self.runs_panel.select_run(request.run.path)

    def pause_training(self) -> None:
        if self._follow_request("pause"):  # a run of another process
            return
        if self._worker is not None and self.controls.state == "running":
            self._worker.request_pause()
            self.controls.set_state("pausing")

    def continue_training(self) -> None:
        if self._follow_request("resume"):
            return
        if self._worker is not None and self.controls.state in ("paused", "pausing"):
            self._worker.request_resume()
            self.controls.set_state("running")

    def toggle_pause(self) -> None:
        if self.controls.state == "paused":
            self.continue_training()
        else:
            self.pause_training()

    def stop_training(self) -> None:
        if self._follow_request("stop"):
            return
        if self._pending is not None:
            self._pending = None
            self.controls.set_state("idle")
            self._update_train_reason()
            self.log_view.log("Train cancelled before the run started")
            return
        if self._worker is not None:
            self._worker.request_stop()
            self.controls.set_state("stopping")
            self.log_view.log("Stopping: the trainer finishes its step and writes a checkpoint")

    def sample_now(self) -> bool:
        """Draw the fixed-noise grid from the current G (and EMA) after the next step, shown in a window of its own."""
        if self._worker is None or not self._worker.request_sample():
            self.statusBar().showMessage(
                "Sample now draws from runs trained in this window; a run in another process shows its epoch grids",
                6000,
            )
            return False
        from studio.gui.live_view import LiveSamplesDialog

        dialog = getattr(self, "_live_samples_dialog", None)
        if dialog is None:
            dialog = self._live_samples_dialog = LiveSamplesDialog(self)
        dialog.waiting()
        dialog.show()
        dialog.raise_()
        return True

    def _on_live_samples(self, samples) -> None:
        dialog = getattr(self, "_live_samples_dialog", None)
        if dialog is not None:
            dialog.show_samples(samples)
        self.log_view.log(f"samples drawn at step {samples.step}" + (f": {samples.error}" if samples.error else ""))

    def _on_train_dataset_progress(self, message: str, fraction: float) -> None:
        self.statusBar().showMessage(message, 0 if fraction < 1 else 4000)

    def _on_train_event(self, event) -> None:
        self.dashboard.on_event(event)
        if isinstance(event, RunStarted):
            self.controls.set_state(
                "paused"
                if self.controls.state == "pausing"
                else "stopping"
                if self.controls.state == "stopping"
                else "running"
            )
            self.log_view.log(
                f"Training on {event.device} ({event.precision}): {model_text(event)}"
                + (f", from epoch {event.start_epoch} step {event.start_step}" if event.start_step else "")
            )
            self.statusBar().clearMessage()
            self.refresh_runs()
        elif isinstance(event, EpochEnd):
            self.log_view.log(epoch_line(event))
            self._update_actions()
        elif isinstance(event, CheckpointSaved):
            self.log_view.log(f"checkpoint {event.path}")
            self.refresh_runs()
            self.checkpoint_lab.on_checkpoint_saved(event.path)
            self.condition_explorer.on_checkpoint_saved(event.path)
            self.evaluation_panel.on_checkpoint_saved(event.path)  # may start 'evaluate every K' in a thread
        elif isinstance(event, RunAlarm):
            self.log_view.log(alarm_line(event), "warning")
        elif isinstance(event, RunNotice):
            self.log_view.log(event.message, event.level)
        elif isinstance(event, RunPaused):
            if self.controls.state != "stopping":
                self.controls.set_state("paused")
            self.log_view.log(f"paused at step {event.step}")
            self.refresh_runs()
        elif isinstance(event, RunResumed):
            if self.controls.state != "stopping":
                self.controls.set_state("running")
            self.log_view.log(f"continuing from step {event.step}")
            self.refresh_runs()
        elif isinstance(event, RunError):
            if self._live_run:
                self._session_states[self._live_run] = "error"
            if self.queue_owns_run:  # the queue records it and goes on: no dialog waits for the user
                self.log_view.log(f"Training stopped: {event.message}", "error", event.details)
            else:
                self.show_error("Training stopped", f"Training stopped: {event.message}", event.details)
        elif isinstance(event, RunFinished):
            if event.reason != "error":
                started = self.dashboard.started
                planned, spe = (started.epochs, started.steps_per_epoch) if started else (event.epoch, None)
                text = finish_text(event.reason, event.epoch, planned, event.step, spe)
                self.log_view.log(text)
                self._announce_finished(text)
            if event.reason == "stopped" and self._live_run:
                self._session_states.pop(self._live_run, None)

    def _on_worker_finished(self, result) -> None:
        self._worker = None
        self.controls.set_state("idle")
        self.dashboard.live = False
        live = self._live_run
        self._live_run = None
        self._update_train_reason()
        self.refresh_runs()
        if live:
            self.runs_panel.select_run(live)
        self._queue_on_worker_finished(live, result)

    def _announce_finished(self, text: str) -> None:
        """A run's end in the status bar and, when the window is in the background, as a system notification."""
        from studio.gui.notify import notify

        self.statusBar().showMessage(text[:1].upper() + text[1:], 15000)
        notify(self, "GAN Studio", text[:1].upper() + text[1:])

    def _on_status(self, rate: str, eta: str) -> None:
        self.status_rate.setText(rate)
        self.status_eta.setText(eta)

    def join_training(self, timeout_ms: int | None = None) -> bool:
        return join_thread(self._thread, timeout_ms)

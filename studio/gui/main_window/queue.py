"""The Queue tab's runs: a mixin of :class:`~studio.gui.main_window.MainWindow`.

The queue panel claims an entry and asks for it to be trained; the window
trains it as any run (worker, dashboard, runs list) and tells the panel when the
run has ended. A queue run's failure goes to the log and the queue, not to a
dialog: the queue goes on to its next entry, unattended.
"""

from __future__ import annotations

import dataclasses

from studio.app.run_queue import entry_request
from studio.app.runs import create_run
from studio.errors import StudioError
from studio.gui.main_window.common import _error_text


class QueueMixin:
    """Trains the queue panel's entries one at a time in the window's training machinery."""

    def _connect_queue(self) -> None:
        self._queue_run: str | None = None  # the run folder of the queue's entry in training
        panel = self.queue_panel
        panel.current_settings = self._queue_current_settings
        panel.saved_settings = self._queue_saved_settings
        panel.busy_reason = self._queue_busy_reason
        panel.runRequested.connect(self._on_queue_run_requested)
        panel.stopRequested.connect(self.stop_training)
        panel.message.connect(self.log_view.log)
        panel.errorOccurred.connect(self.show_error)

    def _queue_busy_reason(self) -> str:
        return "A run is in progress; start the queue once it has ended, or stop it first." if self.training else ""

    def _queue_current_settings(self):
        if self.binder.error:
            raise StudioError(f"the Model panel's settings cannot train: {self.binder.error}")
        return self.binder.config

    def _queue_saved_settings(self):
        from studio.project import Project

        if self.project is None:
            return None
        try:
            return Project.load(self.project.folder).config
        except (StudioError, OSError):
            return None

    @property
    def queue_owns_run(self) -> bool:
        """The run in training is the queue's."""
        return self._queue_run is not None and self._queue_run == self._live_run

    def _on_queue_run_requested(self, entry) -> None:
        panel = self.queue_panel
        if self.training or self.project is None:
            panel.run_failed_to_start("another run was in progress; queue it again with Retry")
            panel.stop()
            return
        try:
            request = entry_request(self.project, entry)
            dataset = self.dataset_panel.dataset_for(request.config)
            run = create_run(request.runs_dir, request.config, dataset)
        except (StudioError, OSError) as exc:
            self.log_view.log(f"Queue entry {entry.id} cannot start: {_error_text(exc)}", "error")
            panel.run_failed_to_start(_error_text(exc))
            return
        self._queue_run = str(run.path)
        panel.run_started(run.path)
        self.log_view.log(f"New run {run.path} (queue entry {entry.id})")
        request = dataclasses.replace(request, runs_dir=None, run=run, dataset=dataset)
        config = request.config
        self._start(request, f"Run <b>{run.run_id}</b> (queue {entry.id}: {entry.label}) — {config.family}")

    def _queue_on_worker_finished(self, run_path: str | None, result) -> None:
        """Called when a run's worker has finished: the queue's run, recorded, and its next one started."""
        if self._queue_run is None or run_path != self._queue_run:
            return
        self._queue_run = None
        if result is None:
            from studio.core.events import RunFinished

            result = RunFinished("error", 0, 0, "the run ended without saying how")
        self.queue_panel.run_ended(result, run_path)

"""The Runs tab and the panels that follow its selection: a mixin of :class:`~studio.gui.main_window.MainWindow`."""

from __future__ import annotations

import warnings
from pathlib import Path

from studio.app.checkpoints import RunState
from studio.app.epochs import done_text
from studio.app.runs import tidy_run
from studio.core.rundir import RunDirectory
from studio.errors import StudioError, StudioWarning
from studio.gui.dashboard import read_run_files
from studio.gui.main_window.common import _error_text
from studio.gui.runs_panel import describe_run


class RunsMixin:
    """Lists the project's runs, shows one on the dashboard, hands the selection to the other tabs."""

    def refresh_runs(self) -> None:
        if self.project is None:
            self.runs_panel.set_runs([])
            self.refresh_runs_table()
            return
        if not self._presets:
            from studio.presets import list_presets

            try:
                self._presets = list_presets()
            except StudioError:
                self._presets = []
        infos = []
        for run in self.project.runs():
            path = str(run.path)
            live = None
            if path == self._live_run:
                live = {"paused": "paused", "stopping": "stopping"}.get(self.controls.state, "running")
            infos.append(describe_run(run, self._presets, live, self._session_states.get(path)))
        self.runs_panel.set_runs(infos)
        self.refresh_runs_table({str(info.run.path): info.state for info in infos})

    def reread_runs(self) -> None:
        """The Refresh button: list the runs again, and have the panels re-read the selected run's files
        (another process, a headless train or evaluate, may have written them)."""
        self.refresh_runs()
        self._on_run_selected()

    def _on_run_selected(self) -> None:
        """The checkpoint lab, the condition explorer and the evaluation panel follow the Runs tab's selection.

        When the run is no longer listed (another project, a run deleted) they let
        go of it, so they never act on another project's files.
        """
        run = self.runs_panel.selected_run()
        if run is None:
            shown = self.checkpoint_lab.run
            listed = {Path(info.run.path) for info in self.runs_panel.infos}
            if shown is not None and Path(shown.path) in listed:
                return  # a click beside the rows: the run is still there to work on
        self.checkpoint_lab.set_run(run)
        self.condition_explorer.set_run(run)
        self.evaluation_panel.set_run(run)

    def show_run(self, run: RunDirectory) -> None:
        if self._follow_instead(run):  # another process trains it: shown live from its files
            return
        if self.training:
            self.statusBar().showMessage("The dashboard shows the run in progress; stop it to look at others.", 5000)
            return
        try:
            tidy_run(run)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", StudioWarning)
                files = read_run_files(run)
        except (StudioError, OSError) as exc:
            self.show_error("Cannot show the run", _error_text(exc))
            return
        for warning in caught:  # a damaged metrics line, skipped: said in the log, once
            self.log_view.log(str(warning.message), "warning")
        c = files.config
        done = RunState.of(run).epochs_done
        title = f"Run <b>{run.run_id}</b> — {c.family} on {c.dataset}, {done_text(done, c.epochs)}"
        self.dashboard.show_run(run, files, title)
        self.runs_panel.select_run(run.path)
        self._update_actions()

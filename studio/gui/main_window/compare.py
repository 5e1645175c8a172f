"""The runs table tab and comparing runs on the dashboard: a mixin of :class:`~studio.gui.main_window.MainWindow`.

The table's rows come from :func:`studio.app.run_compare.run_row`, the
settings copied into the project from :func:`studio.app.run_compare.use_run_settings`;
the window only decides what is shown where.
"""

from __future__ import annotations

from pathlib import Path

from studio.app import run_compare
from studio.core.rundir import RunDirectory
from studio.errors import StudioError
from studio.gui.main_window.common import _error_text
from studio.gui.runs_table import RunsTablePanel

# Files whose change makes a run's table row worth reading again.
_WATCHED = ("config.json", "metrics.jsonl", "checkpoints", "samples", "evaluation/results.json", "notes.json")


def _row_key(run: RunDirectory, state: str | None) -> tuple:
    stamps = []
    for name in _WATCHED:
        try:
            stat = (run.path / name).stat()
            stamps.append((stat.st_mtime_ns, stat.st_size))
        except OSError:
            stamps.append(None)
    return (state, *stamps)


class CompareMixin:
    """Builds the runs table, keeps it filled, and turns its selection into a comparison."""

    def _build_runs_table(self) -> None:
        self.runs_table = RunsTablePanel()
        self._run_rows: dict[str, tuple[tuple, dict]] = {}  # path -> (files' stamps, row)
        self._runs_table_stale: dict | None = None  # the states of a refresh put off while out of view

    def _connect_runs_table(self) -> None:
        t = self.runs_table
        t.selectionChanged.connect(self._on_runs_table_selection)
        t.useSettingsRequested.connect(self.use_run_settings)
        t.compareRequested.connect(self._show_compared)
        t.refreshRequested.connect(self.reread_runs)
        self.dashboard.comparison.stopped.append(self._on_compare_stopped)
        self.main_tabs.currentChanged.connect(self._on_runs_table_shown)

    def _on_runs_table_shown(self, _index: int) -> None:
        if self.main_tabs.currentWidget() is self.runs_table and self._runs_table_stale is not None:
            self.refresh_runs_table(self._runs_table_stale, force=True)

    def refresh_runs_table(self, states: dict[str, str] | None = None, force: bool = False) -> None:
        """Fill the table from the project's run folders; ``states`` (path -> state) as the Runs list shows them.

        While the table is not in view and lists the same runs, their lines are read again only
        when it comes into view: a run's metrics can be large, and a live run changes every epoch.
        """
        if self.project is None:
            self._run_rows = {}
            self._runs_table_stale = None
            self.runs_table.set_rows([])
            return
        states = states or {}
        runs = self.project.runs()
        listed = [row.get("path") for row in self.runs_table.model.rows]
        in_view = self.main_tabs.currentWidget() is self.runs_table
        if not force and not in_view and listed == [str(run.path) for run in runs]:
            self._runs_table_stale = states
            return
        self._runs_table_stale = None
        rows, cache = [], {}
        for run in runs:
            path = str(run.path)
            state = states.get(path)
            key = _row_key(run, state)
            cached = self._run_rows.get(path)
            if cached is not None and cached[0] == key:
                row = cached[1]
            else:
                row = run_compare.run_row(run)
                if state:
                    row["state"] = state
            cache[path] = (key, row)
            rows.append(row)
        self._run_rows = cache
        self.runs_table.set_rows(rows)

    def _on_runs_table_selection(self, paths: list) -> None:
        if len(paths) >= 2:
            self.compare_runs(paths)
        elif len(paths) == 1 and not self.training:
            self.show_run(RunDirectory(paths[0]))

    def compare_runs(self, paths) -> bool:
        """Overlay the runs at ``paths`` on the dashboard's plots and line up their grids."""
        if self.training:
            self.statusBar().showMessage(
                "The dashboard shows the run in progress; compare runs when it has ended.", 5000
            )
            return False
        rows = [self.runs_table.row_of(p) for p in paths]
        names = [r["name"] if r else Path(p).name for r, p in zip(rows, paths)]
        done = [int(r.get("epochs_done") or 0) if r else 0 for r in rows]
        try:
            self.dashboard.comparison.show(paths, names, done)
        except (StudioError, OSError) as exc:
            self.show_error("Cannot compare the runs", _error_text(exc))
            return False
        self.statusBar().showMessage(f"Comparing {len(paths)} runs on the Training tab", 5000)
        self._update_actions()
        return True

    def _show_compared(self, paths: list) -> None:
        if len(paths) >= 2:
            shown = [str(p) for p in self.dashboard.comparison.paths] == [str(p) for p in paths]
            if not shown and not self.compare_runs(paths):
                return
        elif len(paths) == 1 and not self.training:
            self.show_run(RunDirectory(paths[0]))
        self.main_tabs.setCurrentWidget(self.dashboard)

    def _on_compare_stopped(self) -> None:
        """Stop comparing: back to the run in the Runs list, or to an empty dashboard."""
        run = self.runs_panel.selected_run()
        if run is not None and not self.training:
            self.show_run(run)
        elif not self.training:
            self.dashboard.show_empty("No run shown: choose one in the Runs list or the Runs tab")

    def use_run_settings(self, path) -> bool:
        """Copy a run's saved settings into the project's panels (saved with the project)."""
        if self.project is None:
            return False
        from PySide6.QtWidgets import QMessageBox

        name = Path(path).name
        if self.dirty:
            sb = QMessageBox.StandardButton
            answer = self._ask(
                "Use the run's settings",
                f"The settings of run {name} replace every setting, including the changes you have not saved. "
                "Use them?",
                sb.Yes | sb.Cancel,
                sb.Cancel,
            )
            if answer != sb.Yes:
                return False
        try:
            config = run_compare.use_run_settings(self.project, path)
        except StudioError as exc:
            self.show_error("Cannot use the run's settings", _error_text(exc))
            return False
        self.binder.load(config, edited=True)
        self._set_dirty(True)
        self.log_view.log(f"Settings of run {name} copied into the project (the project file changes when you save)")
        self.statusBar().showMessage(f"Settings of run {name} are in the Dataset and Model tabs", 5000)
        return True

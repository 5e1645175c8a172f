"""The Queue tab: the project's queue of runs (PROJECT/queue.json) and the results table of its sweeps.

The panel edits the queue through :mod:`studio.app.run_queue` (the command
line's ``queue`` and ``sweep`` make the same calls, so a queue made on one shows
on the other) and runs it one entry at a time: it claims the next entry and
asks the window to train it (``runRequested``), and the window tells it when
that run has ended (:meth:`QueuePanel.run_ended`). The training itself is the
window's: the dashboard follows each run of the queue as it follows any other.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.app import run_queue as rq
from studio.app.sweep import (
    ResultsTable,
    SweepError,
    new_sweep_id,
    parse_sets,
    parse_values,
    plan_sweep,
    results_path,
    sweep_results,
    write_results,
)
from studio.core.config import TrainConfig, field_help
from studio.errors import StudioError
from studio.gui.builders import make_button, make_combo, make_line, make_note

__all__ = ["QueuePanel", "SWEEP_EXAMPLES"]

_ASSIGNMENT = re.compile(r"^\s*[A-Za-z_]\w*\s*=")  # "key=..." in the values box (a dataset spec has ":" first)

ENTRY_COLUMNS = ("Entry", "Settings", "Sweep", "State", "Run", "Message")

# What people typically sweep, with values worth trying first (the values box's placeholder and tooltip).
SWEEP_EXAMPLES = {
    "d_lr": "1e-4,2e-4,4e-4",
    "g_lr": "1e-4,2e-4,4e-4",
    "aux_weight": "1,6,24",
    "batch_size": "32,64,128",
    "label_smoothing": "0,0.1",
    "label_noise": "0,0.1,0.3",
    "label_flip": "0,0.05,0.1",
    "d_steps": "1,2",
    "g_steps": "1,2,3",
    "ngf": "32,64,128",
    "ndf": "32,64,128",
    "nz": "64,100,128",
    "ema_decay": "0.99,0.999,0.9999",
    "mode_seeking": "0,0.2,1",
    "d_dropout": "0,0.25,0.5",
    "loss": "bce,hinge",
    "seed": "0,1,2",
    "epochs": "10,25,50",
}

# The results' columns as the table heads them (the CSV keeps the plain names; settings keep theirs).
RESULT_HEADS = {
    "entry": "Entry",
    "run": "Run",
    "state": "State",
    "epochs": "Epochs",
    "epochs_total": "of",
    "d_loss": "D loss",
    "g_loss": "G loss",
    "d_x": "D(x)",
    "d_g_z1": "D(G(z1))",
    "d_g_z2": "D(G(z2))",
    "aux_acc_real": "Aux acc real",
    "aux_acc_fake": "Aux acc fake",
    "message": "Message",
}

STATE_COLOURS = {"running": "#2a7ab0", "done": "#2e8b57", "failed": "#c0392b", "stopped": "#b8860b"}


class _SortItem(QTableWidgetItem):
    """A cell shown as text and sorted by its value (numbers as numbers, empty cells last)."""

    def __init__(self, value):
        super().__init__(_text(value))
        self.value = value
        self.setFlags(self.flags() & ~Qt.ItemFlag.ItemIsEditable)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        a, b = self.value, getattr(other, "value", None)
        if a is None or b is None:
            return a is not None and b is None
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return a < b
        return str(a) < str(b)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return str(value)


class QueuePanel(QWidget):
    runRequested = Signal(object)  # QueueEntry: train it now, then call run_started / run_failed_to_start
    stopRequested = Signal()  # stop the run in progress (with a checkpoint)
    message = Signal(str)  # a line for the log
    errorOccurred = Signal(str, str, str)  # title, text, details

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("queuePanel")
        self.folder: Path | None = None
        self.current_settings: Callable[[], TrainConfig] | None = None  # the Model panel's settings
        self.saved_settings: Callable[[], TrainConfig | None] | None = None  # the project file's
        self.busy_reason: Callable[[], str] | None = None  # why the window cannot train now ("" when it can)
        self._queued = 0
        self._runner: rq.QueueRunner | None = None
        self._current: str | None = None  # the entry being trained
        self._stopping = False
        self._started_at = 0.0
        self._trained = 0
        self._table: ResultsTable | None = None
        self.result_columns: list[str] = []  # the results' keys, in the order of the table's columns
        self._build()
        self._update_buttons()

    # --- building -----------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.table = QTableWidget(0, len(ENTRY_COLUMNS))
        self.table.setObjectName("queueTable")
        self.table.setHorizontalHeaderLabels(ENTRY_COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(True)
        self.table.setToolTip("The project's queue (queue.json): trained top to bottom, one run at a time")
        self.table.itemSelectionChanged.connect(self._update_buttons)

        self.add_current_button = make_button(
            "Add current settings", "addCurrentButton", "Queue a run of the settings the Model panel shows now"
        )
        self.sweep_key = make_combo("sweepKey", "The setting to sweep")
        self.sweep_key.setEditable(True)
        self.sweep_key.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        names = list(TrainConfig.__dataclass_fields__)
        common = [k for k in SWEEP_EXAMPLES if k in names]
        self.sweep_key.addItems(common + sorted(k for k in names if k not in common))
        self.sweep_values = make_line("sweepValues", "")
        self.add_sweep_button = make_button(
            "Add sweep",
            "addSweepButton",
            "Queue one run per value, each with the Model panel's other settings; every value is checked first",
        )
        self.up_button = make_button("Up", "queueUpButton", "Move the selected entry up: it trains earlier")
        self.down_button = make_button("Down", "queueDownButton", "Move the selected entry down")
        self.remove_button = make_button(
            "Remove", "queueRemoveButton", "Remove the selected entries (asks first; the runs they made stay)"
        )
        self.retry_button = make_button(
            "Retry", "queueRetryButton", "Queue the selected failed or stopped entries again (each makes a new run)"
        )
        self.clear_button = make_button(
            "Clear finished", "queueClearButton", "Remove the done, failed and stopped entries (asks first)"
        )
        self.start_button = make_button(
            "Start queue",
            "startQueueButton",
            "Train the queued entries one after another; a failed run is recorded and the next one starts",
        )
        self.stop_button = make_button(
            "Stop queue", "stopQueueButton", "Stop the run in progress (it writes a checkpoint); the rest stay queued"
        )
        self.refresh_button = make_button(
            "Refresh", "queueRefreshButton", "Read the queue again (a command-line sweep may have changed it)"
        )
        self.status = make_note("queueStatus", "What the queue is doing")

        self.results_sweep = make_combo("resultsSweep", "Whose results: one sweep, or every entry of the queue")
        self.results = QTableWidget(0, 0)
        self.results.setObjectName("resultsTable")
        self.results.setSortingEnabled(True)
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.verticalHeader().setVisible(False)
        self.results.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.results.setToolTip(
            "One row per run: the settings that differ, the state, the last epoch's figures (losses, D(x), "
            "D(G(z)), aux accuracy) and, when the runs scored their generators, the last and best score. "
            "Click a header to sort."
        )
        self.export_button = make_button(
            "Export CSV…", "exportResultsButton", "Write the results table as CSV (default: PROJECT/sweeps/ID/)"
        )

        queue_box = QGroupBox("Queue")
        qv = QVBoxLayout(queue_box)
        qv.addWidget(self.table, 1)
        row = QHBoxLayout()
        for b in (self.up_button, self.down_button, self.remove_button, self.retry_button, self.clear_button):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.refresh_button)
        qv.addLayout(row)
        add = QHBoxLayout()
        add.addWidget(self.add_current_button)
        add.addSpacing(12)
        add.addWidget(QLabel("Sweep"))
        add.addWidget(self.sweep_key)
        add.addWidget(QLabel("="))
        add.addWidget(self.sweep_values, 1)
        add.addWidget(self.add_sweep_button)
        qv.addLayout(add)
        run = QHBoxLayout()
        run.addWidget(self.start_button)
        run.addWidget(self.stop_button)
        run.addWidget(self.status, 1)
        qv.addLayout(run)

        results_box = QGroupBox("Results")
        rv = QVBoxLayout(results_box)
        top = QHBoxLayout()
        top.addWidget(QLabel("Show"))
        top.addWidget(self.results_sweep, 1)
        top.addWidget(self.export_button)
        rv.addLayout(top)
        rv.addWidget(self.results, 1)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setObjectName("queueSplitter")
        splitter.addWidget(queue_box)
        splitter.addWidget(results_box)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(splitter)

        self.add_current_button.clicked.connect(self.add_current)
        self.add_sweep_button.clicked.connect(self.add_sweep)
        self.sweep_values.returnPressed.connect(self.add_sweep)
        self.sweep_key.currentTextChanged.connect(self._on_sweep_key_changed)
        self.up_button.clicked.connect(lambda: self.move_selected(-1))
        self.down_button.clicked.connect(lambda: self.move_selected(1))
        self.remove_button.clicked.connect(self.remove_selected)
        self.retry_button.clicked.connect(self.retry_selected)
        self.clear_button.clicked.connect(self.clear_finished)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.refresh_button.clicked.connect(self.refresh)
        self.results_sweep.currentIndexChanged.connect(lambda _: self.refresh_results())
        self.export_button.clicked.connect(self.export_results)
        self._on_sweep_key_changed(self.sweep_key.currentText())

    # --- the project ----------------------------------------------------------------------------------------
    def set_project(self, folder: str | Path | None) -> None:
        if self.running:
            self.shutdown()
        self.folder = Path(folder) if folder is not None else None
        self.refresh()

    @property
    def running(self) -> bool:
        return self._runner is not None

    def entries(self) -> list[rq.QueueEntry]:
        if self.folder is None:
            return []
        try:
            return rq.load_queue(self.folder).entries
        except (StudioError, OSError) as exc:
            self._fail("Cannot read the queue", exc)
            return []

    def refresh(self) -> None:
        """Show the queue file as it is now, and the results of the chosen sweep."""
        entries = self.entries()
        selected = set(self.selected_ids())
        self.table.setRowCount(len(entries))
        for r, e in enumerate(entries):
            cells = (e.id, e.label, e.sweep or "", e.state, e.run or "", e.message)
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, e.id)
                if c == 3 and e.state in STATE_COLOURS:
                    item.setForeground(Qt.GlobalColor.white)
                    item.setBackground(_colour(STATE_COLOURS[e.state]))
                if c == 5 and e.message:
                    item.setToolTip(e.message)
                self.table.setItem(r, c, item)
        self.table.clearSelection()
        for r, e in enumerate(entries):
            if e.id in selected:
                self.table.selectRow(r)
        sweeps = [""] + list(dict.fromkeys(e.sweep for e in entries if e.sweep))
        chosen = self.results_sweep.currentData()
        self.results_sweep.blockSignals(True)
        self.results_sweep.clear()
        for s in sweeps:
            self.results_sweep.addItem(s or "Every entry of the queue", s)
        index = self.results_sweep.findData(chosen if chosen in sweeps else (sweeps[-1] if sweeps else ""))
        self.results_sweep.setCurrentIndex(max(0, index))
        self.results_sweep.blockSignals(False)
        self.refresh_results()
        self._update_status(entries)
        self._update_buttons()

    def refresh_results(self) -> None:
        self._table = None
        if self.folder is not None and self.table.rowCount():
            sweep = self.results_sweep.currentData() or None
            try:
                self._table = sweep_results(self.folder, sweep)
            except (StudioError, OSError) as exc:
                self._fail("Cannot read the results", exc)
        table = self._table
        self.results.setSortingEnabled(False)
        self.results.clear()
        columns = table.columns if table else []
        shown = [c for c in columns if c == "message" or any(r[c] is not None for r in table.rows)]
        self.results.setColumnCount(len(shown))
        self.result_columns = shown
        self.results.setHorizontalHeaderLabels([_head(c) for c in shown])
        for i, name in enumerate(shown):
            header = self.results.horizontalHeaderItem(i)
            if table is not None and name in table.varied:
                header.setToolTip(f"{name}: {field_help(name)}")
            elif name.startswith(("last_", "best_")):
                header.setToolTip(f"{name}: the run's last, or best, recorded score")
            else:
                header.setToolTip(f"{name} (the last epoch's mean, where a figure)")
        self.results.setRowCount(len(table.rows) if table else 0)
        for r, row in enumerate(table.rows if table else []):
            for c, name in enumerate(shown):
                item = _SortItem(row[name])
                if name == "message" and row[name]:
                    item.setToolTip(row[name])
                self.results.setItem(r, c, item)
        self.results.setSortingEnabled(True)
        self.export_button.setEnabled(bool(table and table.rows))

    def results_table(self) -> ResultsTable | None:
        """The table shown (for scripts and tests)."""
        return self._table

    def selected_ids(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        out = []
        for r in rows:
            item = self.table.item(r, 0)
            if item is not None:
                out.append(item.data(Qt.ItemDataRole.UserRole))
        return out

    def select(self, entry_id: str) -> None:
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).data(Qt.ItemDataRole.UserRole) == entry_id:
                self.table.selectRow(r)
                return

    # --- editing --------------------------------------------------------------------------------------------
    def add_current(self) -> bool:
        if self.folder is None or self.current_settings is None:
            return False
        try:
            config = self.current_settings()
            saved = self.saved_settings() if self.saved_settings else None
            entry = rq.add_settings(self.folder, config, saved)
        except (StudioError, OSError) as exc:
            self._fail("Cannot queue these settings", exc)
            return False
        self.message.emit(f"Queued {entry.id}: {entry.label}")
        self.refresh()
        self.select(entry.id)
        return True

    def add_sweep(self) -> bool:
        """Queue one entry per value of the chosen setting; a bad value is refused naming it, nothing queued."""
        if self.folder is None or self.current_settings is None:
            return False
        key, text = self.sweep_key.currentText().strip(), self.sweep_values.text()
        try:
            if _ASSIGNMENT.match(text):  # several settings: "d_lr=1e-4,2e-4; aux_weight=1,6", every combination
                values = parse_sets([part.strip() for part in text.split(";") if part.strip()])
            else:
                values = {key: parse_values(key, text)}
            plan = plan_sweep(self.current_settings(), values)
            sweep = new_sweep_id(self.folder)
            (self.folder / "sweeps" / sweep).mkdir(parents=True, exist_ok=True)
            entries = rq.add_entries(self.folder, list(zip(plan.configs, plan.changes)), sweep=sweep)
        except (StudioError, OSError) as exc:
            self._fail("Cannot add the sweep", exc)
            return False
        what = ", ".join(f"{k} = {', '.join(_text(v) for v in vs)}" for k, vs in values.items())
        self.message.emit(f"Queued sweep {sweep}: {len(entries)} runs of {what}")
        self.refresh()
        self.results_sweep.setCurrentIndex(self.results_sweep.findData(sweep))
        return True

    def move_selected(self, delta: int) -> None:
        ids = self.selected_ids()
        if len(ids) != 1 or self.folder is None:
            return
        try:
            rq.move_entry(self.folder, ids[0], delta)
        except (StudioError, OSError) as exc:
            self._fail("Cannot move the entry", exc)
        self.refresh()
        self.table.clearSelection()
        self.select(ids[0])

    def remove_selected(self) -> bool:
        ids = self.selected_ids()
        if not ids or self.folder is None:
            return False
        sb = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self,
            "Remove from the queue",
            f"Remove {len(ids)} entr{'y' if len(ids) == 1 else 'ies'} ({', '.join(ids)}) from the queue? "
            "Runs they already made stay in the project.",
            sb.Yes | sb.Cancel,
            sb.Cancel,
        )
        if answer != sb.Yes:
            return False
        try:
            rq.remove_entries(self.folder, ids)
        except (StudioError, OSError) as exc:
            self._fail("Cannot remove", exc)
            return False
        self.refresh()
        return True

    def retry_selected(self) -> None:
        if self.folder is None or not self.selected_ids():
            return
        try:
            rq.requeue(self.folder, self.selected_ids())
        except (StudioError, OSError) as exc:
            self._fail("Cannot queue again", exc)
        self.refresh()

    def clear_finished(self) -> bool:
        if self.folder is None:
            return False
        sb = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self,
            "Clear finished entries",
            "Remove the done, failed and stopped entries from the queue? Their runs stay in the project.",
            sb.Yes | sb.Cancel,
            sb.Cancel,
        )
        if answer != sb.Yes:
            return False
        try:
            rq.clear_queue(self.folder)
        except (StudioError, OSError) as exc:
            self._fail("Cannot clear", exc)
        self.refresh()
        return True

    def export_results(self) -> bool:
        if self._table is None or self.folder is None:
            return False
        suggested = results_path(self.folder, self._table.sweep_id)
        path, _ = QFileDialog.getSaveFileName(self, "Export results", str(suggested), "CSV (*.csv)")
        if not path:
            return False
        try:
            write_results(self._table, path)
        except (StudioError, OSError) as exc:
            self._fail("Cannot export the results", exc)
            return False
        self.message.emit(f"Wrote {path}")
        return True

    # --- running --------------------------------------------------------------------------------------------
    def start(self) -> bool:
        """Train the queued entries one after another."""
        if self.folder is None or self.running:
            return False
        busy = self.busy_reason() if self.busy_reason else ""
        if busy:
            self.errorOccurred.emit("Cannot start the queue", busy, "")
            return False
        try:
            self._runner = rq.QueueRunner(self.folder).acquire()
        except (StudioError, OSError) as exc:
            self._fail("Cannot start the queue", exc)
            return False
        self._stopping, self._trained, self._started_at = False, 0, time.monotonic()
        self.message.emit("Queue started")
        self._next()
        return True

    def stop(self) -> None:
        """Stop the run in progress (it writes its checkpoint) and leave the rest queued."""
        if not self.running:
            return
        self._stopping = True
        if self._current is not None:
            self.status.setText(f"Stopping {self._current}: the run writes a checkpoint…")
            self.stopRequested.emit()
        else:
            self._finish("Queue stopped")

    def _next(self) -> None:
        if not self.running:
            return
        if self._stopping:
            self._finish("Queue stopped")
            return
        try:
            entry = rq.claim_next(self.folder)
        except (StudioError, OSError) as exc:
            self._fail("Cannot read the queue", exc)
            self._finish("Queue stopped")
            return
        if entry is None:
            self._finish("Queue finished")
            return
        self._current = entry.id
        self.refresh()
        self.message.emit(f"Queue: training {entry.id} ({entry.label})")
        self.runRequested.emit(entry)

    def run_started(self, run_path: str | Path) -> None:
        """The window started the current entry's run in ``run_path``."""
        if self._current is None:
            return
        try:
            rq.set_entry_run(self.folder, self._current, Path(run_path).name)
        except (StudioError, OSError) as exc:
            self._fail("Cannot update the queue", exc)
        self.refresh()

    def run_failed_to_start(self, text: str) -> None:
        """The current entry's run could not start: recorded as failed, and the queue goes on."""
        if self._current is None:
            return
        entry, self._current = self._current, None
        self._record(lambda: rq.finish_entry(self.folder, entry, "failed", text))
        self.message.emit(f"Queue: {entry} failed: {text}")
        QTimer.singleShot(0, self._next)

    def run_ended(self, finished, run_path: str | Path | None) -> None:
        """The current entry's run ended (a RunFinished); record it and start the next unless stopping."""
        if self._current is None:
            return
        entry, self._current = self._current, None
        run_id = Path(run_path).name if run_path else None
        recorded = self._record(lambda: rq.record_outcome(self.folder, entry, finished, run_id))
        state = recorded.state if recorded is not None else "failed"
        self._trained += 1
        self.message.emit(
            f"Queue: {entry} {state}" + (f": {recorded.message}" if recorded and recorded.message else "")
        )
        if state == "stopped":
            self._stopping = True
        QTimer.singleShot(0, self._next)

    def _record(self, write):
        try:
            return write()
        except (StudioError, OSError) as exc:
            self._fail("Cannot update the queue", exc)
            return None

    def _finish(self, text: str) -> None:
        if self._runner is not None:
            self._runner.release()
            self._runner = None
        self._current, self._stopping = None, False
        self.message.emit(text)
        self.refresh()

    def shutdown(self) -> None:
        """The window closes: the entry being trained (its run stopped with a checkpoint) is recorded as stopped."""
        if self._current is not None and self.folder is not None:
            entry, self._current = self._current, None
            self._record(lambda: rq.finish_entry(self.folder, entry, "stopped", "the window closed"))
        if self._runner is not None:
            self._runner.release()
            self._runner = None

    # --- state ----------------------------------------------------------------------------------------------
    def _update_status(self, entries: list[rq.QueueEntry]) -> None:
        counts = {s: sum(e.state == s for e in entries) for s in rq.STATES}
        self._queued = counts["queued"]
        parts = [f"{n} {s}" for s, n in counts.items() if n]
        text = ", ".join(parts) if parts else "The queue is empty: add the current settings or a sweep"
        if self.running and self._current is not None:
            text = f"Training {self._current}; " + text
            if self._trained:
                per_run = (time.monotonic() - self._started_at) / self._trained
                left = per_run * (counts["queued"] + 1)
                text += f"; about {_duration(left)} left"
        self.status.setText(text)

    def _update_buttons(self) -> None:
        has = self.folder is not None
        ids = self.selected_ids()
        for b in (self.add_current_button, self.add_sweep_button, self.refresh_button, self.clear_button):
            b.setEnabled(has)
        self.up_button.setEnabled(has and len(ids) == 1)
        self.down_button.setEnabled(has and len(ids) == 1)
        self.remove_button.setEnabled(has and bool(ids))
        self.retry_button.setEnabled(has and bool(ids))
        self.start_button.setEnabled(has and not self.running and self._queued > 0)
        self.stop_button.setEnabled(self.running)

    def _on_sweep_key_changed(self, key: str) -> None:
        example = SWEEP_EXAMPLES.get(key, "")
        self.sweep_values.setPlaceholderText(f"e.g. {example}" if example else "values, separated by commas")
        try:
            help_text = field_help(key)
        except KeyError:
            help_text = "not a setting"
        tip = f"<b>{key}</b>: {help_text}<br>Values separated by commas"
        if example:
            tip += f", typically {example}"
        tip += ".<br>Several settings, every combination: d_lr=1e-4,2e-4; aux_weight=1,6"
        self.sweep_values.setToolTip(tip)
        self.sweep_key.setToolTip(tip)

    def _fail(self, title: str, exc: BaseException) -> None:
        text = str(exc) if isinstance(exc, StudioError) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, SweepError):
            text = text.replace("--set ", "")  # the command line's flag; here the key and values boxes
        self.errorOccurred.emit(title, text, "")


def _head(column: str) -> str:
    """A results column's head: figures by their plot names, scores as 'best cond_acc', settings as named."""
    if column.startswith(("last_", "best_")):
        return column.replace("_", " ", 1)
    return RESULT_HEADS.get(column, column)


def _colour(name: str):
    from PySide6.QtGui import QColor

    return QColor(name)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"

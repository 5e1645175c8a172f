"""The Queue tab: add the current settings and a sweep, reorder, remove, run the queue, the results table."""

from __future__ import annotations

import csv
import time

from gui_helpers import button, shrink, wait_dataset
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

import studio.core.trainer as trainer_module
from studio.app import run_queue as rq
from studio.errors import TrainingError


def _wait(condition, timeout: float = 120.0) -> None:
    """Process events until ``condition()`` holds (the training worker's thread keeps running meanwhile)."""
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        QApplication.processEvents()
        time.sleep(0.01)


def _states(window) -> list[str]:
    return [e.state for e in rq.load_queue(window.project.folder).entries]


def _click(qtbot, window, name: str) -> None:
    widget = button(window, name)
    assert widget.isEnabled(), name
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def _add_sweep(qtbot, window, key: str, values: str) -> None:
    panel = window.queue_panel
    panel.sweep_key.setCurrentText(key)
    panel.sweep_values.setText(values)
    _click(qtbot, window, "addSweepButton")


def test_queue_of_four_runs_with_one_failing(make_window, example, qtbot, monkeypatch, answers, tmp_path):
    original = trainer_module.Trainer._end_epoch

    def fails_for_one(self, *args, **kwargs):
        if self.config.d_lr == 3e-4:
            raise TrainingError("the loss became non-finite (NaN or infinity) near step 3, epoch 1")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(trainer_module.Trainer, "_end_epoch", fails_for_one)
    window = make_window(example)
    shrink(window, epochs=1)
    wait_dataset(qtbot, window)
    panel = window.queue_panel
    window.main_tabs.setCurrentWidget(panel)

    _click(qtbot, window, "addCurrentButton")
    _add_sweep(qtbot, window, "d_lr", "1e-4,3e-4,4e-4")
    assert _states(window) == ["queued"] * 4
    assert panel.table.rowCount() == 4 and panel.table.item(2, 1).text() == "d_lr=0.0003"
    assert "epochs=1" in panel.table.item(0, 1).text()  # what differs from the saved project

    # A value that fails validation is refused naming it, and nothing is queued.
    _add_sweep(qtbot, window, "d_lr", "1e-4,5")
    box = window.findChild(QMessageBox, "errorDialog")
    assert box is not None and "d_lr=5" in box.text() and "at most 1.0" in box.text()
    box.close()
    assert len(_states(window)) == 4
    tip = panel.sweep_values.toolTip()
    assert "Adam learning rate of D" in tip and "1e-4,2e-4,4e-4" in tip  # what it is and its typical values

    # Reorder: the failing entry moves to the end; an extra entry is removed after a confirmation.
    panel.table.selectRow(2)
    _click(qtbot, window, "queueDownButton")
    assert [e.label for e in rq.load_queue(window.project.folder).entries][2:] == ["d_lr=0.0004", "d_lr=0.0003"]
    _click(qtbot, window, "addCurrentButton")
    panel.table.clearSelection()
    panel.table.selectRow(4)
    asked = len(answers.asked)
    _click(qtbot, window, "queueRemoveButton")
    assert len(answers.asked) == asked + 1 and "Remove 1 entry" in answers.asked[-1]
    assert len(_states(window)) == 4

    _click(qtbot, window, "startQueueButton")
    assert button(window, "stopQueueButton").isEnabled()
    _wait(lambda: not panel.running and not window.training)
    assert _states(window) == ["done", "done", "done", "failed"]
    failed = rq.load_queue(window.project.folder).entries[3]
    assert "non-finite" in failed.message and failed.run
    assert window.findChild(QMessageBox, "errorDialog") is None  # the queue's failure went to the log, not a dialog
    assert "non-finite" in window.log_view.toPlainText()
    assert len(window.project.runs()) == 4

    # The results table: four rows, sortable, exported as CSV.
    panel.results_sweep.setCurrentIndex(panel.results_sweep.findData(""))  # every entry of the queue
    results = panel.results
    assert results.rowCount() == 4
    headers = panel.result_columns
    assert results.horizontalHeaderItem(headers.index("d_x")).text() == "D(x)"
    assert results.horizontalHeaderItem(headers.index("d_lr")).text() == "d_lr"  # a setting keeps its name
    assert {"state", "d_lr", "epochs", "d_loss", "aux_acc_real", "message"} <= set(headers)
    state_col = headers.index("state")
    results.sortItems(headers.index("d_lr"), Qt.SortOrder.DescendingOrder)
    # Sorted by number, not as text: 4e-4, the failed 3e-4, then the project's 2e-4 and 1e-4.
    assert [results.item(r, headers.index("d_lr")).text() for r in range(4)] == ["0.0004", "0.0003", "0.0002", "0.0001"]
    assert [results.item(r, state_col).text() for r in range(4)] == ["done", "failed", "done", "done"]
    out = tmp_path / "results.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "CSV (*.csv)"))
    _click(qtbot, window, "exportResultsButton")
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["state"] for r in rows] == ["done", "done", "done", "failed"]


def test_stop_queue_stops_the_run_with_a_checkpoint_and_keeps_the_rest(make_window, example, qtbot):
    window = make_window(example)
    shrink(window, epochs=500)
    wait_dataset(qtbot, window)
    panel = window.queue_panel
    _add_sweep(qtbot, window, "seed", "seed=1,2; aux_weight=1,6")  # several settings: every combination
    _click(qtbot, window, "startQueueButton")
    _wait(lambda: window.dashboard.timeline.count() >= 1)
    _click(qtbot, window, "stopQueueButton")
    _wait(lambda: not panel.running and not window.training)
    entries = rq.load_queue(window.project.folder).entries
    assert [e.label for e in entries] == [
        "seed=1, aux_weight=1",
        "seed=1, aux_weight=6",
        "seed=2, aux_weight=1",
        "seed=2, aux_weight=6",
    ]
    assert [e.state for e in entries] == ["stopped", "queued", "queued", "queued"]
    assert entries[0].run and window.project.runs()[0].latest_checkpoint() is not None
    assert button(window, "startQueueButton").isEnabled()

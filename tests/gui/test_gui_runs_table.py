"""The runs table: one row per run, the settings that differ, sorting, tag filter, 'use these settings'."""

from __future__ import annotations

import pytest
from compare_helpers import compare_project
from gui_helpers import editor
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QComboBox, QLineEdit, QPlainTextEdit, QPushButton, QTableView, QTableWidget

from studio.app.run_notes import write_notes
from studio.gui.runs_table import BASE_COLUMNS, RunsTablePanel
from studio.project import Project


@pytest.fixture(scope="module")
def project_runs(tmp_path_factory):
    """Two tiny runs with names, tags and a note, trained once; the tests change nothing on disk."""
    project, a, b = compare_project(tmp_path_factory.mktemp("table") / "p")
    write_notes(a, name="baseline", tags=["keep", "lr"])
    write_notes(b, tags=["lr"], note="D learning rate x5")
    return project, a, b


def table_text(table: QTableView) -> list[list[str]]:
    model = table.model()
    return [[model.index(r, c).data() for c in range(model.columnCount())] for r in range(model.rowCount())]


def header(table: QTableView) -> list[str]:
    model = table.model()
    return [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]


def select(table: QTableView, rows) -> None:
    model = table.selectionModel()
    model.clearSelection()
    for row in rows:
        model.select(
            table.model().index(row, 0),
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )


def test_rows_and_the_config_diff(project_runs, make_window):
    project, a, b = project_runs
    window = make_window(project.folder)
    table = window.findChild(QTableView, "runsTable")
    assert table.selectionMode() == QTableView.SelectionMode.ExtendedSelection
    assert header(table) == [*BASE_COLUMNS, "epochs", "d_lr"]  # the settings that differ between the runs
    rows = table_text(table)
    assert [r[0] for r in rows] == ["baseline", "run-b"]
    assert rows[0][1] == "keep, lr" and rows[0][2] == "completed" and rows[0][3] == "2 of 2"
    assert rows[1][4] == "accuracy 0.25" and rows[0][4] == "–"  # best score; run a was never evaluated
    assert rows[0][7].endswith("KB") and rows[1][-1] == "0.001"
    # The diff of the selected runs, below the table.
    select(table, [0, 1])
    diff = window.findChild(QTableWidget, "configDiffTable")
    names = [diff.verticalHeaderItem(i).text() for i in range(diff.rowCount())]
    assert names == ["epochs", "d_lr"]
    assert [diff.horizontalHeaderItem(j).text() for j in range(2)] == ["baseline", "run-b"]
    assert [diff.item(1, j).text() for j in range(2)] == ["0.0002", "0.001"]
    scores = window.findChild(QTableWidget, "compareEvaluationTable")
    assert scores.rowCount() == 1
    cells = [scores.item(0, j).text() for j in range(scores.columnCount())]
    assert cells == ["run-b", "epoch 1", "0.25", "120", "100"]
    assert [scores.horizontalHeaderItem(j).text() for j in (2, 3)] == ["accuracy", "FID"]


def test_sort_and_filter(project_runs, make_window):
    project, a, b = project_runs
    window = make_window(project.folder)
    table = window.findChild(QTableView, "runsTable")
    d_lr = header(table).index("d_lr")
    table.sortByColumn(d_lr, Qt.SortOrder.DescendingOrder)
    assert [r[0] for r in table_text(table)] == ["run-b", "baseline"]
    table.sortByColumn(BASE_COLUMNS.index("Epochs"), Qt.SortOrder.DescendingOrder)
    assert [r[0] for r in table_text(table)] == ["baseline", "run-b"]  # numbers sort as numbers
    tags = window.findChild(QComboBox, "runsTagFilter")
    assert [tags.itemText(i) for i in range(tags.count())] == ["All tags", "keep", "lr"]
    tags.setCurrentIndex(tags.findData("keep"))
    assert [r[0] for r in table_text(table)] == ["baseline"]
    tags.setCurrentIndex(0)
    text = window.findChild(QLineEdit, "runsFilter")
    text.setText("learning rate")  # the note
    assert [r[0] for r in table_text(table)] == ["run-b"]
    text.setText("")
    assert table.model().rowCount() == 2


def test_use_these_settings(project_runs, make_window, qtbot):
    project, a, b = project_runs
    window = make_window(project.folder)
    table = window.findChild(QTableView, "runsTable")
    select(table, [1])  # run-b: d_lr 1e-3, 1 epoch
    button = window.findChild(QPushButton, "runSettingsButton")
    assert button.isEnabled()
    dialog = window.runs_table.open_settings()
    text = dialog.findChild(QPlainTextEdit, "runSettingsText")
    assert text.isReadOnly() and '"d_lr": 0.001' in text.toPlainText()
    dialog.findChild(QPushButton, "useSettingsButton").click()
    assert window.binder.config.d_lr == 1e-3 and window.binder.config.epochs == 1
    assert editor(window, "epochs").value() == 1 and editor(window, "d_lr").value() == pytest.approx(1e-3)
    assert window.project.config.d_lr == 1e-3 and window.dirty
    assert Project.load(project.folder).config.d_lr == 2e-4  # the file changes when the project is saved


def test_selection_survives_a_refresh_and_two_rows_compare(project_runs, make_window):
    project, a, b = project_runs
    window = make_window(project.folder)
    table = window.findChild(QTableView, "runsTable")
    select(table, [0, 1])
    assert window.dashboard.comparison.active
    window.refresh_runs()
    assert sorted(window.runs_table.selected_paths()) == sorted([str(a.path), str(b.path)])
    window.runs_table.compare_button.click()
    assert window.main_tabs.currentWidget() is window.dashboard


def test_panel_alone_with_rows_of_any_runs(qtbot):
    """The panel draws whatever rows it is given: runs without settings or figures still list."""
    panel = RunsTablePanel()
    qtbot.addWidget(panel)
    panel.set_rows(
        [
            {"path": "/x/r1", "name": "r1", "tags": [], "state": "unreadable", "config": {}, "scores": []},
            {"path": "/x/r2", "name": "r2", "tags": ["t"], "state": "failed", "config": {"a": 1}, "scores": []},
        ]
    )
    assert table_text(panel.table)[0][:4] == ["r1", "", "unreadable", "?"]
    assert header(panel.table)[-1] == "a"


def test_out_of_view_the_table_is_read_again_when_shown(project_runs, make_window):
    project, a, b = project_runs
    window = make_window(project.folder)
    table = window.findChild(QTableView, "runsTable")
    try:
        write_notes(b, tags=["lr", "late"])
        window.refresh_runs()  # e.g. after a checkpoint: the table is not in view, its lines wait
        assert table_text(table)[1][1] == "lr"
        window.main_tabs.setCurrentWidget(window.runs_table)
        assert table_text(table)[1][1] == "lr, late"
        write_notes(b, tags=["lr", "later"])
        window.refresh_runs()  # in view: read at once
        assert table_text(table)[1][1] == "lr, later"
    finally:
        write_notes(b, tags=["lr"])

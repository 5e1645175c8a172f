"""Comparing runs on the dashboard: curves overlaid per run and series, grids side by side, plot tools."""

from __future__ import annotations

import numpy as np
import pytest
from compare_helpers import compare_project, train_tiny
from PySide6.QtCore import QItemSelectionModel, QPointF, Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QPushButton, QSlider, QTableView

from studio.core.trainer import Trainer

PLOTS = {"lossPlot": 2, "discriminatorPlot": 3, "auxAccuracyPlot": 2}  # series per plot


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two tiny runs, trained once for the module; the tests only read them."""
    return compare_project(tmp_path_factory.mktemp("compare") / "p")


@pytest.fixture
def compared(trained, make_window):
    project, a, b = trained
    window = make_window(project.folder)
    return window, a, b


def select_rows(window, rows) -> None:
    """Ctrl-click rows of the runs table, as a user selects several runs."""
    table = window.findChild(QTableView, "runsTable")
    model = table.selectionModel()
    model.clearSelection()
    for row in rows:
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        model.select(table.model().index(row, 0), flags)


def overlay(window, name: str) -> dict:
    return window.dashboard.plots.plots[name].overlay_items


def test_two_runs_overlay_one_item_per_run_and_series(compared):
    window, a, b = compared
    select_rows(window, [0, 1])
    comparison = window.dashboard.comparison
    assert comparison.active and [p.name for p in comparison.paths] == ["run-a", "run-b"]
    for name, series in PLOTS.items():
        items = overlay(window, name)
        assert len(items) == 2 * series, name
        colours = {label.split(" · ")[0]: {i.opts["pen"].color().name() for i in items.values() if label in i.name()}
                   for label in items}  # fmt: skip
        assert len(colours["run-a"]) == 1 and colours["run-a"] != colours["run-b"]  # one colour per run
        legend = comparison.overlay.legend(name)
        assert [label.text for _, label in legend.items] == ["run-a", "run-b"]
    # The curves are the runs' own figures: 8 reports of run a (2 epochs of 4 steps), 4 of run b.
    x, _ = overlay(window, "lossPlot")["run-a · D loss"].getOriginalDataset()
    assert list(x) == [1, 2, 3, 4, 5, 6, 7, 8]
    x, _ = overlay(window, "lossPlot")["run-b · G loss"].getOriginalDataset()
    assert list(x) == [1, 2, 3, 4]
    # The view holds every run's whole curve, not just what was in view before.
    for name in PLOTS:
        (x0, x1), _ = window.dashboard.plots.plots[name].getPlotItem().getViewBox().viewRange()
        assert x0 <= 1 and x1 >= 8, name
    # Run b's evaluation is marked on every plot in run b's colour.
    tools = window.dashboard.plots.plots["lossPlot"].tools
    assert [(e.kind, e.run, e.x) for e in tools.events] == [("evaluation", "run-b", 4.0)]
    assert tools.marks()[0].pen.color().name() == colours["run-b"].pop()
    # The single run's own curves are empty meanwhile.
    for curve in window.dashboard.plots.plots["lossPlot"].curves.values():
        assert curve.xData is None or len(curve.xData) == 0


def test_grids_side_by_side_with_one_epoch_slider(compared):
    window, a, b = compared
    select_rows(window, [0, 1])
    samples = window.dashboard.comparison.samples
    assert window.dashboard.comparison.stack.currentWidget() is samples
    slider = window.findChild(QSlider, "compareEpochSlider")
    assert (slider.value(), slider.maximum()) == (1, 2)  # the newest epoch both have, of the most any has
    assert samples.shown_paths() == [a.sample_path(1), b.sample_path(1)]
    assert not samples.columns[0][1].pixmap().isNull() and not samples.columns[1][1].pixmap().isNull()
    slider.setValue(2)
    assert samples.shown_paths() == [a.sample_path(2), None]
    assert "no grid for epoch 2" in samples.columns[1][0].text()
    assert samples.columns[1][1].pixmap().isNull()
    # Below the plots, the grids get the dashboard's width; stopping puts everything back.
    splitter = window.dashboard.splitter
    window.findChild(QCheckBox, "compareGridsBelow").setChecked(True)
    assert splitter.orientation() == Qt.Orientation.Vertical
    window.findChild(QPushButton, "stopCompareButton").click()
    assert splitter.orientation() == Qt.Orientation.Horizontal


def test_x_axis_choice_redraws_every_run(compared):
    window, a, b = compared
    select_rows(window, [0, 1])
    combo = window.findChild(QComboBox, "xAxisCombo")
    combo.setCurrentIndex(combo.findData("images"))
    x, _ = overlay(window, "lossPlot")["run-a · D loss"].getOriginalDataset()
    assert list(x) == [8.0 * s for s in range(1, 9)]  # batch size 8
    combo.setCurrentIndex(combo.findData("epoch"))
    x, _ = overlay(window, "discriminatorPlot")["run-b · D(x)"].getOriginalDataset()
    assert x[-1] == pytest.approx(1.0) and x[0] == pytest.approx(0.25)
    plot = window.dashboard.plots.plots["lossPlot"]
    assert plot.getPlotItem().getAxis("bottom").labelText == "epoch"
    # Unsmoothed, the curves are the logged figures themselves.
    window.dashboard.plots.smoothed.setChecked(False)
    _, y = overlay(window, "lossPlot")["run-a · D loss"].getOriginalDataset()
    assert np.allclose(y, [r["d_loss"] for r in a.read_metrics() if r["kind"] == "step"])
    window.dashboard.plots.smoothed.setChecked(True)
    _, smoothed = overlay(window, "lossPlot")["run-a · D loss"].getOriginalDataset()
    assert not np.allclose(smoothed, y)
    combo.setCurrentIndex(combo.findData("time"))
    x, _ = overlay(window, "lossPlot")["run-a · D loss"].getOriginalDataset()
    assert np.all(np.diff(x) >= 0) and 0 < x[-1] < 600


def test_one_row_shows_that_run_and_stop_comparing_goes_back(compared):
    window, a, b = compared
    select_rows(window, [1])
    assert window.dashboard.run_path == str(b.path) and not window.dashboard.comparison.active
    select_rows(window, [0, 1])
    assert window.dashboard.comparison.active and not overlay(window, "lossPlot") == {}
    window.findChild(QPushButton, "stopCompareButton").click()
    assert not window.dashboard.comparison.active
    assert overlay(window, "lossPlot") == {}
    assert window.dashboard.comparison.stack.currentWidget() is window.dashboard.timeline
    x, _ = window.dashboard.plots.curve_data("lossPlot", "d_loss")
    assert len(x) > 0  # back to the run chosen in the Runs list, with its own curves


def test_hover_log_scale_and_exports(compared, tmp_path):
    window, a, b = compared
    window.show_run(a)
    window.dashboard.plots.fit_tight()
    plot = window.dashboard.plots.plots["lossPlot"]
    tools = plot.tools
    text = tools.readout_text(3.2)
    assert text.splitlines()[0] == "step 3" and "D loss:" in text and "G loss:" in text
    # The read-out follows the mouse over the plot.
    view = plot.getPlotItem().getViewBox()
    tools._on_mouse_moved(view.mapViewToScene(QPointF(5.0, float(np.mean(view.viewRange()[1])))))
    assert tools.readout.isVisible() and tools.readout.toPlainText().startswith("step 5")
    window.dashboard.plots.log_scale.setChecked(True)
    assert plot.getPlotItem().ctrl.logYCheck.isChecked()
    _, y = window.dashboard.plots.curve_data("lossPlot", "d_loss")
    (_, _), (y0, y1) = plot.getPlotItem().getViewBox().viewRange()
    assert y0 <= np.log10(y.min()) and y1 >= np.log10(y.max()) and y1 < 3  # log units, fitted to the data
    window.dashboard.plots.log_scale.setChecked(False)
    assert not plot.getPlotItem().ctrl.logYCheck.isChecked()
    menu = tools.menu()
    assert [a.text() for a in menu.actions() if a.text()] == [
        "Log scale (y)",
        "Save data as CSV…",
        "Save plot as PNG…",
        "Fit to data",
    ]
    csv_path = tools.export_csv(tmp_path / "loss.csv")
    lines = csv_path.read_text().splitlines()
    assert lines[0] == "series,step,value" and len(lines) == 1 + 2 * 8  # D and G loss, 8 reports each
    png = tools.export_png(tmp_path / "loss.png", width=600)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # In a comparison the CSV holds every run's series under its name.
    select_rows(window, [0, 1])
    lines = tools.export_csv(tmp_path / "both.csv").read_text().splitlines()
    assert {line.split(",")[0] for line in lines[1:]} == {"run-a · D loss", "run-a · G loss", "run-b · D loss",
                                                         "run-b · G loss"}  # fmt: skip


def test_a_reopened_run_marks_its_resume_and_evaluation(tmp_path, make_window):
    project, a, b = compare_project(tmp_path / "p")
    resumed = train_tiny(project, "run-c", max_steps=3)
    Trainer(resumed.read_config(), _dataset(resumed), resumed, resume_from=resumed.latest_checkpoint().path).run()
    window = make_window(project.folder)
    window.show_run(resumed)
    tools = window.dashboard.plots.plots["lossPlot"].tools
    assert [(e.kind, e.x) for e in tools.events] == [("resume", 3.0)]
    assert len(tools.marks()) == 1 and "resumed at epoch 0, step 3" in tools.marks()[0].toolTip()
    x, _ = window.dashboard.plots.curve_data("lossPlot", "d_loss")
    assert list(x) == [1, 2, 3, 4, 5, 6, 7, 8]  # the whole history, before and after the resume
    window.show_run(b)
    assert [e.kind for e in tools.events] == ["evaluation"]
    assert "cond_acc 0.25" in tools.readout_text(4.0)


def _dataset(run):
    from helpers import random_dataset

    from studio.data.dataset import dataset_space

    return random_dataset(dataset_space(run.read_config().dataset), n=32)

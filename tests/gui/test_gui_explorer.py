"""The condition explorer in the window: layouts per condition space, noise controls, exports."""

from __future__ import annotations

import time

import numpy as np
import pytest
from gui_helpers import button
from helpers import random_dataset, tiny_config
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QFileDialog,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QWidget,
)

from studio.core.averaging import GeneratorRef, load_generator
from studio.core.conditions import colour_hex
from studio.core.explore import Explorer
from studio.core.rundir import RunDirectory
from studio.core.sampling import GRID_PADDING
from studio.core.trainer import Trainer
from studio.data.dataset import dataset_space
from studio.project import Project

CELL = 32


def train_run(project: Project, dataset: str, epochs: int = 1, run_id: str | None = None) -> RunDirectory:
    config = tiny_config(dataset=dataset, family="acgan", epochs=epochs, ema=False)
    run = RunDirectory.create(project.runs_dir, config, run_id=run_id)
    Trainer(config, random_dataset(dataset_space(dataset), n=16), run).run()
    return run


@pytest.fixture
def project(tmp_path) -> Project:
    return Project.create(tmp_path / "explore", tiny_config(dataset="builtin:faces", family="acgan", dataset_size=64))


def open_explorer(make_window, qtbot, project: Project, run: RunDirectory):
    window = make_window(project.folder)
    window.runs_panel.select_run(run.path)
    window.main_tabs.setCurrentWidget(window.condition_explorer)
    explorer = window.findChild(QWidget, "conditionExplorer")
    settle(qtbot, explorer)
    return window, explorer


def settle(qtbot, explorer) -> np.ndarray:
    qtbot.waitUntil(explorer.idle, timeout=20_000)
    assert explorer.complete
    return explorer.mosaic.copy()


def choose(window, name: str, data) -> None:
    combo = window.findChild(QComboBox, name)
    index = combo.findData(data)
    assert index >= 0, (name, data)
    combo.setCurrentIndex(index)


def row_block(mosaic: np.ndarray, row: int) -> np.ndarray:
    pitch = CELL + GRID_PADDING
    return mosaic[GRID_PADDING + row * pitch : GRID_PADDING + row * pitch + CELL]


def test_attribute_table_fixed_value_seed_truncation_and_row_resampling(make_window, qtbot, project):
    run = train_run(project, "builtin:faces", run_id="faces")
    window, explorer = open_explorer(make_window, qtbot, project, run)
    for name in (
        "explorerGeneratorCombo",
        "explorerRowsCombo",
        "explorerColsCombo",
        "explorerFixCombo",
        "explorerSeedSpin",
        "truncationSlider",
        "explorerView",
        "explorerExportButton",
    ):
        assert len(window.findChildren(QWidget, name)) == 1, name
    assert window.findChild(QComboBox, "explorerGeneratorCombo").currentText() == "epoch 1"

    # The full hair x eyes table: 12 rows, 10 columns, every cell drawn.
    assert explorer.mode() == "table"
    table = explorer.mosaic
    assert (explorer.layout.rows, explorer.layout.cols) == (12, 10)
    assert table.shape == (12 * (CELL + GRID_PADDING) + GRID_PADDING, 10 * (CELL + GRID_PADDING) + GRID_PADDING, 3)
    assert explorer.layout.row_captions[0] == "orange hair" and explorer.layout.col_captions[-1] == "blue eyes"
    assert window.findChild(QWidget, "explorerView").has_image()

    # Eyes down the rows instead: the table turns.
    choose(window, "explorerRowsCombo", 1)
    choose(window, "explorerColsCombo", 0)
    settle(qtbot, explorer)
    assert (explorer.layout.rows, explorer.layout.cols) == (10, 12)

    # Fix blue eyes, vary hair: one noise vector per row, all 12 hair colours across.
    choose(window, "explorerModeCombo", "vary")
    fix = window.findChild(QComboBox, "explorerFixCombo")
    fix.setCurrentIndex(fix.findText("blue eyes"))
    blue = settle(qtbot, explorer)
    assert (explorer.layout.rows, explorer.layout.cols) == (6, 12)
    assert "blue eyes" in explorer.layout.title and explorer.layout.col_captions[0] == "orange hair"
    fix.setCurrentIndex(fix.findText("red eyes"))
    red = settle(qtbot, explorer)
    assert "red eyes" in explorer.layout.title and not np.array_equal(red, blue)

    # A new seed redraws everything; back to the old seed redraws the same grid from the cache.
    seed = window.findChild(QSpinBox, "explorerSeedSpin")
    seed.setValue(5)
    reseeded = settle(qtbot, explorer)
    assert not np.array_equal(reseeded, red)
    seed.setValue(0)
    again = settle(qtbot, explorer)
    assert np.array_equal(again, red) and explorer.last_result.rendered == 0

    # Truncation changes the picture; its label says how strong.
    window.findChild(QSlider, "truncationSlider").setValue(3)
    truncated = settle(qtbot, explorer)
    assert window.findChild(QWidget, "truncationLabel").text() == "0.3"
    assert not np.array_equal(truncated, red)

    # Resampling row 3 changes that row only.
    window.findChild(QSpinBox, "explorerRowSpin").setValue(3)
    qtbot.mouseClick(button(window, "resampleRowButton"), Qt.MouseButton.LeftButton)
    resampled = settle(qtbot, explorer)
    for row in range(explorer.layout.rows):
        same = np.array_equal(row_block(resampled, row), row_block(truncated, row))
        assert same == (row != 2), row
    assert explorer.last_result.rendered == explorer.layout.cols


def test_rows_arrive_and_a_newer_request_stops_the_older(make_window, qtbot, project, monkeypatch):
    run = train_run(project, "builtin:faces")
    window, explorer = open_explorer(make_window, qtbot, project, run)
    slow_chunk = Explorer._run
    original_render = Explorer.render
    stopped = []

    def slow(self, z, cond):  # a slow generator, so a render is still going when the next change comes
        time.sleep(0.2)
        return slow_chunk(self, z, cond)

    def render(self, *args, **kwargs):
        result = original_render(self, *args, **kwargs)
        stopped.append(result.stopped)
        return result

    monkeypatch.setattr(Explorer, "_run", slow)
    monkeypatch.setattr(Explorer, "render", render)
    strips = []
    explorer.rowsShown.connect(lambda first, end: strips.append((first, end)))
    seed = window.findChild(QSpinBox, "explorerSeedSpin")
    seed.setValue(11)
    qtbot.waitUntil(lambda: len(strips) >= 1, timeout=10_000)
    assert strips[0][0] == 0 and strips[0][1] < explorer.layout.rows  # the first rows, before the rest
    seed.setValue(12)
    final = settle(qtbot, explorer)
    assert stopped[0] is True and stopped[-1] is False
    monkeypatch.setattr(Explorer, "_run", slow_chunk)
    generator, space, config = load_generator(GeneratorRef(run.checkpoint_path(1)))
    expected = Explorer(generator, space, config.nz, explorer.layout, explorer.noise_settings()).render().mosaic
    assert np.array_equal(final, expected)


def test_export_png_and_sheet(make_window, qtbot, project, tmp_path, monkeypatch):
    run = train_run(project, "builtin:faces")
    window, explorer = open_explorer(make_window, qtbot, project, run)
    mosaic = explorer.mosaic
    plain = tmp_path / "plain.png"
    assert explorer.export_png(plain, scale=2, captions=False) == (mosaic.shape[1] * 2, mosaic.shape[0] * 2)
    with Image.open(plain) as image:
        assert np.array_equal(np.asarray(image.convert("RGB"))[::2, ::2], mosaic)

    # Through the button: captions and a title widen the image; the suffix is added.
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "captioned"), ""))
    window.findChild(QSpinBox, "explorerScaleSpin").setValue(1)
    qtbot.mouseClick(button(window, "explorerExportButton"), Qt.MouseButton.LeftButton)
    with Image.open(tmp_path / "captioned.png") as image:
        assert image.width > mosaic.shape[1] and image.height > mosaic.shape[0]
    assert explorer.export_png(plain, scale=1) is None  # never over an existing file unasked

    # A sheet of the same layout through the last checkpoint and its EMA (the run kept none: one grid).
    sheet = tmp_path / "sheet.png"
    assert explorer.export_sheet(sheet)
    qtbot.waitUntil(lambda: not explorer.sheet_busy(), timeout=20_000)
    with Image.open(sheet) as image:
        assert image.width > mosaic.shape[1] and image.height > mosaic.shape[0]
    assert "sheet" in window.findChild(QWidget, "logView").toPlainText()


def test_multi_label_objects_respect_the_count(make_window, qtbot, project):
    run = train_run(project, "builtin:shapes")
    window, explorer = open_explorer(make_window, qtbot, project, run)
    assert explorer.mode() == "sets"
    assert (explorer.layout.rows, explorer.layout.cols) == (4, 6)  # four random valid sets x six samples
    objects = window.findChild(QWidget, "explorerObjectList")
    for i in range(4):
        objects.item(i).setCheckState(Qt.CheckState.Checked)
    ticked = [objects.item(i).checkState() == Qt.CheckState.Checked for i in range(4)]
    assert ticked == [True, True, True, False]
    assert "At most 3" in window.findChild(QWidget, "explorerObjectsReason").text()

    objects.item(2).setCheckState(Qt.CheckState.Unchecked)
    qtbot.mouseClick(button(window, "explorerAddSetButton"), Qt.MouseButton.LeftButton)
    settle(qtbot, explorer)
    names = [objects.item(i).text() for i in range(2)]
    assert explorer.layout.rows == 5 and explorer.layout.row_captions[0] == ", ".join(names)


def test_colour_space_has_pickers_and_hue_sweeps(make_window, qtbot, project):
    run = train_run(project, "builtin:faces-rgb")
    window, explorer = open_explorer(make_window, qtbot, project, run)
    pickers = [window.findChild(QPushButton, f"explorerColour_{name}") for name in ("hair", "eyes")]
    assert all(p is not None and p.isVisible() for p in pickers)
    assert explorer.mode() == "hue-sweep"
    assert (explorer.layout.rows, explorer.layout.cols) == (6, 8)  # samples x hues round the circle
    choose(window, "explorerColsCombo", 0)  # sweep the hair
    settle(qtbot, explorer)
    hair, eyes = explorer.layout.labels[:8, :3], explorer.layout.labels[:8, 3:6]
    assert len({colour_hex(c) for c in hair}) == 8 and len({colour_hex(c) for c in eyes}) == 1
    assert explorer.layout.col_captions == [colour_hex(c) for c in hair]
    assert hair[0, 0] > 0.8 and hair[0, 1] < 0.3  # the sweep starts at red

    explorer.set_colour("eyes", "#0000ff")
    settle(qtbot, explorer)
    assert "#0000ff" in pickers[1].text()
    eyes = explorer.layout.labels[:, 3:6]
    assert np.allclose(eyes.numpy(), [0.0, 0.0, 1.0])

    # A hue map of hair against hair is refused with the reason; hair against eyes draws.
    choose(window, "explorerModeCombo", "hue-map")
    reason = window.findChild(QWidget, "explorerReason")
    assert reason.isVisible() and "same attribute" in reason.text()
    # The sweep drawn before is not shown, nor offered for export, as if it were this map.
    assert explorer.mosaic is None and not window.findChild(QPushButton, "explorerExportButton").isEnabled()
    assert not window.findChild(QPushButton, "explorerSheetButton").isEnabled()
    choose(window, "explorerColsCombo", 1)
    settle(qtbot, explorer)
    assert not reason.isVisible()
    assert (explorer.layout.rows, explorer.layout.cols) == (8, 8)


def part_of_a_control(widget: QWidget) -> bool:
    """A spin box's line edit, a combo box's popup list, a table's corner: Qt's insides, not controls of ours."""
    if widget.objectName().startswith("qt_") or isinstance(widget, QHeaderView):
        return True
    parent = widget.parent()
    while parent is not None:
        if isinstance(parent, (QAbstractSpinBox, QComboBox)):
            return True
        parent = parent.parent()
    return False


def test_every_control_is_named_and_explains_itself(make_window, qtbot, project):
    run = train_run(project, "builtin:faces-rgb")
    window, explorer = open_explorer(make_window, qtbot, project, run)
    for name in (
        "checkpointLab",
        "checkpointTable",
        "averageButton",
        "bnReestimateCheck",
        "compareView",
        "exportGeneratorButton",
        "conditionExplorer",
        "explorerGeneratorCombo",
        "explorerRowsCombo",
        "explorerColsCombo",
        "explorerFixCombo",
        "explorerSeedSpin",
        "truncationSlider",
        "explorerView",
        "explorerExportButton",
    ):
        assert len(window.findChildren(QWidget, name)) == 1, name
    kinds = (QAbstractButton, QComboBox, QAbstractSpinBox, QSlider, QLineEdit, QAbstractItemView)
    for panel in (window.checkpoint_lab, explorer):
        for widget in panel.findChildren(QWidget):
            if isinstance(widget, kinds) and not part_of_a_control(widget):
                assert widget.toolTip(), f"{type(widget).__name__} {widget.objectName()!r} has no tooltip"

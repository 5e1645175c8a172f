"""The lab's widgets, built onto the panel with the names the window and its tests find them by."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from studio.gui.builders import make_button, make_combo, make_line, make_note, make_progress, make_spin, side_by_side
from studio.gui.checkpoint_lab.compare_view import CompareView
from studio.gui.checkpoint_lab.export import fill_formats
from studio.gui.checkpoint_lab.table import COLUMNS

__all__ = ["build"]


def build(lab) -> None:
    """Every control of ``lab`` (a CheckpointLab) as its attribute, laid out: the table and its controls
    on the left, the comparison on the right."""
    _title_and_table(lab)
    pick = _selection(lab)
    average_box = _average_box(lab)
    export_box = _export_box(lab)
    progress_row = _progress_row(lab)
    lab.compare_view = CompareView()

    left = QWidget()
    left_layout = QVBoxLayout(left)
    left_layout.setContentsMargins(0, 0, 0, 0)
    left_layout.addWidget(lab.title)
    left_layout.addWidget(lab.table, 1)
    left_layout.addLayout(pick)
    left_layout.addWidget(lab.selection_info)
    left_layout.addWidget(average_box)
    left_layout.addWidget(export_box)
    left_layout.addLayout(progress_row)
    left_layout.addWidget(lab.status)
    left.setMinimumWidth(380)

    lab.splitter = side_by_side(lab, "labSplitter", left, _comparison_box(lab), (440, 800))


def _comparison_box(lab) -> QWidget:
    """The comparison in a scroll area (grids are never shrunk below their size by default), with what to show
    (the whole grid, or one value of an attribute held while the other varies) and the zoom above it."""
    from PySide6.QtWidgets import QScrollArea

    lab.subset_combo = make_combo(
        "labSubsetCombo",
        "What the comparison draws: every condition of the space's grid, or one value held fixed while the other "
        "attribute varies (smaller grids, so several generators fit side by side)",
    )
    lab.subset_combo.addItem("Whole grid", None)
    lab.compare_zoom = make_combo("labCompareZoom", "Size of the grids: 'Fit' never shrinks them below 100%")
    for text, value in (("Fit", 0.0), ("Fit all", -1.0), ("100%", 1.0), ("200%", 2.0), ("300%", 3.0), ("400%", 4.0)):
        lab.compare_zoom.addItem(text, value)
    lab.compare_zoom.currentIndexChanged.connect(lambda _: lab.compare_view.set_zoom(lab.compare_zoom.currentData()))
    scroll = QScrollArea()
    scroll.setObjectName("labCompareScroll")
    scroll.setWidgetResizable(True)
    scroll.setWidget(lab.compare_view)
    row = QHBoxLayout()
    row.addWidget(QLabel("Show"))
    row.addWidget(lab.subset_combo, 1)
    row.addWidget(QLabel("Zoom"))
    row.addWidget(lab.compare_zoom)
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addLayout(row)
    layout.addWidget(scroll, 1)
    return box


def _title_and_table(lab) -> None:
    lab.title = QLabel("No run selected")
    lab.title.setObjectName("labTitle")
    lab.title.setWordWrap(True)
    lab.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    lab.table = QTableWidget(0, len(COLUMNS))
    lab.table.setObjectName("checkpointTable")
    lab.table.setHorizontalHeaderLabels(list(COLUMNS))
    lab.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    lab.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    lab.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    lab.table.setAlternatingRowColors(True)
    lab.table.verticalHeader().setVisible(False)
    lab.table.setToolTip(
        "The run's training checkpoints. Select the ones to average: click, Ctrl+click and Shift+click choose any set."
    )
    header = lab.table.horizontalHeader()
    for i in range(len(COLUMNS) - 1):
        header.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
    header.setToolTip("Figures logged for each epoch; Metrics shows evaluation results when the run has any")


def _selection(lab) -> QGridLayout:
    """'Last N' and an epoch range, each with its Select button; the line saying what is selected."""
    lab.last_spin = make_spin(
        "lastNSpin", 1, 10_000, 10, "How many of the newest end-of-epoch checkpoints 'Select' picks"
    )
    lab.last_spin.setPrefix("last ")
    lab.select_last_button = make_button(
        "Select", "selectLastButton", "Select the last N end-of-epoch checkpoints in the table"
    )
    lab.range_edit = make_line(
        "epochRangeEdit", "An epoch range A-B (or one epoch); Enter or 'Select' selects those checkpoints"
    )
    lab.range_edit.setPlaceholderText("epochs, e.g. 21-30")
    lab.select_range_button = make_button(
        "Select", "selectRangeButton", "Select the end-of-epoch checkpoints of the epoch range"
    )
    lab.selection_info = make_note("selectionInfo", "What is selected, or why a selection was refused", hint=False)

    pick = QGridLayout()
    pick.addWidget(lab.last_spin, 0, 0)
    pick.addWidget(lab.select_last_button, 0, 1)
    pick.addWidget(lab.range_edit, 0, 2)
    pick.addWidget(lab.select_range_button, 0, 3)
    pick.setColumnStretch(2, 1)
    return pick


def _average_box(lab) -> QGroupBox:
    lab.bn_check = QCheckBox("Re-estimate BatchNorm statistics")
    lab.bn_check.setObjectName("bnReestimateCheck")
    lab.bn_check.setChecked(True)
    lab.bn_check.setToolTip(
        "The running statistics of an averaged G are not the average of the statistics: "
        "measure them again over fresh noise and conditions (recommended). Off: average them."
    )
    lab.average_button = make_button(
        "Average",
        "averageButton",
        "Average the selected generators into a new one, save it in the run's checkpoints folder "
        "(never over an existing file) and compare it with the last checkpoint and the EMA",
    )
    lab.average_button.setProperty("primary", True)
    lab.compare_button = make_button(
        "Compare",
        "compareButton",
        "Draw the last checkpoint, the newest saved average and the EMA with the same noise and conditions",
    )
    lab.save_comparison_button = make_button(
        "Save comparison…", "saveComparisonButton", "Save the comparison as one PNG sheet, each grid under its title"
    )
    lab.average_info = make_note(
        "averageInfo", "The last average made: its file and how its BatchNorm statistics were set", selectable=True
    )
    average_row = QHBoxLayout()
    average_row.addWidget(lab.bn_check)
    average_row.addStretch(1)
    average_row.addWidget(lab.average_button)
    compare_row = QHBoxLayout()
    compare_row.addWidget(lab.compare_button)
    compare_row.addWidget(lab.save_comparison_button)
    compare_row.addStretch(1)
    average_box = QGroupBox("Average")
    average_layout = QVBoxLayout(average_box)
    average_layout.addLayout(average_row)
    average_layout.addWidget(lab.average_info)
    average_layout.addLayout(compare_row)
    return average_box


def _export_box(lab) -> QGroupBox:
    lab.export_combo = make_combo(
        "exportGeneratorCombo", "The generator to export: a checkpoint's G, the EMA, or a saved average"
    )
    lab.export_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    lab.export_combo.setMinimumContentsLength(14)
    lab.format_combo = make_combo(
        "exportFormatCombo",
        "State dict: weights for studio.core.models.Generator; TorchScript and ONNX "
        "run without the studio. A .json beside the file describes the inputs.",
    )
    lab.onnx_reason = fill_formats(lab.format_combo)
    lab.export_button = make_button(
        "Export…",
        "exportGeneratorButton",
        "Write the chosen generator alone (no discriminator or optimiser) to a file you choose",
    )
    export_box = QGroupBox("Export a generator")
    export_layout = QHBoxLayout(export_box)
    export_layout.addWidget(lab.export_combo, 1)
    export_layout.addWidget(lab.format_combo)
    export_layout.addWidget(lab.export_button)
    return export_box


def _progress_row(lab) -> QHBoxLayout:
    lab.progress = make_progress("labProgress", "Progress of the averaging, comparison or export in the background")
    lab.cancel_button = make_button(
        "Cancel", "labCancelButton", "Stop the averaging or comparison; nothing half-made is saved"
    )
    lab.cancel_button.setEnabled(False)
    lab.status = make_note("labStatus", "What the lab is doing")
    progress_row = QHBoxLayout()
    progress_row.addWidget(lab.progress, 1)
    progress_row.addWidget(lab.cancel_button)
    return progress_row

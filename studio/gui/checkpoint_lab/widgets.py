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
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

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

    lab.splitter = QSplitter(Qt.Orientation.Horizontal)
    lab.splitter.setObjectName("labSplitter")
    lab.splitter.addWidget(left)
    lab.splitter.addWidget(lab.compare_view)
    lab.splitter.setStretchFactor(0, 0)
    lab.splitter.setStretchFactor(1, 1)
    lab.splitter.setSizes([440, 800])
    lab.splitter.setChildrenCollapsible(False)
    layout = QVBoxLayout(lab)
    layout.setContentsMargins(6, 4, 6, 4)
    layout.addWidget(lab.splitter)


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
    lab.last_spin = QSpinBox()
    lab.last_spin.setObjectName("lastNSpin")
    lab.last_spin.setRange(1, 10_000)
    lab.last_spin.setValue(10)
    lab.last_spin.setPrefix("last ")
    lab.last_spin.setToolTip("How many of the newest end-of-epoch checkpoints 'Select' picks")
    lab.select_last_button = QPushButton("Select")
    lab.select_last_button.setObjectName("selectLastButton")
    lab.select_last_button.setToolTip("Select the last N end-of-epoch checkpoints in the table")
    lab.range_edit = QLineEdit()
    lab.range_edit.setObjectName("epochRangeEdit")
    lab.range_edit.setPlaceholderText("epochs, e.g. 21-30")
    lab.range_edit.setToolTip("An epoch range A-B (or one epoch); Enter or 'Select' selects those checkpoints")
    lab.select_range_button = QPushButton("Select")
    lab.select_range_button.setObjectName("selectRangeButton")
    lab.select_range_button.setToolTip("Select the end-of-epoch checkpoints of the epoch range")
    lab.selection_info = QLabel()
    lab.selection_info.setObjectName("selectionInfo")
    lab.selection_info.setWordWrap(True)
    lab.selection_info.setToolTip("What is selected, or why a selection was refused")

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
    lab.average_button = QPushButton("Average")
    lab.average_button.setObjectName("averageButton")
    lab.average_button.setProperty("primary", True)
    lab.average_button.setToolTip(
        "Average the selected generators into a new one, save it in the run's checkpoints folder "
        "(never over an existing file) and compare it with the last checkpoint and the EMA"
    )
    lab.compare_button = QPushButton("Compare")
    lab.compare_button.setObjectName("compareButton")
    lab.compare_button.setToolTip(
        "Draw the last checkpoint, the newest saved average and the EMA with the same noise and conditions"
    )
    lab.save_comparison_button = QPushButton("Save comparison…")
    lab.save_comparison_button.setObjectName("saveComparisonButton")
    lab.save_comparison_button.setToolTip("Save the comparison as one PNG sheet, each grid under its title")
    lab.average_info = QLabel()
    lab.average_info.setObjectName("averageInfo")
    lab.average_info.setWordWrap(True)
    lab.average_info.setProperty("hint", True)
    lab.average_info.setToolTip("The last average made: its file and how its BatchNorm statistics were set")
    lab.average_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
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
    lab.export_combo = QComboBox()
    lab.export_combo.setObjectName("exportGeneratorCombo")
    lab.export_combo.setToolTip("The generator to export: a checkpoint's G, the EMA, or a saved average")
    lab.export_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    lab.export_combo.setMinimumContentsLength(14)
    lab.format_combo = QComboBox()
    lab.format_combo.setObjectName("exportFormatCombo")
    lab.format_combo.setToolTip(
        "State dict: weights for studio.core.models.Generator; TorchScript and ONNX "
        "run without the studio. A .json beside the file describes the inputs."
    )
    lab.onnx_reason = fill_formats(lab.format_combo)
    lab.export_button = QPushButton("Export…")
    lab.export_button.setObjectName("exportGeneratorButton")
    lab.export_button.setToolTip(
        "Write the chosen generator alone (no discriminator or optimiser) to a file you choose"
    )
    export_box = QGroupBox("Export a generator")
    export_layout = QHBoxLayout(export_box)
    export_layout.addWidget(lab.export_combo, 1)
    export_layout.addWidget(lab.format_combo)
    export_layout.addWidget(lab.export_button)
    return export_box


def _progress_row(lab) -> QHBoxLayout:
    lab.progress = QProgressBar()
    lab.progress.setObjectName("labProgress")
    lab.progress.setRange(0, 100)
    lab.progress.setValue(0)
    lab.progress.setToolTip("Progress of the averaging, comparison or export in the background")
    lab.cancel_button = QPushButton("Cancel")
    lab.cancel_button.setObjectName("labCancelButton")
    lab.cancel_button.setToolTip("Stop the averaging or comparison; nothing half-made is saved")
    lab.cancel_button.setEnabled(False)
    lab.status = QLabel()
    lab.status.setObjectName("labStatus")
    lab.status.setWordWrap(True)
    lab.status.setProperty("hint", True)
    lab.status.setToolTip("What the lab is doing")
    progress_row = QHBoxLayout()
    progress_row.addWidget(lab.progress, 1)
    progress_row.addWidget(lab.cancel_button)
    return progress_row

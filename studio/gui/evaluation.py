"""The evaluation panel: score a run's generators, keep the figures with the run, plot them over epochs.

    generators   the selected run's checkpoints, saved averages and EMA (any set)
    metrics      conditional accuracy, FID, KID, IS; judge or Inception features; N;
                 test-condition files (i-CLEVR's test.json); a judge file instead of the dataset's
    results      every row of RUN/evaluation/results.json, newest first, and a plot of each
                 metric over the epochs of the run's checkpoints
    judge        'Train judge' trains and stores the dataset's judge and shows its held-out accuracy
    during training  optionally, every K epochs, the new checkpoint is scored in the background

The work is the core's (:func:`studio.eval.evaluate.evaluate`, :func:`studio.eval.judge.train_judge`);
here it runs in a worker thread with a progress bar and Cancel. The core saves the figures
in the run, and the panel reads them back from there, so what is shown is what is kept.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.core.averaging import GeneratorRef, run_generators
from studio.core.rundir import RunDirectory
from studio.errors import StudioError
from studio.eval.results import load_results, results_path
from studio.gui.scroll import vertical_scroll
from studio.gui.worker import JobCancelled, JobPanelMixin

__all__ = ["EvaluationPanel", "METRIC_CHOICES", "COLUMNS", "curve_data", "describe_scores"]

# (metric, check box label, tooltip)
METRIC_CHOICES = (
    ("cond_acc", "Conditional accuracy",
     "Does each image show the condition it was drawn for? The dataset's judge classifies the images; "
     "multi-attribute sets get one accuracy per attribute and 'all'"),
    ("fid", "FID", "Fréchet distance between the features of real and generated images (lower is better)"),
    ("kid", "KID", "Kernel inception distance: like FID, unbiased for small N (lower is better)"),
    ("is", "IS", "Inception score: confident and varied class predictions (higher is better)"),
)
COLUMNS = ("Generator", "Metric", "Value", "Features", "N", "Judge", "Conditions")
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
            "#bcbd22")


class _Relay(QObject):
    """Log lines from a worker thread; they arrive queued on the GUI thread."""

    line = Signal(str)


def describe_scores(scores: dict, n: int | None = None) -> str:
    """{'accuracy': 0.93}, 20 -> 'accuracy 0.930 on 20 held-out images'."""
    parts = [f"{k} {v:.3f}" for k, v in scores.items() if k != "n" and isinstance(v, (int, float))]
    text = ", ".join(parts) or "no scores"
    n = n or scores.get("n")
    return f"{text} on {n} held-out images" if n else text


def _per_class(row: dict) -> bool:
    """A row of one class's or attribute value's accuracy (``cond_acc:<caption>``)."""
    return ":" in str(row.get("metric", ""))


def _generator_row(row: dict) -> bool:
    """A row of a training checkpoint's G, which the plot draws at its epoch (not an average or the EMA)."""
    return row.get("which") == "g" and isinstance(row.get("epoch"), int) and \
        Path(str(row.get("checkpoint", ""))).name.startswith("epoch_")


def curve_data(rows: list[dict]) -> dict[str, tuple[list[int], list[float]]]:
    """One curve per metric over the epochs of the run's checkpoints: {label: (epochs, values)}.

    Figures of one metric in different feature spaces or on different
    conditions are not comparable, so they get curves of their own; the
    newest figure of an epoch wins. Standard deviations (``kid_std``) and
    per-class accuracies stay in the table.
    """
    plotted = [r for r in rows if _generator_row(r) and not _per_class(r)
               and not str(r.get("metric", "")).endswith("_std") and r.get("value") is not None]
    spaces: dict[str, set] = {}
    conditions: dict[str, set] = {}
    for r in plotted:
        spaces.setdefault(r["metric"], set()).add(r.get("feature_space", ""))
        conditions.setdefault(r["metric"], set()).add(r.get("conditions", ""))
    points: dict[str, dict[int, float]] = {}
    for r in plotted:
        metric = r["metric"]
        label = metric
        if len(spaces[metric]) > 1 and r.get("feature_space"):
            label += f" [{r['feature_space']}]"
        if len(conditions[metric]) > 1 and r.get("conditions"):
            label += f" ({r['conditions']})"
        points.setdefault(label, {})[int(r["epoch"])] = float(r["value"])
    return {label: (sorted(p), [p[e] for e in sorted(p)]) for label, p in points.items()}


_FAMILY_NAMES = {"cond_acc": "accuracy", "fid": "FID", "kid": "KID", "is": "IS"}


def _family(label: str) -> str:
    """The plot a curve goes to: every conditional accuracy on one (all in [0, 1]), each other metric alone."""
    metric = label.split(" ")[0]
    return "cond_acc" if metric.startswith("cond_acc") else metric


# The evaluation core words its advice for the command line; the window names its own controls.
_WINDOW_WORDS = (
    (re.compile(r"retrain it with: python -m studio judge train .+ --force"), "retrain it with Train judge"),
    (re.compile(r"with --inception-weights, or use --features judge"),
     "in the Inception box, or choose Judge features"),
    (re.compile(r" \(--features inception\)"), ""),  # the text names the Inception features already
)


def for_the_window(text: str) -> str:
    """An evaluation error's advice, naming the panel's controls instead of command-line flags."""
    for pattern, words in _WINDOW_WORDS:
        text = pattern.sub(words, text)
    return text


class EvaluationPanel(JobPanelMixin, QWidget):
    """A run's generators scored by the core's evaluation; figures kept in the run and plotted."""

    message = Signal(str)  # a line for the log
    errorOccurred = Signal(str, str, str)  # title, text, details
    resultsChanged = Signal()  # the table and plot were read again from the run
    jobFinished = Signal(str)  # 'evaluate', 'auto' or 'judge', when its thread has ended

    def __init__(self, parent: QWidget | None = None, device: str = "auto"):
        super().__init__(parent)
        self.setObjectName("evaluationPanel")
        self.device = device
        self.run: RunDirectory | None = None
        self.refs: list[GeneratorRef] = []
        self.rows: list[dict] = []
        self.conditional = True
        self.last_rows: list[dict] = []  # what the last evaluation added
        self.last_judge: dict | None = None  # what the last 'Train judge' made: path, heldout
        self.skipped: list[int] = []  # epochs 'every K' passed over because an evaluation was running
        self._init_jobs()
        self._job_run: RunDirectory | None = None
        self._judge_texts: dict = {}
        self._relay = _Relay(self)
        self._relay.line.connect(self.message)
        self._build()
        self._connect()
        self.set_run(None)

    # --- building -----------------------------------------------------------------
    def _build(self) -> None:
        self.title = QLabel()
        self.title.setObjectName("evaluationTitle")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title.setToolTip("The run whose generators are listed; choose another in the Runs tab")

        self.generator_list = QListWidget()
        self.generator_list.setObjectName("evaluationGeneratorList")
        self.generator_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.generator_list.setToolTip("The generators to score: each checkpoint's G, saved averages and the EMA. "
                                       "Click, Ctrl+click and Shift+click choose any set.")
        self.generator_list.setMinimumHeight(72)
        self.all_checkpoints_button = QPushButton("Every checkpoint")
        self.all_checkpoints_button.setObjectName("selectAllCheckpointsButton")
        self.all_checkpoints_button.setToolTip("Select every checkpoint's G, for the plot of the metrics over epochs")
        self.compare_selection_button = QPushButton("Last, averages, EMA")
        self.compare_selection_button.setObjectName("selectComparisonButton")
        self.compare_selection_button.setToolTip("Select the last checkpoint, the saved averages and the EMA")
        pick_row = QHBoxLayout()
        pick_row.addWidget(self.all_checkpoints_button)
        pick_row.addWidget(self.compare_selection_button)
        pick_row.addStretch(1)

        self.metric_box = QGroupBox("Metrics")
        self.metric_box.setObjectName("evaluationMetricChecks")
        self.metric_box.setToolTip("What to measure for each selected generator")
        self.metric_checks: dict[str, QCheckBox] = {}
        checks = QHBoxLayout()
        for metric, label, tip in METRIC_CHOICES:
            check = QCheckBox(label)
            check.setObjectName(f"metric_{metric}")
            check.setToolTip(tip)
            check.setChecked(metric in ("cond_acc", "fid"))
            self.metric_checks[metric] = check
            checks.addWidget(check)
        checks.addStretch(1)
        self.features_combo = QComboBox()
        self.features_combo.setObjectName("evaluationFeaturesCombo")
        self.features_combo.addItem("Judge features", "judge")
        self.features_combo.addItem("Inception features", "inception")
        self.features_combo.setToolTip(
            "Feature space of FID, KID and IS. Judge: the dataset judge's features, offline, comparable only "
            "between models of this dataset and judge. Inception: the literature's Inception-v3 features "
            "(weights downloaded once, or a file below)")
        self.n_spin = QSpinBox()
        self.n_spin.setObjectName("evaluationNSpin")
        self.n_spin.setRange(10, 100_000)
        self.n_spin.setSingleStep(500)
        self.n_spin.setValue(2000)
        self.n_spin.setToolTip("Images to generate per generator (more: steadier figures, slower)")
        options = QHBoxLayout()
        options.addWidget(QLabel("Features"))
        options.addWidget(self.features_combo)
        options.addSpacing(12)
        options.addWidget(QLabel("N"))
        options.addWidget(self.n_spin)
        options.addStretch(1)
        metric_layout = QVBoxLayout(self.metric_box)
        metric_layout.addLayout(checks)
        metric_layout.addLayout(options)

        self.conditions_list = QListWidget()
        self.conditions_list.setObjectName("conditionsList")
        self.conditions_list.setToolTip("JSON files of test conditions (e.g. i-CLEVR's test.json): conditional "
                                        "accuracy is scored on each. Empty: conditions drawn as the dataset's labels.")
        self.conditions_list.setMaximumHeight(52)
        self.add_conditions_button = QPushButton("Add…")
        self.add_conditions_button.setObjectName("addConditionsButton")
        self.add_conditions_button.setToolTip("Add a JSON file of test conditions")
        self.remove_conditions_button = QPushButton("Remove")
        self.remove_conditions_button.setObjectName("removeConditionsButton")
        self.remove_conditions_button.setToolTip("Remove the selected condition files from the list")
        self.judge_edit = QLineEdit()
        self.judge_edit.setObjectName("judgePathEdit")
        self.judge_edit.setPlaceholderText("the dataset's stored judge")
        self.judge_edit.setClearButtonEnabled(True)
        self.judge_edit.setToolTip("A judge file to use instead of the dataset's stored judge (which is trained "
                                   "on first use, or with Train judge)")
        self.judge_browse_button = QPushButton("Browse…")
        self.judge_browse_button.setObjectName("judgeBrowseButton")
        self.judge_browse_button.setToolTip("Choose a judge file (.pt) written by Train judge or "
                                            "'gan-studio judge train'")
        self.inception_edit = QLineEdit()
        self.inception_edit.setObjectName("inceptionWeightsEdit")
        self.inception_edit.setPlaceholderText("downloaded once into torch's cache")
        self.inception_edit.setClearButtonEnabled(True)
        self.inception_edit.setToolTip("The Inception weights file, for machines offline "
                                       "(weights-inception-2015-12-05-6726825d.pth)")
        self.inception_browse_button = QPushButton("Browse…")
        self.inception_browse_button.setObjectName("inceptionBrowseButton")
        self.inception_browse_button.setToolTip("Choose the Inception weights file")
        files_box = QGroupBox("Files")
        files_box.setToolTip("Test conditions, a judge of your own, Inception weights")
        files = QGridLayout(files_box)
        files.addWidget(QLabel("Conditions"), 0, 0, Qt.AlignmentFlag.AlignTop)
        files.addWidget(self.conditions_list, 0, 1, 2, 1)
        files.addWidget(self.add_conditions_button, 0, 2)
        files.addWidget(self.remove_conditions_button, 1, 2, Qt.AlignmentFlag.AlignTop)
        files.addWidget(QLabel("Judge"), 2, 0)
        files.addWidget(self.judge_edit, 2, 1)
        files.addWidget(self.judge_browse_button, 2, 2)
        files.addWidget(QLabel("Inception"), 3, 0)
        files.addWidget(self.inception_edit, 3, 1)
        files.addWidget(self.inception_browse_button, 3, 2)
        files.setColumnStretch(1, 1)

        self.train_judge_button = QPushButton("Train judge")
        self.train_judge_button.setObjectName("trainJudgeButton")
        self.train_judge_button.setToolTip("Train the judge of the run's dataset on its real images and store it "
                                           "where evaluation looks for it; shows its held-out accuracy")
        self.judge_epochs_spin = QSpinBox()
        self.judge_epochs_spin.setObjectName("judgeEpochsSpin")
        self.judge_epochs_spin.setRange(1, 100)
        self.judge_epochs_spin.setValue(5)
        self.judge_epochs_spin.setSuffix(" epochs")
        self.judge_epochs_spin.setToolTip("Training epochs of the judge")
        self.judge_info = QLabel()
        self.judge_info.setObjectName("judgeInfo")
        self.judge_info.setWordWrap(True)
        self.judge_info.setProperty("hint", True)
        self.judge_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.judge_info.setToolTip("The judge evaluation will use, and its accuracy on real images it never saw")
        judge_box = QGroupBox("Judge")
        judge_box.setToolTip("A classifier trained on the dataset's real images; it scores conditional accuracy "
                             "and lends its features to FID/KID/IS")
        judge_layout = QVBoxLayout(judge_box)
        judge_row = QHBoxLayout()
        judge_row.addWidget(self.train_judge_button)
        judge_row.addWidget(self.judge_epochs_spin)
        judge_row.addStretch(1)
        judge_layout.addLayout(judge_row)
        judge_layout.addWidget(self.judge_info)

        self.every_check = QCheckBox("Evaluate every")
        self.every_check.setObjectName("evaluateEveryCheck")
        self.every_check.setToolTip("While a run trains, score each K-th epoch's checkpoint with the metrics above, "
                                    "in the background; skipped while the previous evaluation still runs")
        self.every_spin = QSpinBox()
        self.every_spin.setObjectName("evaluateEverySpin")
        self.every_spin.setRange(1, 1000)
        self.every_spin.setValue(5)
        self.every_spin.setSuffix(" epochs")
        self.every_spin.setToolTip("K: evaluate the checkpoints of epochs K, 2K, 3K… during training")
        self.every_spin.setEnabled(False)
        every_row = QHBoxLayout()
        every_row.addWidget(self.every_check)
        every_row.addWidget(self.every_spin)
        every_row.addWidget(QLabel("during training"))
        every_row.addStretch(1)

        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.setObjectName("evaluateButton")
        self.evaluate_button.setProperty("primary", True)
        self.evaluate_button.setToolTip("Score the selected generators with the chosen metrics in the background; "
                                        "the figures are added to the run's evaluation/results.csv")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("evaluationCancelButton")
        self.cancel_button.setToolTip("Stop the evaluation or the judge's training; nothing half-made is saved")
        self.progress = QProgressBar()
        self.progress.setObjectName("evaluationProgress")
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setToolTip("Progress of the evaluation or the judge's training")
        self.status = QLabel()
        self.status.setObjectName("evaluationStatus")
        self.status.setWordWrap(True)
        self.status.setProperty("hint", True)
        self.status.setToolTip("What the panel is doing, or what it did last")
        run_row = QHBoxLayout()
        run_row.addWidget(self.evaluate_button)
        run_row.addWidget(self.progress, 1)
        run_row.addWidget(self.cancel_button)

        controls = QWidget()
        controls.setObjectName("evaluationControls")
        left = QVBoxLayout(controls)
        left.setContentsMargins(0, 0, 4, 0)
        left.addWidget(self.title)
        left.addWidget(self.generator_list, 1)
        left.addLayout(pick_row)
        left.addWidget(self.metric_box)
        left.addWidget(files_box)
        left.addWidget(judge_box)
        left.addLayout(every_row)
        scroll = vertical_scroll(controls, "evaluationControlsScroll", frame=False)
        self.controls_scroll = scroll
        # Evaluate, the progress and the status stay in view however small the window.
        left_box = QWidget()
        left_box.setMinimumWidth(400)
        left_layout = QVBoxLayout(left_box)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(scroll, 1)
        left_layout.addLayout(run_row)
        left_layout.addWidget(self.status)

        self.per_class_check = QCheckBox("Show each class's accuracy")
        self.per_class_check.setObjectName("perClassCheck")
        self.per_class_check.setToolTip("Also list the conditional accuracy of each class or attribute value "
                                        "(cond_acc:<class>), kept in the results with the others")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("evaluationTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setToolTip("Every figure kept in the run's evaluation/results.json, newest first")
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        for i in range(len(COLUMNS)):
            header.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
        # Judge files are named after their dataset and a hash: elided in the middle, whole in the tooltip.
        header.setSectionResizeMode(COLUMNS.index("Judge"), QHeaderView.ResizeMode.Interactive)
        header.resizeSection(COLUMNS.index("Judge"), 170)
        header.setStretchLastSection(True)  # fills the width left, else scrolls
        header.setToolTip("Features: the space FID/KID/IS were measured in; N: images generated; "
                          "Conditions: where cond_acc's conditions came from. Hover a row for its time and file.")

        # One plot per kind of figure, stacked on a shared epoch axis: accuracies, FID, KID and IS
        # differ by orders of magnitude, and on one axis all but the largest would lie flat.
        self.plot = pg.GraphicsLayoutWidget()
        self.plot.setBackground("w")
        self.plot.setObjectName("metricsPlot")
        self.plot.setToolTip("Each metric over the epochs of the run's checkpoints (their G; averages and the EMA "
                             "are in the table); one plot per kind of figure, each on its own scale")
        self.plot.setMinimumSize(260, 180)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.plot_items: dict[str, pg.PlotItem] = {}

        right = QSplitter(Qt.Orientation.Vertical)
        right.setObjectName("evaluationResultsSplitter")
        table_box = QWidget()
        table_layout = QVBoxLayout(table_box)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.addWidget(self.table, 1)
        table_layout.addWidget(self.per_class_check)
        right.addWidget(table_box)
        right.addWidget(self.plot)
        right.setChildrenCollapsible(False)
        right.setSizes([240, 400])

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("evaluationSplitter")
        self.splitter.addWidget(left_box)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([440, 800])
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.splitter)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def _connect(self) -> None:
        self.generator_list.itemSelectionChanged.connect(self._update_controls)
        for check in self.metric_checks.values():
            check.toggled.connect(self._update_controls)
        self.features_combo.currentIndexChanged.connect(self._update_controls)
        self.all_checkpoints_button.clicked.connect(lambda: self.select_kind("checkpoint"))
        self.compare_selection_button.clicked.connect(self.select_comparison)
        self.add_conditions_button.clicked.connect(self._add_conditions_dialog)
        self.remove_conditions_button.clicked.connect(self._remove_conditions)
        self.conditions_list.itemSelectionChanged.connect(self._update_controls)
        self.judge_browse_button.clicked.connect(self._judge_dialog)
        self.judge_edit.editingFinished.connect(self.show_judge_info)
        self.inception_browse_button.clicked.connect(self._inception_dialog)
        self.every_check.toggled.connect(self.every_spin.setEnabled)
        self.every_check.toggled.connect(self._on_every_toggled)
        self.train_judge_button.clicked.connect(lambda: self.train_judge())
        self.evaluate_button.clicked.connect(lambda: self.evaluate())
        self.cancel_button.clicked.connect(self.cancel)
        self.per_class_check.toggled.connect(lambda _on: self._fill_table())

    # --- the run ------------------------------------------------------------------------
    def set_run(self, run: RunDirectory | None) -> None:
        """Show ``run``'s generators and the figures kept in it (None: nothing)."""
        same = run is not None and self.run is not None and Path(run.path) == Path(self.run.path)
        self.run = run
        self.conditional = True
        if run is not None:
            try:
                self.conditional = bool(run.read_config().conditional)
            except (StudioError, OSError):
                pass
        self.refresh(keep_selection=same)
        self.reload_results()
        self.show_judge_info()

    def refresh(self, keep_selection: bool = True) -> None:
        """Read the run's generators again; the selection stays, else the last checkpoint, averages and EMA."""
        keep = {(str(r.path), r.which) for r in self.selected_refs()} if keep_selection else set()
        self.refs, problem = [], ""
        if self.run is not None:
            try:
                self.refs = run_generators(self.run)
            except (StudioError, OSError) as exc:
                problem = str(exc)
        self.generator_list.blockSignals(True)
        self.generator_list.clear()
        for ref in self.refs:
            item = QListWidgetItem(str(ref))
            item.setData(Qt.ItemDataRole.UserRole, ref)
            item.setToolTip(f"{ref.path}{' (its EMA weights)' if ref.which == 'ema' else ''}")
            self.generator_list.addItem(item)
        self.generator_list.blockSignals(False)
        if keep:
            self.select_refs([r for r in self.refs if (str(r.path), r.which) in keep])
        else:
            self.select_comparison()
        if self.run is None:
            self.title.setText("No run selected: choose one in the Runs tab")
        elif problem:
            self.title.setText(f"<b>{html.escape(self.run.run_id)}</b>: {html.escape(problem)}")
        else:
            count = len(self.refs)
            self.title.setText(f"Run <b>{html.escape(self.run.run_id)}</b>: {count} "
                               f"generator{'s' if count != 1 else ''}")
        cond = self.metric_checks["cond_acc"]
        cond.setEnabled(self.conditional)
        if not self.conditional:
            cond.setChecked(False)
            self.features_combo.setCurrentIndex(self.features_combo.findData("inception"))
        cond.setToolTip(METRIC_CHOICES[0][2] if self.conditional
                        else "This run's dataset has no labels: there is no condition to check")
        self._update_controls()

    def selected_refs(self) -> list[GeneratorRef]:
        rows = sorted(self.generator_list.row(item) for item in self.generator_list.selectedItems())
        return [self.generator_list.item(r).data(Qt.ItemDataRole.UserRole) for r in rows]

    def select_refs(self, refs: list[GeneratorRef]) -> None:
        wanted = set(refs)
        self.generator_list.blockSignals(True)
        for i in range(self.generator_list.count()):
            item = self.generator_list.item(i)
            item.setSelected(item.data(Qt.ItemDataRole.UserRole) in wanted)
        self.generator_list.blockSignals(False)
        self._update_controls()

    def select_kind(self, kind: str) -> None:
        """Select every generator of one kind ('checkpoint', 'average' or 'ema')."""
        self.select_refs([r for r in self.refs if r.kind == kind])

    def select_comparison(self) -> None:
        if self.run is None:
            self.select_refs([])
            return
        last = [r for r in self.refs if r.kind == "checkpoint"][-1:]
        self.select_refs(last + [r for r in self.refs if r.kind in ("average", "ema")])

    # --- settings ---------------------------------------------------------------------------
    def metrics(self) -> tuple[str, ...]:
        return tuple(m for m, check in self.metric_checks.items() if check.isChecked() and check.isEnabled())

    def set_metrics(self, metrics) -> None:
        for metric, check in self.metric_checks.items():
            check.setChecked(metric in metrics)

    def condition_files(self) -> list[str]:
        items = (self.conditions_list.item(i) for i in range(self.conditions_list.count()))
        return [item.data(Qt.ItemDataRole.UserRole) for item in items]

    def add_condition_file(self, path: str | Path) -> None:
        path = str(path)
        if path in self.condition_files():
            return
        item = QListWidgetItem(Path(path).name)
        item.setData(Qt.ItemDataRole.UserRole, path)
        item.setToolTip(path)
        self.conditions_list.addItem(item)
        self._update_controls()

    def _remove_conditions(self) -> None:
        for item in self.conditions_list.selectedItems():
            self.conditions_list.takeItem(self.conditions_list.row(item))
        self._update_controls()

    def _start_folder(self) -> str:
        return str(Path(self.run.path) if self.run is not None else Path.home())

    def _add_conditions_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Test conditions", self._start_folder(), "JSON (*.json)")
        for path in paths:
            self.add_condition_file(path)

    def _judge_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Judge file", self._start_folder(), "Judge (*.pt)")
        if path:
            self.judge_edit.setText(path)
            self.show_judge_info()

    def _inception_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Inception weights", str(Path.home()),
                                              "PyTorch weights (*.pth *.pt)")
        if path:
            self.inception_edit.setText(path)

    def judge_path(self) -> str | None:
        return self.judge_edit.text().strip() or None

    def request(self):
        """The evaluation the controls describe."""
        from studio.core.device import resolve_device
        from studio.eval.evaluate import EvaluationRequest

        return EvaluationRequest(metrics=self.metrics(), features=self.features_combo.currentData(),
                                 n=self.n_spin.value(), conditions=tuple(self.condition_files()),
                                 judge_path=self.judge_path(),
                                 inception_weights=self.inception_edit.text().strip() or None,
                                 device=str(resolve_device(self.device)), save=True)

    def _stored_judge_path(self) -> Path | None:
        from studio.eval.judge import default_judge_path

        if self.run is None:
            return None
        try:
            config = self.run.read_config()
        except (StudioError, OSError):
            return None
        return default_judge_path(config.dataset, config.image_size, config.channels)

    def show_judge_info(self) -> None:
        """Say which judge evaluation will use and how well it did on held-out real images."""
        from studio.eval.judge import load_judge

        if self.run is None:
            self.judge_info.setText("")
            return
        if not self.conditional:
            self.judge_info.setText("No judge: the run's dataset has no labels.")
            return
        override = self.judge_path()
        path = Path(override) if override else self._stored_judge_path()
        if path is None:
            self.judge_info.setText("")
            return
        if not override and not path.is_file():
            self.judge_info.setText("No judge stored for this dataset yet: it is trained on first use, "
                                    "or now with Train judge.")
            return
        try:
            key = (str(path), path.stat().st_mtime_ns, bool(override))
        except OSError:
            key = None
        if key is None or key not in self._judge_texts:
            # The runs list re-selects its run on every checkpoint: read each judge file once.
            try:
                judge = load_judge(path)
            except StudioError as exc:
                self.judge_info.setText(html.escape(str(exc)))
                return
            whose = f"Judge file {html.escape(path.name)}," if override else "Stored judge"
            text = (f"{whose} of {html.escape(judge.dataset or '?')} ({judge.image_size} px): "
                    f"held-out {html.escape(describe_scores(judge.heldout, getattr(judge, 'heldout_n', 0)))}")
            self._judge_texts = {key: text}
        self.judge_info.setText(self._judge_texts[key])
        self.judge_info.setToolTip(f"{path}\nThe judge evaluation will use, and its accuracy on real images it "
                                   "never saw in training")

    # --- results ------------------------------------------------------------------------
    def reload_results(self) -> None:
        """Read the run's evaluation results again into the table and the plot."""
        self.rows = []
        if self.run is not None:
            try:
                self.rows = load_results(self.run.path)
            except StudioError as exc:
                self.status.setText(str(exc))
                self.message.emit(str(exc))
        self._fill_table()
        self._draw_plot()
        self.resultsChanged.emit()

    def _fill_table(self) -> None:
        shown = self.per_class_check.isChecked()
        rows = [r for r in reversed(self.rows) if shown or not _per_class(r)]
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            value = row.get("value")
            space = str(row.get("feature_space", "") or "")
            texts = [str(row.get("generator", "")), str(row.get("metric", "")),
                     f"{value:.4g}" if isinstance(value, (int, float)) else str(value),
                     space.split(":")[0] or "–", str(row.get("n", "")),
                     str(row.get("judge", "") or "–"), str(row.get("conditions", "") or "–")]
            tip = "\n".join(part for part in (
                f"{row.get('time', '')}  {row.get('checkpoint', '')}",
                f"judge: {row['judge']}" if row.get("judge") else "",
                f"features: {space}; comparable with {row.get('comparable') or '?'}" if space else "",
            ) if part)
            for col, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if col in (2, 4):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setToolTip(tip)
                self.table.setItem(i, col, item)
        if not rows:
            self.table.setToolTip("No figures kept for this run yet: choose generators and metrics, then Evaluate")
        else:
            self.table.setToolTip("Every figure kept in the run's evaluation/results.json, newest first")

    def plotted(self) -> dict[str, tuple[list[float], list[float]]]:
        """What the plot shows: {curve label: (epochs, values)}."""
        out = {}
        for label, curve in self.curves.items():
            xs, ys = curve.getData()
            out[label] = ([] if xs is None else [float(x) for x in xs], [] if ys is None else [float(y) for y in ys])
        return out

    def _draw_plot(self) -> None:
        self.plot.clear()
        self.curves, self.plot_items = {}, {}
        data = curve_data(self.rows)
        if not data:
            self.plot.addLabel("No figures of the run's checkpoints yet:<br>select checkpoints and press Evaluate",
                               color="#777", size="9pt")
            return
        families: dict[str, list[str]] = {}
        for label in data:
            families.setdefault(_family(label), []).append(label)
        epochs = sorted({e for xs, _ in data.values() for e in xs})
        first = None
        for row, (family, labels) in enumerate(families.items()):
            item = self.plot.addPlot(row=row, col=0)
            item.showGrid(x=True, y=True, alpha=0.25)
            item.setMenuEnabled(False)
            for side in ("left", "bottom"):
                item.getAxis(side).setTextPen("#333")
            # Named, with an SI prefix for tiny figures (KID), and as wide as the others so the plots align.
            item.setLabel("left", _FAMILY_NAMES.get(family, family))
            item.getAxis("bottom").enableAutoSIPrefix(False)
            item.getAxis("left").setWidth(64)
            if family == "cond_acc":
                item.setYRange(0.0, 1.0, padding=0.04)
                item.enableAutoRange(axis="y", enable=False)
            if len(epochs) <= 15:
                item.getAxis("bottom").setTicks([[(e, str(e)) for e in epochs]])
            if first is None:
                first = item
            else:
                item.setXLink(first)
            keys = []
            for label in labels:
                colour = _COLOURS[list(data).index(label) % len(_COLOURS)]
                xs, ys = data[label]
                self.curves[label] = item.plot(xs, ys, pen=pg.mkPen(colour, width=1.5), symbol="o", symbolSize=6,
                                               symbolBrush=colour, symbolPen=colour)
                keys.append(f'<span style="color:{colour}">&#9472;&#9679;&#9472;</span>&nbsp;{html.escape(label)}')
            # The legend in the title: inside the plot it would hide points.
            item.setTitle(f'<span style="font-size:8pt">{"&nbsp;&nbsp; ".join(keys)}</span>', color="#222")
            self.plot_items[family] = item
        items = list(self.plot_items.values())
        for item in items[:-1]:  # the epochs are shared: numbered once, under the last plot
            item.getAxis("bottom").setStyle(showValues=False)
        items[-1].setLabel("bottom", "epoch")

    # --- jobs -------------------------------------------------------------------------
    def _update_controls(self, *_) -> None:
        busy = self.busy
        has_run = self.run is not None
        conditional = self.conditional
        judge_needed = "cond_acc" in self.metrics() or self.features_combo.currentData() == "judge"
        self.features_combo.model().item(self.features_combo.findData("judge")).setEnabled(conditional)
        reason = ""
        if not has_run:
            reason = "Choose a run in the Runs tab first"
        elif not self.selected_refs():
            reason = "Select one or more generators"
        elif not self.metrics():
            reason = "Choose one or more metrics"
        elif judge_needed and not conditional:
            reason = "The judge features need a labelled dataset: choose the Inception features"
        self.evaluate_button.setEnabled(not busy and not reason)
        self.evaluate_button.setToolTip(reason or "Score the selected generators with the chosen metrics in the "
                                        "background; the figures are added to the run's evaluation/results.csv")
        self.train_judge_button.setEnabled(has_run and not busy and conditional)
        self.all_checkpoints_button.setEnabled(has_run and bool(self.refs))
        self.compare_selection_button.setEnabled(has_run and bool(self.refs))
        self.remove_conditions_button.setEnabled(bool(self.conditions_list.selectedItems()))
        self.inception_edit.setEnabled(self.features_combo.currentData() == "inception")
        self.inception_browse_button.setEnabled(self.features_combo.currentData() == "inception")
        self.cancel_button.setEnabled(busy)

    def _start(self, name: str, fn: Callable, done: Callable, text: str, run: RunDirectory | None = None) -> bool:
        if self.busy:
            return False
        self._job_run = run
        return super()._start(name, fn, done, text)

    def _on_errored(self, exc: BaseException) -> None:
        what = "Training the judge" if self._job == "judge" else "Evaluation"
        failure = self._failure(exc, what, what)
        if failure is None:
            return
        text, details = failure
        text = for_the_window(text)
        title = "Cannot train the judge" if self._job == "judge" else "Cannot evaluate"
        if self._job == "auto":
            self.every_check.setChecked(False)
            text += " (evaluation during training is now off)"
        self.status.setText(title)
        self.errorOccurred.emit(title, text, details)

    def _on_finished(self) -> None:
        self._job_run = None
        super()._on_finished()

    # --- evaluate ---------------------------------------------------------------------
    def evaluate(self, refs: list[GeneratorRef] | None = None) -> bool:
        """Score ``refs`` (default: the selected generators) in the background; the core keeps the figures."""
        if self.run is None or self.busy:
            return False
        refs = list(refs) if refs is not None else self.selected_refs()
        if not refs or not self.metrics():
            return False
        return self._evaluate(self.run, refs, "evaluate")

    def _evaluate(self, run: RunDirectory, refs: list[GeneratorRef], job: str) -> bool:
        request = self.request()
        relay = self._relay

        def work(progress, stopped):
            from studio.eval.evaluate import evaluate

            # The core reports (message, fraction) as the worker does: passed straight through.
            rows = evaluate(refs, request, progress=progress, log=relay.line.emit, should_stop=stopped)
            if stopped():
                raise JobCancelled()
            return rows

        names = ", ".join(str(r) for r in refs)
        metrics = ", ".join(request.metrics)
        self.message.emit(f"Evaluating {names} of {run.run_id}: {metrics}, N {request.n}, "
                          f"{request.features} features")
        return self._start(job, work, self._on_evaluated, f"Evaluating {len(refs)} generator"
                           f"{'s' if len(refs) != 1 else ''}…", run)

    def _on_evaluated(self, rows: list[dict]) -> None:
        run = self._job_run
        self.last_rows = list(rows)
        scored = {(r["checkpoint"], r["which"]) for r in rows if r.get("which") != "real"}
        where = results_path(run.path) if run is not None else ""
        self.status.setText(f"Scored {len(scored)} generator{'s' if len(scored) != 1 else ''}: {len(rows)} figures "
                            f"added to {Path(where).parent.name}/results.csv")
        self.message.emit(f"Evaluation: {len(rows)} figures added to {where}")
        if run is not None and self.run is not None and Path(run.path) == Path(self.run.path):
            self.reload_results()
        self.show_judge_info()  # a judge trained on first use is stored now

    def on_checkpoint_saved(self, path: str | Path) -> bool:
        """The trainer wrote ``path``: list it, and score it when 'evaluate every K epochs' asks.

        True when an evaluation of it started; never waits for one.
        """
        path = Path(path)
        run_path = path.parent.parent
        if self.run is not None and run_path == Path(self.run.path):
            self.refresh()
        if not self.every_check.isChecked():
            return False
        run = RunDirectory(run_path)
        info = next((c for c in run.checkpoints() if c.path.name == path.name), None)
        k = self.every_spin.value()
        if info is None or not info.complete_epoch or info.epoch % k:
            return False
        if not self.metrics():
            self.message.emit(f"Epoch {info.epoch} not evaluated: no metric is chosen in the Evaluation tab")
            return False
        if self.busy:
            self.skipped.append(info.epoch)
            self.message.emit(f"Evaluation of epoch {info.epoch} skipped: the previous evaluation is still running")
            return False
        ref = GeneratorRef(info.path, "g", f"epoch {info.epoch}", "checkpoint", info.epoch)
        return self._evaluate(run, [ref], "auto")

    def _on_every_toggled(self, on: bool) -> None:
        if on:
            k = self.every_spin.value()
            self.message.emit(f"During training, the checkpoints of epochs {k}, {2 * k}, {3 * k}… are evaluated "
                              f"({', '.join(self.metrics()) or 'no metric chosen'})")

    # --- the judge ----------------------------------------------------------------------
    def train_judge(self, epochs: int | None = None, confirm: bool = True) -> bool:
        """Train the judge of the run's dataset in the background and store it where evaluation looks."""
        from studio.eval.judge import default_judge_path

        if self.run is None or self.busy or not self.conditional:
            return False
        try:
            config = self.run.read_config()
        except (StudioError, OSError) as exc:
            self.errorOccurred.emit("Cannot train the judge", str(exc), "")
            return False
        epochs = self.judge_epochs_spin.value() if epochs is None else int(epochs)
        out = default_judge_path(config.dataset, config.image_size, config.channels)
        if out.exists() and confirm:
            answer = QMessageBox.question(
                self, "Replace the judge?",
                f"A judge of {config.dataset} is stored already ({out}). Train a new one and replace it?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Yes:
                return False
        device = self.device

        def work(progress, stopped):
            from studio.core.device import resolve_device
            from studio.data.dataset import load_dataset
            from studio.eval.judge import save_judge, train_judge

            dataset = load_dataset(config.dataset, config.image_size, config.channels, config.dataset_size, progress)
            if stopped():
                raise JobCancelled()
            judge = train_judge(dataset, epochs=epochs, device=str(resolve_device(device)),
                                progress=progress, should_stop=stopped)
            save_judge(judge, out)
            return str(out), dict(judge.heldout), getattr(judge, "heldout_n", 0), judge.train_seconds, len(dataset)

        self.message.emit(f"Training the judge of {config.dataset} ({config.image_size} px, {epochs} epochs)")
        return self._start("judge", work, self._on_judge_trained, f"Training the judge of {config.dataset}…",
                           self.run)

    def _on_judge_trained(self, value) -> None:
        path, heldout, heldout_n, seconds, count = value
        self.last_judge = {"path": path, "heldout": heldout}
        scores = describe_scores(heldout, heldout_n)
        self.status.setText(f"Judge trained on {count} images in {seconds:.0f} s: held-out {scores}")
        self.message.emit(f"Judge stored at {path}: held-out {scores}")
        self.show_judge_info()
        if self.judge_path():
            self.judge_info.setText(self.judge_info.text() + f"<br>New stored judge: held-out {html.escape(scores)} "
                                    "(clear the judge file above to use it)")

"""The checkpoint lab: a run's checkpoints, averaging them, comparing generators, exporting one.

    table        every training checkpoint: epoch, time saved, the figures logged for it
    selection    any set of rows, the last N epochs, or an epoch range A-B
    Average      the selected generators averaged (BatchNorm re-estimated by default),
                 saved into the run beside its checkpoints, then compared
    comparison   the same noise and conditions through the last checkpoint, the average and the EMA
    export       any generator of the run alone: state dict, TorchScript or ONNX

The work is the core's (:mod:`studio.core.averaging`, :mod:`studio.core.export`,
:func:`studio.core.explore.compare_generators`); here it runs in a worker
thread with a progress bar and Cancel, and only plain results come back.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter
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

from studio.core.averaging import (
    CheckpointEntry,
    GeneratorRef,
    average_checkpoints,
    comparison_refs,
    default_average_name,
    list_checkpoints,
    load_generator,
    parse_epoch_range,
    run_generators,
    save_average,
    select_checkpoints,
)
from studio.core.rundir import RunDirectory
from studio.errors import StudioError
from studio.gui.worker import JobCancelled, JobPanelMixin

__all__ = ["CheckpointLab", "CompareView", "Comparison", "EXPORT_FORMATS", "compare_run_generators"]

# (format, label, file filter, suffix)
EXPORT_FORMATS = (
    ("state_dict", "State dict (.pt)", "PyTorch state dict (*.pt)", ".pt"),
    ("torchscript", "TorchScript (.pt)", "TorchScript module (*.pt)", ".pt"),
    ("onnx", "ONNX (.onnx)", "ONNX model (*.onnx)", ".onnx"),
)
# Figures the trainer logs per epoch that get columns of their own; anything
# else logged for an epoch (evaluation results) goes to the Metrics column.
_TRAINING_FIGURES = ("d_loss", "g_loss", "aux_acc_real")
_NOT_SHOWN = {"d_lr", "g_lr", "seconds", "images_per_second", "d_x", "d_g_z1", "d_g_z2", "aux_acc_fake"}
COLUMNS = ("Epoch", "Saved", "D loss", "G loss", "Aux acc", "Metrics")
COMPARE_SAMPLES = 6  # noise samples per condition in the comparison grids


@dataclass
class Comparison:
    """Captioned grids of the same noise and conditions through several generators."""

    titles: list[str]
    images: list  # PIL images
    seed: int

    def arrays(self) -> list[np.ndarray]:
        return [np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8)) for image in self.images]


def compare_run_generators(
    run: RunDirectory,
    average: Path | None = None,
    in_memory: object | None = None,
    seed: int = 0,
    should_stop: Callable[[], bool] | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> Comparison:
    """The run's last checkpoint, an average (the newest saved one unless given) and the EMA, side by side.

    ``in_memory`` is the generator of ``average`` when the caller holds it
    already, so a fresh average is not read back from its file.
    """
    from studio.core.explore import NoiseSettings, compare_generators, layout_from_request

    averages = [average] if average is not None else run.averages()[-1:]
    refs = comparison_refs(run, averages)
    if not refs:
        raise StudioError(f"{run.checkpoints_dir}: no generators to compare yet")
    titles, images = [], []
    layout = space = None
    nz = 0
    for i, ref in enumerate(refs):
        if should_stop is not None and should_stop():
            raise JobCancelled()
        if progress is not None:
            progress(f"drawing {ref}", i / len(refs))
        if in_memory is not None and average is not None and ref.kind == "average" \
                and ref.path.resolve() == Path(average).resolve():
            from studio.core.checkpoint import checkpoint_config, load_checkpoint

            generator = in_memory
            config, ref_space = checkpoint_config(load_checkpoint(ref.path, mmap=True), ref.path)
        else:
            generator, ref_space, config = load_generator(ref)
        if layout is None:
            space, nz = ref_space, config.nz
            layout = layout_from_request(space, n=COMPARE_SAMPLES, seed=seed)
        title = f"last checkpoint ({ref.label})" if ref.kind == "checkpoint" else str(ref)
        [(_, image)] = compare_generators([(title, generator)], space, nz, layout, NoiseSettings(seed=seed))
        titles.append(title)
        images.append(image)
    return Comparison(titles, images, seed)


def _free_average_name(run: RunDirectory, result) -> str:
    """The default name, or the same with _2, _3 ... when an average of that span exists already."""
    name = default_average_name(result)
    stem = name[: -len(".pt")]
    count = 1
    while run.average_path(name).exists():
        count += 1
        name = f"{stem}_{count}.pt"
    return name


# --- the comparison view ---------------------------------------------------------------


class CompareView(QWidget):
    """Grids side by side, each under its title, scaled together to fit the view."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("compareView")
        self.setToolTip("The same fixed noise and conditions through each generator")
        self._arrays: list[np.ndarray] = []
        self._images: list[QImage] = []
        self._titles: list[str] = []
        self.placeholder = "Average some checkpoints, or press Compare, to see generators side by side."
        self.setAutoFillBackground(True)
        pal = self.palette()
        pal.setColor(self.backgroundRole(), QColor("white"))
        self.setPalette(pal)
        self.setMinimumSize(300, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_images(self, titles: list[str], arrays: list[np.ndarray]) -> None:
        self._titles = list(titles)
        self._arrays = [np.ascontiguousarray(a) for a in arrays]
        self._images = [
            QImage(a.data, a.shape[1], a.shape[0], 3 * a.shape[1], QImage.Format.Format_RGB888) for a in self._arrays
        ]
        self.update()

    def clear(self) -> None:
        self.set_images([], [])

    def titles(self) -> list[str]:
        return list(self._titles)

    def count(self) -> int:
        return len(self._images)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(720, 420)

    def arrangement(self, gap: int = 10, title_h: int = 20) -> tuple[int, float]:
        """(columns, scale): the grid of tiles that shows the images largest in the view."""
        n = len(self._images)
        if not n:
            return 1, 1.0
        width = max(image.width() for image in self._images)
        height = max(image.height() for image in self._images)
        best = (1, 0.0)
        for columns in range(1, n + 1):
            rows = -(-n // columns)
            free_w = self.width() - gap * (columns + 1)
            free_h = self.height() - rows * (title_h + gap) - gap
            scale = min(free_w / (columns * width), free_h / (rows * height), 4.0)
            if scale > best[1] + 1e-9:
                best = (columns, scale)
        return best[0], max(best[1], 0.05)

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        if not self._images:
            p.setPen(QColor("#777"))
            p.drawText(self.rect().adjusted(12, 12, -12, -12),
                       Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        fm = QFontMetrics(self.font())
        gap, title_h = 10, fm.height() + 6
        columns, scale = self.arrangement(gap, title_h)
        tile_w = max(image.width() for image in self._images) * scale
        tile_h = max(image.height() for image in self._images) * scale + title_h
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, scale < 1 or abs(scale - round(scale)) > 1e-6)
        for i, (title, image) in enumerate(zip(self._titles, self._images)):
            row, col = divmod(i, columns)
            x, y = gap + col * (tile_w + gap), gap + row * (tile_h + gap)
            w, h = image.width() * scale, image.height() * scale
            p.setPen(QColor("#111"))
            text = fm.elidedText(title, Qt.TextElideMode.ElideRight, int(max(tile_w, 40)))
            p.drawText(QRectF(x, y, tile_w, title_h), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
            p.drawImage(QRectF(x, y + title_h, w, h), image)
            p.setPen(QColor("#ccc"))
            p.drawRect(QRectF(x, y + title_h, w, h))


# --- the panel ----------------------------------------------------------------------------


class CheckpointLab(JobPanelMixin, QWidget):
    """A run's checkpoints: select, average, compare, export."""

    message = Signal(str)  # a line for the log
    errorOccurred = Signal(str, str, str)  # title, text, details
    averageSaved = Signal(object)  # Path of the new average
    jobFinished = Signal(str)  # the job's name, when its thread has ended

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("checkpointLab")
        self.run: RunDirectory | None = None
        self.entries: list[CheckpointEntry] = []
        self.refs: list[GeneratorRef] = []
        self.comparison: Comparison | None = None
        self.comparison_run_id = ""  # the run the comparison was drawn from
        self.last_average: Path | None = None
        self.last_export = None
        self._init_jobs()
        self._last_chosen = False  # the user set 'last N' themselves

        self.title = QLabel("No run selected")
        self.title.setObjectName("labTitle")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("checkpointTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setToolTip("The run's training checkpoints. Select the ones to average: click, "
                              "Ctrl+click and Shift+click choose any set.")
        header = self.table.horizontalHeader()
        for i in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        header.setToolTip("Figures logged for each epoch; Metrics shows evaluation results when the run has any")

        self.last_spin = QSpinBox()
        self.last_spin.setObjectName("lastNSpin")
        self.last_spin.setRange(1, 10_000)
        self.last_spin.setValue(10)
        self.last_spin.setPrefix("last ")
        self.last_spin.setToolTip("How many of the newest end-of-epoch checkpoints 'Select' picks")
        self.select_last_button = QPushButton("Select")
        self.select_last_button.setObjectName("selectLastButton")
        self.select_last_button.setToolTip("Select the last N end-of-epoch checkpoints in the table")
        self.range_edit = QLineEdit()
        self.range_edit.setObjectName("epochRangeEdit")
        self.range_edit.setPlaceholderText("epochs, e.g. 21-30")
        self.range_edit.setToolTip("An epoch range A-B (or one epoch); Enter or 'Select' selects those checkpoints")
        self.select_range_button = QPushButton("Select")
        self.select_range_button.setObjectName("selectRangeButton")
        self.select_range_button.setToolTip("Select the end-of-epoch checkpoints of the epoch range")
        self.selection_info = QLabel()
        self.selection_info.setObjectName("selectionInfo")
        self.selection_info.setWordWrap(True)
        self.selection_info.setToolTip("What is selected, or why a selection was refused")

        pick = QGridLayout()
        pick.addWidget(self.last_spin, 0, 0)
        pick.addWidget(self.select_last_button, 0, 1)
        pick.addWidget(self.range_edit, 0, 2)
        pick.addWidget(self.select_range_button, 0, 3)
        pick.setColumnStretch(2, 1)

        self.bn_check = QCheckBox("Re-estimate BatchNorm statistics")
        self.bn_check.setObjectName("bnReestimateCheck")
        self.bn_check.setChecked(True)
        self.bn_check.setToolTip(
            "The running statistics of an averaged G are not the average of the statistics: "
            "measure them again over fresh noise and conditions (recommended). Off: average them."
        )
        self.average_button = QPushButton("Average")
        self.average_button.setObjectName("averageButton")
        self.average_button.setProperty("primary", True)
        self.average_button.setToolTip(
            "Average the selected generators into a new one, save it in the run's checkpoints folder "
            "(never over an existing file) and compare it with the last checkpoint and the EMA"
        )
        self.compare_button = QPushButton("Compare")
        self.compare_button.setObjectName("compareButton")
        self.compare_button.setToolTip("Draw the last checkpoint, the newest saved average and the EMA "
                                       "with the same noise and conditions")
        self.save_comparison_button = QPushButton("Save comparison…")
        self.save_comparison_button.setObjectName("saveComparisonButton")
        self.save_comparison_button.setToolTip("Save the comparison as one PNG sheet, each grid under its title")
        self.average_info = QLabel()
        self.average_info.setObjectName("averageInfo")
        self.average_info.setWordWrap(True)
        self.average_info.setProperty("hint", True)
        self.average_info.setToolTip("The last average made: its file and how its BatchNorm statistics were set")
        self.average_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        average_row = QHBoxLayout()
        average_row.addWidget(self.bn_check)
        average_row.addStretch(1)
        average_row.addWidget(self.average_button)
        compare_row = QHBoxLayout()
        compare_row.addWidget(self.compare_button)
        compare_row.addWidget(self.save_comparison_button)
        compare_row.addStretch(1)
        average_box = QGroupBox("Average")
        average_layout = QVBoxLayout(average_box)
        average_layout.addLayout(average_row)
        average_layout.addWidget(self.average_info)
        average_layout.addLayout(compare_row)

        self.export_combo = QComboBox()
        self.export_combo.setObjectName("exportGeneratorCombo")
        self.export_combo.setToolTip("The generator to export: a checkpoint's G, the EMA, or a saved average")
        self.export_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.export_combo.setMinimumContentsLength(14)
        self.format_combo = QComboBox()
        self.format_combo.setObjectName("exportFormatCombo")
        self.format_combo.setToolTip("State dict: weights for studio.core.models.Generator; TorchScript and ONNX "
                                     "run without the studio. A .json beside the file describes the inputs.")
        self._fill_formats()
        self.export_button = QPushButton("Export…")
        self.export_button.setObjectName("exportGeneratorButton")
        self.export_button.setToolTip("Write the chosen generator alone (no discriminator or optimiser) "
                                      "to a file you choose")
        export_box = QGroupBox("Export a generator")
        export_layout = QHBoxLayout(export_box)
        export_layout.addWidget(self.export_combo, 1)
        export_layout.addWidget(self.format_combo)
        export_layout.addWidget(self.export_button)

        self.progress = QProgressBar()
        self.progress.setObjectName("labProgress")
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setToolTip("Progress of the averaging, comparison or export in the background")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("labCancelButton")
        self.cancel_button.setToolTip("Stop the averaging or comparison; nothing half-made is saved")
        self.cancel_button.setEnabled(False)
        self.status = QLabel()
        self.status.setObjectName("labStatus")
        self.status.setWordWrap(True)
        self.status.setProperty("hint", True)
        self.status.setToolTip("What the lab is doing")
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.cancel_button)

        self.compare_view = CompareView()

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.title)
        left_layout.addWidget(self.table, 1)
        left_layout.addLayout(pick)
        left_layout.addWidget(self.selection_info)
        left_layout.addWidget(average_box)
        left_layout.addWidget(export_box)
        left_layout.addLayout(progress_row)
        left_layout.addWidget(self.status)
        left.setMinimumWidth(380)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("labSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.compare_view)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([440, 800])
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.splitter)

        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        self.last_spin.valueChanged.connect(self._on_last_chosen)
        self.select_last_button.clicked.connect(lambda: self.select_last(self.last_spin.value()))
        self.select_range_button.clicked.connect(lambda: self.select_epochs(self.range_edit.text()))
        self.range_edit.returnPressed.connect(lambda: self.select_epochs(self.range_edit.text()))
        self.average_button.clicked.connect(lambda: self.average())
        self.compare_button.clicked.connect(lambda: self.compare())
        self.save_comparison_button.clicked.connect(self.save_comparison_dialog)
        self.export_button.clicked.connect(self.export_dialog)
        self.cancel_button.clicked.connect(self.cancel)
        self._update_controls()

    # --- the run ------------------------------------------------------------------
    def _fill_formats(self) -> None:
        from studio.core.export import onnx_available

        self.format_combo.clear()
        for fmt, label, _, _ in EXPORT_FORMATS:
            self.format_combo.addItem(label, fmt)
        ok, reason = onnx_available()
        self.onnx_reason = reason
        if not ok:
            index = self.format_combo.findData("onnx")
            item = self.format_combo.model().item(index)
            item.setEnabled(False)
            item.setToolTip(reason)

    def set_run(self, run: RunDirectory | None) -> None:
        """Show ``run``'s checkpoints (None: nothing)."""
        same = run is not None and self.run is not None and Path(run.path) == Path(self.run.path)
        self.run = run
        if not same:
            self.comparison = None
            self.last_average = None
            self.compare_view.clear()
            self.average_info.clear()
            self.selection_info.clear()
        self.refresh()

    def refresh(self) -> None:
        """Read the run's checkpoints and generators again, keeping the selection."""
        keep = {str(p) for p in self.selected_paths()}
        self.entries, self.refs = [], []
        problem = ""
        if self.run is not None:
            try:
                self.entries = list_checkpoints(self.run)
                self.refs = run_generators(self.run)
            except (StudioError, OSError) as exc:
                problem = str(exc)
        self._fill_table(keep)
        self._fill_export_combo()
        if self.run is None:
            self.title.setText("No run selected: choose one in the Runs tab")
        elif problem:
            self.title.setText(f"<b>{html.escape(self.run.run_id)}</b>: {html.escape(problem)}")
        else:
            count = len(self.entries)
            plural = "s" if count != 1 else ""
            self.title.setText(f"Run <b>{html.escape(self.run.run_id)}</b>: {count} checkpoint{plural}")
        complete = sum(e.complete_epoch for e in self.entries)
        self.last_spin.blockSignals(True)
        self.last_spin.setMaximum(max(1, complete))
        if not self._last_chosen:  # the recipes average the last 10 epochs
            self.last_spin.setValue(min(10, max(1, complete)))
        self.last_spin.blockSignals(False)
        self._update_controls()

    def on_checkpoint_saved(self, path: str | Path) -> None:
        """The trainer wrote ``path``: refresh when it belongs to the run shown."""
        if self.run is not None and Path(path).parent.parent == Path(self.run.path):
            self.refresh()

    def _fill_table(self, keep: set[str]) -> None:
        self.table.blockSignals(True)
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)  # selectRow adds
        self.table.setRowCount(len(self.entries))
        for row, entry in enumerate(self.entries):
            epoch = str(entry.epoch) if entry.complete_epoch else f"{entry.epoch} (step {entry.step_in_epoch})"
            figures = entry.metrics
            other = {k: v for k, v in figures.items() if k not in _TRAINING_FIGURES and k not in _NOT_SHOWN}
            metrics = "  ".join(f"{k} {v:.4g}" for k, v in other.items()) or "–"
            texts = [epoch, entry.saved_text, _figure(figures, "d_loss"), _figure(figures, "g_loss"),
                     _figure(figures, "aux_acc_real", ".2f"), metrics]
            for col, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if col in (0, 2, 3, 4):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
            first = self.table.item(row, 0)
            first.setData(Qt.ItemDataRole.UserRole, str(entry.path))
            first.setToolTip(str(entry.path) + ("" if entry.complete_epoch else "\nwritten in the middle of an epoch"))
            all_figures = "\n".join(f"{k}: {v:.5g}" for k, v in figures.items()) or "no figures logged for this epoch"
            for col in range(2, len(COLUMNS)):
                self.table.item(row, col).setToolTip(all_figures)
            if str(entry.path) in keep:
                self.table.selectRow(row)
        self.table.setSelectionMode(mode)
        self.table.blockSignals(False)
        self._on_selection_changed()

    def _fill_export_combo(self) -> None:
        current = self.export_combo.currentData()
        self.export_combo.blockSignals(True)
        self.export_combo.clear()
        for ref in self.refs:
            self.export_combo.addItem(str(ref), ref)
            self.export_combo.setItemData(self.export_combo.count() - 1, str(ref.path), Qt.ItemDataRole.ToolTipRole)
        index = -1
        if current is not None:
            index = next((i for i, r in enumerate(self.refs) if r == current), -1)
        if index < 0 and self.refs:
            # The newest average when there is one, else the last checkpoint's G.
            averages = [i for i, r in enumerate(self.refs) if r.kind == "average"]
            checkpoints = [i for i, r in enumerate(self.refs) if r.kind == "checkpoint"]
            index = (averages or checkpoints or [0])[-1]
        self.export_combo.setCurrentIndex(index)
        self.export_combo.blockSignals(False)

    # --- selection ----------------------------------------------------------------
    def selected_paths(self) -> list[Path]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [Path(self.table.item(r, 0).data(Qt.ItemDataRole.UserRole)) for r in rows]

    def select_paths(self, paths: list[Path]) -> None:
        wanted = {str(Path(p)) for p in paths}
        self.table.blockSignals(True)
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(Qt.ItemDataRole.UserRole) in wanted:
                self.table.selectRow(row)
        self.table.setSelectionMode(mode)
        self.table.blockSignals(False)
        self._on_selection_changed()

    def _refuse_selection(self, text: str) -> None:
        self.selection_info.setText(text)
        self.selection_info.setProperty("error", True)
        self.selection_info.style().unpolish(self.selection_info)
        self.selection_info.style().polish(self.selection_info)

    def select_last(self, count: int) -> bool:
        """Select the last ``count`` end-of-epoch checkpoints; a refusal is shown under the controls."""
        if self.run is None:
            return False
        try:
            paths = select_checkpoints(self.run, last=count)
        except StudioError as exc:
            self._refuse_selection(str(exc).replace("--last", "last N"))
            return False
        self.select_paths(paths)
        return True

    def select_epochs(self, text: str) -> bool:
        """Select the end-of-epoch checkpoints of 'A-B'."""
        if self.run is None:
            return False
        try:
            first, last = parse_epoch_range(text)
            paths = select_checkpoints(self.run, epochs=(first, last))
        except StudioError as exc:
            self._refuse_selection(str(exc).replace("--epochs ", "epochs "))
            return False
        self.select_paths(paths)
        return True

    def _on_last_chosen(self, _value: int) -> None:
        self._last_chosen = True

    def _on_selection_changed(self) -> None:
        paths = self.selected_paths()
        by_path = {str(e.path): e for e in self.entries}
        epochs = [by_path[str(p)].epoch for p in paths if str(p) in by_path]
        self.selection_info.setProperty("error", False)
        self.selection_info.style().unpolish(self.selection_info)
        self.selection_info.style().polish(self.selection_info)
        if not paths:
            self.selection_info.setText("Select two or more checkpoints to average.")
        elif len(paths) == 1:
            self.selection_info.setText(f"1 checkpoint selected (epoch {epochs[0]}): select at least two to average.")
        else:
            self.selection_info.setText(f"{len(paths)} checkpoints selected: epochs {_spans(epochs)}")
        self._update_controls()

    # --- jobs -------------------------------------------------------------------------
    def _update_controls(self) -> None:
        busy = self.busy
        has_run = self.run is not None
        self.average_button.setEnabled(has_run and not busy and len(self.selected_paths()) >= 2)
        has_checkpoints = any(r.kind == "checkpoint" for r in self.refs)
        self.compare_button.setEnabled(has_run and not busy and has_checkpoints)
        self.save_comparison_button.setEnabled(self.comparison is not None and not busy)
        self.export_button.setEnabled(has_run and not busy and self.export_combo.count() > 0)
        self.select_last_button.setEnabled(has_run and not busy)
        self.select_range_button.setEnabled(has_run and not busy)
        self.cancel_button.setEnabled(busy and self._job in ("average", "compare"))

    def _on_errored(self, exc: BaseException) -> None:
        failure = self._failure(exc, self._job.capitalize(), f"Checkpoint lab: {self._job}")
        if failure is None:
            return
        title = {"average": "Cannot average", "compare": "Cannot compare", "export": "Cannot export"}.get(
            self._job, "Checkpoint lab")
        self.status.setText(title)
        self.errorOccurred.emit(title, *failure)

    # --- average and compare ------------------------------------------------------
    def average(self, paths: list[Path] | None = None, bn_reestimate: bool | None = None) -> bool:
        """Average ``paths`` (default: the selected rows) in the background, save it, then compare."""
        if self.run is None or self.busy:
            return False
        paths = list(paths) if paths is not None else self.selected_paths()
        if len(paths) < 2:
            self._refuse_selection("Select at least two checkpoints to average.")
            return False
        bn = self.bn_check.isChecked() if bn_reestimate is None else bool(bn_reestimate)
        run = self.run

        def work(progress, stopped):
            result = average_checkpoints(paths, bn_reestimate=bn, seed=0,
                                         progress=lambda text, f: progress(text, 0.6 * f), should_stop=stopped)
            if stopped():
                raise JobCancelled()
            progress("saving the average", 0.65)
            saved = save_average(run, result, _free_average_name(run, result))
            comparison = None
            try:
                comparison = compare_run_generators(
                    run, saved, result.generator, seed=0, should_stop=stopped,
                    progress=lambda text, f: progress(text, 0.7 + 0.3 * f),
                )
            except JobCancelled:
                pass
            return run, saved, result.describe_bn(), sorted(result.epochs), comparison

        self.message.emit(f"Averaging {len(paths)} checkpoints of {run.run_id} "
                          f"({'re-estimating' if bn else 'averaging'} BatchNorm statistics)")
        return self._start("average", work, self._on_average_done, f"Averaging {len(paths)} checkpoints…")

    def _shows(self, run: RunDirectory) -> bool:
        """Whether the lab still shows ``run``, the run a finished job worked on."""
        return self.run is not None and Path(self.run.path) == Path(run.path)

    def _on_average_done(self, value) -> None:
        run, saved, bn_text, epochs, comparison = value
        self.message.emit(f"Average saved to {saved}: {bn_text}")
        if not self._shows(run):  # the user moved on to another run meanwhile: its panel stays as it is
            self.status.setText(f"Averaged {run.run_id}: {Path(saved).name}")
            self.averageSaved.emit(Path(saved))
            return
        self.last_average = Path(saved)
        text = f"Saved {Path(saved).name} (epochs {_spans(epochs)}). {bn_text}."
        self.average_info.setText(text)
        self.status.setText("Averaged" + ("" if comparison is not None else "; comparison cancelled"))
        self.refresh()
        index = next((i for i, r in enumerate(self.refs) if r.kind == "average" and r.path == Path(saved)), -1)
        if index >= 0:
            self.export_combo.setCurrentIndex(index)  # the new average is the one most likely exported
        if comparison is not None:
            self._show_comparison(comparison)
        self.averageSaved.emit(Path(saved))

    def compare(self) -> bool:
        """Draw the last checkpoint, the newest saved average and the EMA in the background."""
        if self.run is None or self.busy:
            return False
        run = self.run
        average = self.last_average if self.last_average is not None and self.last_average.is_file() else None

        def work(progress, stopped):
            return run, compare_run_generators(run, average, seed=0, should_stop=stopped, progress=progress)

        return self._start("compare", work, self._on_compare_done, "Drawing the comparison…")

    def _on_compare_done(self, value) -> None:
        run, comparison = value
        if not self._shows(run):
            self.status.setText(f"Compared {run.run_id}: select it again to draw its comparison")
            return
        self.status.setText("Compared")
        self._show_comparison(comparison)

    def _show_comparison(self, comparison: Comparison) -> None:
        self.comparison = comparison
        self.comparison_run_id = self.run.run_id if self.run is not None else ""
        self.compare_view.set_images(comparison.titles, comparison.arrays())
        self.message.emit("Comparison: " + " | ".join(comparison.titles))
        self._update_controls()

    def save_comparison(self, path: str | Path, overwrite: bool = False) -> Path | None:
        """The comparison as one PNG sheet (atomic; an existing file only with ``overwrite``)."""
        from studio.core.atomic import atomic_save_image
        from studio.core.sampling import compose_sheet

        if self.comparison is None:
            return None
        path = Path(path)
        title = f"{self.comparison_run_id}: same noise and conditions" if self.comparison_run_id else None
        sheet = compose_sheet(list(zip(self.comparison.titles, self.comparison.images)),
                              columns=len(self.comparison.images), title=title)
        try:
            atomic_save_image(sheet, path, format="PNG", overwrite=overwrite)
        except (FileExistsError, OSError) as exc:
            text = f"{path}: already exists" if isinstance(exc, FileExistsError) else f"{path}: {exc}"
            self.errorOccurred.emit("Cannot save the comparison", text, "")
            return None
        self.message.emit(f"Saved the comparison to {path}")
        return path

    def save_comparison_dialog(self) -> None:
        if self.comparison is None:
            return
        start = Path(self.run.path if self.run is not None else Path.home()) / "comparison.png"
        chosen, _ = QFileDialog.getSaveFileName(self, "Save the comparison", str(start), "PNG image (*.png)")
        if not chosen:
            return
        path, confirmed = _with_suffix(self, chosen, ".png")
        if path is not None:
            self.save_comparison(path, overwrite=confirmed)

    # --- export -----------------------------------------------------------------------
    def selected_export_ref(self) -> GeneratorRef | None:
        return self.export_combo.currentData()

    def export_to(self, path: str | Path, format: str, ref: GeneratorRef | None = None,
                  overwrite: bool = False) -> bool:
        """Export ``ref`` (default: the one chosen) to ``path`` in the background."""
        from studio.core.export import export_generator, onnx_available, sidecar_path

        ref = ref or self.selected_export_ref()
        if ref is None or self.busy:
            return False
        if format == "onnx":
            ok, reason = onnx_available()
            if not ok:
                self.errorOccurred.emit("Cannot export", reason, "")
                return False
        out = Path(path)
        if not overwrite:
            existing = [p for p in (out, sidecar_path(out)) if p.exists()]
            if existing:
                self.errorOccurred.emit("Cannot export", f"{existing[0]}: already exists; choose another file", "")
                return False

        def work(progress, stopped):
            progress(f"exporting {ref} as {format}", 0.0)
            return export_generator(ref.path, out, format, ref.which, overwrite=overwrite)

        return self._start("export", work, self._on_export_done, f"Exporting {ref} ({format})…")

    def _on_export_done(self, result) -> None:
        self.last_export = result
        self.status.setText(f"Exported {result.path.name}")
        self.message.emit(f"Exported the generator to {result.path} ({result.format}); inputs described in "
                          f"{result.sidecar.name}")

    def export_dialog(self) -> None:
        ref = self.selected_export_ref()
        if ref is None or self.run is None:
            return
        fmt = self.format_combo.currentData()
        _, _, file_filter, suffix = next(f for f in EXPORT_FORMATS if f[0] == fmt)
        name = f"{self.run.run_id}_{ref.path.stem}{'_ema' if ref.which == 'ema' else ''}_{fmt}{suffix}"
        start = Path(self.run.path).parent.parent / name
        chosen, _ = QFileDialog.getSaveFileName(self, "Export the generator", str(start), file_filter)
        if not chosen:
            return
        path, confirmed = _with_suffix(self, chosen, suffix)
        if path is None:
            return
        from studio.core.export import sidecar_path

        side = sidecar_path(path)
        if side.exists() and not confirmed:
            answer = QMessageBox.question(
                self, "Replace file?", f"{side} exists (the description of an earlier export). Replace it?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
            confirmed = True
        self.export_to(path, fmt, ref, overwrite=confirmed)


def _with_suffix(parent: QWidget, chosen: str, suffix: str) -> tuple[Path | None, bool]:
    """(path with ``suffix``, whether replacing it was confirmed); None when the user declined.

    The file dialog itself asks before replacing the name it returns; a
    suffix added here needs its own question.
    """
    path = Path(chosen)
    if path.suffix.lower() == suffix:
        return path, path.exists()
    path = path.with_name(path.name + suffix)
    if not path.exists():
        return path, False
    answer = QMessageBox.question(parent, "Replace file?", f"{path} exists. Replace it?",
                                  QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                                  QMessageBox.StandardButton.Cancel)
    return (path, True) if answer == QMessageBox.StandardButton.Yes else (None, False)


def _figure(figures: dict, key: str, fmt: str = ".3f") -> str:
    value = figures.get(key)
    return "–" if value is None else format(value, fmt)


def _spans(epochs: list[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'."""
    epochs = sorted(set(epochs))
    parts, i = [], 0
    while i < len(epochs):
        j = i
        while j + 1 < len(epochs) and epochs[j + 1] == epochs[j] + 1:
            j += 1
        parts.append(str(epochs[i]) if i == j else f"{epochs[i]}-{epochs[j]}")
        i = j + 1
    return ", ".join(parts)

"""The condition explorer: a generator of the run, a layout of conditions x noise, redrawn as controls change.

    generator   any checkpoint's G, the EMA, or a saved average of the run shown
    layout      by condition space: the attribute table or one value fixed while another varies
                (multi-attribute), classes x noise (categorical), composed object sets
                (multi-label), hue sweeps and maps from colour pickers (colour), and noise or
                condition interpolations for all of them
    noise       seed, new seed, resample one row, truncation (clamp or rescale)
    export      the grid as a captioned PNG, or a sheet of the same layout through the
                last checkpoint, the newest average and the EMA

Layouts are built by :mod:`studio.core.explore` on the GUI thread (cheap: a
few hundred condition vectors); the images come from one
:class:`~studio.core.explore.Explorer` that only ever runs in a worker
thread, one render at a time.  A change while a render runs asks it to stop
(``should_stop``) and the newest request runs next; finished rows reach the
view as they are drawn.
"""

from __future__ import annotations

import html
import random
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QColorDialog,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from studio.core.averaging import GeneratorRef, comparison_refs, load_generator, run_generators
from studio.core.checkpoint import checkpoint_config, load_checkpoint
from studio.core.conditions import (
    Categorical,
    ColourSpace,
    ConditionSpace,
    MultiAttribute,
    MultiLabel,
    colour_hex,
)
from studio.core.explore import (
    Explorer,
    Layout,
    NoiseSettings,
    attribute_table,
    attribute_vary,
    class_rows,
    condition_interpolation,
    grid_image,
    label_sets,
    layout_from_request,
    noise_interpolation,
)
from studio.core.rundir import RunDirectory
from studio.core.sampling import GRID_PADDING
from studio.errors import StudioError
from studio.gui.checkpoint_lab import _with_suffix
from studio.gui.scroll import vertical_scroll
from studio.gui.timeline import SampleView, TimelineFrame
from studio.gui.worker import CallWorker, join_thread, start_worker, thread_running

__all__ = ["ConditionExplorer", "modes_for", "TRUNCATION_OFF"]

# Truncation slider positions are tenths: 1 -> 0.1 ... 39 -> 3.9; the right end is off.
TRUNCATION_OFF = 40
_INTERPOLATIONS = [
    ("noise-interp", "Noise interpolation at a fixed condition"),
    ("cond-interp", "Condition interpolation at fixed noise"),
]
_KEEP_GENERATORS = 4  # generators kept loaded, so switching back is instant


def modes_for(space: ConditionSpace) -> list[tuple[str, str]]:
    """(key, label) of the layouts a condition space offers."""
    if isinstance(space, MultiAttribute):
        modes = [("vary", "Fix one value, vary another")]
        if len(space.sizes) >= 2:
            modes.insert(0, ("table", "Table: every value x every value"))
    elif isinstance(space, Categorical):
        modes = [("classes", f"{space.attribute.capitalize()} x noise samples")]
    elif isinstance(space, MultiLabel):
        modes = [("sets", "Object sets x noise samples")]
    elif isinstance(space, ColourSpace):
        modes = [("hue-sweep", "Hue sweep of one colour")]
        if len(space.attributes) >= 2:
            modes.append(("hue-map", "Hue map: one hue x another"))
            if space.palettes:
                modes.append(("colour-table", "Named colours x named colours"))
    else:
        return [("noise", "Noise samples"), _INTERPOLATIONS[0]]
    return modes + _INTERPOLATIONS


def _attribute_names(space: ConditionSpace) -> list[str]:
    if isinstance(space, MultiAttribute):
        return [name for name, _ in space.attributes]
    if isinstance(space, ColourSpace):
        return list(space.attributes)
    return []


class _RenderRelay(QObject):
    """Signals a render thread emits; they arrive queued on the GUI thread."""

    begin = Signal(int, object)  # job id, ((height, width) of the mosaic, its layout)
    rows = Signal(int, int, int, object)  # job id, first row, end row, uint8 strip


class ConditionExplorer(QWidget):
    """Pick a generator and a layout; the grid redraws off the GUI thread as the controls change."""

    message = Signal(str)
    errorOccurred = Signal(str, str, str)  # title, text, details
    rendered = Signal(object)  # the RenderResult of a finished (not superseded) render
    rowsShown = Signal(int, int)  # first and end row of a strip just put on screen

    def __init__(self, parent: QWidget | None = None, precision: str = "auto"):
        super().__init__(parent)
        self.setObjectName("conditionExplorer")
        self.precision = precision
        self.run: RunDirectory | None = None
        self.refs: list[GeneratorRef] = []
        self.ref: GeneratorRef | None = None
        self.space: ConditionSpace | None = None
        self.nz = 0
        self.layout: Layout | None = None
        self.mosaic: np.ndarray | None = None
        self.last_result = None
        self.render_count = 0
        self.complete = False  # the mosaic shows the whole current request
        self._shown_layout: Layout | None = None  # the layout of the mosaic shown
        self.last_sheet: Path | None = None
        self._last_error = ""
        self._colours: list[torch.Tensor] = []
        self._sets_seed = 1
        self._resample_queue: list[int] = []
        self._dirty = False
        self._job_id = 0
        self._render_worker: CallWorker | None = None
        self._render_thread = None
        self._render_stop = threading.Event()
        self._sheet_worker: CallWorker | None = None
        self._sheet_thread = None
        # Touched only by render threads, which run one at a time.
        self._explorer: Explorer | None = None
        self._generators: OrderedDict[tuple, tuple] = OrderedDict()
        self._generators_lock = threading.Lock()

        self._relay = _RenderRelay(self)
        self._relay.begin.connect(self._on_render_begin)
        self._relay.rows.connect(self._on_render_rows)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(30)
        self._debounce.timeout.connect(self._kick)

        self._build()
        self._connect()
        self._set_space(None)

    # --- building --------------------------------------------------------------------
    def _build(self) -> None:
        self.generator_combo = QComboBox()
        self.generator_combo.setObjectName("explorerGeneratorCombo")
        self.generator_combo.setToolTip("The generator to explore: any checkpoint's G, the EMA of G, "
                                        "or an average saved in the checkpoint lab")
        self.generator_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.generator_combo.setMinimumContentsLength(16)
        self.mode_combo = QComboBox()
        self.mode_combo.setObjectName("explorerModeCombo")
        self.mode_combo.setToolTip("How conditions and noise are laid out in the grid")

        self.rows_combo = QComboBox()
        self.rows_combo.setObjectName("explorerRowsCombo")
        self.rows_combo.setToolTip("The attribute whose values run down the rows")
        self.cols_combo = QComboBox()
        self.cols_combo.setObjectName("explorerColsCombo")
        self.cols_combo.setToolTip("The attribute whose values run across the columns (the one that varies)")
        self.fix_combo = QComboBox()
        self.fix_combo.setObjectName("explorerFixCombo")
        self.fix_combo.setToolTip("The value held fixed in every cell, e.g. 'blue eyes'")
        self.samples_spin = QSpinBox()
        self.samples_spin.setObjectName("explorerSamplesSpin")
        self.samples_spin.setRange(1, 32)
        self.samples_spin.setValue(6)
        self.samples_spin.setToolTip("How many noise samples: one per row or column, each shared by its cells")
        self.steps_spin = QSpinBox()
        self.steps_spin.setObjectName("explorerStepsSpin")
        self.steps_spin.setRange(2, 32)
        self.steps_spin.setValue(8)
        self.steps_spin.setToolTip("Points along an interpolation, or hues round the colour circle")
        self.path_combo = QComboBox()
        self.path_combo.setObjectName("explorerPathCombo")
        self.path_combo.addItem("Linear", "linear")
        self.path_combo.addItem("Spherical (slerp)", "slerp")
        self.path_combo.setToolTip("Linear: a straight line between the two noise vectors. Spherical: along the "
                                   "great circle, which keeps the norm G saw in training")
        self.condition_edit = QLineEdit()
        self.condition_edit.setObjectName("explorerConditionEdit")
        self.condition_edit.setToolTip("The condition, as text (e.g. 'red hair, blue eyes'); Enter applies it")
        self.condition_end_edit = QLineEdit()
        self.condition_end_edit.setObjectName("explorerConditionEndEdit")
        self.condition_end_edit.setToolTip("The condition the interpolation ends at; Enter applies it")

        # Multi-label: objects composing one set, the sets shown, random valid sets.
        self.object_list = QListWidget()
        self.object_list.setObjectName("explorerObjectList")
        self.object_list.setToolTip("Tick the objects of one image, then 'Add row'")
        self.object_list.setMaximumHeight(150)
        self.add_set_button = QPushButton("Add row")
        self.add_set_button.setObjectName("explorerAddSetButton")
        self.add_set_button.setToolTip("Add the ticked objects as one row of the grid")
        self.remove_set_button = QPushButton("Remove row")
        self.remove_set_button.setObjectName("explorerRemoveSetButton")
        self.remove_set_button.setToolTip("Remove the selected composed row")
        self.sets_list = QListWidget()
        self.sets_list.setObjectName("explorerSetsList")
        self.sets_list.setToolTip("The composed object sets, one row each")
        self.sets_list.setMaximumHeight(80)
        self.sets_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.random_spin = QSpinBox()
        self.random_spin.setObjectName("explorerRandomSpin")
        self.random_spin.setRange(0, 24)
        self.random_spin.setValue(4)
        self.random_spin.setToolTip("Rows of random valid object sets added below the composed ones")
        self.new_sets_button = QPushButton("New random sets")
        self.new_sets_button.setObjectName("explorerNewSetsButton")
        self.new_sets_button.setToolTip("Draw other random valid sets")
        self.objects_reason = QLabel()
        self.objects_reason.setObjectName("explorerObjectsReason")
        self.objects_reason.setWordWrap(True)
        self.objects_reason.setToolTip("Why an object set was refused")
        self.objects_box = QWidget()
        objects = QGridLayout(self.objects_box)
        objects.setContentsMargins(0, 0, 0, 0)
        objects.addWidget(self.object_list, 0, 0, 1, 2)
        objects.addWidget(self.objects_reason, 1, 0, 1, 2)
        objects.addWidget(self.add_set_button, 2, 0)
        objects.addWidget(self.remove_set_button, 2, 1)
        objects.addWidget(self.sets_list, 3, 0, 1, 2)
        random_row = QHBoxLayout()
        random_row.addWidget(QLabel("Random sets"))
        random_row.addWidget(self.random_spin)
        random_row.addWidget(self.new_sets_button)
        objects.addLayout(random_row, 4, 0, 1, 2)

        # Colour space: one picker per attribute.
        self.colours_box = QWidget()
        self.colours_box.setObjectName("explorerColours")
        self.colours_layout = QVBoxLayout(self.colours_box)
        self.colours_layout.setContentsMargins(0, 0, 0, 0)
        self.colour_buttons: list[QPushButton] = []

        self.reason = QLabel()
        self.reason.setObjectName("explorerReason")
        self.reason.setWordWrap(True)
        self.reason.setProperty("error", True)
        self.reason.setToolTip("Why the last change could not be drawn")
        self.reason.hide()

        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.rows_label, self.cols_label, self.fix_label = QLabel("Rows"), QLabel("Columns"), QLabel("Fixed")
        self.samples_label, self.steps_label = QLabel("Samples"), QLabel("Steps")
        self.condition_label, self.condition_end_label = QLabel("Condition"), QLabel("To")
        self.form.addRow("Layout", self.mode_combo)
        self.form.addRow(self.rows_label, self.rows_combo)
        self.form.addRow(self.cols_label, self.cols_combo)
        self.form.addRow(self.fix_label, self.fix_combo)
        self.form.addRow("Colours", self.colours_box)
        self.form.addRow("Objects", self.objects_box)
        self.form.addRow(self.condition_label, self.condition_edit)
        self.form.addRow(self.condition_end_label, self.condition_end_edit)
        self.form.addRow("Path", self.path_combo)
        self.form.addRow(self.steps_label, self.steps_spin)
        self.form.addRow(self.samples_label, self.samples_spin)
        layout_box = QGroupBox("Conditions")
        layout_box_layout = QVBoxLayout(layout_box)
        layout_box_layout.addLayout(self.form)
        layout_box_layout.addWidget(self.reason)

        self.seed_spin = QSpinBox()
        self.seed_spin.setObjectName("explorerSeedSpin")
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setToolTip("The seed of the noise: the same seed gives the same grid")
        self.new_seed_button = QPushButton("New seed")
        self.new_seed_button.setObjectName("newSeedButton")
        self.new_seed_button.setToolTip("Draw a random seed: new noise for every row")
        self.row_spin = QSpinBox()
        self.row_spin.setObjectName("explorerRowSpin")
        self.row_spin.setRange(1, 1)
        self.row_spin.setPrefix("row ")
        self.row_spin.setToolTip("The row to resample (or click a row in the grid)")
        self.resample_button = QPushButton("Resample row")
        self.resample_button.setObjectName("resampleRowButton")
        self.resample_button.setToolTip("New noise for the chosen row only; every other row stays as it is")
        self.truncation_slider = QSlider(Qt.Orientation.Horizontal)
        self.truncation_slider.setObjectName("truncationSlider")
        self.truncation_slider.setRange(1, TRUNCATION_OFF)
        self.truncation_slider.setValue(TRUNCATION_OFF)
        self.truncation_slider.setPageStep(5)
        self.truncation_slider.setToolTip("Truncation: keep the noise near the centre of N(0, 1), trading variety "
                                          "for quality. Right end: off; further left: stronger")
        self.truncation_label = QLabel()
        self.truncation_label.setObjectName("truncationLabel")
        self.truncation_label.setMinimumWidth(44)
        self.truncation_label.setToolTip("The truncation threshold in standard deviations")
        self.truncation_mode = QComboBox()
        self.truncation_mode.setObjectName("truncationModeCombo")
        self.truncation_mode.addItem("Clamp", "clamp")
        self.truncation_mode.addItem("Rescale", "rescale")
        self.truncation_mode.setToolTip("Clamp: clip each entry of z to the threshold. Rescale: shrink each z "
                                        "(direction kept) to at most threshold x its typical norm")
        noise = QGridLayout()
        noise.addWidget(QLabel("Seed"), 0, 0)
        noise.addWidget(self.seed_spin, 0, 1)
        noise.addWidget(self.new_seed_button, 0, 2)
        noise.addWidget(QLabel("Row"), 1, 0)
        noise.addWidget(self.row_spin, 1, 1)
        noise.addWidget(self.resample_button, 1, 2)
        noise.addWidget(QLabel("Truncation"), 2, 0)
        trunc = QHBoxLayout()
        trunc.addWidget(self.truncation_slider, 1)
        trunc.addWidget(self.truncation_label)
        noise.addLayout(trunc, 2, 1)
        noise.addWidget(self.truncation_mode, 2, 2)
        noise.setColumnStretch(1, 1)
        noise_box = QGroupBox("Noise")
        noise_box.setLayout(noise)

        self.scale_spin = QSpinBox()
        self.scale_spin.setObjectName("explorerScaleSpin")
        self.scale_spin.setRange(1, 8)
        self.scale_spin.setValue(2)
        self.scale_spin.setSuffix("x")
        self.scale_spin.setToolTip("Exported images are enlarged this many times (sharp pixels)")
        self.captions_check = QCheckBox("Captions")
        self.captions_check.setObjectName("explorerCaptionsCheck")
        self.captions_check.setChecked(True)
        self.captions_check.setToolTip("Write the row and column captions and the title into the PNG")
        self.export_button = QPushButton("PNG…")
        self.export_button.setObjectName("explorerExportButton")
        self.export_button.setToolTip("Save the grid shown as a PNG")
        self.sheet_button = QPushButton("Sheet…")
        self.sheet_button.setObjectName("explorerSheetButton")
        self.sheet_button.setToolTip("Save one PNG with this layout drawn by the last checkpoint, the newest "
                                     "average and the EMA, side by side (same seed and truncation)")
        export = QHBoxLayout()
        export.addWidget(self.scale_spin)
        export.addWidget(self.captions_check)
        export.addStretch(1)
        export.addWidget(self.export_button)
        export.addWidget(self.sheet_button)
        export_box = QGroupBox("Export")
        export_box.setLayout(export)

        controls = QWidget()
        controls_layout = QVBoxLayout(controls)
        controls_layout.setContentsMargins(0, 0, 4, 0)
        generator_row = QHBoxLayout()
        generator_row.addWidget(QLabel("Generator"))
        generator_row.addWidget(self.generator_combo, 1)
        controls_layout.addLayout(generator_row)
        controls_layout.addWidget(layout_box)
        controls_layout.addWidget(noise_box)
        controls_layout.addWidget(export_box)
        controls_layout.addStretch(1)
        scroll = vertical_scroll(controls, "explorerControls", frame=False)
        scroll.setMinimumWidth(360)

        self.title = QLabel("No generator")
        self.title.setObjectName("explorerTitle")
        self.title.setWordWrap(True)  # a long interpolation title must not widen the window
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.view = SampleView()
        self.view.setObjectName("explorerView")
        self.view.setToolTip("The grid; click a row to choose it for resampling. Ctrl + wheel zooms")
        self.view.canvas.placeholder = "Choose a run with checkpoints to explore its generators."
        self.view.canvas.installEventFilter(self)
        self.status = QLabel()
        self.status.setObjectName("explorerStatus")
        self.status.setWordWrap(True)
        self.status.setProperty("hint", True)
        self.status.setToolTip("The grid's size and how it was drawn")
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.title)
        right_layout.addWidget(self.view, 1)
        right_layout.addWidget(self.status)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("explorerSplitter")
        self.splitter.addWidget(scroll)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([400, 900])
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 4, 6, 4)
        outer.addWidget(self.splitter)
        self._update_truncation_label()

    def _connect(self) -> None:
        self.generator_combo.currentIndexChanged.connect(self._on_generator_changed)
        self.mode_combo.currentIndexChanged.connect(self._on_mode_changed)
        self.rows_combo.currentIndexChanged.connect(self._on_attributes_changed)
        self.cols_combo.currentIndexChanged.connect(self._on_attributes_changed)
        for widget in (self.fix_combo, self.path_combo):
            widget.currentIndexChanged.connect(self._on_layout_changed)
        for spin in (self.samples_spin, self.steps_spin, self.random_spin):
            spin.valueChanged.connect(self._on_layout_changed)
        self.condition_edit.editingFinished.connect(self._on_layout_changed)
        self.condition_end_edit.editingFinished.connect(self._on_layout_changed)
        self.object_list.itemChanged.connect(self._on_object_checked)
        self.add_set_button.clicked.connect(self.add_object_set)
        self.remove_set_button.clicked.connect(self._remove_object_set)
        self.new_sets_button.clicked.connect(self._new_random_sets)
        self.seed_spin.valueChanged.connect(self._on_seed_changed)
        self.new_seed_button.clicked.connect(self.new_seed)
        self.resample_button.clicked.connect(lambda: self.resample_row(self.row_spin.value() - 1))
        self.truncation_slider.valueChanged.connect(self._on_truncation_changed)
        self.truncation_mode.currentIndexChanged.connect(self._on_truncation_changed)
        self.export_button.clicked.connect(self.export_dialog)
        self.sheet_button.clicked.connect(self.sheet_dialog)

    # --- run and generator -------------------------------------------------------------
    def set_run(self, run: RunDirectory | None) -> None:
        """Explore ``run``'s generators (None: nothing)."""
        if run is not None and self.run is not None and Path(run.path) == Path(self.run.path):
            self.refresh()
            return
        self.run = run
        self.refresh(follow_newest=True)

    def on_checkpoint_saved(self, path: str | Path) -> None:
        if self.run is not None and Path(path).parent.parent == Path(self.run.path):
            self.refresh()

    def refresh(self, follow_newest: bool = False) -> None:
        """Read the run's generators again; the one shown stays unless it was the newest checkpoint."""
        old = self.ref
        old_checkpoints = [r for r in self.refs if r.kind == "checkpoint"]
        was_newest = old is not None and (old.kind == "ema" or (old_checkpoints and old == old_checkpoints[-1]))
        try:
            self.refs = run_generators(self.run) if self.run is not None else []
        except (StudioError, OSError) as exc:
            self.refs = []
            self._show_reason(str(exc))
        index = -1
        if old is not None and not follow_newest:
            index = next((i for i, r in enumerate(self.refs) if r == old), -1)
            if was_newest:
                # Follow training: the newest checkpoint (or the EMA, which moves with it).
                same_kind = [i for i, r in enumerate(self.refs) if r.kind == old.kind]
                index = same_kind[-1] if same_kind else index
        if index < 0:
            checkpoints = [i for i, r in enumerate(self.refs) if r.kind == "checkpoint"]
            index = checkpoints[-1] if checkpoints else (0 if self.refs else -1)
        self.generator_combo.blockSignals(True)
        self.generator_combo.clear()
        for ref in self.refs:
            self.generator_combo.addItem(str(ref), ref)
            self.generator_combo.setItemData(self.generator_combo.count() - 1, str(ref.path),
                                             Qt.ItemDataRole.ToolTipRole)
        self.generator_combo.setCurrentIndex(index)
        self.generator_combo.blockSignals(False)
        new = self.refs[index] if index >= 0 else None
        if new != old or new is None:
            self._on_generator_changed()
        self._update_controls()

    def _on_generator_changed(self, *_) -> None:
        ref = self.generator_combo.currentData()
        self.ref = ref
        if ref is None:
            self._set_space(None)
            self.mosaic = None
            self.view.set_frame(None, None)
            self.title.setText("No generator: this run has no checkpoints yet" if self.run else "No run selected")
            self._update_controls()
            return
        try:
            config, space = checkpoint_config(load_checkpoint(ref.path, mmap=True), ref.path)
        except (StudioError, OSError) as exc:
            self._set_space(None)
            self._show_reason(str(exc))
            self.errorOccurred.emit("Cannot explore this generator", str(exc), "")
            return
        if self.space is None or space != self.space or config.nz != self.nz:
            self.nz = config.nz
            self._set_space(space)
        elif self.layout is None:
            self._rebuild_layout()
        else:
            self.request_render()  # same layout and noise (resampled rows too) through another G

    # --- controls by condition space ---------------------------------------------------
    def _set_space(self, space: ConditionSpace | None) -> None:
        """Fill the controls a space needs and hide the others."""
        self.space = space
        with _blocked(self.mode_combo, self.rows_combo, self.cols_combo, self.fix_combo, self.object_list):
            self.mode_combo.clear()
            self.rows_combo.clear()
            self.cols_combo.clear()
            self.fix_combo.clear()
            self.object_list.clear()
            self.sets_list.clear()
            for b in self.colour_buttons:
                b.deleteLater()
            self.colour_buttons = []
            self._colours = []
            if space is not None:
                for key, label in modes_for(space):
                    self.mode_combo.addItem(label, key)
                names = _attribute_names(space)
                for i, name in enumerate(names):
                    self.rows_combo.addItem(name, i)
                    self.cols_combo.addItem(name, i)
                if len(names) >= 2:
                    self.cols_combo.setCurrentIndex(1)
                if isinstance(space, MultiLabel):
                    for name in space.names:
                        item = QListWidgetItem(name)
                        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                        item.setCheckState(Qt.CheckState.Unchecked)
                        self.object_list.addItem(item)
                if isinstance(space, ColourSpace):
                    base = space.fixed_label()
                    for i, name in enumerate(space.attributes):
                        self._colours.append(base[3 * i : 3 * i + 3].clone())
                        button = QPushButton()
                        button.setObjectName(f"explorerColour_{name}")
                        button.setToolTip(f"Choose the {name} colour held fixed (a colour dialog opens)")
                        button.clicked.connect(lambda checked=False, i=i: self.pick_colour(i))
                        self.colours_layout.addWidget(button)
                        self.colour_buttons.append(button)
                    self._update_colour_buttons()
                if space.is_conditional:
                    samples = space.sample(2, torch.Generator().manual_seed(1))
                    self.condition_edit.setText(space.caption(samples[0]))
                    self.condition_end_edit.setText(space.caption(samples[1]))
            self.objects_reason.clear()
            self.objects_reason.setProperty("error", False)
        self._on_mode_changed()

    def mode(self) -> str:
        return self.mode_combo.currentData() or ""

    def _on_mode_changed(self, *_) -> None:
        mode, space = self.mode(), self.space
        attributes = isinstance(space, (MultiAttribute, ColourSpace))
        rows_cols = mode in ("table", "hue-map", "colour-table")
        show = {
            self.rows_combo: rows_cols,
            self.cols_combo: rows_cols or mode in ("vary", "hue-sweep"),
            self.fix_combo: mode == "vary" or (mode == "table" and attributes and len(_attribute_names(space)) > 2),
            self.colours_box: isinstance(space, ColourSpace) and mode != "cond-interp",
            self.objects_box: mode == "sets",
            self.condition_edit: mode in ("noise-interp", "cond-interp") and space is not None
            and space.is_conditional,
            self.condition_end_edit: mode == "cond-interp",
            self.path_combo: mode == "noise-interp",
            self.steps_spin: mode in ("noise-interp", "cond-interp", "hue-sweep", "hue-map"),
            self.samples_spin: mode not in ("table", "hue-map", "colour-table", ""),
        }
        for widget, visible in show.items():
            self.form.setRowVisible(widget, visible)
        self.cols_label.setText({"vary": "Varies", "hue-sweep": "Sweep"}.get(mode, "Columns"))
        self.rows_label.setText("Rows")
        self.samples_label.setText({"noise": "Grid side", "noise-interp": "Rows", "cond-interp": "Rows"}
                                   .get(mode, "Samples"))
        self.steps_label.setText("Hues" if mode in ("hue-sweep", "hue-map") else "Steps")
        self.condition_label.setText("From" if mode == "cond-interp" else "Condition")
        self._fill_fix_combo()
        self._rebuild_layout()

    def _on_attributes_changed(self, *_) -> None:
        self._fill_fix_combo()
        self._rebuild_layout()

    def _fill_fix_combo(self) -> None:
        """Values of the attributes not on an axis, e.g. 'blue eyes' while hair varies."""
        space = self.space
        previous = self.fix_combo.currentText()
        with _blocked(self.fix_combo):
            self.fix_combo.clear()
            if isinstance(space, MultiAttribute):
                used = {self.cols_combo.currentData()}
                if self.mode() == "table":
                    used.add(self.rows_combo.currentData())
                for a, (_, values) in enumerate(space.attributes):
                    if a in used:
                        continue
                    for v in range(len(values)):
                        self.fix_combo.addItem(space.value_caption(a, v), (a, v))
                index = self.fix_combo.findText(previous)
                self.fix_combo.setCurrentIndex(max(index, 0))

    # --- multi-label objects --------------------------------------------------------------
    def _checked_objects(self) -> list[str]:
        return [self.object_list.item(i).text() for i in range(self.object_list.count())
                if self.object_list.item(i).checkState() == Qt.CheckState.Checked]

    def _set_objects_reason(self, text: str) -> None:
        self.objects_reason.setText(text)
        self.objects_reason.setProperty("error", bool(text))
        self.objects_reason.style().unpolish(self.objects_reason)
        self.objects_reason.style().polish(self.objects_reason)

    def _on_object_checked(self, item: QListWidgetItem) -> None:
        space = self.space
        if not isinstance(space, MultiLabel):
            return
        checked = self._checked_objects()
        if item.checkState() == Qt.CheckState.Checked and len(checked) > space.max_count:
            with _blocked(self.object_list):
                item.setCheckState(Qt.CheckState.Unchecked)
            self._set_objects_reason(
                f"At most {space.max_count} objects per image: this model was trained on "
                f"{space.min_count} to {space.max_count}. Untick one first."
            )
            return
        self._set_objects_reason("")

    def add_object_set(self) -> bool:
        """Add the ticked objects as one row; refused (with the reason) outside min..max."""
        space = self.space
        if not isinstance(space, MultiLabel):
            return False
        names = self._checked_objects()
        if not space.min_count <= len(names) <= space.max_count:
            self._set_objects_reason(
                f"Tick {space.min_count} to {space.max_count} objects for one image (ticked: {len(names)})."
            )
            return False
        self._set_objects_reason("")
        self.sets_list.addItem(", ".join(names))
        self._rebuild_layout()
        return True

    def _remove_object_set(self) -> None:
        row = self.sets_list.currentRow()
        if row >= 0:
            self.sets_list.takeItem(row)
            self._rebuild_layout()

    def _new_random_sets(self) -> None:
        self._sets_seed += 1
        self._rebuild_layout()

    # --- colours ------------------------------------------------------------------------
    def pick_colour(self, attribute: int) -> None:
        if not isinstance(self.space, ColourSpace):
            return
        name = self.space.attributes[attribute]
        initial = QColor(colour_hex(self._colours[attribute]))
        chosen = QColorDialog.getColor(initial, self, f"{name} colour")
        if chosen.isValid():
            self.set_colour(attribute, chosen.name())

    def set_colour(self, attribute: int | str, value: str) -> None:
        """Hold ``attribute`` at ``value`` ('#rrggbb' or a colour name) and redraw."""
        space = self.space
        if not isinstance(space, ColourSpace):
            return
        i = space.attribute_index(attribute)
        try:
            self._colours[i] = space.colour_from_text(i, value).float()
        except StudioError as exc:
            self._show_reason(str(exc))
            return
        self._update_colour_buttons()
        self._rebuild_layout()

    def colours(self) -> list[str]:
        return [colour_hex(c) for c in self._colours]

    def _update_colour_buttons(self) -> None:
        space = self.space
        for i, button in enumerate(self.colour_buttons):
            rgb = self._colours[i]
            text_colour = "#000" if float((rgb * torch.tensor([0.299, 0.587, 0.114])).sum()) > 0.55 else "#fff"
            button.setText(space.colour_caption(i, rgb))
            button.setStyleSheet(f"QPushButton {{ background-color: {colour_hex(rgb)}; color: {text_colour}; "
                                 "border: 1px solid #888; border-radius: 3px; padding: 4px 8px; }")

    # --- layout ---------------------------------------------------------------------------
    def _show_reason(self, text: str) -> None:
        self.reason.setText(text)
        self.reason.setVisible(bool(text))

    def _build_layout(self) -> Layout:
        space, mode = self.space, self.mode()
        samples, steps = self.samples_spin.value(), self.steps_spin.value()
        r, c = self.rows_combo.currentData(), self.cols_combo.currentData()
        fixed = self.fix_combo.currentData()
        fixed_values = {fixed[0]: fixed[1]} if fixed is not None else None
        if mode == "table":
            if r == c:
                raise StudioError("Rows and columns show the same attribute: choose two different ones.")
            return attribute_table(space, r, c, fixed_values)
        if mode == "vary":
            return attribute_vary(space, c, fixed_values, samples)
        if mode == "classes":
            return class_rows(space, None, samples)
        if mode == "sets":
            sets = [self.sets_list.item(i).text() for i in range(self.sets_list.count())]
            return label_sets(space, sets, self.random_spin.value(), samples, seed=self._sets_seed)
        if mode in ("hue-sweep", "hue-map", "colour-table"):
            base = torch.cat(self._colours)
            if mode == "hue-sweep":
                grid = space.hue_sweep(c, steps, fixed_colours=base, samples=samples)
                return Layout.from_grid(space, grid, title=f"{space.attributes[c]} hue sweep")
            if r == c:
                raise StudioError("Rows and columns sweep the same attribute: choose two different ones.")
            if mode == "hue-map":
                grid = space.hue_map(r, c, steps, steps, fixed_colours=base)
                return Layout.from_grid(space, grid, title=f"{space.attributes[r]} hue x {space.attributes[c]} hue")
            grid = space.table(r, c, fixed_colours=base)
            return Layout.from_grid(space, grid, title=f"{space.attributes[r]} x {space.attributes[c]}")
        if mode == "noise-interp":
            path = self.path_combo.currentData()
            if space.is_conditional:
                text = self.condition_edit.text().strip()
                return noise_interpolation(space, [text] * samples, steps, path)
            return noise_interpolation(space, None, steps, path, random=samples)
        if mode == "cond-interp":
            start, end = self.condition_edit.text().strip(), self.condition_end_edit.text().strip()
            return condition_interpolation(space, start, end, steps, samples)
        return layout_from_request(space, n=samples)

    def _rebuild_layout(self, *_) -> None:
        if self.space is None or not self.mode():
            self.layout = None
            self._update_controls()
            return
        try:
            layout = self._build_layout()
        except StudioError as exc:
            # The grid drawn before belongs to other settings: it goes, so it cannot be exported as these.
            self.layout = None
            self._job_id += 1  # a render of it still under way is dropped
            self.mosaic = None
            self.view.set_frame(None, None)
            self.title.setText(f"<b>{html.escape(str(self.ref))}</b>: no grid for these settings")
            self._show_reason(str(exc))
            self._update_controls()
            return
        self._show_reason("")
        self.layout = layout
        self._resample_queue.clear()
        with _blocked(self.row_spin):
            self.row_spin.setRange(1, layout.rows)
        self.request_render()

    def _on_layout_changed(self, *_) -> None:
        self._rebuild_layout()

    # --- noise ----------------------------------------------------------------------------
    def truncation(self) -> float | None:
        value = self.truncation_slider.value()
        return None if value >= TRUNCATION_OFF else value / 10

    def _update_truncation_label(self) -> None:
        t = self.truncation()
        self.truncation_label.setText("off" if t is None else f"{t:.1f}")

    def _on_truncation_changed(self, *_) -> None:
        self._update_truncation_label()
        self.request_render()

    def _on_seed_changed(self, *_) -> None:
        self._resample_queue.clear()  # a new seed gives every row new noise anyway
        self.request_render()

    def new_seed(self) -> None:
        self.seed_spin.setValue(random.randrange(0, 2**31 - 1))

    def noise_settings(self) -> NoiseSettings:
        return NoiseSettings(self.seed_spin.value(), self.truncation(), self.truncation_mode.currentData())

    def resample_row(self, row: int) -> bool:
        """New noise for ``row`` (0-based) alone."""
        if self.layout is None or not 0 <= row < self.layout.rows:
            return False
        self._resample_queue.append(row)
        self.message.emit(f"Explorer: new noise for row {row + 1}")
        self.request_render()
        return True

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if obj is self.view.canvas and event.type() == QEvent.Type.MouseButtonPress and self.layout is not None:
            row = self._row_at(event.position().y())
            if row is not None:
                self.row_spin.setValue(row + 1)
        return super().eventFilter(obj, event)

    def _row_at(self, y: float) -> int | None:
        canvas = self.view.canvas
        if self.mosaic is None:
            return None
        _, top, _ = canvas.margins()
        height = self.mosaic.shape[0] * canvas.zoom
        if not top <= y < top + height:
            return None
        return min(self.layout.rows - 1, int((y - top) / (height / self.layout.rows)))

    # --- rendering ----------------------------------------------------------------------
    def request_render(self) -> None:
        """Redraw soon; a burst of changes (a slider drag) becomes one request."""
        self._dirty = True
        self.complete = False
        self._debounce.start()

    def idle(self) -> bool:
        """Nothing drawing and nothing waiting to be drawn."""
        return self._render_worker is None and not self._dirty and not self._debounce.isActive()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self._dirty:
            self._debounce.start()

    def _kick(self) -> None:
        if not self._dirty:
            return
        if self.layout is None or self.ref is None:
            self._dirty = False
            return
        if not self.isVisible():
            return  # drawn when shown: a hidden tab costs training no CPU
        if self._render_worker is not None:
            self._render_stop.set()  # the newer request runs when this one has stopped
            return
        self._dirty = False
        self._job_id += 1
        job_id, ref, layout, noise = self._job_id, self.ref, self.layout, self.noise_settings()
        resample, self._resample_queue = self._resample_queue, []
        stop = threading.Event()
        self._render_stop = stop
        worker = CallWorker(lambda progress: self._render_job(job_id, ref, layout, noise, resample, stop))
        worker.returned.connect(self._on_render_returned)
        worker.errored.connect(self._on_render_errored)
        worker.finished.connect(self._on_render_finished)
        self._render_worker = worker
        self.status.setText("Drawing…")
        self._render_thread = start_worker(worker)

    def _generator(self, ref: GeneratorRef):
        """(G, space, config) for ``ref``, loaded once; runs in the render thread."""
        try:
            stamp = ref.path.stat().st_mtime_ns
        except OSError:
            stamp = 0
        key = (str(ref.path), ref.which, stamp)
        with self._generators_lock:
            if key in self._generators:
                self._generators.move_to_end(key)
                return self._generators[key]
        loaded = load_generator(ref)
        with self._generators_lock:
            self._generators[key] = loaded
            while len(self._generators) > _KEEP_GENERATORS:
                self._generators.popitem(last=False)
        return loaded

    def _render_job(self, job_id, ref, layout, noise, resample, stop):
        """The render thread: bring the Explorer up to the request, then draw, handing rows over as they finish."""
        generator, space, config = self._generator(ref)
        explorer = self._explorer
        if explorer is None or explorer.space != space or explorer.nz != config.nz:
            explorer = Explorer(generator, space, config.nz, layout, noise, precision=self.precision)
            self._explorer = explorer
        else:
            if explorer.generator is not generator:
                explorer.set_generator(generator)
            if explorer.layout is not layout:
                explorer.set_layout(layout)
            explorer.set_noise(noise)
        for row in resample:
            if row < layout.rows:
                explorer.resample_row(row)
        self._relay.begin.emit(job_id, (explorer.mosaic_shape(), layout))
        result = explorer.render(
            on_rows=lambda first, end, strip: self._relay.rows.emit(job_id, first, end, strip),
            should_stop=stop.is_set,
        )
        return job_id, layout, result

    def _frame(self, layout: Layout) -> TimelineFrame:
        return TimelineFrame(0, layout.rows, layout.cols, list(layout.row_captions), list(layout.col_captions))

    def _on_render_begin(self, job_id: int, value) -> None:
        shape, layout = value
        if job_id != self._job_id:
            return
        if self.mosaic is None or self.mosaic.shape[:2] != tuple(shape):
            self.mosaic = np.full((shape[0], shape[1], 3), 255, dtype=np.uint8)
        self._shown_layout = layout
        self.view.set_frame(self.mosaic, self._frame(layout))
        self.title.setText(f"<b>{html.escape(str(self.ref))}</b>: {html.escape(layout.title or 'grid')}")

    def _on_render_rows(self, job_id: int, first: int, end: int, strip: np.ndarray) -> None:
        if job_id != self._job_id or self.mosaic is None:
            return
        layout = self._shown_layout
        pitch = (self.mosaic.shape[0] - GRID_PADDING) // max(layout.rows, 1)
        y = first * pitch
        self.mosaic[y : y + strip.shape[0]] = strip[: self.mosaic.shape[0] - y]
        self.view.canvas.update()
        self.rowsShown.emit(first, end)

    def _on_render_returned(self, value) -> None:
        job_id, layout, result = value
        if job_id != self._job_id or result.stopped:
            return
        self.mosaic = result.mosaic
        self.view.set_frame(self.mosaic, self._frame(layout))
        self._shown_layout = layout
        self.last_result = result
        self._last_error = ""
        self.render_count += 1
        self.complete = not self._dirty
        self.status.setText(
            f"{result.rows} x {result.cols} cells: {result.rendered} drawn, {result.cached} from the cache, "
            f"{result.seconds * 1000:.0f} ms"
        )
        self._update_controls()
        self.rendered.emit(result)

    def _on_render_errored(self, exc: BaseException) -> None:
        text = str(exc) if isinstance(exc, (StudioError, OSError)) else f"{type(exc).__name__}: {exc}"
        self.status.setText("Could not draw the grid")
        self._show_reason(text)
        if text != self._last_error:  # once, not again for every control touched afterwards
            self._last_error = text
            self.errorOccurred.emit("Cannot draw the grid", text, getattr(exc, "details", ""))

    def _on_render_finished(self) -> None:
        self._render_worker = None
        if self._dirty:
            self._kick()

    # --- export ---------------------------------------------------------------------------
    def _update_controls(self) -> None:
        has = self.layout is not None and self.ref is not None
        self.export_button.setEnabled(has and self.mosaic is not None)
        self.sheet_button.setEnabled(has and self._sheet_worker is None)
        self.resample_button.setEnabled(has)
        self.new_seed_button.setEnabled(has)

    def grid_title(self) -> str:
        return f"{self.layout.title} ({self.ref})" if self.layout and self.layout.title else str(self.ref or "")

    def export_png(self, path: str | Path, scale: int | None = None, captions: bool | None = None,
                   overwrite: bool = False) -> tuple[int, int] | None:
        """The grid shown as a PNG (atomic); returns its size, or None when refused."""
        from studio.core.atomic import atomic_save_image

        if self.mosaic is None or self.layout is None:
            return None
        if not self.complete:
            self.errorOccurred.emit("Cannot export", "The grid is still being drawn; export it when it is done.", "")
            return None
        scale = self.scale_spin.value() if scale is None else int(scale)
        captions = self.captions_check.isChecked() if captions is None else bool(captions)
        image = grid_image(self.mosaic, self._shown_layout, captions, scale,
                           title=self.grid_title() if captions else "")
        path = Path(path)
        try:
            atomic_save_image(image, path, format="PNG", overwrite=overwrite)
        except FileExistsError:
            self.errorOccurred.emit("Cannot export", f"{path}: already exists; choose another file", "")
            return None
        except OSError as exc:
            self.errorOccurred.emit("Cannot export", f"{path}: {exc.strerror or exc}", "")
            return None
        self.message.emit(f"Exported the explorer grid to {path} ({image.width}x{image.height} px)")
        return image.size

    def _start_folder(self) -> Path:
        return Path(self.run.path).parent.parent if self.run is not None else Path.home()

    def export_dialog(self) -> None:
        if self.mosaic is None:
            return
        name = f"{self.run.run_id if self.run else 'grid'}_{self.mode()}.png"
        chosen, _ = QFileDialog.getSaveFileName(self, "Export the grid", str(self._start_folder() / name),
                                                "PNG image (*.png)")
        if chosen:
            path, confirmed = _with_suffix(self, chosen, ".png")
            if path is not None:
                self.export_png(path, overwrite=confirmed)

    def export_sheet(self, path: str | Path, overwrite: bool = False) -> bool:
        """This layout through the last checkpoint, the newest average and the EMA, as one PNG (in the background)."""
        from studio.core.atomic import atomic_save_image
        from studio.core.explore import compare_generators
        from studio.core.sampling import compose_sheet

        if self.run is None or self.layout is None or self._sheet_worker is not None:
            return False
        path = Path(path)
        if path.exists() and not overwrite:
            self.errorOccurred.emit("Cannot export", f"{path}: already exists; choose another file", "")
            return False
        run, layout, noise, space, nz = self.run, self.layout, self.noise_settings(), self.space, self.nz
        scale = self.scale_spin.value()
        title = layout.title or ""

        def work(progress):
            refs = comparison_refs(run, run.averages()[-1:])
            if not refs:
                raise StudioError(f"{run.checkpoints_dir}: no generators to compare yet")
            generators = []
            for i, ref in enumerate(refs):
                progress(f"loading {ref}", i / len(refs))
                g, ref_space, _ = load_generator(ref)
                if ref_space != space:
                    raise StudioError(f"{ref.path}: its condition space differs from the layout's")
                label = f"last checkpoint ({ref.label})" if ref.kind == "checkpoint" else str(ref)
                generators.append((label, g))
            grids = compare_generators(generators, space, nz, layout, noise, scale=scale)
            sheet = compose_sheet(grids, columns=len(grids), title=f"{run.run_id}: {title}" if title else run.run_id)
            atomic_save_image(sheet, path, format="PNG", overwrite=overwrite)
            return path, [label for label, _ in grids], sheet.size

        worker = CallWorker(work)
        worker.returned.connect(self._on_sheet_done)
        worker.errored.connect(self._on_sheet_error)
        worker.finished.connect(self._on_sheet_finished)
        self._sheet_worker = worker
        self.status.setText("Drawing the sheet…")
        self._sheet_thread = start_worker(worker)
        self._update_controls()
        return True

    def _on_sheet_done(self, value) -> None:
        path, labels, size = value
        self.last_sheet = path
        self.status.setText(f"Saved the sheet {Path(path).name}")
        self.message.emit(f"Exported a sheet of {', '.join(labels)} to {path} ({size[0]}x{size[1]} px)")

    def _on_sheet_error(self, exc: BaseException) -> None:
        text = str(exc) if isinstance(exc, (StudioError, OSError)) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, FileExistsError):
            text = f"{exc}"
        self.status.setText("Could not save the sheet")
        self.errorOccurred.emit("Cannot export the sheet", text, getattr(exc, "details", ""))

    def _on_sheet_finished(self) -> None:
        self._sheet_worker = None
        self._update_controls()

    def sheet_busy(self) -> bool:
        return self._sheet_worker is not None

    def sheet_dialog(self) -> None:
        if self.layout is None or self.run is None:
            return
        name = f"{self.run.run_id}_{self.mode()}_sheet.png"
        chosen, _ = QFileDialog.getSaveFileName(self, "Export a sheet", str(self._start_folder() / name),
                                                "PNG image (*.png)")
        if chosen:
            path, confirmed = _with_suffix(self, chosen, ".png")
            if path is not None:
                self.export_sheet(path, overwrite=confirmed)

    # --- closing --------------------------------------------------------------------------
    def wait(self, timeout_ms: int | None = None) -> bool:
        """Block until the render and sheet threads have ended."""
        ok = join_thread(self._render_thread, timeout_ms)
        return join_thread(self._sheet_thread, timeout_ms) and ok

    def shutdown(self) -> None:
        self._debounce.stop()
        self._dirty = False
        self._render_stop.set()
        self.wait()

    def busy(self) -> bool:
        return thread_running(self._render_thread) or thread_running(self._sheet_thread)


class _blocked:
    """Block the signals of several widgets at once (superqt's signals_blocked, for many)."""

    def __init__(self, *widgets: QObject):
        self.widgets = widgets

    def __enter__(self):
        self.previous = [w.blockSignals(True) for w in self.widgets]
        return self

    def __exit__(self, *exc) -> None:
        for w, was in zip(self.widgets, self.previous):
            w.blockSignals(was)

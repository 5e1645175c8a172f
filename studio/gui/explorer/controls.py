"""The explorer's controls: the conditions a space offers (from its plain-data choices) and the noise.

:class:`ConditionControls` maps a space's
:class:`~studio.core.conditions.ExplorerChoices` to widgets (layouts, the
attribute pickers, values held, object sets, colour pickers, interpolation
ends) and reads them back as one
:class:`~studio.app.sampling.LayoutRequest`; it never asks which class a
space is.  :class:`NoiseControls` holds the seed, the row to resample and the
truncation.
"""

from __future__ import annotations

import torch
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import signals_blocked

from studio.app.sampling import LayoutRequest
from studio.core.conditions import ConditionSpace, ExplorerChoices, colour_hex
from studio.errors import StudioError
from studio.gui.builders import make_button, make_combo, make_line, make_spin

__all__ = ["ConditionControls", "choices_of"]

# Layouts whose rows and columns are two attributes, and those drawn along a number of steps.
_ROWS_COLS = ("table", "hue-map", "colour-table")
_STEPPED = ("noise-interp", "cond-interp", "hue-sweep", "hue-map")


def choices_of(space: ConditionSpace | None) -> ExplorerChoices:
    """The controls a space offers (none without a space)."""
    return space.explorer_choices() if space is not None else ExplorerChoices(modes=())


class ConditionControls(QGroupBox):
    """The "Conditions" box: a layout of the space shown and its settings; ``changed`` when they change."""

    changed = Signal()  # the layout asked for changed: build it again

    # The widgets the explorer panel has always offered under these names.
    WIDGETS = (
        "mode_combo",
        "rows_combo",
        "cols_combo",
        "fix_combo",
        "samples_spin",
        "steps_spin",
        "path_combo",
        "condition_edit",
        "condition_end_edit",
        "object_list",
        "add_set_button",
        "remove_set_button",
        "sets_list",
        "random_spin",
        "new_sets_button",
        "objects_reason",
        "objects_box",
        "colours_box",
        "colours_layout",
        "reason",
        "form",
        "rows_label",
        "cols_label",
        "fix_label",
        "samples_label",
        "steps_label",
        "condition_label",
        "condition_end_label",
    )

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Conditions", parent)
        self.space: ConditionSpace | None = None
        self.colour_buttons: list[QPushButton] = []
        self._colours: list[torch.Tensor] = []
        self._sets_seed = 1
        self._build_pickers()
        self._build_objects()
        self._build_form()
        self._connect()

    # --- building --------------------------------------------------------------------
    def _build_pickers(self) -> None:
        self.mode_combo = make_combo("explorerModeCombo", "How conditions and noise are laid out in the grid")
        self.rows_combo = make_combo("explorerRowsCombo", "The attribute whose values run down the rows")
        self.cols_combo = make_combo(
            "explorerColsCombo", "The attribute whose values run across the columns (the one that varies)"
        )
        self.fix_combo = make_combo("explorerFixCombo", "The value held fixed in every cell, e.g. 'blue eyes'")
        self.samples_spin = make_spin(
            "explorerSamplesSpin", 1, 32, 6, "How many noise samples: one per row or column, each shared by its cells"
        )
        self.steps_spin = make_spin(
            "explorerStepsSpin", 2, 32, 8, "Points along an interpolation, or hues round the colour circle"
        )
        self.path_combo = make_combo(
            "explorerPathCombo",
            "Linear: a straight line between the two noise vectors. "
            "Spherical: along the great circle, which keeps the norm G saw in training",
        )
        self.path_combo.addItem("Linear", "linear")
        self.path_combo.addItem("Spherical (slerp)", "slerp")
        self.condition_edit = make_line(
            "explorerConditionEdit", "The condition, as text (e.g. 'red hair, blue eyes'); Enter applies it"
        )
        self.condition_end_edit = make_line(
            "explorerConditionEndEdit", "The condition the interpolation ends at; Enter applies it"
        )
        # Colour spaces: one picker per attribute, made when the space is set.
        self.colours_box = QWidget()
        self.colours_box.setObjectName("explorerColours")
        self.colours_layout = QVBoxLayout(self.colours_box)
        self.colours_layout.setContentsMargins(0, 0, 0, 0)
        self.reason = QLabel()
        self.reason.setObjectName("explorerReason")
        self.reason.setWordWrap(True)
        self.reason.setProperty("error", True)
        self.reason.setToolTip("Why the last change could not be drawn")
        self.reason.hide()

    def _build_objects(self) -> None:
        """Multi-label: objects composing one set, the sets shown, random valid sets."""
        self.object_list = QListWidget()
        self.object_list.setObjectName("explorerObjectList")
        self.object_list.setToolTip("Tick the objects of one image, then 'Add row'")
        self.object_list.setMaximumHeight(150)
        self.add_set_button = make_button(
            "Add row", "explorerAddSetButton", "Add the ticked objects as one row of the grid"
        )
        self.remove_set_button = make_button(
            "Remove row", "explorerRemoveSetButton", "Remove the selected composed row"
        )
        self.sets_list = QListWidget()
        self.sets_list.setObjectName("explorerSetsList")
        self.sets_list.setToolTip("The composed object sets, one row each")
        self.sets_list.setMaximumHeight(80)
        self.sets_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.random_spin = make_spin(
            "explorerRandomSpin", 0, 24, 4, "Rows of random valid object sets added below the composed ones"
        )
        self.new_sets_button = make_button("New random sets", "explorerNewSetsButton", "Draw other random valid sets")
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

    def _build_form(self) -> None:
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
        box = QVBoxLayout(self)
        box.addLayout(self.form)
        box.addWidget(self.reason)

    def _connect(self) -> None:
        self.mode_combo.currentIndexChanged.connect(self._on_mode_changed)
        self.rows_combo.currentIndexChanged.connect(self._on_attributes_changed)
        self.cols_combo.currentIndexChanged.connect(self._on_attributes_changed)
        for widget in (self.fix_combo, self.path_combo):
            widget.currentIndexChanged.connect(self.changed)
        for spin in (self.samples_spin, self.steps_spin, self.random_spin):
            spin.valueChanged.connect(self.changed)
        self.condition_edit.editingFinished.connect(self.changed)
        self.condition_end_edit.editingFinished.connect(self.changed)
        self.object_list.itemChanged.connect(self._on_object_checked)
        self.add_set_button.clicked.connect(self.add_object_set)
        self.remove_set_button.clicked.connect(self._remove_object_set)
        self.new_sets_button.clicked.connect(self._new_random_sets)

    # --- the space -----------------------------------------------------------------------
    def set_space(self, space: ConditionSpace | None) -> None:
        """Fill the controls ``space`` offers and hide the others (no ``changed``: the caller builds)."""
        self.space = space
        choices = choices_of(space)
        with (
            signals_blocked(self.mode_combo),
            signals_blocked(self.rows_combo),
            signals_blocked(self.cols_combo),
            signals_blocked(self.fix_combo),
            signals_blocked(self.object_list),
        ):
            for widget in (
                self.mode_combo,
                self.rows_combo,
                self.cols_combo,
                self.fix_combo,
                self.object_list,
                self.sets_list,
            ):
                widget.clear()
            for key, label in choices.modes:
                self.mode_combo.addItem(label, key)
            for i, name in enumerate(choices.axes):
                self.rows_combo.addItem(name, i)
                self.cols_combo.addItem(name, i)
            if len(choices.axes) >= 2:
                self.cols_combo.setCurrentIndex(1)
            for name in choices.objects:
                item = QListWidgetItem(name)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Unchecked)
                self.object_list.addItem(item)
            self._make_colour_pickers(choices.colours)
            if space is not None and space.is_conditional:
                samples = space.sample(2, torch.Generator().manual_seed(1))
                self.condition_edit.setText(space.caption(samples[0]))
                self.condition_end_edit.setText(space.caption(samples[1]))
            self.objects_reason.clear()
            self.objects_reason.setProperty("error", False)
        self._show_for_mode()

    def mode(self) -> str:
        return self.mode_combo.currentData() or ""

    def _on_mode_changed(self, *_) -> None:
        self._show_for_mode()
        self.changed.emit()

    def _show_for_mode(self) -> None:
        """Show the rows of the form the layout chosen reads, named as it reads them."""
        mode, space = self.mode(), self.space
        choices = choices_of(space)
        show = {
            self.rows_combo: mode in _ROWS_COLS,
            self.cols_combo: mode in _ROWS_COLS or mode in ("vary", "hue-sweep"),
            self.fix_combo: mode == "vary" or (mode == "table" and len(choices.axes) > 2),
            self.colours_box: bool(choices.colours) and mode != "cond-interp",
            self.objects_box: mode == "sets",
            self.condition_edit: mode in ("noise-interp", "cond-interp") and space is not None and space.is_conditional,
            self.condition_end_edit: mode == "cond-interp",
            self.path_combo: mode == "noise-interp",
            self.steps_spin: mode in _STEPPED,
            self.samples_spin: mode not in (*_ROWS_COLS, ""),
        }
        for widget, visible in show.items():
            self.form.setRowVisible(widget, visible)
        self.cols_label.setText({"vary": "Varies", "hue-sweep": "Sweep"}.get(mode, "Columns"))
        self.rows_label.setText("Rows")
        self.samples_label.setText(
            {"noise": "Grid side", "noise-interp": "Rows", "cond-interp": "Rows"}.get(mode, "Samples")
        )
        self.steps_label.setText("Hues" if mode in ("hue-sweep", "hue-map") else "Steps")
        self.condition_label.setText("From" if mode == "cond-interp" else "Condition")
        self._fill_fixcombo()

    def _on_attributes_changed(self, *_) -> None:
        self._fill_fixcombo()
        self.changed.emit()

    def _fill_fixcombo(self) -> None:
        """Values of the attributes not on an axis, e.g. 'blue eyes' while hair varies."""
        held = choices_of(self.space).held
        previous = self.fix_combo.currentText()
        with signals_blocked(self.fix_combo):
            self.fix_combo.clear()
            if held:
                used = {self.cols_combo.currentData()}
                if self.mode() == "table":
                    used.add(self.rows_combo.currentData())
                for a, captions in enumerate(held):
                    if a in used:
                        continue
                    for v, caption in enumerate(captions):
                        self.fix_combo.addItem(caption, (a, v))
                index = self.fix_combo.findText(previous)
                self.fix_combo.setCurrentIndex(max(index, 0))

    # --- the request -------------------------------------------------------------------------
    def request(self) -> LayoutRequest:
        """The layout the controls ask for, in the words :func:`studio.app.sampling.build_layout` reads."""
        mode = self.mode()
        fixed = self.fix_combo.currentData()
        if mode == "sets":
            conditions = [self.sets_list.item(i).text() for i in range(self.sets_list.count())]
        elif mode == "cond-interp":
            conditions = [self.condition_edit.text().strip(), self.condition_end_edit.text().strip()]
        else:
            conditions = [self.condition_edit.text().strip()]
        return LayoutRequest(
            mode,
            conditions,
            rows=self.rows_combo.currentData(),
            cols=self.cols_combo.currentData(),
            fix={fixed[0]: fixed[1]} if fixed is not None else None,
            samples=self.samples_spin.value(),
            random=self.random_spin.value(),
            steps=self.steps_spin.value(),
            path=self.path_combo.currentData(),
            seed=self._sets_seed,
            colours=list(self._colours) or None,
        )

    def show_reason(self, text: str) -> None:
        self.reason.setText(text)
        self.reason.setVisible(bool(text))

    # --- multi-label objects ---------------------------------------------------------------
    def _checked_objects(self) -> list[str]:
        return [
            self.object_list.item(i).text()
            for i in range(self.object_list.count())
            if self.object_list.item(i).checkState() == Qt.CheckState.Checked
        ]

    def _set_objects_reason(self, text: str) -> None:
        self.objects_reason.setText(text)
        self.objects_reason.setProperty("error", bool(text))
        self.objects_reason.style().unpolish(self.objects_reason)
        self.objects_reason.style().polish(self.objects_reason)

    def _on_object_checked(self, item: QListWidgetItem) -> None:
        choices = choices_of(self.space)
        if not choices.objects:
            return
        least, most = choices.object_counts
        checked = self._checked_objects()
        if item.checkState() == Qt.CheckState.Checked and len(checked) > most:
            with signals_blocked(self.object_list):
                item.setCheckState(Qt.CheckState.Unchecked)
            self._set_objects_reason(
                f"At most {most} objects per image: this model was trained on {least} to {most}. Untick one first."
            )
            return
        self._set_objects_reason("")

    def add_object_set(self) -> bool:
        """Add the ticked objects as one row; refused (with the reason) outside min..max."""
        choices = choices_of(self.space)
        if not choices.objects:
            return False
        least, most = choices.object_counts
        names = self._checked_objects()
        if not least <= len(names) <= most:
            self._set_objects_reason(f"Tick {least} to {most} objects for one image (ticked: {len(names)}).")
            return False
        self._set_objects_reason("")
        self.sets_list.addItem(", ".join(names))
        self.changed.emit()
        return True

    def _remove_object_set(self) -> None:
        row = self.sets_list.currentRow()
        if row >= 0:
            self.sets_list.takeItem(row)
            self.changed.emit()

    def _new_random_sets(self) -> None:
        self._sets_seed += 1
        self.changed.emit()

    # --- colours ------------------------------------------------------------------------------
    def _make_colour_pickers(self, names: tuple[str, ...]) -> None:
        for b in self.colour_buttons:
            b.deleteLater()
        self.colour_buttons, self._colours = [], []
        if not names:
            return
        base = self.space.fixed_label()
        for i, name in enumerate(names):
            self._colours.append(base[3 * i : 3 * i + 3].clone())
            button = make_button(
                "", f"explorerColour_{name}", f"Choose the {name} colour held fixed (a colour dialog opens)"
            )
            button.clicked.connect(lambda checked=False, i=i: self.pick_colour(i))
            self.colours_layout.addWidget(button)
            self.colour_buttons.append(button)
        self._update_colour_buttons()

    def pick_colour(self, attribute: int) -> None:
        colours = choices_of(self.space).colours
        if not colours:
            return
        initial = QColor(colour_hex(self._colours[attribute]))
        chosen = QColorDialog.getColor(initial, self, f"{colours[attribute]} colour")
        if chosen.isValid():
            self.set_colour(attribute, chosen.name())

    def set_colour(self, attribute: int | str, value: str) -> None:
        """Hold ``attribute`` at ``value`` ('#rrggbb' or a colour name); ``changed`` once held."""
        space = self.space
        if not choices_of(space).colours:
            return
        i = space.attribute_index(attribute)
        try:
            self._colours[i] = space.colour_from_text(i, value).float()
        except StudioError as exc:
            self.show_reason(str(exc))
            return
        self._update_colour_buttons()
        self.changed.emit()

    def colours(self) -> list[str]:
        return [colour_hex(c) for c in self._colours]

    def _update_colour_buttons(self) -> None:
        for i, button in enumerate(self.colour_buttons):
            rgb = self._colours[i]
            text_colour = "#000" if float((rgb * torch.tensor([0.299, 0.587, 0.114])).sum()) > 0.55 else "#fff"
            button.setText(self.space.colour_caption(i, rgb))
            button.setStyleSheet(
                f"QPushButton {{ background-color: {colour_hex(rgb)}; color: {text_colour}; "
                "border: 1px solid #888; border-radius: 3px; padding: 4px 8px; }"
            )

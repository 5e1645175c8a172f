"""The model and hyperparameter panel: preset, family, sizes, loss, optimiser, run settings.

Every editor comes from :func:`studio.gui.binding.make_editor` and is bound
to the shared :class:`~studio.gui.binding.ConfigBinder`; this module only
lays them out, greys out settings the chosen family or loss ignores, offers
only the families the dataset's condition space supports, and shows the
parameter counts of G and D.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible
from superqt.utils import signals_blocked

from studio.core.config import FAMILIES, FAMILY_TABLE, TrainConfig, family_keys, family_spec
from studio.gui.binding import FIELDS, LABELS, ConfigBinder, make_editor
from studio.gui.scroll import fill_with_scroll

__all__ = ["ModelPanel", "GROUPS", "parameter_counts"]

# (title, always visible, behind "More ...")
GROUPS = (
    (
        "Model",
        ("family", "image_size", "channels", "nz", "ngf", "ndf"),
        (
            "g_input",
            "g_conditioning",
            "g_embed",
            "g_activation",
            "d_head",
            "d_embed",
            "d_dropout",
            "d_batchnorm",
            "d_spectral_norm",
            "d_minibatch_std",
        ),
    ),
    (
        "Loss",
        ("loss", "aux_weight", "aux_on_fake", "label_smoothing", "label_noise", "label_flip", "d_steps", "g_steps"),
        (
            "gp_weight",
            "mode_seeking",
            "aux_loss",
            "d2d_temperature",
            "lecam_weight",
            "r1_gamma",
            "r1_every",
            "diffaugment",
            "cr_weight",
        ),
    ),
    (
        "Optimisation",
        (
            "batch_size",
            "epochs",
            "g_lr",
            "g_betas",
            "d_lr",
            "d_betas",
            "lr_step_epochs",
            "lr_gamma",
            "ema",
            "ema_decay",
        ),
        (),
    ),
    (
        "Run",
        ("seed", "device", "precision"),
        (
            "compile",
            "cpu_threads",
            "log_every",
            "checkpoint_every",
            "keep_checkpoints",
            "disk_budget_gb",
            "sample_grid_max",
        ),
    ),
    (
        "Run health",
        ("collapse_alarm", "on_alarm", "score_every", "keep_best", "best_by", "score_features"),
        ("alarm_diversity", "alarm_d_gap", "alarm_d_steps", "alarm_acc_drop", "alarm_patience", "alarm_after"),
    ),
)
# Settings the dataset panel edits.
DATASET_KEYS = ("dataset", "dataset_size")

# What "Basic" shows: what matters for every family, then what matters for the chosen one.
BASIC_KEYS = ("family", "image_size", "ngf", "ndf", "loss", "batch_size", "epochs", "g_lr", "d_lr", "ema", "device")
BASIC_BY_FAMILY = {
    "dcgan": (),
    "cgan-concat": ("g_embed", "d_embed"),
    "cgan-projection": ("g_embed",),
    "acgan": ("g_embed", "aux_weight"),
}


def basic_keys(values: dict) -> set[str]:
    """The settings "Basic" shows for ``values`` (the family's own, the gradient penalty with WGAN-GP)."""
    keys = set(BASIC_KEYS) | set(BASIC_BY_FAMILY.get(values.get("family"), ()))
    if values.get("loss") == "wgan-gp":
        keys.add("gp_weight")
    return keys


# The family picker's text: each family's title in the one table of families.
FAMILY_TITLES = {name: family.title for name, family in FAMILY_TABLE.items()}


def parameter_counts(config: TrainConfig, space) -> tuple[int, int]:
    """Parameters of G and D, counted on the meta device (no memory, no init)."""
    import torch

    from studio.core.conditions import NoCondition
    from studio.core.models import Discriminator, Generator, count_parameters

    if not config.conditional:
        space = NoCondition()
    with torch.device("meta"):
        g = Generator(config, space)
        d = Discriminator(config, space)
    return count_parameters(g), count_parameters(d)


class ModelPanel(QWidget):
    presetChosen = Signal(str)  # preset name

    def __init__(self, binder: ConfigBinder, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("modelPanel")
        self.binder = binder
        self._presets = {}
        self.parameters: tuple[int, int] | None = None  # (G, D) for the settings shown

        content = QWidget()
        content.setObjectName("modelPanelContent")
        layout = QVBoxLayout(content)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(8)
        self._build_top(layout)
        self._build_level(layout)
        self._build_groups(layout)
        layout.addStretch(1)
        fill_with_scroll(self, content)

        for key in self.editors:
            binder.bind(self.editors[key])
        family = self.editors["family"]
        for i in range(family.count()):
            family.setItemText(i, FAMILY_TITLES.get(family.itemData(i), family.itemText(i)))

        self._counts_timer = QTimer(self)
        self._counts_timer.setSingleShot(True)
        self._counts_timer.setInterval(150)
        self._counts_timer.timeout.connect(self._update_counts)
        binder.configChanged.connect(self._on_config_changed)
        binder.spaceChanged.connect(self._on_space_changed)
        binder.validityChanged.connect(self._on_validity_changed)
        # Asked before a preset replaces the settings shown (the window asks when they are unsaved).
        self.confirm_preset: Callable[[str], bool] = lambda name: True
        self._shown_preset = ""
        self.preset_combo.activated.connect(self._on_preset_activated)
        self.load_presets()
        self._on_space_changed(binder.space)
        self._on_config_changed(binder.config)

    def _build_top(self, layout: QVBoxLayout) -> None:
        """The preset picker and the lines about the settings: condition, parameter counts, what is wrong."""
        self.preset_combo = QComboBox()
        self.preset_combo.setObjectName("presetCombo")
        self.preset_combo.setToolTip(
            "Load every setting from a recipe (resources/presets). Fields changed afterwards keep the project's values."
        )
        self.preset_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.preset_combo.setMinimumContentsLength(16)
        self.preset_description = QLabel()
        self.preset_description.setObjectName("presetDescription")
        self.preset_description.setWordWrap(True)
        self.preset_description.setProperty("hint", True)

        self.condition_label = QLabel()
        self.condition_label.setObjectName("conditionLabel")
        self.condition_label.setWordWrap(True)
        self.message = QLabel()
        self.message.setObjectName("configMessage")
        self.message.setWordWrap(True)
        self.message.setProperty("error", True)
        self.message.hide()
        self.counts = QLabel()
        self.counts.setObjectName("parameterCounts")
        self.counts.setToolTip("Trainable parameters of the generator and the discriminator with these settings")
        top = QFormLayout()
        top.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        top.addRow("Preset", self.preset_combo)
        layout.addLayout(top)
        layout.addWidget(self.preset_description)
        layout.addWidget(self.condition_label)
        layout.addWidget(self.counts)
        layout.addWidget(self.message)

    def _build_level(self, layout: QVBoxLayout) -> None:
        """Basic | Advanced: Basic shows what matters for the chosen family; hidden settings keep their values."""
        from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QPushButton

        from studio.gui.settings import settings

        self.basic_button = QPushButton("Basic")
        self.basic_button.setObjectName("modelBasicButton")
        self.basic_button.setToolTip("Only the settings that matter most for the chosen family")
        self.advanced_button = QPushButton("Advanced")
        self.advanced_button.setObjectName("modelAdvancedButton")
        self.advanced_button.setToolTip("Every setting. Settings Basic hides keep their values and still apply.")
        group = QButtonGroup(self)
        group.setExclusive(True)
        for b in (self.basic_button, self.advanced_button):
            b.setCheckable(True)
            group.addButton(b)
        self.level_note = QLabel()
        self.level_note.setObjectName("modelLevelNote")
        self.level_note.setProperty("hint", True)
        self.level_note.setWordWrap(True)
        row = QHBoxLayout()
        row.setSpacing(0)
        row.addWidget(self.basic_button)
        row.addWidget(self.advanced_button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(self.level_note)
        self.advanced = bool(settings().value("model/advanced", False, type=bool))
        (self.advanced_button if self.advanced else self.basic_button).setChecked(True)
        self.basic_button.toggled.connect(lambda on: self.set_advanced(not on))

    def set_advanced(self, advanced: bool) -> None:
        """Show every setting (True) or the basic ones; values never change here."""
        from studio.gui.settings import settings

        self.advanced = bool(advanced)
        with signals_blocked(self.basic_button):
            self.basic_button.setChecked(not self.advanced)
        self.advanced_button.setChecked(self.advanced)
        settings().setValue("model/advanced", self.advanced)
        self._update_visible()

    def _update_visible(self) -> None:
        if not hasattr(self, "_form_of"):
            return
        shown = None if self.advanced else basic_keys(self.binder.values) | set(self.binder.error_keys)
        for key, form in self._form_of.items():
            form.setRowVisible(self.editors[key], shown is None or key in shown)
        for box, keys, collapsible in self._boxes:
            box.setVisible(shown is None or any(k in shown for k in keys))
            if collapsible is not None:
                collapsible.setVisible(shown is None or any(k in shown for k in self._more_keys[collapsible]))
        hidden = 0 if shown is None else sum(1 for k in self._form_of if k not in shown)
        self.level_note.setText(
            f"{hidden} more settings under Advanced; they keep their values." if hidden else "Every setting is shown."
        )

    def _build_groups(self, layout: QVBoxLayout) -> None:
        """One box of editors per group of :data:`GROUPS`, the rarer settings behind "More ..."."""
        self.editors = {}
        self.labels = {}
        self._collapsible_of: dict[str, QCollapsible] = {}
        self._form_of: dict[str, QFormLayout] = {}
        self._boxes: list[tuple[QGroupBox, tuple, QCollapsible | None]] = []
        self._more_keys: dict[QCollapsible, tuple] = {}
        for title, main, more in GROUPS:
            box = QGroupBox(title)
            box.setObjectName(f"group{title}")
            box_layout = QVBoxLayout(box)
            box_layout.setContentsMargins(8, 6, 8, 6)
            box_layout.addLayout(self._form(main))
            if more:
                collapsible = QCollapsible(f"More {title.lower()} settings")
                collapsible.setObjectName(f"more{title}")
                inner = QWidget()
                inner.setLayout(self._form(more))
                collapsible.addWidget(inner)
                for key in more:
                    self._collapsible_of[key] = collapsible
                collapsible.layout().setContentsMargins(0, 0, 0, 0)
                box_layout.addWidget(collapsible)
                self._more_keys[collapsible] = tuple(more)
            layout.addWidget(box)
            self._boxes.append((box, (*main, *more), collapsible if more else None))
        # A setting the core adds later still gets its editor, until it is given a place above.
        placed = {k for _, main, more in GROUPS for k in (*main, *more)} | set(DATASET_KEYS)
        others = tuple(k for k in FIELDS if k not in placed)
        if others:
            box = QGroupBox("Other")
            box.setObjectName("groupOther")
            box.setLayout(self._form(others))
            layout.addWidget(box)

    def _form(self, keys) -> QFormLayout:
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setContentsMargins(0, 0, 0, 0)
        for key in keys:
            editor = make_editor(key)
            label = QLabel(LABELS.get(key, key))
            label.setToolTip(editor.toolTip())
            label.setBuddy(editor)
            form.addRow(label, editor)
            self.editors[key] = editor
            self.labels[key] = label
            self._form_of[key] = form
        return form

    # --- presets ------------------------------------------------------------
    def load_presets(self) -> None:
        from studio.presets import list_presets

        try:
            presets = list_presets()
        except Exception:  # noqa: BLE001 - a broken preset file must not take the panel down
            presets = []
        self._presets = {p.name: p for p in presets}
        with signals_blocked(self.preset_combo):
            self.preset_combo.clear()
            for p in presets:
                self.preset_combo.addItem(p.title, p.name)
                self.preset_combo.setItemData(self.preset_combo.count() - 1, p.description, Qt.ItemDataRole.ToolTipRole)
            self.preset_combo.setCurrentIndex(-1)
            self.preset_combo.setPlaceholderText("(custom)")

    def preset(self, name: str):
        return self._presets.get(name)

    def show_preset(self, name: str) -> None:
        """Select ``name`` in the combo without applying it (a project was opened)."""
        self._shown_preset = name
        with signals_blocked(self.preset_combo):
            self.preset_combo.setCurrentIndex(self.preset_combo.findData(name))
        preset = self._presets.get(name)
        plain, _, details = (preset.description if preset else "").partition(" Details: ")
        self.preset_description.setText(plain)  # one plain sentence; the recipe's details in the tooltip
        self.preset_description.setToolTip(details or plain)
        self.preset_description.setVisible(bool(preset and preset.description))

    def _on_preset_activated(self, index: int) -> None:
        name = self.preset_combo.itemData(index)
        preset = self._presets.get(name)
        if preset is None:
            return
        if not self.confirm_preset(name):
            self.show_preset(self._shown_preset)  # the combo goes back to what the settings still are
            return
        self.show_preset(name)
        self.binder.load(preset.config, edited=True)
        self.presetChosen.emit(name)

    # --- reactions ----------------------------------------------------------
    def _on_space_changed(self, space) -> None:
        family = self.editors["family"]
        if space is None:
            self.condition_label.setText("Condition: unknown until the dataset can be read")
            self.condition_label.setToolTip("")
            return
        conditional = space.is_conditional
        reason = "the dataset has no labels; only dcgan trains on it"
        for name in FAMILIES:
            family.set_choice_enabled(name, conditional or not family_spec(name).conditional, reason)
        if conditional:
            from studio.gui.plain_words import condition_exact, condition_words

            self.condition_label.setText(f"Condition: {condition_words(space)} — all four families are offered.")
            self.condition_label.setToolTip(condition_exact(space))
        else:
            self.condition_label.setText("Condition: none (unlabelled images) — only DCGAN is offered.")
            self.condition_label.setToolTip("no condition: unconditional generation")

    def _on_validity_changed(self, reason: str) -> None:
        self.message.setText(f"Not accepted: {reason}" if reason else "")
        self.message.setVisible(bool(reason))
        # A refused setting hidden in a folded group would leave the user guessing.
        for key in self.binder.error_keys:
            collapsible = self._collapsible_of.get(key)
            if collapsible is not None and not collapsible.isExpanded():
                collapsible.expand(animate=False)
        self._update_enabled()
        self._update_visible()  # a refused setting is shown, even in Basic

    def _on_config_changed(self, config: TrainConfig) -> None:
        shown = self._presets.get(self._shown_preset)
        if shown is not None and shown.config.dataset != config.dataset:
            self.show_preset("")  # another dataset: the preset's words ("hair x eye colours") no longer apply
        self._update_enabled()
        self._update_visible()
        self._counts_timer.start()

    def _update_enabled(self) -> None:
        """Grey out what the chosen family, loss or schedule ignores (values stay as they are).

        A refused setting stays editable even then (NaN in gp_weight with the loss bce): the core
        refuses it whatever the loss, and a greyed-out field could not be put right.
        """
        values = self.binder.values
        family, loss = values["family"], values["loss"]
        # Settings of some families only (aux_weight, d_embed, ...), as the config's field metadata says.
        enable = {key: family in families for key, families in family_keys().items()}
        enable |= {
            "gp_weight": loss == "wgan-gp",
            "lr_gamma": values["lr_step_epochs"] > 0,
            "r1_every": values["r1_gamma"] > 0,
            "ema_decay": bool(values["ema"]),
            "dataset_size": str(values["dataset"]).startswith("builtin:"),
        }
        for key, on in enable.items():
            on = on or self.binder.is_refused(key)
            if key in self.editors:
                self.editors[key].setEnabled(on)
                self.labels[key].setEnabled(on)

    def _update_counts(self) -> None:
        space = self.binder.space
        config = self.binder.config
        if space is None:
            self.counts.setText("Parameters: unknown (dataset unreadable)")
            return
        try:
            g, d = parameter_counts(config, space)
        except Exception as exc:  # noqa: BLE001 - a model that cannot be built is shown, not raised
            self.counts.setText(f"Parameters: cannot build this model ({exc})")
            return
        self.counts.setText(f"Parameters: <b>G {g:,}</b> &nbsp;·&nbsp; <b>D {d:,}</b>")
        self.parameters = (g, d)

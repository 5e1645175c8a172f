"""Editors for TrainConfig fields and the two-way binding between them and the config.

One editor per setting, its ``objectName`` the setting's key, its range and
choices from the field's metadata, its tooltip from the field's help text.
:class:`ConfigBinder` writes the config from the editors and the editors from
the config; the second direction runs with the editors' signals blocked, so a
load never echoes back as an edit.

Validity is the core's business: every edit rebuilds the config with
``TrainConfig.from_dict`` and checks it against the dataset's condition space
(``check_against``) and the device (``resolve_device``/``resolve_precision``).
A refused edit leaves the last valid config in place, marks the field(s)
involved and says why.
"""

from __future__ import annotations

import math
import re
from dataclasses import MISSING, fields
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLineEdit,
    QSpinBox,
    QWidget,
)
from superqt.utils import signals_blocked

from studio.core.config import TrainConfig
from studio.errors import StudioError

__all__ = [
    "ConfigBinder",
    "FIELDS",
    "LABELS",
    "make_editor",
    "field_tooltip",
    "device_choices",
]

FIELDS = {f.name: f for f in fields(TrainConfig)}

# Short labels for the form rows; the tooltips carry the explanation.
LABELS = {
    "dataset": "Dataset",
    "dataset_size": "Images to draw",
    "image_size": "Image size",
    "channels": "Channels",
    "family": "Family",
    "nz": "Noise length (nz)",
    "ngf": "G width (ngf)",
    "ndf": "D width (ndf)",
    "g_input": "G input layer",
    "g_conditioning": "G conditioning",
    "g_embed": "G embedding",
    "g_activation": "G activation",
    "d_head": "D head",
    "d_embed": "D embedding",
    "d_dropout": "D dropout",
    "d_batchnorm": "BatchNorm in D",
    "d_spectral_norm": "Spectral norm in D",
    "d_minibatch_std": "Minibatch std in D",
    "loss": "Loss",
    "aux_weight": "Aux weight",
    "aux_on_fake": "Aux loss on fakes",
    "aux_loss": "Aux classifier loss",
    "d2d_temperature": "D2D-CE temperature",
    "label_smoothing": "Label smoothing",
    "label_noise": "Label noise",
    "label_flip": "Label flip",
    "gp_weight": "GP weight",
    "lecam_weight": "LeCam weight",
    "r1_gamma": "R1 gamma",
    "r1_every": "R1 every",
    "mode_seeking": "Mode seeking",
    "diffaugment": "DiffAugment",
    "cr_weight": "Consistency (bCR) weight",
    "d_steps": "D steps",
    "g_steps": "G steps",
    "batch_size": "Batch size",
    "epochs": "Epochs",
    "g_lr": "G learning rate",
    "d_lr": "D learning rate",
    "g_betas": "G Adam betas",
    "d_betas": "D Adam betas",
    "lr_step_epochs": "LR step every",
    "lr_gamma": "LR step factor",
    "ema": "EMA of G",
    "ema_decay": "EMA decay",
    "seed": "Seed",
    "device": "Device",
    "precision": "Precision",
    "compile": "Compiled step",
    "cpu_threads": "CPU threads",
    "log_every": "Report every",
    "checkpoint_every": "Checkpoint every",
    "keep_checkpoints": "Full checkpoints kept",
    "disk_budget_gb": "Disk budget (GB)",
    "sample_grid_max": "Grid images",
    "collapse_alarm": "Collapse alarm",
    "alarm_diversity": "Alarm: diversity below",
    "alarm_d_gap": "Alarm: D(x) - D(G(z)) above",
    "alarm_d_steps": "Alarm: held for",
    "alarm_acc_drop": "Alarm: accuracy fall",
    "alarm_patience": "Alarm patience",
    "alarm_after": "Alarm from epoch",
    "on_alarm": "On alarm",
    "score_every": "Score every",
    "keep_best": "Best generators kept",
    "best_by": "Best by",
    "score_features": "FID of the scores in",
}

SUFFIXES = {
    "image_size": " px",
    "epochs": " epochs",
    "lr_step_epochs": " epochs",
    "log_every": " steps",
    "checkpoint_every": " epochs",
    "dataset_size": " images",
    "alarm_d_steps": " steps",
    "r1_every": " D steps",
    "alarm_patience": " epochs",
    "score_every": " epochs",
}

# Learning rates and weights span decades: arrows step by a factor, not by an amount.
LOG_STEP = {"g_lr", "d_lr", "aux_weight", "gp_weight", "lecam_weight", "r1_gamma"}

_INT_MAX = 2**31 - 1

# What a float being typed may look like on its way to a number: "", "-", ".", "1e", "2.5e-".
_PARTIAL_FLOAT = re.compile(r"[+-]?(?:\.|(?:\d+\.?\d*|\.\d+)[eE][+-]?)?")


def _default(f) -> Any:
    return f.default if f.default is not MISSING else f.default_factory()


def _finite(value: Any) -> bool:
    """False for NaN or infinity, alone or in a list (betas); True for anything else."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(_finite(v) for v in value)
    return True


def field_tooltip(key: str) -> str:
    f = FIELDS[key]
    meta = f.metadata
    text = meta.get("help", "")
    if "choices" in meta:
        text += "\nChoices: " + ", ".join(str(c) for c in meta["choices"]) + "."
    elif "min" in meta or "max" in meta:
        lo, hi = meta.get("min"), meta.get("max")
        if lo is not None and hi is not None:
            text += f"\nAllowed: {lo:g} to {hi:g}."
        elif lo is not None:
            text += f"\nAllowed: at least {lo:g}."
    return f"{key}: {text}"


def device_choices() -> list[tuple[str, str]]:
    """(value, label) for auto, the CPU and each CUDA device present."""
    import torch

    out = [("auto", "auto (CUDA when present)"), ("cpu", "CPU")]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            out.append((f"cuda:{i}", f"cuda:{i} ({torch.cuda.get_device_name(i)})"))
        if torch.cuda.device_count() >= 2:  # trained by a child process per device, followed through its files
            out.append(("cuda:all", f"all {torch.cuda.device_count()} CUDA devices"))
    return out


# --- editors ---------------------------------------------------------------------------


class FloatSpinBox(QDoubleSpinBox):
    """A double spin box that shows 2e-4 as 0.0002 (not 0.00) and steps by a factor when asked.

    NaN and infinity never get in: Python's ``float`` reads "nan", "inf" and "1e999", so the
    validator refuses them at the keystroke (or the paste), and ``setValue`` ignores them where
    Qt would show NaN as the maximum and infinity as a bound.
    """

    edited = Signal()

    def __init__(self, log_step: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self.log_step = log_step
        self.setDecimals(12)  # keep the value exact; the text is formatted below
        self.setKeyboardTracking(False)
        self.valueChanged.connect(lambda _: self.edited.emit())

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:
        try:
            value = float(text.replace(self.suffix(), "").strip())
        except ValueError:
            return self.value()
        return value if math.isfinite(value) else self.value()

    def validate(self, text: str, pos: int):
        body = text.replace(self.suffix(), "").strip()
        if _PARTIAL_FLOAT.fullmatch(body):
            return QValidator.State.Intermediate, text, pos
        try:
            value = float(body)
        except ValueError:
            return QValidator.State.Invalid, text, pos
        if not math.isfinite(value):
            return QValidator.State.Invalid, text, pos
        if self.minimum() <= value <= self.maximum():
            return QValidator.State.Acceptable, text, pos
        return QValidator.State.Intermediate, text, pos

    def setValue(self, value: float) -> None:
        """Show ``value``; NaN and infinity are refused (the value shown stays)."""
        if math.isfinite(value):
            super().setValue(value)

    def stepBy(self, steps: int) -> None:
        if self.log_step and self.value() > 0:
            self.setValue(self.value() * (10 ** (steps / 4)))
        else:
            super().stepBy(steps)


class IntSpinBox(QSpinBox):
    edited = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setKeyboardTracking(False)
        self.setGroupSeparatorShown(True)
        self.valueChanged.connect(lambda _: self.edited.emit())


class ChoiceCombo(QComboBox):
    edited = Signal()

    def __init__(self, choices: list[tuple[Any, str]], parent: QWidget | None = None):
        super().__init__(parent)
        for value, label in choices:
            self.addItem(label, value)
        self.currentIndexChanged.connect(lambda _: self.edited.emit())

    def value(self) -> Any:
        return self.currentData()

    def set_value(self, value: Any) -> None:
        index = self.findData(value)
        if index < 0:  # e.g. cuda:3 from another machine: show it, let validation speak
            self.addItem(str(value), value)
            index = self.count() - 1
        self.setCurrentIndex(index)

    def set_choice_enabled(self, value: Any, enabled: bool, reason: str = "") -> None:
        from PySide6.QtCore import Qt

        index = self.findData(value)
        if index < 0:
            return
        item = self.model().item(index)
        if item is not None:
            flags = item.flags()
            item.setFlags(flags | Qt.ItemFlag.ItemIsEnabled if enabled else flags & ~Qt.ItemFlag.ItemIsEnabled)
            item.setToolTip("" if enabled else reason)


class BoolCheck(QCheckBox):
    edited = Signal()

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(text, parent)
        self.toggled.connect(lambda _: self.edited.emit())

    def value(self) -> bool:
        return self.isChecked()

    def set_value(self, value: bool) -> None:
        self.setChecked(bool(value))


class BetasEditor(QWidget):
    """Adam's two betas side by side."""

    edited = Signal()

    def __init__(self, key: str, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.spins = []
        for i in (1, 2):
            spin = FloatSpinBox()
            spin.setObjectName(f"{key}_beta{i}")
            spin.setRange(0.0, 0.999999)
            spin.setSingleStep(0.01 if i == 1 else 0.001)
            spin.edited.connect(self.edited)
            layout.addWidget(spin)
            self.spins.append(spin)

    def value(self) -> list[float]:
        return [s.value() for s in self.spins]

    def set_value(self, value) -> None:
        for spin, v in zip(self.spins, list(value) + [0.0, 0.0]):
            with signals_blocked(spin):
                spin.setValue(float(v))

    def blockSignals(self, block: bool) -> bool:
        for spin in self.spins:
            spin.blockSignals(block)
        return super().blockSignals(block)


class SpecLineEdit(QLineEdit):
    """The dataset spec as text (builtin:NAME or folder:PATH); commits on Enter or focus out."""

    edited = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._committed = ""
        self.editingFinished.connect(self._on_editing_finished)

    def _on_editing_finished(self) -> None:
        if self.text().strip() != self._committed:
            self._committed = self.text().strip()
            self.edited.emit()

    def value(self) -> str:
        return self.text().strip()

    def set_value(self, value: str) -> None:
        self._committed = str(value)
        self.setText(str(value))


def make_editor(key: str) -> QWidget:
    """The editor of one TrainConfig field, named after it, with range and tooltip."""
    f = FIELDS[key]
    meta = f.metadata
    default = _default(f)
    editor: QWidget
    if key == "device":
        editor = ChoiceCombo(device_choices())
    elif key == "dataset":
        editor = SpecLineEdit()
        editor.setPlaceholderText("builtin:faces or folder:/path/to/images")
    elif "choices" in meta:
        editor = ChoiceCombo([(c, f"{c} px" if key == "image_size" else str(c)) for c in meta["choices"]])
    elif isinstance(default, bool):
        editor = BoolCheck()
    elif isinstance(default, list):
        editor = BetasEditor(key)
    elif isinstance(default, int):
        editor = IntSpinBox()
        editor.setRange(int(meta.get("min", 0)), int(min(meta.get("max", _INT_MAX), _INT_MAX)))
        if key in SUFFIXES:
            editor.setSuffix(SUFFIXES[key])
        if key == "dataset_size":
            editor.setSpecialValueText("default (12,000)")
            editor.setSingleStep(1000)
        if key == "cpu_threads":
            editor.setSpecialValueText("auto (follows free cores)")
        if key in ("nz", "ngf", "ndf", "batch_size"):
            editor.setSingleStep(8)
    elif isinstance(default, float):
        editor = FloatSpinBox(log_step=key in LOG_STEP)
        editor.setRange(float(meta.get("min", 0.0)), float(meta.get("max", 1e9)))
        span = float(meta.get("max", 1.0)) - float(meta.get("min", 0.0))
        editor.setSingleStep(0.05 if span <= 1.0 else 1.0)
        if key == "ema_decay":
            editor.setSingleStep(0.001)
    else:
        editor = SpecLineEdit()
    editor.setObjectName(key)
    editor.setToolTip(field_tooltip(key))
    editor.setProperty("configKey", key)
    return editor


def editor_value(editor: QWidget) -> Any:
    if isinstance(editor, (QSpinBox, QDoubleSpinBox)):
        return editor.value()
    return editor.value()


def set_editor_value(editor: QWidget, value: Any) -> None:
    with signals_blocked(editor):
        if isinstance(editor, (QSpinBox, QDoubleSpinBox)):
            editor.setValue(value)
        else:
            editor.set_value(value)


# --- the binder ---------------------------------------------------------------------------

_SOURCE = "settings"


def _readable(exc: Exception) -> str:
    text = str(exc)
    return text[len(_SOURCE) + 2 :] if text.startswith(_SOURCE + ": ") else text


class ConfigBinder(QObject):
    """Holds the editors' values and the last valid TrainConfig made from them."""

    configChanged = Signal(object)  # a new valid TrainConfig (from an edit or a load)
    configEdited = Signal(object)  # the same, only when the user made it (the project becomes dirty)
    validityChanged = Signal(str)  # "" when valid, else the reason
    spaceChanged = Signal(object)  # the dataset's ConditionSpace, or None when it cannot be read

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.editors: dict[str, QWidget] = {}
        self.config = TrainConfig()
        self.values: dict[str, Any] = self.config.to_dict()
        self.error = ""
        self.error_keys: set[str] = set()
        self.space = None
        self._space_cache: dict[str, Any] = {}
        self._dataset_len: tuple[str, int, int, int] | None = None  # (spec, size setting, image size, images)

    # --- editors ------------------------------------------------------------
    def bind(self, editor: QWidget) -> None:
        key = editor.objectName()
        if key not in FIELDS:
            raise KeyError(f"{key!r} is not a TrainConfig setting")
        self.editors[key] = editor
        editor.setProperty("invalid", False)
        set_editor_value(editor, self.values[key])
        editor.edited.connect(lambda key=key: self._on_editor_changed(key))
        spins = editor.spins if isinstance(editor, BetasEditor) else [editor]
        for spin in spins:
            if isinstance(spin, QAbstractSpinBox):
                spin.editingFinished.connect(lambda key=key: self._on_editor_committed(key))

    def _on_editor_changed(self, key: str) -> None:
        self.values[key] = editor_value(self.editors[key])
        self._revalidate(edited=key)

    def _on_editor_committed(self, key: str) -> None:
        # Enter (or leaving the field) takes the number shown when the setting holds NaN or infinity
        # (from set_value or a load), which the editor cannot show: its value did not change, so no
        # edit was signalled. Only then: a finite value the editor rounded stays as it was loaded.
        if not _finite(self.values[key]):
            self._on_editor_changed(key)

    def set_value(self, key: str, value: Any) -> None:
        """Change one setting as if the user edited it (dataset picker, drag and drop).

        NaN or infinity does not go through the editor, which cannot show it (a spin box would
        turn it into a bound): it is kept as given, so the core refuses it by name.
        """
        if key in self.editors and _finite(value):
            set_editor_value(self.editors[key], value)
            self.values[key] = editor_value(self.editors[key])
        else:
            self.values[key] = value
        self._revalidate(edited=key)

    # --- loads ----------------------------------------------------------------
    def load(self, config: TrainConfig, edited: bool = False) -> None:
        """Show ``config`` in every editor (a project or preset); no edit echoes back."""
        self.values = config.to_dict()
        for key, editor in self.editors.items():
            set_editor_value(editor, self.values[key])
        self._revalidate(edited=None, user=edited, force=True)

    def refresh(self) -> None:
        """Check again (e.g. a folder's classes changed, or the dataset finished loading)."""
        self._space_cache.clear()
        self._revalidate(edited=None, user=False)

    def set_dataset_length(self, spec: str, size: int, image_size: int, n: int | None) -> None:
        self._dataset_len = None if n is None else (spec, size, image_size, n)
        self._revalidate(edited=None, user=False)

    # --- validation -----------------------------------------------------------
    def space_for(self, spec: str):
        from studio.data.dataset import dataset_space

        if spec not in self._space_cache:
            self._space_cache[spec] = dataset_space(spec)
        return self._space_cache[spec]

    def check(self, values: dict) -> tuple[TrainConfig | None, Any, str]:
        """(config, space, reason): the core's verdict on ``values``."""
        from studio.core.device import resolve_device, resolve_precision

        # The dataset's space first: the panels show it even while another setting is refused.
        try:
            space = self.space_for(str(values.get("dataset", "")))
        except StudioError as exc:
            return None, None, _readable(exc)
        try:
            config = TrainConfig.from_dict(values, source=_SOURCE)
        except StudioError as exc:
            return None, space, _readable(exc)
        try:
            config.check_against(space, source=_SOURCE)
            device = resolve_device(config.device)
            resolve_precision(config.precision, device)
        except StudioError as exc:
            return None, space, _readable(exc)
        known = self._dataset_len
        if (
            known is not None
            and known[:3] == (config.dataset, config.dataset_size, config.image_size)
            and known[3] < config.batch_size
        ):
            # The trainer refuses this too, but only at Train; here it is refused at the field.
            return (
                None,
                space,
                (
                    f"{config.dataset} has {known[3]} images, fewer than one batch ({config.batch_size}); "
                    "lower batch_size"
                ),
            )
        return config, space, ""

    def _revalidate(self, edited: str | None, user: bool = True, force: bool = False) -> None:
        config, space, reason = self.check(self.values)
        if (space is None) != (self.space is None) or (space is not None and space != self.space):
            self.space = space
            self.spaceChanged.emit(space)
        keys: set[str] = set()
        if reason:
            keys = {k for k in FIELDS if re.search(rf"(?<![\w-]){re.escape(k)}(?![\w-])", reason)}
            if edited:
                keys.add(edited)
            if not keys and space is None:
                keys = {"dataset"}
        self._mark(keys, reason)
        if reason != self.error:
            self.error = reason
            self.validityChanged.emit(reason)
        if config is not None and (force or config != self.config):
            changed = config != self.config
            self.config = config
            self.configChanged.emit(config)
            if user and (changed or edited is None):
                self.configEdited.emit(config)

    def _mark(self, keys: set[str], reason: str) -> None:
        # The marked set is kept here, not read back with editor.property(): see _pyside_compat.
        for key, editor in self.editors.items():
            bad = key in keys
            tip = field_tooltip(key) + (f"\n\nRefused: {reason}" if bad else "")
            if (key in self.error_keys) != bad:
                editor.setProperty("invalid", bad)
                editor.style().unpolish(editor)
                editor.style().polish(editor)
            editor.setToolTip(tip)
        self.error_keys = keys

    def is_refused(self, key: str) -> bool:
        return key in self.error_keys

    @property
    def valid(self) -> bool:
        return not self.error

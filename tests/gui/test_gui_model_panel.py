"""The hyperparameter editors: one per setting, tooltips, ranges, binding, refusals at the field."""

from __future__ import annotations

import math
from dataclasses import fields

import pytest
from gui_helpers import button, editor, make_folder_dataset, set_field, wait_dataset
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QLabel, QMessageBox, QSpinBox, QWidget

from studio.core.config import TrainConfig, field_help
from studio.gui.binding import ConfigBinder
from studio.gui.model_panel import ModelPanel

_DEFAULTS = TrainConfig().to_dict()
FLOAT_KEYS = [k for k, v in _DEFAULTS.items() if isinstance(v, float)]
LIST_KEYS = [k for k, v in _DEFAULTS.items() if isinstance(v, list)]  # the betas: a spin box per number
# (setting, editor): every spin box that edits a float, the betas' two included.
FLOAT_SPINS = [(k, k) for k in FLOAT_KEYS] + [(k, f"{k}_beta{i}") for k in LIST_KEYS for i in (1, 2)]
# All of them read as a float by Python, NaN or infinite.
NON_FINITE = ("nan", "inf", "-inf", "infinity", "NaN", "1e999")


def _refused(window, key: str) -> bool:
    marked = editor(window, key).property("invalid")  # what the style sheet sees
    assert marked == window.binder.is_refused(key)
    return marked


def test_every_setting_has_one_named_editor_with_help(make_window, example):
    window = make_window(example)
    set_field(window, "dataset_size", 64)
    for f in fields(TrainConfig):
        w = editor(window, f.name)
        assert field_help(f.name) in w.toolTip(), f.name
    ngf = editor(window, "ngf")
    assert isinstance(ngf, QSpinBox) and (ngf.minimum(), ngf.maximum()) == (1, 1024)
    assert "Allowed: 1 to 1024" in ngf.toolTip()
    family = editor(window, "family")
    assert [family.itemData(i) for i in range(family.count())] == ["dcgan", "cgan-concat", "cgan-projection", "acgan"]
    device = editor(window, "device")
    assert device.findData("auto") >= 0 and device.findData("cpu") >= 0


def test_editors_write_the_config_and_the_config_writes_the_editors(make_window, example):
    window = make_window(example)
    set_field(window, "dataset_size", 64)
    set_field(window, "g_lr", 0.0005)
    set_field(window, "g_betas", [0.0, 0.99])
    set_field(window, "loss", "hinge")
    set_field(window, "ema", False)
    config = window.project.config
    assert (config.g_lr, config.g_betas, config.loss, config.ema) == (0.0005, [0.0, 0.99], "hinge", False)
    assert editor(window, "g_lr").text() == "0.0005"

    window.binder.load(TrainConfig(ngf=48, dataset_size=64))
    assert editor(window, "ngf").value() == 48
    assert editor(window, "loss").currentData() == "bce"


def test_out_of_range_values_are_clamped_by_the_editor(make_window, example):
    window = make_window(example)
    set_field(window, "dataset_size", 64)
    ngf = editor(window, "ngf")
    ngf.setValue(0)
    assert ngf.value() == 1
    lr = editor(window, "d_lr")
    lr.setValue(5.0)
    assert lr.value() == 1.0
    assert window.project.config.ngf == 1


def test_invalid_combination_is_refused_at_the_field(make_window, example):
    window = make_window(example)
    set_field(window, "dataset_size", 64)
    assert button(window, "trainButton").isEnabled() or window.dataset_panel.is_loading()
    set_field(window, "d_batchnorm", True)
    set_field(window, "loss", "wgan-gp")
    assert window.project.config.loss == "bce"  # refused: the config keeps its last valid value
    assert _refused(window, "loss") and _refused(window, "d_batchnorm")
    message = window.findChild(QLabel, "configMessage")
    assert not message.isHidden() and "d_batchnorm" in message.text()
    assert not button(window, "trainButton").isEnabled()
    reason = window.findChild(QLabel, "trainReason")
    assert reason.isVisibleTo(window) and "d_batchnorm" in reason.text()
    assert "d_batchnorm" in editor(window, "loss").toolTip()

    set_field(window, "d_batchnorm", False)
    assert window.project.config.loss == "wgan-gp"
    assert not _refused(window, "loss") and message.isHidden()


def test_conditional_family_refused_on_an_unlabelled_folder(make_window, example, qtbot, tmp_path):
    window = make_window(example)
    set_field(window, "dataset_size", 64)
    folder = make_folder_dataset(tmp_path / "faces", classes=("all",), per_class=20)
    window.dataset_panel.set_folder(folder)
    assert _refused(window, "family")
    assert "labelled dataset" in window.binder.error
    family = editor(window, "family")
    assert not family.model().item(family.findData("cgan-projection")).isEnabled()
    assert "only DCGAN" in window.findChild(QLabel, "conditionLabel").text()
    assert window.project.config.dataset == "builtin:faces"
    assert not button(window, "trainButton").isEnabled()

    set_field(window, "family", "dcgan")
    assert not _refused(window, "family")
    assert window.project.config.dataset == f"folder:{folder}"
    assert window.project.config.family == "dcgan"
    # The unlabelled folder still previews.
    qtbot.waitUntil(lambda: window.findChild(QWidget, "datasetPreview").count() == 20, timeout=20_000)


def test_precision_float16_refused_on_cpu(make_window, example):
    window = make_window(example)
    set_field(window, "dataset_size", 64)
    set_field(window, "device", "cpu")
    set_field(window, "precision", "float16")
    assert _refused(window, "precision")
    assert "CUDA" in window.binder.error


def test_batch_larger_than_the_dataset_is_refused(make_window, example, qtbot):
    window = make_window(example)
    set_field(window, "dataset_size", 64)
    wait_dataset(qtbot, window)
    set_field(window, "batch_size", 128)
    assert _refused(window, "batch_size")
    assert "fewer than one batch" in window.binder.error


def test_parameter_counts_follow_the_settings(make_window, example, qtbot):
    window = make_window(example)
    set_field(window, "dataset_size", 64)
    counts = window.findChild(QLabel, "parameterCounts")
    panel = window.model_panel
    qtbot.waitUntil(lambda: panel.parameters is not None, timeout=3000)
    g_before = panel.parameters[0]
    set_field(window, "ngf", 64)
    qtbot.waitUntil(lambda: panel.parameters[0] != g_before, timeout=3000)
    assert panel.parameters[0] > g_before
    assert f"{panel.parameters[0]:,}" in counts.text() and f"{panel.parameters[1]:,}" in counts.text()


def test_preset_combo_loads_a_recipe(make_window, example):
    window = make_window(example)
    set_field(window, "dataset_size", 64)
    combo = window.findChild(QComboBox, "presetCombo")
    index = combo.findData("acgan-digits")
    assert index >= 0
    combo.activated.emit(index)
    combo.setCurrentIndex(index)
    set_field(window, "dataset_size", 64)
    assert window.project.config.dataset == "builtin:digits"
    assert window.project.preset == "acgan-digits"
    assert window.isWindowModified()
    assert "categorical" in window.findChild(QLabel, "conditionLabel").toolTip()  # plain words in the text


def test_a_preset_replaces_unsaved_settings_only_when_the_user_says_so(make_window, example, answers):
    from PySide6.QtWidgets import QMessageBox

    window = make_window(example)
    combo = window.findChild(QComboBox, "presetCombo")
    before = combo.currentText()
    set_field(window, "epochs", 77)  # an unsaved change
    answers.next = [QMessageBox.StandardButton.Cancel]
    digits = combo.findData("acgan-digits")
    combo.setCurrentIndex(digits)  # what a click in the list does before it reports the choice
    combo.activated.emit(digits)
    assert "replaces every setting" in answers.asked[-1]
    assert window.binder.config.epochs == 77 and window.project.preset != "acgan-digits"
    assert combo.currentText() == before

    combo.setCurrentIndex(digits)
    combo.activated.emit(digits)  # answered Yes this time
    assert window.binder.config.dataset == "builtin:digits" and window.binder.config.epochs != 77
    assert window.project.preset == "acgan-digits"


# --- NaN and infinity ---------------------------------------------------------------


@pytest.fixture
def panel(qtbot) -> ModelPanel:
    """The model panel on a binder of its own: every editor, laid out as in the window, without the window."""
    panel = ModelPanel(ConfigBinder())
    qtbot.addWidget(panel)
    return panel


def _all_finite(values: dict) -> bool:
    numbers = [v for v in values.values() if isinstance(v, float)]
    numbers += [x for v in values.values() if isinstance(v, list) for x in v]
    return all(math.isfinite(x) for x in numbers)


def _enter(spin: QDoubleSpinBox, text: str) -> None:
    """Type ``text`` over what the spin box shows and press Enter, as a user does."""
    spin.lineEdit().selectAll()
    QTest.keyClicks(spin.lineEdit(), text)
    QTest.keyClick(spin.lineEdit(), Qt.Key.Key_Return)


def test_every_float_setting_is_covered():
    assert {"g_lr", "d_lr", "ema_decay", "lr_gamma", "aux_weight", "d_dropout"} <= set(FLOAT_KEYS)
    assert LIST_KEYS == ["g_betas", "d_betas"]


@pytest.mark.parametrize(("key", "name"), FLOAT_SPINS)
def test_float_editors_refuse_nan_and_infinity_typed_pasted_or_set(panel, qtbot, key, name):
    spin = panel.findChild(QDoubleSpinBox, name)
    assert spin is not None, name
    line = spin.lineEdit()
    binder = panel.binder
    if key == "r1_gamma":  # R1 needs D without BatchNorm (the settings refuse the two together)
        binder.set_value("d_batchnorm", False)
    before, shown = binder.config, spin.value()

    def unchanged(how: str, text: str) -> None:
        assert spin.value() == shown, f"{name}: {text!r} {how} gave {spin.value()}"
        assert binder.config == before and binder.values[key] == before.to_dict()[key], f"{name}: {text!r} {how}"
        assert _all_finite(binder.values) and not binder.error

    for text in NON_FINITE:
        line.selectAll()
        qtbot.keyClicks(line, text)
        qtbot.keyClick(line, Qt.Key.Key_Return)
        unchanged("typed", text)

        line.selectAll()
        line.insert(text)  # a paste goes through the validator too
        assert line.text() != text, f"{name}: the paste {text!r} was taken"
        qtbot.keyClick(line, Qt.Key.Key_Return)
        unchanged("pasted", text)

        line.setText(text)  # set by a program, past the validator: read, then shown again as the value
        spin.interpretText()
        assert float(line.text()) == shown
        unchanged("set as text", text)

        spin.setValue(float(text))  # Qt would show NaN as the maximum and infinity as a bound
        unchanged("set as a value", text)

    # The editor still works.
    spin.setValue(spin.minimum() if shown != spin.minimum() else spin.maximum())
    assert spin.value() != shown and not binder.error
    changed = binder.config.to_dict()[key]
    assert (changed if key == name else changed[int(name[-1]) - 1]) == spin.value()


@pytest.mark.parametrize("text", ["nan", "inf", "-inf"])
@pytest.mark.parametrize("key", FLOAT_KEYS + LIST_KEYS)
def test_nan_or_infinity_set_through_the_binder_is_refused_by_name(panel, key, text):
    """A setting changed by a program (drag and drop, a picker) gets no bound in its place, but a refusal."""
    binder = panel.binder
    before = binder.config
    value = [float(text), 0.9] if key in LIST_KEYS else float(text)
    binder.set_value(key, value)
    assert binder.config == before
    assert key in binder.error and "finite" in binder.error, binder.error
    assert binder.is_refused(key) and editor(panel, key).property("invalid")
    message = panel.findChild(QLabel, "configMessage")
    assert not message.isHidden() and key in message.text()
    # The editor keeps showing the last number, and Enter on it takes it: the setting is right again.
    spin = editor(panel, key) if key in FLOAT_KEYS else editor(panel, f"{key}_beta1")
    assert math.isfinite(spin.value())
    assert spin.isEnabled()  # even gp_weight with the loss bce, ema_decay with ema off
    _enter(spin, spin.text())
    assert not binder.error and not binder.is_refused(key) and message.isHidden()
    assert _all_finite(binder.values) and binder.config == before


@pytest.mark.parametrize("text", NON_FINITE)
def test_a_config_with_nan_loaded_is_refused_by_name_and_shown_as_a_number(panel, text):
    binder = panel.binder
    before = binder.config
    binder.load(TrainConfig(**{**_DEFAULTS, "ema_decay": float(text), "g_betas": [0.5, float(text)]}))
    assert binder.config == before
    assert "g_betas" in binder.error and "finite" in binder.error, binder.error
    assert editor(panel, "ema_decay").value() == before.ema_decay  # not the maximum in NaN's place
    assert editor(panel, "g_betas").value() == before.g_betas
    binder.set_value("g_betas", [0.5, 0.9])
    assert "ema_decay" in binder.error and "finite" in binder.error, binder.error
    assert binder.config == before


def test_nan_setting_blocks_train_in_the_window(make_window, example):
    window = make_window(example)
    set_field(window, "dataset_size", 64)
    assert not window.binder.error
    for key, value in (("g_lr", float("nan")), ("d_betas", [float("inf"), 0.9])):
        window.binder.set_value(key, value)
        assert not button(window, "trainButton").isEnabled()
        reason = window.findChild(QLabel, "trainReason")
        assert reason.isVisibleTo(window) and key in reason.text()
        assert not window.start_training()
        box = window.findChildren(QMessageBox, "errorDialog")[-1]  # the one closed before may linger
        assert box.windowTitle() == "Cannot train" and key in box.text() and "finite" in box.text()
        box.close()
        assert _all_finite(window.project.config.to_dict())
        _enter(editor(window, key if key == "g_lr" else f"{key}_beta1"), "0.0003")
        assert not window.binder.error and button(window, "trainButton").isEnabled()


def test_r1_every_is_greyed_out_until_r1_is_on(panel):
    assert not panel.editors["r1_every"].isEnabled()
    panel.binder.set_value("d_batchnorm", False)
    panel.binder.set_value("r1_gamma", 1.0)
    assert not panel.binder.error and panel.editors["r1_every"].isEnabled()
    panel.binder.set_value("d_batchnorm", True)  # refused together: both named, R1's own fields stay editable
    assert panel.binder.is_refused("r1_gamma") and panel.binder.is_refused("d_batchnorm")
    assert panel.editors["r1_every"].isEnabled()

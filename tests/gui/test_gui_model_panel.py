"""The hyperparameter editors: one per setting, tooltips, ranges, binding, refusals at the field."""

from __future__ import annotations

from dataclasses import fields

from gui_helpers import button, editor, make_folder_dataset, set_field, wait_dataset
from PySide6.QtWidgets import QComboBox, QLabel, QSpinBox, QWidget

from studio.core.config import TrainConfig, field_help


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
    assert "categorical" in window.findChild(QLabel, "conditionLabel").text()


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

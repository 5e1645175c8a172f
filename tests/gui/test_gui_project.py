"""Projects in the window: first start, open, save, save as, recent files, dirty marker, damaged files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gui_helpers import EXAMPLE, editor, set_field
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from studio.gui.settings import recent_projects
from studio.project import Project


def _listing(folder: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(folder)), p.stat().st_mtime_ns) for p in folder.rglob("*"))


def test_first_start_opens_the_example(make_window):
    before = _listing(EXAMPLE)
    window = make_window()
    set_field(window, "dataset_size", 64)  # before the 4,000-image set starts loading
    assert window.objectName() == "mainWindow"
    assert window.project is not None
    assert window.project.folder.resolve() == EXAMPLE.resolve()
    assert "Hair and eyes demo" in window.windowTitle()
    assert window.project.config.family == "acgan" and window.project.config.dataset == "builtin:faces"
    for name in ("actionNewProject", "actionOpenProject", "actionSaveProject", "actionExportGrid"):
        assert window.findChild(type(window.action_new), name) is not None, name
    for name in (
        "presetCombo",
        "datasetSourceCombo",
        "datasetPreview",
        "trainButton",
        "pauseButton",
        "stopButton",
        "epochProgress",
        "runProgress",
        "lossPlot",
        "discriminatorPlot",
        "auxAccuracyPlot",
        "sampleView",
        "epochSlider",
        "logView",
    ):
        assert len(window.findChildren(QWidget, name)) == 1, name
    window.setWindowModified(False)
    window.close()
    assert _listing(EXAMPLE) == before  # opening never writes into the example


def test_damaged_project_is_reported_and_left_alone(make_window, tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    damaged = b'{"format": "gan-studio/project", "version": 1, "config": {"ngf": 8,'
    (folder / "project.json").write_bytes(damaged)
    window = make_window(folder)
    assert window.project is None
    assert window.windowTitle() == "GAN Studio"
    box = window.findChild(QMessageBox, "errorDialog")
    assert box is not None and "project.json" in box.text() and "damaged" in box.text()
    assert "damaged" in window.findChild(QWidget, "logView").toPlainText()
    assert not window.findChild(QWidget, "trainButton").isEnabled()
    assert not window.findChild(QWidget, "setupTabs").isEnabled()
    window.close()
    assert (folder / "project.json").read_bytes() == damaged
    assert sorted(p.name for p in folder.iterdir()) == ["project.json"]


@pytest.mark.parametrize(
    "content, words",
    [
        ({"format": "gan-studio/project", "version": 99, "config": {}}, "newer"),
        ({"format": "gan-studio/project", "version": 1, "config": {"ngf": "wide"}}, "ngf"),
        ({"something": "else"}, "not a GAN Studio project"),
    ],
)
def test_bad_project_does_not_replace_the_open_one(make_window, example, tmp_path, content, words):
    window = make_window(example)
    set_field(window, "dataset_size", 64)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "project.json").write_text(json.dumps(content))
    before = (bad / "project.json").read_bytes()
    assert not window.open_project(bad)
    assert window.project.folder == example
    assert words in window.last_error
    assert (bad / "project.json").read_bytes() == before


def test_edit_marks_dirty_and_save_writes(make_window, example):
    window = make_window(example)
    assert not window.isWindowModified()
    set_field(window, "dataset_size", 64)
    set_field(window, "ngf", 12)
    assert window.isWindowModified()
    assert "[*]" in window.windowTitle()
    window.findChild(type(window.action_save), "actionSaveProject").trigger()
    assert not window.isWindowModified()
    saved = Project.load(example)
    assert saved.config.ngf == 12 and saved.config.dataset_size == 64
    assert not list(example.glob(".*.tmp"))  # atomic write leaves no temporary file behind


def test_loading_does_not_echo_as_an_edit(make_window, example):
    window = make_window(example)
    assert not window.isWindowModified()
    set_field(window, "dataset_size", 64)
    window.save_project()
    window.open_project(example)
    assert not window.isWindowModified()
    assert editor(window, "ngf").value() == window.project.config.ngf


def test_close_with_unsaved_changes_asks(make_window, example, answers):
    window = make_window(example)
    set_field(window, "dataset_size", 64)
    answers.next = [QMessageBox.StandardButton.Cancel]
    assert not window.close()
    assert window.isVisible()
    assert "changed" in answers.asked[-1]
    answers.next = [QMessageBox.StandardButton.Save]
    assert window.close()
    assert Project.load(example).config.dataset_size == 64


def test_recent_projects_and_geometry_persist(make_window, example, qtbot):
    window = make_window(example)
    set_field(window, "dataset_size", 64)
    window.save_project()
    window.resize(1200, 700)
    assert recent_projects()[0] == str(example.resolve())
    window.close()
    again = make_window()
    assert again.project.folder.resolve() == example.resolve()
    # The offscreen screen is 800 px wide, so Qt clamps the width; the height comes back as saved.
    assert again.height() == 700


def test_save_as_and_new_project(make_window, example, tmp_path, monkeypatch, answers):
    window = make_window(example)
    set_field(window, "dataset_size", 64)
    target = tmp_path / "copy"
    target.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(target))
    window.action_save_as.trigger()
    assert Project.load(target).config.dataset_size == 64
    assert window.project.folder == target
    # Saving as over another project asks first.
    answers.next = [QMessageBox.StandardButton.Cancel]
    other = tmp_path / "other"
    Project.create(other, Project.load(example).config)
    before = (other / "project.json").read_bytes()
    assert not window.save_project_as(other)
    assert (other / "project.json").read_bytes() == before

    assert window.new_project(tmp_path / "fresh", "dcgan-faces")
    set_field(window, "dataset_size", 64)
    assert window.project.config.family == "dcgan"
    assert window.findChild(QWidget, "presetCombo").currentData() == "dcgan-faces"
    assert not window.new_project(tmp_path / "fresh", "dcgan-faces")  # never overwrites a project
    assert "already exists" in window.last_error

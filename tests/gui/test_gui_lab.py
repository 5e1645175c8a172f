"""The checkpoint lab in the window: listing, selecting, averaging, comparing, exporting; resume refusal."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import torch
from gui_helpers import button
from helpers import random_dataset, tiny_config
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QFileDialog, QLineEdit, QMessageBox, QSpinBox, QTableWidget, QWidget

from studio.core.averaging import is_average_file
from studio.core.checkpoint import generator_from_checkpoint, load_checkpoint
from studio.core.events import CheckpointSaved
from studio.core.export import load_state_dict_export, load_torchscript_export, onnx_available
from studio.core.rundir import RunDirectory
from studio.core.trainer import Trainer
from studio.data.dataset import dataset_space
from studio.project import Project

DATASET = "builtin:faces"


def train_run(project: Project, epochs: int = 3, run_id: str | None = None, **changes) -> RunDirectory:
    """A real run of a tiny model on random images labelled like the faces set."""
    config = tiny_config(dataset=DATASET, family="acgan", epochs=epochs, ema=True, **changes)
    run = RunDirectory.create(project.runs_dir, config, run_id=run_id)
    Trainer(config, random_dataset(dataset_space(DATASET), n=16), run).run()
    return run


@pytest.fixture
def project(tmp_path) -> Project:
    return Project.create(tmp_path / "lab-project", tiny_config(dataset=DATASET, family="acgan", dataset_size=64))


def open_lab(make_window, project: Project):
    window = make_window(project.folder)
    window.main_tabs.setCurrentWidget(window.checkpoint_lab)
    return window, window.findChild(QWidget, "checkpointLab")


def wait_for(condition, timeout: float = 10.0) -> None:
    """Poll from a worker thread (qtbot waits on the GUI thread only)."""
    end = time.monotonic() + timeout
    while not condition() and time.monotonic() < end:
        time.sleep(0.01)


def click(qtbot, window, name: str) -> None:
    b = button(window, name)
    assert b is not None and b.isEnabled(), name
    qtbot.mouseClick(b, Qt.MouseButton.LeftButton)


def test_lab_lists_selects_averages_and_compares(make_window, project, qtbot):
    run = train_run(project, run_id="run-a")
    window, lab = open_lab(make_window, project)
    assert lab is window.checkpoint_lab and lab.run is not None and Path(lab.run.path) == Path(run.path)

    table = window.findChild(QTableWidget, "checkpointTable")
    assert table.rowCount() == 3
    assert [table.item(r, 0).text() for r in range(3)] == ["1", "2", "3"]
    d_loss = table.item(2, 2).text()
    assert d_loss != "–" and float(d_loss) > 0  # the epoch's figures from metrics.jsonl

    # Average needs two: the button waits for a selection.
    assert not button(window, "averageButton").isEnabled()
    window.findChild(QSpinBox, "lastNSpin").setValue(2)
    click(qtbot, window, "selectLastButton")
    checkpoints = [c.path for c in run.epoch_generators()]  # each epoch's generator snapshot
    assert lab.selected_paths() == checkpoints[-2:]
    assert window.findChild(QCheckBox, "bnReestimateCheck").isChecked()

    click(qtbot, window, "averageButton")
    assert lab.busy
    qtbot.waitUntil(lambda: not lab.busy, timeout=20_000)
    [average] = run.averages()
    assert is_average_file(average)
    info = load_checkpoint(average)["averaged"]
    assert info["files"] == ["epoch_0002.pt", "epoch_0003.pt"] and info["bn"] == "re-estimated"
    assert "re-estimated" in window.findChild(QWidget, "averageInfo").text()
    assert lab.selected_paths() == checkpoints[-2:]  # refreshing the table kept the selection

    # Last checkpoint, the new average and the EMA, drawn with the same noise and conditions.
    view = window.findChild(QWidget, "compareView")
    assert view.titles() == ["last checkpoint (epoch 3)", "average of epochs 2-3", "EMA at epoch 3"]
    sizes = {image.size for image in lab.comparison.images}
    assert len(sizes) == 1
    arrays = lab.comparison.arrays()
    assert not (arrays[0] == arrays[1]).all()

    # The explorer offers the new average at once; the export list selects it.
    explorer_items = [
        window.condition_explorer.generator_combo.itemText(i)
        for i in range(window.condition_explorer.generator_combo.count())
    ]
    assert "average of epochs 2-3" in explorer_items
    assert window.findChild(QComboBox, "exportGeneratorCombo").currentText() == "average of epochs 2-3"

    # The same epochs again without re-estimation: a second file, the first untouched.
    before = average.read_bytes()
    window.findChild(QCheckBox, "bnReestimateCheck").setChecked(False)
    click(qtbot, window, "averageButton")
    qtbot.waitUntil(lambda: not lab.busy, timeout=20_000)
    assert len(run.averages()) == 2 and average.read_bytes() == before
    second = next(p for p in run.averages() if p != average)
    assert load_checkpoint(second)["averaged"]["bn"] == "averaged"
    assert "not re-estimated" in window.findChild(QWidget, "averageInfo").text()

    # An epoch range selects, a bad one is refused at the control.
    edit = window.findChild(QLineEdit, "epochRangeEdit")
    edit.setText("1-2")
    click(qtbot, window, "selectRangeButton")
    assert lab.selected_paths() == checkpoints[:2]
    edit.setText("7-9")
    click(qtbot, window, "selectRangeButton")
    assert "no checkpoints for epochs 7-9" in window.findChild(QWidget, "selectionInfo").text()
    assert lab.selected_paths() == checkpoints[:2]


def test_mismatched_checkpoints_are_refused_naming_the_files(make_window, project, qtbot):
    run = train_run(project, epochs=2, run_id="run-a")
    other = train_run(project, epochs=1, run_id="run-b", ngf=8)
    stray = run.checkpoint_path(3)
    shutil.copyfile(other.checkpoint_path(1), stray)  # a G of another width among run-a's checkpoints
    window, lab = open_lab(make_window, project)
    window.runs_panel.select_run(run.path)
    assert Path(lab.run.path) == Path(run.path)
    assert window.findChild(QTableWidget, "checkpointTable").rowCount() == 3

    window.findChild(QLineEdit, "epochRangeEdit").setText("2-3")
    click(qtbot, window, "selectRangeButton")
    click(qtbot, window, "averageButton")
    qtbot.waitUntil(lambda: not lab.busy, timeout=20_000)
    box = window.findChild(QMessageBox, "errorDialog")
    assert box is not None
    assert "epoch_0002.pt" in box.text() and "epoch_0003.pt" in box.text() and "ngf" in box.text()
    assert "epoch_0003.pt" in window.findChild(QWidget, "logView").toPlainText()
    assert run.averages() == []
    assert button(window, "averageButton").isEnabled()  # the lab is usable again


def test_exports_write_loadable_generators(make_window, project, qtbot, tmp_path, monkeypatch):
    run = train_run(project, epochs=2)
    window, lab = open_lab(make_window, project)
    combo = window.findChild(QComboBox, "exportGeneratorCombo")
    combo.setCurrentIndex(combo.findText("EMA at epoch 2"))
    reference, space, config = generator_from_checkpoint(run.checkpoint_path(2), "ema")
    z = torch.randn(3, config.nz, generator=torch.Generator().manual_seed(0))
    cond = space.encode(space.sample(3, torch.Generator().manual_seed(1))).float()
    with torch.no_grad():
        expected = reference(z, cond)

    out = tmp_path / "g_state.pt"
    assert lab.export_to(out, "state_dict")
    qtbot.waitUntil(lambda: not lab.busy, timeout=20_000)
    g, _, _ = load_state_dict_export(out)
    with torch.no_grad():
        torch.testing.assert_close(g.eval()(z, cond), expected)

    # Through the button and the file dialog: the suffix is added, TorchScript chosen.
    fmt = window.findChild(QComboBox, "exportFormatCombo")
    fmt.setCurrentIndex(fmt.findData("torchscript"))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "g_script"), ""))
    click(qtbot, window, "exportGeneratorButton")
    qtbot.waitUntil(lambda: not lab.busy, timeout=30_000)
    scripted = load_torchscript_export(tmp_path / "g_script.pt")
    with torch.no_grad():
        torch.testing.assert_close(scripted(z, cond), expected, atol=1e-5, rtol=1e-4)
    assert (tmp_path / "g_script.pt.json").is_file()

    # An existing file is never replaced without asking.
    stamp = out.read_bytes()
    assert not lab.export_to(out, "state_dict")
    assert "already exists" in window.findChild(QMessageBox, "errorDialog").text()
    assert out.read_bytes() == stamp

    # ONNX is offered exactly when it can run here, with the reason when it cannot.
    ok, reason = onnx_available()
    item = fmt.model().item(fmt.findData("onnx"))
    assert item.isEnabled() == ok
    if not ok:
        assert item.toolTip() == reason


def test_panels_follow_the_run_and_new_checkpoints(make_window, project, qtbot):
    first = train_run(project, epochs=2, run_id="run-a")
    second = train_run(project, epochs=1, run_id="run-b")
    window, lab = open_lab(make_window, project)
    window.runs_panel.select_run(first.path)
    assert Path(lab.run.path) == Path(first.path)
    assert Path(window.condition_explorer.run.path) == Path(first.path)
    window.runs_panel.select_run(second.path)
    assert Path(lab.run.path) == Path(second.path)
    assert window.findChild(QTableWidget, "checkpointTable").rowCount() == 1

    # Training writes another checkpoint: the lab lists it, the explorer follows the newest.
    config = second.read_config().replace(epochs=2)
    events = []
    Trainer(
        config,
        random_dataset(dataset_space(DATASET), n=16),
        second,
        events.append,
        resume_from=second.checkpoint_path(1),
    ).run()
    for event in events:
        if isinstance(event, CheckpointSaved):
            window._on_train_event(event)
    assert window.findChild(QTableWidget, "checkpointTable").rowCount() == 2
    assert window.condition_explorer.generator_combo.currentText() == "epoch 2"


def test_refreshing_the_runs_keeps_what_each_panel_had_chosen(make_window, project, qtbot, tmp_path):
    first = train_run(project, epochs=2, run_id="run-a")
    second = train_run(project, epochs=2, run_id="run-b")
    window, lab = open_lab(make_window, project)
    window.runs_panel.select_run(second.path)
    explorer, evaluation = window.condition_explorer, window.evaluation_panel
    epoch1 = second.snapshot_path(1)  # the lab and the panels list each epoch's generator snapshot
    lab.select_paths([epoch1])
    [ref] = [r for r in evaluation.refs if Path(r.path) == Path(epoch1) and r.which != "ema"]
    evaluation.select_refs([ref])
    explorer.generator_combo.setCurrentIndex(explorer.generator_combo.findText("epoch 1"))
    followed = []
    for panel in (lab, explorer, evaluation):
        real = panel.set_run
        panel.set_run = lambda run, real=real: followed.append(run and run.run_id) or real(run)

    # Refreshed after every checkpoint while training: run-a sorts first, and must not be visited; the
    # panels hear of new checkpoints from the trainer's events, so the list leaves them alone.
    window.refresh_runs()
    assert followed == []
    # The Refresh button has them re-read the selected run's files, keeping what they had chosen.
    button(window, "refreshRunsButton").click()
    assert followed == ["run-b"] * 3
    assert lab.selected_paths() == [epoch1]
    assert evaluation.selected_refs() == [ref]
    assert explorer.generator_combo.currentText() == "epoch 1"
    assert Path(lab.run.path) == Path(second.path) != Path(first.path)

    # A project without runs: the panels let go of the other project's run.
    assert window.new_project(tmp_path / "empty-project", "tiny-demo")
    assert lab.run is None and explorer.run is None and evaluation.run is None
    assert not button(window, "averageButton").isEnabled()


def test_an_average_that_ends_after_the_user_moved_to_another_run_stays_with_its_run(
    make_window, project, qtbot, monkeypatch
):
    import threading

    import studio.core.averaging as lab_module  # what the lab's average (studio.app.checkpoints) calls

    first = train_run(project, epochs=2, run_id="run-a")
    second = train_run(project, epochs=2, run_id="run-b")
    window, lab = open_lab(make_window, project)
    window.runs_panel.select_run(second.path)
    release = threading.Event()
    real_average = lab_module.average_checkpoints

    def held(*args, **kwargs):
        release.wait(20)
        return real_average(*args, **kwargs)

    monkeypatch.setattr(lab_module, "average_checkpoints", held)
    assert lab.average([c.path for c in second.checkpoints()])
    window.runs_panel.select_run(first.path)
    release.set()
    qtbot.waitUntil(lambda: not lab.busy, timeout=30_000)

    [average] = second.averages()
    assert first.averages() == []
    # run-a's panel shows nothing of run-b's job: no average to compare, no comparison to save as run-a's.
    assert Path(lab.run.path) == Path(first.path)
    assert lab.last_average is None and lab.comparison is None
    assert "run-b" in window.findChild(QWidget, "labStatus").text()
    window.runs_panel.select_run(second.path)
    assert average.name in [r.path.name for r in lab.refs]


def test_resuming_from_an_average_is_refused(make_window, project, qtbot):
    run = train_run(project, epochs=2)
    window, lab = open_lab(make_window, project)
    assert lab.average([c.path for c in run.checkpoints()[:2]])
    qtbot.waitUntil(lambda: not lab.busy, timeout=20_000)
    [average] = run.averages()
    assert not window.resume_training(checkpoint=average)
    assert not window.training
    box = window.findChild(QMessageBox, "errorDialog")
    assert box is not None and str(average) in box.text() and "averaged generator" in box.text()
    assert "epoch_NNNN.pt" in box.text()


def test_cancel_stops_the_average_and_saves_nothing(make_window, project, qtbot, monkeypatch):
    import studio.core.averaging as lab_module  # what the lab's average (studio.app.checkpoints) calls

    run = train_run(project, epochs=3)
    window, lab = open_lab(make_window, project)
    real_average = lab_module.average_checkpoints

    def held(*args, should_stop, **kwargs):  # waits in the worker until Cancel, then runs for real
        wait_for(should_stop)
        return real_average(*args, should_stop=should_stop, **kwargs)

    monkeypatch.setattr(lab_module, "average_checkpoints", held)
    window.findChild(QSpinBox, "lastNSpin").setValue(3)
    click(qtbot, window, "selectLastButton")
    click(qtbot, window, "averageButton")
    assert not button(window, "averageButton").isEnabled()
    click(qtbot, window, "labCancelButton")
    qtbot.waitUntil(lambda: not lab.busy, timeout=20_000)
    assert run.averages() == []
    assert window.findChild(QMessageBox, "errorDialog") is None
    assert "cancelled" in window.findChild(QWidget, "labStatus").text()
    assert button(window, "averageButton").isEnabled()


def test_a_bad_selection_is_worded_for_the_labs_controls(make_window, project, qtbot):
    train_run(project, epochs=2)
    window, lab = open_lab(make_window, project)
    edit = window.findChild(QLineEdit, "epochRangeEdit")
    info = window.findChild(QWidget, "selectionInfo")
    for text, problem in (("2-1", "the first epoch is after the last"), ("x", "write a range as A-B")):
        edit.setText(text)
        click(qtbot, window, "selectRangeButton")
        assert info.text() == f"epochs {text!r}: {problem}" + (", e.g. 21-30" if text == "x" else "")
    assert not lab.select_last(0)
    assert info.text() == "last N must be at least 1" and "--" not in info.text()

"""Training from the window: Train, live plots and grids, Pause, Stop, export, resume, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from gui_helpers import button, shrink, wait_dataset
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressBar, QSlider, QWidget

import studio.core.trainer as trainer_module
from studio.core.checkpoint import load_checkpoint
from studio.core.rundir import RunDirectory
from studio.errors import TrainingError


def _train(qtbot, window, epochs_wanted: int = 2, timeout: int = 90_000):
    wait_dataset(qtbot, window)
    train = button(window, "trainButton")
    assert train.isEnabled(), window.findChild(QWidget, "trainReason").text()
    qtbot.mouseClick(train, Qt.MouseButton.LeftButton)
    timeline = window.dashboard.timeline
    qtbot.waitUntil(lambda: timeline.count() >= epochs_wanted, timeout=timeout)


def test_train_pause_stop_export(make_window, example, qtbot, tmp_path, monkeypatch):
    window = make_window(example)
    shrink(window, epochs=500)
    _train(qtbot, window, 2)
    assert window.training

    # The plots hold data once the redraw timer has run.
    plots = window.dashboard.plots
    # Generous timeouts: on a loaded machine the redraw timer and queued events run late.
    qtbot.waitUntil(lambda: len(plots.curve_data("lossPlot", "d_loss")[0]) >= 8, timeout=30_000)
    for name, key in (
        ("lossPlot", "g_loss"),
        ("discriminatorPlot", "d_x"),
        ("discriminatorPlot", "d_g_z1"),
        ("discriminatorPlot", "d_g_z2"),
        ("auxAccuracyPlot", "aux_acc_real"),
        ("auxAccuracyPlot", "aux_acc_fake"),
        ("lrPlot", "g_lr"),
    ):
        x, y = plots.curve_data(name, key)
        assert len(x) >= 8, (name, key)
    assert window.findChild(QWidget, "lossPlot") is plots.plots["lossPlot"]

    # Two grids on the timeline, scrubbed with the slider.
    slider = window.findChild(QSlider, "epochSlider")
    assert window.dashboard.timeline.count() >= 2
    assert slider.maximum() == window.dashboard.timeline.count() - 1
    slider.setValue(0)
    assert window.dashboard.timeline.current()[1].epoch == 1
    assert window.findChild(QWidget, "sampleView").has_image()
    frame = window.dashboard.timeline.current()[1]
    assert "orange hair" in frame.row_captions and "blue eyes" in frame.col_captions

    # Progress bars move (on the dashboard's own timer, which may fire just after the plots').
    progress = window.findChild(QProgressBar, "runProgress")
    qtbot.waitUntil(lambda: progress.value() > 0, timeout=10_000)

    # Pause holds the step count still.
    qtbot.mouseClick(button(window, "pauseButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.controls.state == "paused", timeout=20_000)
    qtbot.wait(1000)  # figures sent before the pause may still be queued
    step = window.dashboard.last_step
    qtbot.wait(800)
    assert window.dashboard.last_step == step
    assert button(window, "pauseButton").text() == "Continue"

    # Continue, then Stop: the stop writes a checkpoint first.
    qtbot.mouseClick(button(window, "pauseButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.dashboard.last_step > step, timeout=20_000)
    qtbot.mouseClick(button(window, "stopButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.training, timeout=30_000)
    assert button(window, "trainButton").isEnabled()
    run = RunDirectory(window.dashboard.run_path)
    latest = run.latest_checkpoint()
    assert latest is not None
    state = load_checkpoint(latest.path)
    assert state["step"] == window.dashboard.last_step
    assert "stopped" in window.findChild(QWidget, "logView").toPlainText()

    # Export the grid shown: the size follows the scale; captions add margins.
    grid, _ = window.dashboard.timeline.current()
    out = tmp_path / "grid.png"
    assert window.export_grid(out, scale=2, captions=False) == (grid.shape[1] * 2, grid.shape[0] * 2)
    with Image.open(out) as img:
        assert img.size == (grid.shape[1] * 2, grid.shape[0] * 2)
    captioned = tmp_path / "captioned.png"
    w, h = window.export_grid(captioned, scale=1, captions=True)
    assert w > grid.shape[1] and h > grid.shape[0]

    gif = tmp_path / "timeline.gif"
    assert window.export_timeline(gif, scale=1, captions=False)  # in the background
    qtbot.waitUntil(lambda: not window.exporting_timeline, timeout=30_000)
    with Image.open(gif) as img:
        assert img.n_frames == window.dashboard.timeline.count()
    assert f"Exported {window.dashboard.timeline.count()} epochs to {gif}" in window.log_view.toPlainText()
    # One export at a time, whatever refreshes the window meanwhile (the runs list does after every checkpoint).
    import threading

    import studio.gui.main_window.export as export_module

    release = threading.Event()
    real_export = export_module.export_gif
    monkeypatch.setattr(export_module, "export_gif", lambda *a, **k: release.wait(20) and real_export(*a, **k))
    assert window.export_timeline(tmp_path / "second.gif")
    window.refresh_runs()
    assert window.exporting_timeline and not window.export_timeline(tmp_path / "third.gif")
    release.set()
    qtbot.waitUntil(lambda: not window.exporting_timeline, timeout=30_000)
    assert (tmp_path / "second.gif").is_file() and not (tmp_path / "third.gif").exists()

    # The runs list knows the run and shows it again from its files.
    runs = window.runs_panel
    assert len(runs.infos) == 1 and runs.infos[0].state == "stopped"
    assert runs.infos[0].preset.startswith("tiny-demo")
    count = window.dashboard.timeline.count()
    window.dashboard.show_empty("")
    window.show_run(run)
    assert window.dashboard.timeline.count() == count
    # Generous timeouts: on a loaded machine the redraw timer and queued events run late.
    qtbot.waitUntil(lambda: len(plots.curve_data("lossPlot", "d_loss")[0]) >= 8, timeout=30_000)
    assert not any(p.is_relative_to(Path(__file__).parents[2] / "projects") for p in [Path(run.path)])


def test_export_action_uses_the_file_chosen(make_window, example, qtbot, tmp_path, monkeypatch):
    window = make_window(example)
    shrink(window, epochs=1)
    _train(qtbot, window, 1)
    qtbot.waitUntil(lambda: not window.training, timeout=30_000)
    target = tmp_path / "chosen"  # no suffix: the window adds .png
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "PNG image (*.png)"))
    window.findChild(QWidget, "exportScale").setValue(3)
    window.findChild(QWidget, "exportCaptions").setChecked(False)
    window.action_export.trigger()
    grid, _ = window.dashboard.timeline.current()
    with Image.open(tmp_path / "chosen.png") as img:
        assert img.size == (grid.shape[1] * 3, grid.shape[0] * 3)


def test_resume_continues_a_run(make_window, example, qtbot, answers):
    window = make_window(example)
    shrink(window, epochs=2)
    _train(qtbot, window, 2)
    qtbot.waitUntil(lambda: not window.training, timeout=30_000)
    run = RunDirectory(window.dashboard.run_path)
    steps_before = window.dashboard.last_step
    assert window.runs_panel.infos[0].state == "completed"

    window.findChild(QWidget, "epochs").setValue(3)
    window.runs_panel.select_run(run.path)
    qtbot.mouseClick(button(window, "resumeButton"), Qt.MouseButton.LeftButton)
    assert window.training
    qtbot.waitUntil(lambda: not window.training, timeout=60_000)
    assert window.dashboard.timeline.count() == 3
    assert window.dashboard.last_step > steps_before
    assert run.latest_checkpoint().epoch == 3
    # The plot shows the whole run: the history before the checkpoint was read back from the files.
    plots = window.dashboard.plots

    def drawn_to_the_end() -> bool:
        x = plots.curve_data("lossPlot", "d_loss")[0]
        return len(x) > 0 and x[-1] == window.dashboard.last_step

    qtbot.waitUntil(drawn_to_the_end, timeout=5000)
    assert plots.curve_data("lossPlot", "d_loss")[0][0] <= 1

    # Resuming from an older checkpoint would overwrite the later ones: asked first, and Cancel keeps them.
    answers.next = [QMessageBox.StandardButton.Cancel]
    latest = run.latest_checkpoint().path.read_bytes()
    assert not window.resume_training(checkpoint=run.checkpoint_path(1))
    assert "rewinds the run" in answers.asked[-1] and "epoch_0003.pt" in answers.asked[-1]
    assert not window.training and run.latest_checkpoint().path.read_bytes() == latest


def test_trainer_error_keeps_checkpoints_and_window(make_window, example, qtbot, monkeypatch):
    original = trainer_module.Trainer._end_epoch

    def failing(self, *args, **kwargs):
        if self.epoch >= 2:
            raise TrainingError("the loss became non-finite (NaN or infinity) near step 8, epoch 2")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(trainer_module.Trainer, "_end_epoch", failing)
    window = make_window(example)
    shrink(window, epochs=5)
    _train(qtbot, window, 1)
    qtbot.waitUntil(lambda: not window.training, timeout=30_000)
    log = window.findChild(QWidget, "logView").toPlainText()
    assert "non-finite" in log
    box = window.findChild(QMessageBox, "errorDialog")
    assert box is not None and "non-finite" in box.text()
    box.close()
    run = RunDirectory(window.dashboard.run_path)
    assert [c.epoch for c in run.checkpoints()] == [1]
    assert window.runs_panel.infos[0].state == "error"
    assert button(window, "trainButton").isEnabled()
    # Still usable: settings can change and a new run can start.
    monkeypatch.setattr(trainer_module.Trainer, "_end_epoch", original)
    window.findChild(QWidget, "epochs").setValue(1)
    qtbot.mouseClick(button(window, "trainButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.training, timeout=30_000)
    assert len(window.project.runs()) == 2


def test_closing_during_a_run_stops_it_with_a_checkpoint(make_window, example, qtbot, answers):
    window = make_window(example)
    shrink(window, epochs=500)
    _train(qtbot, window, 1)
    run = RunDirectory(window.dashboard.run_path)
    answers.next = [QMessageBox.StandardButton.Cancel]
    assert not window.close()  # refused: the run goes on
    assert window.training
    assert window.close()  # the default answer is Yes: stop, checkpoint, close
    assert not window.training or window._thread is None or not window._thread.isRunning()
    assert run.latest_checkpoint() is not None


@pytest.mark.parametrize("family", ["dcgan"])
def test_unconditional_run_has_no_aux_curves(make_window, example, qtbot, family):
    window = make_window(example)
    shrink(window, epochs=1, family=family)
    _train(qtbot, window, 1)
    qtbot.waitUntil(lambda: not window.training, timeout=30_000)
    plots = window.dashboard.plots
    assert plots.plots["auxAccuracyPlot"].placeholder()
    qtbot.waitUntil(lambda: len(plots.curve_data("lossPlot", "d_loss")[0]) > 0, timeout=5000)
    assert len(plots.curve_data("auxAccuracyPlot", "aux_acc_real")[0]) == 0


def test_train_pressed_while_the_dataset_loads_waits_for_it(make_window, example, qtbot, monkeypatch):
    import studio.data.dataset as dataset_module

    calls = []
    original = dataset_module.load_dataset

    def counting(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(dataset_module, "load_dataset", counting)
    window = make_window(example)
    shrink(window, epochs=1)
    assert window.dataset_panel.dataset_for(window.binder.config) is None
    qtbot.mouseClick(button(window, "trainButton"), Qt.MouseButton.LeftButton)
    assert window.training and window.controls.state == "starting"
    assert not window.project.runs()  # no run folder until it really starts
    qtbot.waitUntil(lambda: window.dashboard.timeline.count() == 1, timeout=30_000)
    qtbot.waitUntil(lambda: not window.training, timeout=30_000)
    assert len(calls) == 1  # the panel's load served the run too


def test_stop_before_the_run_starts_cancels_it(make_window, example, qtbot):
    window = make_window(example)
    shrink(window, epochs=1)
    qtbot.mouseClick(button(window, "trainButton"), Qt.MouseButton.LeftButton)
    assert window.controls.state == "starting"
    qtbot.mouseClick(button(window, "stopButton"), Qt.MouseButton.LeftButton)
    assert not window.training
    wait_dataset(qtbot, window)
    qtbot.wait(100)
    assert not window.training and not window.project.runs()

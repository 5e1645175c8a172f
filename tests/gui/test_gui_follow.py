"""The window follows runs that another process trains: curves, grids, progress, Pause and Stop."""

from __future__ import annotations

import os
import socket
import threading
import time

from gui_helpers import TINY, shrink
from helpers import SPACES, random_dataset
from PySide6.QtWidgets import QApplication, QWidget

from studio.core.rundir import RunDirectory
from studio.core.trainer import Trainer
from studio.gui.binding import device_choices


def _wait(condition, seconds: float = 60.0, what: str = "") -> None:
    """Process the window's events until ``condition()``; a follower polls from a GUI-thread timer."""
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what or condition}")
        QApplication.processEvents()
        time.sleep(0.01)


def _curve_points(window) -> int:
    window.dashboard.plots.redraw()
    return len(window.dashboard.plots.curve_data("lossPlot", "d_loss")[0])


def test_window_follows_a_run_trained_elsewhere(make_window, example, answers):
    """A run the window did not start (trained here by a thread the window knows nothing of, as a terminal's
    ``python -m studio train`` would): opening it follows it live; Pause, Continue and Stop reach its trainer."""
    window = make_window(example)
    shrink(window)  # the Dataset tab's preview: a small set
    config = window.project.config.replace(**{**TINY, "family": "acgan", "epochs": 100})
    run = RunDirectory.create(window.project.runs_dir, config)
    trainer = Trainer(config, random_dataset(SPACES["multi-attribute"], n=64), run)
    thread = threading.Thread(target=trainer.run, daemon=True)
    thread.start()
    try:
        _wait(lambda: run.read_status() is not None, 60, "the trainer to start")
        window.refresh_runs()
        window.show_run(run)  # what a double click in the Runs tab does
        assert window.following_foreign_run and window.training
        who = f"followed: trained by process {os.getpid()} on {socket.gethostname()}"
        assert window.status_follow.text() == who and who in window.dashboard.title.text()
        _wait(lambda: window.dashboard.timeline.count() >= 2 and _curve_points(window) >= 4, 90, "curves and grids")
        assert window.controls.state == "running" and window.findChild(QWidget, "sampleView").has_image()
        frame = window.dashboard.timeline.current()[1]
        assert (frame.row_captions, frame.col_captions) == (trainer.grid.row_captions, trainer.grid.col_captions)
        window.dashboard._progress_dirty = True
        window.dashboard._tick()
        assert window.controls.run_progress.maximum() == 100 * 4  # 100 epochs of 64 images in batches of 16

        window.pause_training()
        _wait(lambda: window.controls.state == "paused", 30, "the pause")
        assert trainer.paused and run.read_status()["state"] == "paused"
        window.continue_training()
        _wait(lambda: not trainer.paused and window.controls.state == "running", 30, "going on")

        window.stop_training()  # asks first: the run is not this window's (the test answers Yes)
        assert any("not by this window" in text for text in answers.asked)
        _wait(lambda: not window.training, 60, "the run to stop")
    finally:
        trainer.request_stop()
        thread.join(30)
    assert window.controls.state == "idle" and not window.status_follow.isVisible()
    assert run.read_status()["state"] == "stopped" and run.latest_checkpoint() is not None
    assert [info.state for info in window.runs_panel.infos] == ["stopped"]


def test_window_trains_in_a_child_process_and_follows_it(make_window, example, tmp_path, monkeypatch):
    """The window's own run in a child process (what 'all N CUDA devices' does): the same dashboard."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the child's tiny models on a busy machine
    window = make_window(example)
    shrink(window, epochs=2)
    assert window.train_in_child_process(window.binder.config)
    assert window.training and window.controls.state == "starting"
    _wait(lambda: not window.training, 120, "the child's run to finish")
    run = RunDirectory(window.project.runs_dir / sorted(p.name for p in window.project.runs_dir.iterdir())[-1])
    assert run.read_status()["state"] == "completed", window.last_error
    assert window.dashboard.timeline.count() == 2 and _curve_points(window) >= 8
    frame = window.dashboard.timeline.current()[1]
    assert "orange hair" in frame.row_captions and "blue eyes" in frame.col_captions
    grab = tmp_path / "follow.png"
    window.grab().save(str(grab))
    assert grab.stat().st_size > 0
    assert [info.state for info in window.runs_panel.infos] == ["completed"]


def test_device_choice_lists_all_cuda_devices(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: "Test GPU")
    assert ("cuda:all", "all 2 CUDA devices") in device_choices()
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert all(value != "cuda:all" for value, _ in device_choices())


def test_all_cuda_devices_start_a_child_with_one_process_each(make_window, example, monkeypatch):
    """Train with Device 'all N CUDA devices': the window starts ``train --gpus N`` as a child and follows it."""
    import studio.gui.main_window.follow as follow_module
    from studio.app.follow import TrainingProcess

    started = []
    monkeypatch.setattr(follow_module, "cuda_device_count", lambda: 2)
    monkeypatch.setattr(TrainingProcess, "start", lambda self: started.append(self.argv) or self)
    window = make_window(example)
    shrink(window, epochs=3)
    assert window._train_in_child(window.binder.config.replace(device="cuda:all"))
    (argv,) = started
    assert argv[1:5] == ["-m", "studio", "train", str(example)] and argv[-2:] == ["--gpus", "2"]
    assert 'device="cuda"' in argv and "epochs=3" in argv
    assert window.training and window.controls.state == "starting"
    assert not window._train_in_child(window.binder.config.replace(device="cpu"))


def test_a_held_run_without_a_status_shows_its_history_until_its_writer_leaves(make_window, example):
    """A writer that writes no status.json (or has not yet): the history so far is shown, and once the lock is
    freed the window lets go of the run and shows it like any other."""
    window = make_window(example)
    shrink(window)
    run = RunDirectory.create(window.project.runs_dir, window.project.config.replace(**TINY))
    run.append_metrics(
        [{"kind": "step", "epoch": 1, "step": s, "d_loss": 1.0 / s, "g_loss": 2.0, "g_lr": 2e-4} for s in (1, 2, 3)]
    )
    lock = run.lock()
    try:
        window.refresh_runs()
        window.show_run(run)
        assert window.following_foreign_run and window.controls.state == "starting"
        assert _curve_points(window) == 3
        window._poll_follow()
        assert window.following_foreign_run  # still held: still waiting for it
    finally:
        lock.release()
    _wait(lambda: not window.training, 10, "the window to let go")
    assert window.controls.state == "idle" and window.dashboard.run_path == str(run.path)
    assert _curve_points(window) == 3 and not window.status_follow.isVisible()

"""The state the runs list gives a run: from its files, the lock its trainer holds, and the window's own runs."""

from __future__ import annotations

import os
import socket

import pytest
from helpers import tiny_config
from PySide6.QtWidgets import QTreeWidget

from studio.core.rundir import RunDirectory
from studio.gui.runs_panel import RunsPanel, describe_run

STATE = 4  # the runs list's State column


@pytest.fixture
def run(tmp_path) -> RunDirectory:
    return RunDirectory.create(tmp_path / "runs", tiny_config(epochs=3))


def _touch(path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")  # the runs list goes by the names of the files, not their contents


def test_a_run_without_checkpoint_or_sample_that_nobody_trains_failed(run):
    info = describe_run(run)
    assert info.state == "failed"
    assert info.note == "no checkpoint: training failed or was stopped before the first epoch ended"
    assert (info.epochs_done, info.epochs_total) == (0, 3)


def test_a_run_with_samples_but_no_checkpoint_failed_after_its_epochs(run):
    _touch(run.sample_path(1))
    _touch(run.sample_path(2))
    info = describe_run(run)
    assert info.state == "failed" and info.epochs_done == 2
    assert "no checkpoint" in info.note and "after epoch 2" in info.note


def test_a_run_held_by_another_writer_is_running_and_names_it(run):
    lock = run.lock()  # RunDirectory.writer() probes with a lock of its own, so it sees this hold
    try:
        assert run.writer() is not None
        info = describe_run(run)
        assert info.state == "running"
        assert f"process {os.getpid()} on {socket.gethostname()}" in info.note
        assert "being trained by" in info.note and "since" in info.note
        # A writer that already wrote checkpoints is still training, not stopped.
        _touch(run.checkpoint_path(1))
        assert describe_run(run).state == "running"
    finally:
        lock.release()
    assert run.writer() is None
    assert describe_run(run).state == "stopped"


def test_a_writer_that_left_no_name_is_still_running(run):
    lock = run.lock()
    try:
        run.writer_path.unlink()  # who holds it is unknown; that it is held is not
        info = describe_run(run)
        assert info.state == "running" and "process ? on ?" in info.note
    finally:
        lock.release()


def test_the_window_states_win(run):
    lock = run.lock()
    try:
        assert describe_run(run, live_state="paused").state == "paused"
        assert describe_run(run, session_state="error").state == "error"
    finally:
        lock.release()
    assert describe_run(run, live_state="running").state == "running"
    assert describe_run(run, live_state="running").note == ""
    assert describe_run(run, session_state="error").state == "error"


@pytest.mark.parametrize(
    ("checkpoints", "state", "done"),
    [
        ([(1, 0)], "stopped", 1),
        ([(1, 0), (2, 40)], "stopped", 1),  # stopped mid-epoch 2
        ([(1, 0), (2, 0), (3, 0)], "completed", 3),
    ],
)
def test_runs_with_checkpoints_keep_their_states(run, checkpoints, state, done):
    for epoch, step in checkpoints:
        _touch(run.checkpoint_path(epoch, step))
        if not step:
            _touch(run.sample_path(epoch))  # the trainer draws a sample grid at the end of each epoch
    info = describe_run(run)
    assert (info.state, info.epochs_done, info.note) == (state, done, "")


def test_an_unreadable_run_stays_unreadable(run):
    run.config_path.write_text("{", encoding="utf-8")
    assert describe_run(run).state == "unreadable"


def test_the_list_shows_the_state_and_its_note(qtbot, run, tmp_path):
    held = RunDirectory.create(tmp_path / "runs", tiny_config(), run_id="held")
    panel = RunsPanel()
    qtbot.addWidget(panel)
    lock = held.lock()
    try:
        panel.set_runs([describe_run(run), describe_run(held)])
    finally:
        lock.release()
    tree = panel.findChild(QTreeWidget, "runsList")
    failed, running = tree.topLevelItem(0), tree.topLevelItem(1)
    assert failed.text(STATE) == "failed" and "no checkpoint" in failed.toolTip(STATE)
    assert running.text(STATE) == "running" and str(os.getpid()) in running.toolTip(STATE)


def test_the_window_lists_an_empty_run_as_failed(make_window, example):
    window = make_window(example)
    run = RunDirectory.create(window.project.runs_dir, tiny_config())
    window.refresh_runs()
    [info] = [i for i in window.runs_panel.infos if i.run.path == run.path]
    assert info.state == "failed" and "no checkpoint" in info.note


def test_opening_a_run_removes_a_killed_writers_temp_files_and_logs_damaged_metrics(make_window, example):
    window = make_window(example)
    run = RunDirectory.create(window.project.runs_dir, tiny_config())
    stale = run.checkpoints_dir / ".epoch_0002.pt.k1ll3d.tmp"
    stale.write_bytes(b"x" * 64)
    run.metrics_path.write_bytes(b'{"kind": "epoch", "epoch": 1, "step": 4}\n\xff\n{"kind": "step", "step": 1}\n')
    window.refresh_runs()
    window.show_run(run)
    assert not stale.exists()
    log = window.log_view.toPlainText()
    assert f"{run.metrics_path}: line 2 skipped (not UTF-8 text)" in log

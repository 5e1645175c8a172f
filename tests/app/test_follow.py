"""Following a run from its files: the reader, the status and control files, a training child process."""

from __future__ import annotations

import os
import socket
import time

import numpy as np
import pytest
from helpers import SPACES, new_cli_project, random_dataset, tiny_config
from PIL import Image

from studio.app.follow import RunFollower, TrainingProcess, being_trained, changed_settings, train_argv
from studio.core.events import (
    CheckpointSaved,
    EpochEnd,
    RunError,
    RunFinished,
    RunPaused,
    RunResumed,
    RunStarted,
    StepMetrics,
)
from studio.core.rundir import RunDirectory
from studio.core.runstatus import StatusReporter, send_request
from studio.core.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


FOLLOWED = (RunStarted, StepMetrics, EpochEnd, CheckpointSaved, RunPaused, RunResumed, RunError, RunFinished)


def _same(a, b) -> None:
    assert type(a) is type(b)
    for name in a.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y), name
        else:
            assert x == y, (type(a).__name__, name, x, y)


def test_events_read_back_equal_the_trainers(tmp_path):
    """A run read from its files gives the events its trainer reported, field for field."""
    config = tiny_config(family="acgan", epochs=2)
    run = RunDirectory.create(tmp_path, config)
    reported = []
    Trainer(config, random_dataset(SPACES["categorical"]), run, on_event=reported.append).run()
    reported = [e for e in reported if isinstance(e, FOLLOWED)]

    follower = RunFollower(run)
    read = follower.poll()
    assert [type(e) for e in read] == [type(e) for e in reported]
    for a, b in zip(reported, read):
        _same(a, b)
    assert sum(isinstance(e, EpochEnd) for e in read) == 2
    assert follower.finished == reported[-1] and follower.state == "completed"
    assert follower.poll() == []  # nothing new

    status = run.read_status()
    assert status["state"] == "completed" and status["pid"] == os.getpid() and status["host"] == socket.gethostname()
    assert (status["epoch"], status["epochs"], status["step"], status["steps_per_epoch"]) == (2, 2, 8, 4)
    assert status["started"]["device"] == "cpu" and status["updated_at"] >= status["since"]
    assert being_trained(run) is None


def _fake_session(run: RunDirectory, state: str = "running", pid: int = 999_999, since: float = 1.0, **fields) -> None:
    started = dict(
        device="cpu",
        precision="float32",
        start_epoch=0,
        start_step=0,
        epochs=2,
        steps_per_epoch=2,
        batch_size=8,
        g_parameters=1,
        d_parameters=1,
        has_aux=False,
    )
    status = dict(state=state, pid=pid, host=socket.gethostname(), since=since, updated_at=time.time(), step=0)
    status.update(started=started, grid={"rows": 1, "cols": 2, "row_captions": [], "col_captions": []}, **fields)
    run.write_status(status)


def _append(run: RunDirectory, text: str) -> None:
    with open(run.metrics_path, "a", encoding="utf-8") as f:
        f.write(text)


STEP1 = (
    '{"kind": "step", "epoch": 1, "step": 1, "d_loss": 1.5, "g_loss": 0.5, "g_lr": 0.0002, "images_per_second": 80.0}'
)
STEP2 = '{"kind": "step", "epoch": 1, "step": 2, "d_loss": 1.25, "g_loss": null, "images_per_second": 90.0}'
EPOCH1 = '{"kind": "epoch", "epoch": 1, "step": 2, "d_loss": 1.3, "seconds": 2.0, "images_per_second": 85.0}'


def test_partial_lines_new_files_and_state_changes(tmp_path, monkeypatch):
    """A torn last line waits for its end; grids, checkpoints and status changes arrive as events, once each."""
    run = RunDirectory.create(tmp_path, tiny_config())
    follower = RunFollower(run)
    assert follower.poll() == [] and follower.state == ""  # the trainer has not started
    _fake_session(run)
    monkeypatch.setattr(RunDirectory, "writer", lambda self: {"pid": 999_999, "host": socket.gethostname()})

    _append(run, STEP1 + "\n" + STEP2[:30])
    events = follower.poll()
    assert [type(e) for e in events] == [RunStarted, StepMetrics]
    first = events[1]
    assert (first.epoch, first.step, first.epoch_step, first.steps_per_epoch) == (1, 1, 1, 2)
    assert first.values["d_loss"] == 1.5 and first.lrs == {"g_lr": 2e-4} and first.images_per_second == 80.0
    assert follower.poll() == []  # still half a line

    _append(run, STEP2[30:] + "\n")
    (second,) = follower.poll()
    assert second.step == 2 and second.epoch_step == 2 and second.values["g_loss"] is None

    grid = np.zeros((10, 20, 3), np.uint8)
    grid[:, :10, 0] = 255
    Image.fromarray(grid).save(run.sample_path(1))
    run.checkpoint_path(1).write_bytes(b"a checkpoint")
    _append(run, EPOCH1 + "\n")
    end, saved = follower.poll()
    assert isinstance(end, EpochEnd) and end.epoch == 1 and end.step == 2 and (end.rows, end.cols) == (1, 2)
    assert np.array_equal(end.grid, grid) and end.means["d_loss"] == 1.3 and end.seconds == 2.0
    assert saved == CheckpointSaved(str(run.checkpoint_path(1)), 1, 2)

    _fake_session(run, state="paused", step=2)
    assert follower.poll() == [RunPaused(2)] and follower.state == "paused"
    _fake_session(run, state="running", step=2)
    assert follower.poll() == [RunResumed(2)]
    run.checkpoint_path(2, 1).write_bytes(b"mid-epoch")
    _fake_session(run, state="stopped", step=3, epoch=1)
    saved, finished = follower.poll()
    assert saved == CheckpointSaved(str(run.checkpoint_path(2, 1)), 1, 3)
    assert finished == RunFinished("stopped", 1, 3) and follower.finished == finished
    assert follower.poll() == []


def test_joining_a_run_midway_starts_where_it_is(tmp_path, monkeypatch):
    run = RunDirectory.create(tmp_path, tiny_config())
    _fake_session(run)
    monkeypatch.setattr(RunDirectory, "writer", lambda self: {"pid": 999_999})
    _append(run, STEP1 + "\n" + STEP2 + "\n")
    (started,) = RunFollower(run, replay=False).poll()
    assert (started.start_step, started.start_epoch) == (2, 0)
    _fake_session(run, state="stopped")  # the last session's: a resume that has not yet written its own
    joining = RunFollower(run, replay=False)
    assert joining.poll() == [] and joining.state == ""
    _fake_session(run, since=5.0)
    assert [type(e) for e in joining.poll()] == [RunStarted]


def test_a_resumed_session_starts_over(tmp_path, monkeypatch):
    run = RunDirectory.create(tmp_path, tiny_config())
    monkeypatch.setattr(RunDirectory, "writer", lambda self: {"pid": 999_999})
    _fake_session(run)
    _append(run, STEP1 + "\n" + STEP2 + "\n")
    follower = RunFollower(run)
    assert len(follower.poll()) == 3
    run.metrics_path.unlink()  # a resume rewrites the log, cut at its checkpoint
    _append(run, STEP1 + "\n")
    _fake_session(run, pid=1_000_000, since=2.0)
    run.write_status({**run.read_status(), "started": {**run.read_status()["started"], "start_step": 1}})
    (started,) = follower.poll()
    assert isinstance(started, RunStarted) and started.start_step == 1
    _append(run, STEP2 + "\n")
    assert [e.step for e in follower.poll()] == [2]


def test_a_writer_that_died_ends_the_followed_run(tmp_path):
    """Status 'running' with nobody holding the lock: the process was killed; the follower says so."""
    run = RunDirectory.create(tmp_path, tiny_config())
    _fake_session(run)
    follower = RunFollower(run)
    assert [type(e) for e in follower.poll()] == [RunStarted]  # one look may race the final status
    error, finished = follower.poll()
    assert isinstance(error, RunError) and "ended without finishing" in error.message
    assert finished.reason == "error" and follower.state == "error"


class _Trainer:
    def __init__(self):
        self.calls = []
        self.stop_requested = False

    def request_pause(self):
        self.calls.append("pause")

    def request_resume(self):
        self.calls.append("resume")

    def request_stop(self):
        self.calls.append("stop")
        self.stop_requested = True


def _wait(condition, seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_control_requests_reach_the_trainer_once(tmp_path):
    run = RunDirectory.create(tmp_path, tiny_config())
    send_request(run, "stop")  # left by an earlier session: never obeyed
    trainer = _Trainer()
    reporter = StatusReporter(run, lambda event: None, trainer).start()
    try:
        assert not run.control_path.exists()
        reporter(RunStarted(str(run.path), "cpu", "float32", 0, 0, 2, 4, 8, 1, 1, False))
        assert run.read_status()["state"] == "running"
        send_request(run, "pause")
        assert _wait(lambda: trainer.calls == ["pause"])
        send_request(run, "stop")
        assert _wait(lambda: run.read_status()["state"] == "stopping")
        assert trainer.calls == ["pause", "stop", "resume"]
        time.sleep(0.6)
        assert trainer.calls == ["pause", "stop", "resume"]  # each request once
    finally:
        reporter.close()
    with pytest.raises(ValueError):
        send_request(run, "explode")


def test_a_child_process_trains_pauses_and_stops(tmp_path):
    """``python -m studio train`` in a child: its run is found, followed, paused and stopped with a checkpoint."""
    project = new_cli_project(tmp_path / "p")
    from studio.project import Project

    config = Project.load(project).config.replace(epochs=50)
    assert changed_settings(project, config) == {"epochs": 50}
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # tiny models on a busy machine
    child = TrainingProcess(train_argv(project, {"epochs": 50, "log_every": 1}), env=env).start()
    try:
        assert _wait(lambda: child.run is not None or child.poll() is not None, 120), child.output()
        assert child.run is not None, child.output()
        run = child.run
        assert being_trained(run)["pid"] == child.pid
        follower = RunFollower(run)
        seen = []
        assert _wait(lambda: seen.extend(follower.poll()) or any(isinstance(e, StepMetrics) for e in seen), 60)
        assert isinstance(seen[0], RunStarted) and seen[0].epochs == 50
        assert child.request("pause")
        assert _wait(lambda: seen.extend(follower.poll()) or follower.state == "paused", 30), child.output()
        child.stop()
        assert child.wait(60) == 0, child.output()
        seen.extend(follower.poll())
    finally:
        child.kill()
    assert isinstance(seen[-1], RunFinished) and seen[-1].reason == "stopped"
    assert any(isinstance(e, RunPaused) for e in seen) and isinstance(seen[-2], (CheckpointSaved, RunResumed))
    assert run.latest_checkpoint() is not None and run.read_status()["state"] == "stopped"
    assert being_trained(run) is None


def test_stop_before_training_ends_the_child(tmp_path):
    """Stop while the child is still starting (no trainer yet to ask): SIGTERM ends it cleanly."""
    project = new_cli_project(tmp_path / "p")
    child = TrainingProcess(train_argv(project)).start()
    try:
        child.stop()
        code = child.wait(60)
    finally:
        child.kill()
    assert code is not None and code != 0
    assert child.run is None


def test_reporter_never_lets_a_status_write_end_the_run(tmp_path, monkeypatch):
    run = RunDirectory.create(tmp_path, tiny_config())
    seen = []
    reporter = StatusReporter(run, seen.append, None)

    def fail(self, status):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(RunDirectory, "write_status", fail)
    event = RunFinished("completed", 1, 4)
    reporter(event)
    assert seen == [event]


def test_child_commands(tmp_path):
    from studio.app.follow import resume_run_child_argv
    from studio.app.training import TrainRequest

    argv = train_argv(tmp_path, {"epochs": 3, "dataset": "builtin:faces"}, gpus=2, max_steps=5)
    assert argv[1:] == [
        "-m", "studio", "train", str(tmp_path), "--quiet",
        "--set", "epochs=3", "--set", 'dataset="builtin:faces"', "--max-steps", "5", "--gpus", "2",
    ]  # fmt: skip
    run = RunDirectory.create(tmp_path, tiny_config(device="cuda:all", epochs=7))
    request = TrainRequest(run.read_config(), run=run, resume_from=run.checkpoint_path(3))
    assert resume_run_child_argv(request, gpus=4)[3:] == [
        "resume", str(run.checkpoint_path(3)), "--quiet", "--epochs", "7", "--device", "cuda", "--rewind",
        "--gpus", "4",
    ]  # fmt: skip

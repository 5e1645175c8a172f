"""``train``/``resume`` with ``--processes 2 --device cpu``: torchrun, two gloo ranks on 127.0.0.1.

Each launch starts four Python processes (the command, torchrun, two ranks),
so the cases share runs where they can.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from helpers import new_cli_project

from studio.app.distributed import _torchrun_summary, root_cause
from studio.cli import main
from studio.core.checkpoint import load_checkpoint
from studio.core.rundir import RunDirectory

TWO = ["--processes", "2", "--device", "cpu"]


def studio(*args: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    environment = dict(os.environ, OMP_NUM_THREADS="1", STUDIO_DIST_TIMEOUT="60", **(env or {}))
    return subprocess.Popen(
        [sys.executable, "-m", "studio", *args],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def finish(process: subprocess.Popen, timeout: float = 240) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def runs_of(project: Path) -> list[RunDirectory]:
    return [RunDirectory(p) for p in sorted((project / "runs").iterdir())]


def files_of(run: RunDirectory) -> set[str]:
    return {str(p.relative_to(run.path)) for p in run.path.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """(run of 2 processes, run of 1 process) of one project, one epoch each."""
    project = new_cli_project(tmp_path_factory.mktemp("dist") / "project")
    code, out, err = finish(studio("train", str(project), *TWO, "--epochs", "1", "--quiet"))
    assert code == 0, out + err
    assert "done: 1 epochs" in out and "error" not in err
    (two,) = runs_of(project)
    assert main(["train", str(project), "--epochs", "1", "--quiet"]) == 0
    (one,) = [r for r in runs_of(project) if r.path != two.path]
    return two, one


def test_two_processes_leave_the_files_of_one(two_runs, capsys):
    two, one = two_runs
    assert files_of(two) == files_of(one)
    assert len(two.read_metrics()) == len(one.read_metrics())
    assert main(["info", str(two.path)]) == 0  # the run reads like any other
    assert "epoch_0001.pt" in capsys.readouterr().out


def test_a_two_process_checkpoint_resumes_in_one_process(two_runs):
    two, _ = two_runs
    assert main(["resume", str(two.path), "--epochs", "2", "--quiet"]) == 0
    assert two.latest_checkpoint().path.name == "epoch_0002.pt"


def test_ctrl_c_on_the_launcher_stops_every_process_after_a_checkpoint(two_runs):
    # A one-process run resumed by two processes, stopped with Ctrl-C on the command.
    _, one = two_runs
    before = one.latest_checkpoint().path
    process = studio("resume", str(one.path), *TWO, "--epochs", "1000", "--quiet")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        rows = one.read_metrics(warn=False) if one.metrics_path.is_file() else []
        if any(r.get("kind") == "step" and r.get("epoch", 0) >= 3 for r in rows):
            break
        time.sleep(0.2)
    assert process.poll() is None, finish(process)
    process.send_signal(signal.SIGINT)
    code, out, err = finish(process, timeout=120)
    assert code == 130, out + err
    assert "stopped at epoch" in out
    latest = one.latest_checkpoint().path
    assert latest != before
    state = load_checkpoint(latest)
    assert state["epoch"] >= 2 and state["step"] > 3
    assert one.writer() is None  # every process has let go of the run


def test_an_error_on_rank_one_ends_the_run_with_its_message(tmp_path):
    project = new_cli_project(tmp_path / "project")
    inject = tmp_path / "inject"
    inject.mkdir()
    # Loaded at start-up by every Python process of the launch; acts in rank 1 only.
    (inject / "sitecustomize.py").write_text(
        "import os\n"
        "if os.environ.get('RANK') == '1':\n"
        "    from studio.core import trainer\n"
        "    step = trainer.Trainer._d_step\n"
        "    def failing(self, *args, **kwargs):\n"
        "        if self.step == 2:\n"
        "            raise RuntimeError('injected failure on rank 1')\n"
        "        return step(self, *args, **kwargs)\n"
        "    trainer.Trainer._d_step = failing\n"
    )
    path = os.pathsep.join([str(inject), os.environ.get("PYTHONPATH", "")])
    code, out, err = finish(studio("train", str(project), *TWO, "--quiet", env={"PYTHONPATH": path}))
    assert code == 2, out + err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == ["error: RuntimeError: injected failure on rank 1 (process 1 of 2)"], out + err
    (run,) = runs_of(project)
    assert run.latest_checkpoint() is None  # it failed in epoch 1: nothing half-made was written
    assert run.writer() is None


def test_the_failing_rank_is_told_from_those_that_lost_it():
    reports = [
        {"rank": 0, "world": 2, "message": "RuntimeError: Connection closed by peer [127.0.0.1]:1", "time": 1.0},
        {"rank": 1, "world": 2, "message": "out of memory on cuda", "time": 2.0},
    ]
    assert root_cause(reports)["rank"] == 1
    assert root_cause([]) is None
    # One failure seen by every rank (a loss averaged over them): rank 0 knows the run's files.
    same = [{"rank": 1, "message": "loss non-finite", "time": 5.0}, {"rank": 0, "message": "loss!", "time": 5.3}]
    assert root_cause(same)["rank"] == 0


def test_gpus_are_refused_in_one_line_where_there_are_too_few(tmp_path, capsys):
    project = new_cli_project(tmp_path / "project")
    asked = 1024 if torch.cuda.is_available() else 2
    assert main(["train", str(project), "--gpus", str(asked)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith(f"error: --gpus {asked}: this ")
    assert not (project / "runs").exists() or not any((project / "runs").iterdir())


def test_sync_batchnorm_is_refused_on_the_cpu(tmp_path, capsys):
    project = new_cli_project(tmp_path / "project")
    assert main(["train", str(project), *TWO, "--sync-batchnorm"]) == 2
    assert "needs CUDA GPUs" in capsys.readouterr().err


def test_a_process_killed_without_a_word_is_named_from_torchruns_log():
    log = [
        "Root Cause (first observed failure):\n",
        "[0]:\n",
        "  time      : 2026-12-03_21:03:40\n",
        "  rank      : 1 (local_rank: 1)\n",
        "  exitcode  : -9 (pid: 3433)\n",
        "  error_file: <N/A>\n",
        "  traceback : Signal 9 (SIGKILL) received by PID 3433\n",
    ]
    assert _torchrun_summary(log) == "process 1 was killed (Signal 9 (SIGKILL))"

"""The ``sweep`` and ``queue`` commands end to end on tiny runs."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import new_cli_project

from studio.cli import main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def project(tmp_path):
    return new_cli_project(tmp_path / "demo")  # 48 hair x eyes faces, batch 16


def _queue(project) -> list[dict]:
    return json.loads((project / "queue.json").read_text())["entries"]


def test_sweep_of_four_runs_with_one_failing(project, capsys):
    # 64 images a batch is more than the 48 the project draws: that run fails as it starts, the rest go on.
    args = ["sweep", str(project), "--set", "batch_size=16,24,48,64", "--set", "ema=false", "--epochs", "1", "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "[4/4]" in out and "3 done, 1 failed" in out, out
    assert "fewer than one batch (64)" in out  # the failure's reason, on the entry's line and in the table

    entries = _queue(project)
    assert [e["state"] for e in entries] == ["done", "done", "done", "failed"]
    assert entries[3]["run"] is None and len(list((project / "runs").iterdir())) == 3
    (sweep,) = (project / "sweeps").iterdir()
    with open(sweep / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["batch_size"], r["state"]) for r in rows] == [
        ("16", "done"),
        ("24", "done"),
        ("48", "done"),
        ("64", "failed"),
    ]
    assert all(r["epochs"] == "1" and float(r["d_loss"]) > 0 for r in rows[:3])
    assert "ema" not in rows[0]  # a setting every run shares is no difference

    # The queue command shows and tidies the same queue.
    assert main(["queue", str(project)]) == 0
    assert "3 done, 1 failed" in capsys.readouterr().out
    assert main(["queue", str(project), "results"]) == 0
    assert "fewer than one batch" in capsys.readouterr().out
    assert main(["queue", str(project), "retry", "--entry", entries[3]["id"]]) == 0
    assert _queue(project)[3]["state"] == "queued"
    assert main(["queue", str(project), "clear"]) == 0
    assert [e["state"] for e in _queue(project)] == ["queued"]


def test_refused_sweep_starts_nothing(project, capsys):
    assert main(["sweep", str(project), "--set", "d_lr=1e-4,5", "--set", "aux_weight=1,6"]) == 2
    err = capsys.readouterr().err
    assert "--set d_lr=5" in err and "at most 1.0" in err
    assert main(["sweep", str(project), "--set", "aux_wieght=1,6"]) == 2
    assert "did you mean aux_weight" in capsys.readouterr().err
    assert not (project / "queue.json").exists() and not (project / "runs").exists()


def test_dry_run_and_queue_only_then_queue_run(project, capsys):
    assert main(["sweep", str(project), "--set", "d_lr=1e-4,2e-4", "--set", "aux_weight=1,6", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "4 runs (nothing queued)" in out and "d_lr=0.0002, aux_weight=6" in out
    assert not (project / "queue.json").exists()

    assert main(["sweep", str(project), "--set", "seed=1,2", "--epochs", "1", "--queue-only"]) == 0
    assert [e["state"] for e in _queue(project)] == ["queued", "queued"]
    first = _queue(project)[0]["id"]
    assert main(["queue", str(project), "run", "--entry", first, "--quiet"]) == 0
    assert [e["state"] for e in _queue(project)] == ["done", "queued"]
    assert main(["queue", str(project), "run", "--entry", first]) == 2
    assert "is done, not queued" in capsys.readouterr().err


def test_ctrl_c_stops_the_run_with_a_checkpoint_and_leaves_the_rest_queued(project):
    proc = subprocess.Popen(
        [sys.executable, "-m", "studio", "sweep", str(project), "--set", "seed=1,2,3", "--epochs", "1000", "--quiet"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
    )
    try:
        for line in proc.stdout:
            if line.startswith("epoch 1:"):
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "1 stopped, 2 queued" in out
    entries = _queue(project)
    assert [e["state"] for e in entries] == ["stopped", "queued", "queued"]
    checkpoints = project / "runs" / entries[0]["run"] / "checkpoints"
    assert any(checkpoints.glob("epoch_*.pt"))

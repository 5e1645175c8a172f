"""The headless commands end to end on tiny configs, and their error messages."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import new_cli_project
from PIL import Image

from studio.cli import main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path):
    return new_cli_project(tmp_path / "demo")


def test_new_writes_a_project_from_the_preset(project):
    data = json.loads((project / "project.json").read_text())
    assert data["preset"] == "acgan-hair-eyes" and data["config"]["family"] == "acgan"
    assert data["config"]["ngf"] == 4 and data["version"] == 1


def test_new_refuses_to_overwrite(project, capsys):
    before = (project / "project.json").read_text()
    assert main(["new", str(project), "--preset", "dcgan-faces"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (project / "project.json").read_text() == before


def test_train_sample_info_resume(project, tmp_path, capsys):
    assert main(["train", str(project), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "epoch 2:" in out and "done: 2 epochs" in out
    (run,) = (project / "runs").iterdir()
    checkpoint = run / "checkpoints" / "epoch_0002.pt"
    assert checkpoint.is_file() and (run / "samples" / "epoch_0002.png").is_file()

    grid = tmp_path / "grid.png"
    assert (
        main(["sample", str(checkpoint), "--out", str(grid), "--fix", "blue eyes", "--cols", "hair", "--n", "3"]) == 0
    )
    image = Image.open(grid)
    # 3 rows x 12 hair colours of 32 px with 2 px padding, plus caption margins.
    assert image.width > 12 * 34 and image.height > 3 * 34

    plain = tmp_path / "plain.png"
    assert (
        main(
            [
                "sample",
                str(checkpoint),
                "--out",
                str(plain),
                "--condition",
                "red hair, green eyes",
                "--n",
                "4",
                "--no-captions",
                "--scale",
                "2",
            ]
        )
        == 0
    )
    assert Image.open(plain).size == (2 * (4 * 34 + 2), 2 * (34 + 2))

    assert main(["info", str(checkpoint)]) == 0
    assert "epoch 2" in capsys.readouterr().out
    assert main(["info", str(project)]) == 0

    assert main(["resume", str(project), "--epochs", "3", "--quiet"]) == 0
    assert (run / "checkpoints" / "epoch_0003.pt").is_file()
    state = torch.load(run / "checkpoints" / "epoch_0003.pt", weights_only=True)
    assert state["epoch"] == 3

    # An older checkpoint rewinds the run over later files: only when asked to.
    capsys.readouterr()
    later = [(run / "checkpoints" / f"epoch_000{e}.pt").read_bytes() for e in (2, 3)]
    first = run / "checkpoints" / "epoch_0001.pt"
    assert main(["resume", str(first), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{first}: the run has 2 later checkpoint(s), up to epoch_0003.pt" in err and "--rewind" in err
    assert [(run / "checkpoints" / f"epoch_000{e}.pt").read_bytes() for e in (2, 3)] == later
    assert main(["resume", str(first), "--rewind", "--quiet"]) == 0
    assert torch.load(run / "checkpoints" / "epoch_0003.pt", weights_only=True)["epoch"] == 3


def test_interrupted_train_leaves_a_checkpoint_and_resumes(project):
    assert main(["train", str(project), "--quiet", "--max-steps", "2"]) == 0
    (run,) = (project / "runs").iterdir()
    assert [p.name for p in (run / "checkpoints").iterdir()] == ["epoch_0001_step_000002.pt"]
    assert main(["resume", str(run), "--quiet"]) == 0
    assert (run / "checkpoints" / "epoch_0002.pt").is_file()


def test_minutes_stops_training_at_the_time_budget_with_a_checkpoint(project, capsys):
    # A budget of 0.6 s against 10,000 epochs: only the time limit can end this run.
    assert main(["train", str(project), "--quiet", "--epochs", "10000", "--minutes", "0.01"]) == 0
    out = capsys.readouterr().out
    assert "(0.01 minutes of training)" in out
    (run,) = (project / "runs").iterdir()
    saved = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert saved and not any(name.startswith("epoch_10000") for name in saved)


def test_minutes_must_be_positive(project, capsys):
    with pytest.raises(SystemExit):
        main(["train", str(project), "--minutes", "0"])
    assert "give a positive number" in capsys.readouterr().err
    assert not (project / "runs").exists()


@pytest.mark.parametrize(
    "argv,expected",
    [
        (["train", "{tmp}/nowhere"], "no project file here"),
        (["new", "{tmp}/p", "--preset", "no-such"], "no preset 'no-such'"),
        (["new", "{tmp}/p", "--dataset", "imagenet:x"], "unknown source 'imagenet'"),
        (["new", "{tmp}/p", "--dataset", "folder:{tmp}/missing"], "no such folder"),
        (["new", "{tmp}/p", "--set", "ngf=-3"], "ngf is -3"),
        (["new", "{tmp}/p", "--preset", "cgan-hair-eyes", "--set", 'loss="wgan-gp"'], "BatchNorm"),
        (["sample", "{tmp}/missing.pt", "--out", "{tmp}/o.png"], "no such checkpoint"),
        (["info", "{tmp}"], "not a project, run folder or checkpoint"),
        (["resume", "{tmp}"], "not a project, run folder or checkpoint"),
    ],
)
def test_bad_input_gets_one_line_and_exit_2(tmp_path, capsys, argv, expected):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and expected in err and "\n" not in err


def test_damaged_checkpoint_is_reported_by_name(tmp_path, capsys):
    bad = tmp_path / "epoch_0001.pt"
    bad.write_bytes(b"not a zip file at all")
    assert main(["sample", str(bad), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "damaged" in err
    assert not (tmp_path / "x.png").exists()


def test_help_and_errors_from_a_real_process(tmp_path):
    for argv in (["-m", "studio", "--help"], ["main.py", "--help"]):
        done = subprocess.run([sys.executable, *argv], cwd=REPO, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and "usage" in done.stdout.lower()
    done = subprocess.run(
        [sys.executable, "-m", "studio", "info", str(tmp_path / "x.pt")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_ctrl_c_finishes_the_step_writes_a_checkpoint_and_exits_cleanly(project):
    import signal

    proc = subprocess.Popen(
        [sys.executable, "-m", "studio", "train", str(project), "--quiet", "--epochs", "1000"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
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
    assert "Traceback" not in err and "stopped at epoch" in out
    (run,) = (project / "runs").iterdir()
    latest = sorted((run / "checkpoints").iterdir())[-1]
    state = torch.load(latest, weights_only=True)
    assert state["step"] >= 3


def test_bad_argument_is_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err

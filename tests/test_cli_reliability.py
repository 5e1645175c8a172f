"""Probed defects of the headless commands: non-finite numbers, bounds, outputs over inputs, signals, warnings."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from helpers import new_cli_project

from studio.cli import main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path):
    return new_cli_project(tmp_path / "demo")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A project with one finished 2-epoch run (shared: the tests below never change it)."""
    path = new_cli_project(tmp_path_factory.mktemp("trained") / "demo", "--set", "ema=true")
    assert main(["train", str(path), "--quiet"]) == 0
    (run,) = (path / "runs").iterdir()
    return run


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(
    "setting",
    [
        "ema_decay=NaN",
        "g_lr=Infinity",
        "lr_gamma=NaN",
        "d_dropout=-Infinity",
        'g_betas=["a","b"]',
        "d_betas=[null,0.9]",
        "g_betas=[[0.5],0.9]",
    ],
)
def test_non_finite_and_non_numeric_settings_are_refused_by_name(project, capsys, setting):
    before = (project / "project.json").read_bytes()
    assert main(["train", str(project), "--set", setting]) == 2
    assert setting.split("=")[0] in one_line_error(capsys)
    assert (project / "project.json").read_bytes() == before
    assert not (project / "runs").exists()


def test_a_project_file_with_bare_nan_is_refused_naming_file_and_setting(project, capsys):
    file = project / "project.json"
    file.write_text(file.read_text().replace('"g_lr": 0.0002', '"g_lr": NaN'))
    assert main(["train", str(project)]) == 2
    err = one_line_error(capsys)
    assert str(file) in err and "g_lr is nan" in err


def test_the_files_the_studio_writes_are_strict_json(trained):
    def refuse(name):
        raise AssertionError(f"bare {name}")

    for path in [trained / "config.json", trained.parent.parent / "project.json", trained / "metrics.jsonl"]:
        for line in path.read_text().splitlines() if path.suffix == ".jsonl" else [path.read_text()]:
            json.loads(line, parse_constant=refuse)


@pytest.mark.parametrize(
    "options,expected",
    [
        (["--truncation", "nan"], "--truncation"),
        (["--truncation", "inf"], "--truncation"),
        (["--scale", "1000"], "--scale"),
        (["--random", "100000"], "--random"),
        (["--n", "0"], "--n"),
        (["--condition", "red hair, blue eyes", "--n", "1024", "--scale", "16"], "megapixels"),
    ],
)
def test_sample_refuses_non_finite_and_unbounded_requests(trained, tmp_path, capsys, options, expected):
    out = tmp_path / "grid.png"
    argv = ["sample", str(trained / "checkpoints" / "epoch_0002.pt"), "--out", str(out), *options]
    try:
        code = main(argv)
    except SystemExit as exc:  # refused by the argument parser
        code = exc.code
    assert code == 2 and expected in one_line_error(capsys)
    assert not out.exists()


@pytest.mark.parametrize("option", [["--minutes", "nan"], ["--minutes", "inf"], ["--epochs", "0"]])
def test_train_options_refuse_non_finite_values(project, capsys, option):
    with pytest.raises(SystemExit) as info:
        main(["train", str(project), *option])
    assert info.value.code == 2 and option[0] in one_line_error(capsys)


def test_outputs_never_overwrite_a_checkpoint_even_with_force(trained, capsys):
    first, second = trained / "checkpoints" / "epoch_0001.pt", trained / "checkpoints" / "epoch_0002.pt"
    before = {p: p.read_bytes() for p in (first, second)}
    for argv in (
        ["export", str(second), "--format", "state_dict", "--out", str(first), "--force"],
        ["sample", str(second), "--out", str(second), "--force"],
        ["export", str(second), "--format", "state_dict", "--out", str(trained / "checkpoints" / "g.pt")],
    ):
        assert main(argv) == 2
        assert str(trained) in one_line_error(capsys)
    assert {p: p.read_bytes() for p in (first, second)} == before
    assert sorted(p.name for p in (trained / "checkpoints").iterdir()) == ["epoch_0001.pt", "epoch_0002.pt"]


def test_bad_input_to_train_leaves_no_run_folder(project, capsys):
    for setting in ("batch_size=4000", 'device="cuda:7"'):
        assert main(["train", str(project), "--set", setting]) == 2
        one_line_error(capsys)
    assert main(["train", str(project), "--device", "cuda:3"]) == 2
    one_line_error(capsys)
    assert not (project / "runs").exists() or not list((project / "runs").iterdir())


def test_a_damaged_metrics_line_is_a_one_line_warning_and_the_run_stays_usable(project, capsys):
    assert main(["train", str(project), "--quiet", "--set", "epochs=1"]) == 0
    (run,) = (project / "runs").iterdir()
    metrics = run / "metrics.jsonl"
    lines = metrics.read_bytes().split(b"\n")
    metrics.write_bytes(b"\n".join([lines[0], b"\xff\xfe", b"42", *lines[1:]]))
    capsys.readouterr()
    assert main(["info", str(run)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"warning: {metrics}: line 2 skipped (not UTF-8 text)",
        f"warning: {metrics}: line 3 skipped (not an object but a JSON number)",
    ]
    assert main(["resume", str(project), "--epochs", "2", "--quiet"]) == 0
    assert (run / "checkpoints" / "epoch_0002.pt").is_file()


def _start_training(project, *extra, **popen):
    return subprocess.Popen(
        [sys.executable, "-m", "studio", "train", str(project), "--quiet", "--epochs", "1000", *extra],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def test_sigterm_stops_like_ctrl_c_with_a_checkpoint(project):
    proc = _start_training(project)
    try:
        for line in proc.stdout:
            if line.startswith("epoch 1:"):
                break
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and "SIGTERM: stopping after this step" in err and "stopped at epoch" in out
    (run,) = (project / "runs").iterdir()
    latest = sorted((run / "checkpoints").iterdir())[-1]
    assert torch.load(latest, weights_only=True)["step"] >= 3
    assert main(["resume", str(project), "--epochs", "3", "--quiet"]) == 0


def test_ctrl_c_before_training_starts_ends_the_command_even_when_the_shell_ignored_it(project):
    # A command started in the background by a script inherits Ctrl-C as ignored; the studio takes it back.
    proc = _start_training(project, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err

"""The checkpoint lab and explorer commands end to end: average, export, sample's new options."""

import json

import pytest
import torch
from helpers import CLI_TINY, cli_settings, new_cli_project
from PIL import Image

from studio.cli import main

# The command line's tiny settings, with a smaller set, a third epoch and an EMA of G.
LAB = cli_settings(dataset_size=32, epochs=3, ema=True, ema_decay=0.5)
TINY = [*CLI_TINY, *LAB]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A 3-epoch hair x eyes run with an EMA of G, trained once for every test here."""
    project = new_cli_project(tmp_path_factory.mktemp("lab") / "demo", *LAB)
    assert main(["train", str(project), "--quiet"]) == 0
    (path,) = (project / "runs").iterdir()
    return path


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    return err


def test_average_lists_writes_and_never_overwrites(run, capsys):
    assert main(["average", str(run)]) == 0
    listing = capsys.readouterr().out
    assert "epoch_0003.pt" in listing and "d_loss" in listing and "EMA at epoch 3" in listing

    assert main(["average", str(run), "--last", "2", "--bn-batches", "2", "--bn-batch-size", "8"]) == 0
    out = capsys.readouterr().out
    written = run / "checkpoints" / "average_epochs_0002-0003.pt"
    assert f"wrote {written}" in out and "re-estimated from 2 batches of 8" in out
    state = torch.load(written, weights_only=True)
    assert state["averaged"]["epochs"] == [2, 3] and state["bn_reestimated"] is True

    before = written.read_bytes()
    assert main(["average", str(run), "--epochs", "2-3"]) == 2
    assert "already exists" in one_line_error(capsys) and written.read_bytes() == before

    assert (
        main(
            [
                "average",
                str(run),
                "--files",
                "epoch_0001.pt",
                "epoch_0003.pt",
                "--no-bn-reestimate",
                "--out",
                "average_plain",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "averaged from the checkpoints (not re-estimated)" in out
    assert (run / "checkpoints" / "average_plain.pt").is_file()

    # The run still resumes from its last training checkpoint, never from an average.
    assert main(["info", str(run)]) == 0
    assert "average of epochs 2-3" in capsys.readouterr().out
    assert main(["resume", str(written)]) == 2
    assert str(written) in one_line_error(capsys)


def test_average_refuses_bad_selections(run, tmp_path, capsys):
    assert main(["average", str(run), "--last", "9"]) == 2
    assert "only 3" in one_line_error(capsys)
    assert main(["average", str(run), "--epochs", "7-9"]) == 2
    assert "no checkpoints for epochs 7-9" in one_line_error(capsys)
    other = tmp_path / "other"
    assert main(["new", str(other), "--preset", "acgan-hair-eyes", *TINY, "--set", "nz=16", "--set", "epochs=1"]) == 0
    assert main(["train", str(other), "--quiet"]) == 0
    (other_run,) = (other / "runs").iterdir()
    foreign = other_run / "checkpoints" / "epoch_0001.pt"
    assert main(["average", str(run), "--files", "epoch_0001.pt", str(foreign)]) == 2
    err = one_line_error(capsys)
    assert str(foreign) in err and "epoch_0001.pt" in err and "nz" in err


@pytest.mark.parametrize("fmt", ["state_dict", "torchscript"])
def test_export_writes_the_generator_and_its_description(run, tmp_path, capsys, fmt):
    out = tmp_path / f"g_{fmt}.pt"
    assert (
        main(["export", str(run / "checkpoints" / "epoch_0003.pt"), "--ema", "--format", fmt, "--out", str(out)]) == 0
    )
    assert f"wrote {out}" in capsys.readouterr().out
    info = json.loads((tmp_path / f"g_{fmt}.pt.json").read_text())
    assert info["source"]["which"] == "ema" and info["inputs"]["condition"]["shape"] == ["N", 22]
    assert main(["export", str(run / "checkpoints" / "epoch_0003.pt"), "--format", fmt, "--out", str(out)]) == 2
    assert "already exists" in one_line_error(capsys)


def test_sample_truncation_interpolation_and_sheet(run, tmp_path, capsys):
    checkpoint = str(run / "checkpoints" / "epoch_0003.pt")
    trunc = tmp_path / "trunc.png"
    assert (
        main(
            [
                "sample",
                checkpoint,
                "--out",
                str(trunc),
                "--condition",
                "red hair, blue eyes",
                "--n",
                "4",
                "--truncation",
                "0.5",
                "--truncation-mode",
                "rescale",
                "--no-captions",
            ]
        )
        == 0
    )
    assert Image.open(trunc).size == (4 * 34 + 2, 34 + 2)

    walk = tmp_path / "walk.png"
    assert (
        main(
            [
                "sample",
                checkpoint,
                "--out",
                str(walk),
                "--interpolate",
                "noise",
                "--condition",
                "red hair, blue eyes",
                "--condition",
                "blonde hair, green eyes",
                "--steps",
                "6",
                "--no-captions",
            ]
        )
        == 0
    )
    assert Image.open(walk).size == (6 * 34 + 2, 2 * 34 + 2)

    blend = tmp_path / "blend.png"
    assert (
        main(
            [
                "sample",
                checkpoint,
                "--out",
                str(blend),
                "--interpolate",
                "condition",
                "--condition",
                "red hair, blue eyes",
                "--condition",
                "blonde hair, blue eyes",
                "--n",
                "3",
                "--no-captions",
            ]
        )
        == 0
    )
    assert Image.open(blend).size == (8 * 34 + 2, 3 * 34 + 2)
    assert main(["sample", checkpoint, "--out", str(tmp_path / "x.png"), "--interpolate", "condition"]) == 2
    assert "exactly two" in one_line_error(capsys)

    sheet = tmp_path / "sheet.png"
    assert main(["sample", checkpoint, "--out", str(sheet), "--fix", "blue eyes", "--n", "2", "--sheet"]) == 0
    out = capsys.readouterr().out
    assert "epoch 3" in out and "EMA at epoch 3" in out
    # Three 2 x 12 grids of 32 px side by side at least.
    assert Image.open(sheet).width > 3 * 12 * 34

"""The judge and evaluate commands, end to end on a tiny run."""

from __future__ import annotations

import pytest

from studio.cli import main
from studio.eval.results import load_results


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    project = root / "project"
    settings = ["dataset_size=200", "image_size=32", "ngf=8", "ndf=8", "nz=16", "batch_size=20", "epochs=2",
                "ema=true", "precision=float32", "device=cpu"]
    argv = ["new", str(project), "--preset", "tiny-demo", "--dataset", "builtin:digits"]
    for s in settings:
        argv += ["--set", s]
    assert main(argv) == 0
    assert main(["train", str(project), "--quiet"]) == 0
    run = next((project / "runs").iterdir())
    judge = root / "judge.pt"
    assert main(["judge", "train", "builtin:digits", "--size", "300", "--epochs", "1", "--width", "8",
                 "--quiet", "--out", str(judge)]) == 0
    return run, judge


def test_judge_train_prints_the_held_out_accuracy_last(tiny_run, capsys, tmp_path):
    assert main(["judge", "train", "builtin:digits", "--size", "200", "--epochs", "1", "--width", "8",
                 "--quiet", "--out", str(tmp_path / "j.pt")]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("held-out accuracy on 20 images: accuracy ")
    assert (tmp_path / "j.pt").is_file()


def test_evaluate_a_run_scores_last_checkpoint_and_ema_and_keeps_the_figures(tiny_run, capsys):
    run, judge = tiny_run
    assert main(["evaluate", str(run), "--judge", str(judge), "--metrics", "cond_acc,fid,kid,is", "--n", "40",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "real images" in out and "EMA at epoch 2" in out and "judge:judge.pt features" in out
    rows = load_results(run)
    assert {(r["which"], r["metric"]) for r in rows} >= {("g", "cond_acc"), ("ema", "fid"), ("ema", "is")}
    assert all(0.0 <= r["value"] <= 1.0 for r in rows if r["metric"] == "cond_acc")
    assert (run / "evaluation" / "results.csv").is_file()
    # a second evaluation appends
    ckpt = sorted((run / "checkpoints").glob("epoch_*.pt"))[0]
    assert main(["evaluate", str(ckpt), "--judge", str(judge), "--metrics", "cond_acc", "--n", "20", "--quiet"]) == 0
    assert len(load_results(run)) == len(rows) + 1


def test_evaluate_reports_bad_input_in_one_line(tiny_run, capsys, tmp_path):
    run, judge = tiny_run
    assert main(["evaluate", str(run), "--judge", str(judge), "--metrics", "fid,sharpness"]) == 2
    assert "unknown metric sharpness" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "missing.pt")]) == 2
    assert "missing.pt: no such checkpoint file" in capsys.readouterr().err

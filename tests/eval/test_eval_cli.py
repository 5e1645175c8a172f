"""The judge and evaluate commands, end to end on a tiny run."""

from __future__ import annotations

import json
import os

import pytest
import torch

from studio.cli import main
from studio.eval.evaluate import EvaluationRequest, evaluate, generator_ref
from studio.eval.judge import load_judge
from studio.eval.results import load_results


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    project = root / "project"
    settings = [
        "dataset_size=200",
        "image_size=32",
        "ngf=8",
        "ndf=8",
        "nz=16",
        "batch_size=20",
        "epochs=2",
        "ema=true",
        "precision=float32",
        "device=cpu",
    ]
    argv = ["new", str(project), "--preset", "tiny-demo", "--dataset", "builtin:digits"]
    for s in settings:
        argv += ["--set", s]
    assert main(argv) == 0
    assert main(["train", str(project), "--quiet"]) == 0
    run = next((project / "runs").iterdir())
    return run


@pytest.fixture(scope="module")
def judge(tmp_path_factory):
    path = tmp_path_factory.mktemp("judges") / "digits-judge.pt"
    assert (
        main(
            [
                "judge",
                "train",
                "builtin:digits",
                "--size",
                "200",
                "--epochs",
                "1",
                "--width",
                "8",
                "--quiet",
                "--out",
                str(path),
            ]
        )
        == 0
    )
    return str(path)


def test_judge_train_prints_the_held_out_accuracy_last_and_never_replaces_silently(tmp_path, capsys):
    judge_dir = tmp_path / "judges"
    argv = [
        "judge",
        "train",
        "builtin:digits",
        "--size",
        "200",
        "--epochs",
        "1",
        "--width",
        "8",
        "--quiet",
        "--out",
        str(judge_dir),
    ]
    assert main(argv) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("held-out accuracy on 20 images: accuracy ")
    (written,) = judge_dir.glob("builtin_digits-32px-3ch-*.pt")
    assert load_judge(written).heldout_n == 20
    before = written.read_bytes()
    assert main(argv) == 2
    assert "a judge is already stored there; pass --force" in capsys.readouterr().err
    assert written.read_bytes() == before
    assert main(argv + ["--force"]) == 0


def test_evaluate_a_run_scores_last_checkpoint_and_ema_and_keeps_the_figures(tiny_run, judge, capsys):
    assert (
        main(
            [
                "evaluate",
                str(tiny_run),
                "--judge",
                judge,
                "--metrics",
                "cond_acc,fid,kid,is",
                "--n",
                "40",
                "--n-real",
                "60",
                "--quiet",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "real images" in out and "EMA at epoch 2" in out and "features, 60 real images" in out
    header = next(line for line in out.splitlines() if line.startswith("generator"))
    assert header.split()[1:] == ["cond_acc", "fid", "kid", "kid_std", "is", "is_std"]
    rows = load_results(tiny_run)
    assert {(r["which"], r["metric"]) for r in rows} >= {
        ("real", "cond_acc"),
        ("g", "cond_acc"),
        ("ema", "fid"),
        ("ema", "is"),
        ("g", "cond_acc:7"),
    }
    assert all(0.0 <= r["value"] <= 1.0 for r in rows if r["metric"].startswith("cond_acc"))
    fid = next(r for r in rows if r["metric"] == "fid")
    assert fid["feature_space"].startswith("judge:") and fid["n"] == 40 and len(fid["judge_id"]) == 12
    assert (tiny_run / "evaluation" / "results.csv").read_text().count("\n") == len(rows) + 1
    # A second evaluation appends, earlier figures stay as they were.
    ckpt = sorted((tiny_run / "checkpoints").glob("epoch_*.pt"))[0]
    assert main(["evaluate", str(ckpt), "--judge", judge, "--metrics", "cond_acc", "--n", "20", "--quiet"]) == 0
    again = load_results(tiny_run)
    assert again[: len(rows)] == rows
    added = [(r["generator"], r["metric"]) for r in again[len(rows) :] if ":" not in r["metric"]]
    assert added == [("real images", "cond_acc"), ("epoch_0001.pt", "cond_acc")]


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_evaluate_with_test_conditions_and_a_torchscript_classifier(tiny_run, judge, tmp_path, capsys):
    scripted = tmp_path / "classifier.pt"
    torch.jit.script(load_judge(judge).net).save(str(scripted))
    conditions = tmp_path / "test.json"
    conditions.write_text(json.dumps(["3", "7", 1]))
    ckpt = sorted((tiny_run / "checkpoints").glob("epoch_*.pt"))[-1]
    assert (
        main(
            [
                "evaluate",
                str(ckpt),
                "--ema",
                "--judge-torchscript",
                str(scripted),
                "--judge-size",
                "32",
                "--metrics",
                "cond_acc",
                "--conditions",
                str(conditions),
                "--n",
                "30",
                "--no-save",
                "--quiet",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "(test.json x 10)" in out and "cond_acc [test.json]" in out
    assert main(["evaluate", str(ckpt), "--judge-torchscript", str(scripted), "--metrics", "fid"]) == 2
    assert "no features for FID/KID/IS; use the Inception features" in capsys.readouterr().err


def test_evaluate_reports_bad_input_in_one_line(tiny_run, judge, capsys, tmp_path):
    assert main(["evaluate", str(tiny_run), "--judge", judge, "--metrics", "fid,sharpness"]) == 2
    assert "unknown metric sharpness" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "missing.pt")]) == 2
    assert "missing.pt: no such checkpoint file" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('["3", "eleven"]')
    assert main(["evaluate", str(tiny_run), "--judge", judge, "--metrics", "cond_acc", "--conditions", str(bad)]) == 2
    assert "bad.json: condition 2" in capsys.readouterr().err
    assert (
        main(
            [
                "evaluate",
                str(tiny_run),
                "--judge",
                judge,
                "--features",
                "inception",
                "--inception-weights",
                str(tmp_path / "w.pth"),
                "--metrics",
                "fid",
                "--n",
                "4",
            ]
        )
        == 2
    )
    assert "w.pth: no such Inception weights file" in capsys.readouterr().err


def test_evaluate_api_stops_when_asked_and_keeps_what_it_finished(tiny_run, judge):
    refs = [generator_ref(p) for p in sorted((tiny_run / "checkpoints").glob("epoch_*.pt"))]
    before = len(load_results(tiny_run))
    seen: list[tuple[str, float]] = []

    def progress(message: str, fraction: float) -> None:
        seen.append((message, fraction))

    request = EvaluationRequest(metrics=("cond_acc",), n=20, judge_path=judge)
    # Stop once the first generator is done: its figures are kept, the second is never scored.
    with pytest.raises(Exception, match="evaluation cancelled"):
        evaluate(
            refs,
            request,
            progress=progress,
            log=lambda text: None,
            should_stop=lambda: any(m.startswith("conditional accuracy: 20/20") for m, _ in seen),
        )
    added = load_results(tiny_run)[before:]
    assert {r["generator"] for r in added} == {"real images", "epoch_0001.pt"}
    assert all(0.0 <= f <= 1.0 for _, f in seen)


def test_evaluating_two_runs_keeps_their_figures_apart(tiny_run, judge, tmp_path, capsys):
    import shutil

    other = tiny_run.parent / "other-run"
    shutil.copytree(tiny_run, other)
    assert (
        main(
            [
                "evaluate",
                str(tiny_run),
                str(other),
                "--judge",
                judge,
                "--metrics",
                "cond_acc",
                "--n",
                "20",
                "--no-save",
                "--quiet",
            ]
        )
        == 0
    )
    table = capsys.readouterr().out.split("generator", 1)[1].splitlines()[1:]
    names = [line.split()[0] for line in table if line.strip()]
    # Both runs hold an "epoch 2" and an "EMA at epoch 2": four lines, each naming its run, and the real images.
    assert sorted(names) == sorted(
        ["real", f"{tiny_run.name}/epoch", "other-run/epoch", f"{tiny_run.name}/EMA", "other-run/EMA"]
    )
    shutil.rmtree(other)


def test_evaluate_refuses_what_it_cannot_score_before_any_work(tiny_run, judge, tmp_path, capsys, monkeypatch):
    import studio.eval.evaluate as evaluate_module

    # A project folder is not a run.
    project = tiny_run.parent.parent
    assert main(["evaluate", str(project), "--judge", judge]) == 2
    assert f"{project}: a project folder; name one of its runs" in capsys.readouterr().err
    # --ema on a run that kept none names the run, instead of scoring nothing.
    plain = tmp_path / "no-ema-run"
    (plain / "checkpoints").mkdir(parents=True)
    (plain / "config.json").write_text(json.dumps({**json.loads((tiny_run / "config.json").read_text()), "ema": False}))
    for path in (tiny_run / "checkpoints").glob("epoch_*.pt"):
        state = torch.load(path, weights_only=True)
        state["ema"] = None
        torch.save(state, plain / "checkpoints" / path.name)
    assert main(["evaluate", str(plain), "--ema", "--judge", judge, "--metrics", "cond_acc"]) == 2
    assert f"{plain}: this run kept no EMA of G" in capsys.readouterr().err
    # IS in judge features needs a categorical set: refused before any data is loaded or judge opened.
    from studio.data.dataset import dataset_space
    from studio.errors import StudioError

    faces = (None, dataset_space("builtin:faces"), type("Config", (), {"dataset": "builtin:faces"})())
    monkeypatch.setattr(evaluate_module, "load_generator", lambda ref, device: faces)
    monkeypatch.setattr("studio.data.dataset.load_dataset", lambda *a, **k: pytest.fail("the dataset was loaded"))
    monkeypatch.setattr(evaluate_module, "open_judge", lambda *a, **k: pytest.fail("the judge was opened"))
    ckpt = next((tiny_run / "checkpoints").glob("epoch_*.pt"))
    with pytest.raises(StudioError, match="builtin:faces: IS needs one class per image"):
        evaluate([generator_ref(ckpt)], EvaluationRequest(metrics=("cond_acc", "is")))


def _refused(argv: list[str], capsys) -> str:
    """The one line argparse printed refusing ``argv`` (exit status 2) before any work."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize(
    "option,value",
    [
        ("--image-size", "-4"),
        ("--image-size", "nan"),
        ("--image-size", "100000"),
        ("--size", "-5"),
        ("--size", "inf"),
        ("--size", "10000000000"),
        ("--epochs", "0"),
        ("--epochs", "nan"),
        ("--epochs", "1e9"),
        ("--width", "0"),
        ("--width", "100000"),
        ("--channels", "nan"),
    ],
)
def test_judge_train_refuses_numbers_out_of_range_by_name(option, value, capsys, monkeypatch):
    monkeypatch.setattr("studio.data.dataset.load_dataset", lambda *a, **k: pytest.fail("the dataset was loaded"))
    err = _refused(["judge", "train", "builtin:digits", option, value], capsys)
    assert err.startswith(f"error: argument {option}: ")


@pytest.mark.parametrize(
    "option,value",
    [
        ("--n", "nan"),
        ("--n", "0"),
        ("--n", "inf"),
        ("--n", "-3"),
        ("--n", "10000000"),
        ("--n-real", "nan"),
        ("--n-real", "1"),
        ("--n-real", "1e12"),
        ("--seed", "-1"),
        ("--seed", str(2**31)),
        ("--seed", "nan"),
        ("--judge-size", "nan"),
        ("--judge-size", "2"),
        ("--judge-size", "99999"),
        ("--judge-mean", "nan,0.5,0.5"),
        ("--judge-mean", "inf"),
        ("--judge-mean", "a,b,c"),
        ("--judge-mean", "0.5,0.5"),
        ("--judge-std", "nan,1,1"),
        ("--judge-std", "0,1,1"),
        ("--judge-std", "-1"),
        ("--judge-std", "1,inf,1"),
    ],
)
def test_evaluate_refuses_numbers_out_of_range_by_name(option, value, capsys, tmp_path, monkeypatch):
    import studio.eval.evaluate as evaluate_module

    monkeypatch.setattr(evaluate_module, "evaluate", lambda *a, **k: pytest.fail("the evaluation started"))
    err = _refused(["evaluate", str(tmp_path / "g.pt"), option, value], capsys)
    assert err.startswith(f"error: argument {option}: ")


def test_evaluate_takes_the_normalisation_as_numbers(capsys):
    from studio.cli import build_parser

    args = build_parser().parse_args(["evaluate", "g.pt", "--judge-mean", "0.485,0.456,0.406", "--judge-std", "0.2"])
    assert args.judge_mean == (0.485, 0.456, 0.406) and args.judge_std == (0.2,)
    assert build_parser().parse_args(["evaluate", "g.pt"]).judge_std == (0.5, 0.5, 0.5)


def _no_training(monkeypatch):
    import studio.eval.judge as judge_module

    monkeypatch.setattr("studio.data.dataset.load_dataset", lambda *a, **k: pytest.fail("the dataset was loaded"))
    monkeypatch.setattr(judge_module, "train_judge", lambda *a, **k: pytest.fail("the judge was trained"))


def test_judge_train_refuses_an_out_folder_it_cannot_write_before_training(tmp_path, capsys, monkeypatch):
    _no_training(monkeypatch)
    (tmp_path / "afile").write_text("a file, so no folder can be made under it")
    out = tmp_path / "afile" / "judge"
    assert main(["judge", "train", "builtin:digits", "--quiet", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and f"{out}: cannot write the judge there" in err
    # A .pt file given directly: its folder is checked.
    assert main(["judge", "train", "builtin:digits", "--quiet", "--out", str(out / "j.pt")]) == 2
    assert f"{out}: cannot write the judge there" in capsys.readouterr().err


def test_judge_train_creates_a_missing_out_folder_and_leaves_no_probe(tmp_path, monkeypatch):
    import studio.data.dataset as dataset_module

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(dataset_module, "load_dataset", stop)
    out = tmp_path / "new" / "judges"
    with pytest.raises(Stop):  # the check passed and the data began to load
        main(["judge", "train", "builtin:digits", "--quiet", "--out", str(out)])
    assert out.is_dir() and list(out.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder regardless")
def test_judge_train_refuses_a_read_only_out_folder(tmp_path, capsys, monkeypatch):
    _no_training(monkeypatch)
    out = tmp_path / "read-only"
    out.mkdir()
    out.chmod(0o500)
    try:
        assert main(["judge", "train", "builtin:digits", "--quiet", "--out", str(out)]) == 2
    finally:
        out.chmod(0o700)
    assert f"{out}: cannot write the judge there" in capsys.readouterr().err

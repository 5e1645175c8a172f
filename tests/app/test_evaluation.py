"""Training a dataset's judge and evaluating generators through the application layer."""

import shutil

import pytest
from PIL import Image

from studio.app.evaluation import (
    JudgeExists,
    JudgeRequest,
    evaluate_generators,
    generator_refs,
    judge_defaults,
    judge_request_for_run,
    plan_judge,
    train_judge,
)
from studio.app.training import Training, new_project, new_run_request
from studio.errors import StudioError
from studio.eval.evaluate import EvaluationRequest
from studio.eval.judge import load_judge
from studio.eval.results import load_results


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A 1-epoch conditional run on 200 built-in digits, with an EMA."""
    folder = tmp_path_factory.mktemp("eval") / "digits"
    project = new_project(
        folder,
        "tiny-demo",
        "builtin:digits",
        {
            "dataset_size": 200,
            "image_size": 32,
            "ngf": 8,
            "ndf": 8,
            "nz": 16,
            "batch_size": 20,
            "epochs": 1,
            "ema": True,
            "precision": "float32",
            "device": "cpu",
        },
    )
    return Training(new_run_request(project)).run().run


@pytest.fixture(scope="module")
def judge(tmp_path_factory):
    out = tmp_path_factory.mktemp("judges")
    heard = []
    outcome = train_judge(
        JudgeRequest("builtin:digits", size=200, epochs=1, width=8, device="cpu", out=out), log=heard.append
    )
    assert heard == ["training a judge on 200 images of builtin:digits (32 px, 3 channel(s)), 1 epochs"]
    return outcome


def test_a_run_can_score_its_fid_in_inception_features(tmp_path, monkeypatch):
    from helpers import tiny_config

    from studio.app import run_health
    from studio.core.models import build_models
    from studio.data.dataset import load_dataset

    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path / "cache"))  # a judge stored where runs look, this test's own
    for name, n in (("SCORE_IMAGES", 20), ("FID_IMAGES", 12), ("FID_REAL", 16)):
        monkeypatch.setattr(run_health, name, n)
    train_judge(JudgeRequest("builtin:digits", size=200, epochs=1, width=8, device="cpu"))
    config = tiny_config(family="acgan", dataset="builtin:digits", dataset_size=200, score_every=1)
    dataset = load_dataset("builtin:digits", config.image_size, config.channels, 200)
    g, _ = build_models(config, dataset.space)
    figures = {}
    for features in ("judge", "inception"):
        said = []
        judging = run_health.judging_for_run(config.replace(score_features=features), dataset, "cpu", said.append)
        figures[features] = judging.score(g.eval())
        assert ("Inception features" in " ".join(said)) == (features == "inception")
    assert figures["judge"]["cond_acc"] == figures["inception"]["cond_acc"]
    assert figures["inception"]["fid"] > 0 and figures["inception"]["fid"] != figures["judge"]["fid"]


def test_a_judge_is_trained_stored_and_never_replaced_silently(judge):
    assert judge.path.parent == judge.plan.path.parent and judge.path.is_file()
    assert not judge.plan.stored_for_evaluation and judge.images == 200 and judge.epochs == 1
    assert load_judge(judge.path).heldout_n == judge.judge.heldout_n == 20
    with pytest.raises(JudgeExists, match="a judge is already stored there; pass --force") as refused:
        plan_judge(JudgeRequest("builtin:digits", out=judge.path.parent))
    assert refused.value.code == "judge.exists"
    assert plan_judge(JudgeRequest("builtin:digits", out=judge.path.parent, overwrite=True)).path == judge.path


def test_a_judge_is_refused_for_unlabelled_data_and_unwritable_folders(tmp_path):
    (tmp_path / "only" / "one").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(tmp_path / "only" / "one" / "a.png")
    with pytest.raises(StudioError, match="unlabelled dataset has nothing for a judge to learn"):
        plan_judge(JudgeRequest(f"folder:{tmp_path / 'only'}"))
    (tmp_path / "afile").write_text("a file, so no folder goes under it")
    with pytest.raises(StudioError, match="cannot write the judge there"):
        plan_judge(JudgeRequest("builtin:digits", out=tmp_path / "afile" / "judges"))
    assert judge_defaults("builtin:digits") == (32, 3) and judge_defaults("builtin:faces") == (64, 3)


def test_the_judge_of_a_run_sees_what_the_run_saw(digits_run):
    request = judge_request_for_run(digits_run.read_config(), epochs=3, device="cpu")
    assert (request.dataset, request.image_size, request.channels, request.size, request.epochs) == (
        "builtin:digits",
        32,
        3,
        200,
        3,
    )
    assert plan_judge(request).stored_for_evaluation


def test_a_run_folder_names_its_last_checkpoint_and_ema(digits_run, tmp_path):
    refs = generator_refs([digits_run.path])
    assert [(r.kind, r.label) for r in refs] == [("checkpoint", "epoch 1"), ("ema", "EMA at epoch 1")]
    assert [r.which for r in generator_refs([digits_run.path], ema=True)] == ["ema"]
    with pytest.raises(StudioError, match="a project folder; name one of its runs"):
        generator_refs([digits_run.path.parent.parent])
    with pytest.raises(StudioError, match="no such checkpoint file"):
        generator_refs([tmp_path / "missing.pt"])


def test_figures_of_a_kept_best_generator_go_to_its_run(digits_run, judge, tmp_path):
    # A copy of the run whose checkpoints/best/ holds a generator, as score_every and keep_best leave it.
    run = tmp_path / "run"
    (run / "checkpoints" / "best").mkdir(parents=True)
    shutil.copy(digits_run.path / "config.json", run / "config.json")
    shutil.copy(digits_run.path / "snapshots" / "epoch_0001.pt", run / "checkpoints" / "best" / "epoch_0001_g.pt")
    request = EvaluationRequest(metrics=("cond_acc",), n=20, judge_path=str(judge.path), device="cpu")
    outcome = evaluate_generators([run / "checkpoints" / "best" / "epoch_0001_g.pt"], request)
    assert outcome.saved_to == [run.resolve()]
    assert {r["generator"] for r in load_results(run)} == {"real images", "epoch_0001_g.pt"}


def test_evaluating_keeps_the_figures_in_the_run(digits_run, judge):
    seen = []
    request = EvaluationRequest(metrics=("cond_acc",), n=20, judge_path=str(judge.path), device="cpu")
    outcome = evaluate_generators([digits_run.path], request, progress=lambda text, f: seen.append(f))
    assert outcome.scored == 2 and outcome.saved_to == [digits_run.path.resolve()]
    assert {r["generator"] for r in outcome.rows} == {"real images", "epoch 1", "EMA at epoch 1"}
    assert len(load_results(digits_run.path)) == len(outcome.rows)
    assert outcome.table().splitlines()[0].split() == ["generator", "cond_acc"]
    assert seen and all(0.0 <= f <= 1.0 for f in seen)
    with pytest.raises(StudioError, match="unknown metric"):
        evaluate_generators([digits_run.path], EvaluationRequest(metrics=("sharpness",)))

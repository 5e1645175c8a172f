"""Several runs read side by side: curves on one x axis, events, settings' differences, scores."""

import math

import numpy as np
import pytest
from helpers import SPACES, random_dataset

from studio.app import run_compare
from studio.core.rundir import RunDirectory
from studio.core.trainer import Trainer
from studio.errors import StudioError
from studio.eval.results import append_results, make_row
from studio.project import Project

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Run a: 2 epochs stopped after 3 steps and resumed (a resume mark); run b: other d_lr, one epoch, evaluated."""
    from helpers import tiny_config

    project = Project.create(tmp_path_factory.mktemp("cmp") / "p", tiny_config(family="acgan", epochs=2))
    a = RunDirectory.create(project.runs_dir, project.config, run_id="a")
    Trainer(a.read_config(), random_dataset(SPACES["categorical"]), a, max_steps=3).run()
    Trainer(a.read_config(), random_dataset(SPACES["categorical"]), a, resume_from=a.latest_checkpoint().path).run()
    b = RunDirectory.create(project.runs_dir, project.config.replace(d_lr=1e-3, epochs=1), run_id="b")
    Trainer(b.read_config(), random_dataset(SPACES["categorical"]), b).run()
    append_results(
        b.path,
        [
            make_row("epoch 1", str(b.checkpoint_path(1)), "g", 1, "cond_acc", 0.4, 100),
            make_row("epoch 1", str(b.checkpoint_path(1)), "g", 1, "fid", 80.0, 100),
            make_row("EMA at epoch 1", str(b.checkpoint_path(1)), "ema", 1, "cond_acc", 0.6, 200),
            make_row("epoch 1", str(b.checkpoint_path(1)), "g", 1, "cond_acc:0", 0.9, 100),
            make_row("real", "", "real", None, "cond_acc", 1.0, 100),
        ],
    )
    return project, a, b


def test_curves_of_two_runs_on_every_axis(two_runs):
    _, a, b = two_runs
    steps = {}
    for axis in run_compare.X_AXES:
        curves = run_compare.load_curves([a.path, b.path], axis)
        assert [c.name for c in curves] == ["a", "b"]
        ca, cb = curves
        assert len(ca.x) == len(ca.steps) == 8 and len(cb.x) == 4  # 32 images, batch 8, log_every 1
        assert np.all(np.diff(ca.x) > 0), axis  # every axis grows with the steps, across the resume
        assert ca.has("d_loss") and ca.has("aux_acc_real") and not math.isnan(ca.series["g_lr"][0])
        steps[axis] = ca.x
    assert list(steps["step"]) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert list(steps["images"]) == [8 * s for s in range(1, 9)]
    assert steps["epoch"][3] == pytest.approx(1.0) and steps["epoch"][-1] == pytest.approx(2.0)
    assert steps["epoch"][0] == pytest.approx(0.25)
    assert steps["time"][0] > 0  # seconds of training, not seconds since 1970
    assert steps["time"][-1] < 600


def test_events_mark_the_resume_and_the_evaluation(two_runs):
    _, a, b = two_runs
    ca, cb = run_compare.load_curves([a, b], "epoch")
    resumes = [e for e in ca.events if e.kind == "resume"]
    assert len(resumes) == 1 and resumes[0].step == 3 and resumes[0].x == pytest.approx(0.75)
    evaluations = [e for e in cb.events if e.kind == "evaluation"]
    assert len(evaluations) == 1 and evaluations[0].x == pytest.approx(1.0)
    assert "cond_acc 0.4" in evaluations[0].text and "fid 80" in evaluations[0].text


def test_alarm_and_score_rows_become_events_and_scores(two_runs):
    _, a, _ = two_runs
    rows = a.read_metrics() + [
        {"kind": "alarm", "epoch": 2, "step": 6, "message": "D wins: D(G(z)) near 0"},
        {"kind": "score", "epoch": 2, "step": 8, "judge": "j", "g_cond_acc": 0.5, "ema_cond_acc": 0.7, "g_kept": True},
    ]
    events = run_compare.run_events(a, rows, results=[])
    alarm = [e for e in events if e.kind == "alarm"]
    assert alarm and alarm[0].step == 6 and "D wins" in alarm[0].text
    scored = [e for e in events if e.kind == "evaluation"]
    assert scored[0].step == 8 and "cond_acc 0.5 (g)" in scored[0].text and "0.7 (ema)" in scored[0].text
    (score,) = run_compare.run_scores(a, results=[], rows=rows)
    assert (score.best, score.best_of, score.last) == (0.7, "EMA at epoch 2", 0.5)


def test_unknown_axis_is_refused(two_runs):
    _, a, _ = two_runs
    with pytest.raises(StudioError, match="x axis 'wall'"):
        run_compare.load_curves([a], "wall")


def test_config_diff_names_only_what_differs(two_runs):
    _, a, b = two_runs
    diff = run_compare.config_diff([a.read_config(), b.read_config()])
    assert diff == {"epochs": [2, 1], "d_lr": [2e-4, 1e-3]}
    assert run_compare.config_diff([{"x": 1, "y": 2}, {"x": 1}]) == {"y": [2, None]}
    assert run_compare.config_diff([a.read_config()]) == {}


def test_run_rows_and_scores(two_runs):
    _, a, b = two_runs
    row_a, row_b = run_compare.run_row(a), run_compare.run_row(b)
    assert row_a["name"] == "a" and row_a["state"] == "completed"
    assert (row_a["epochs_done"], row_a["epochs_planned"]) == (2, 2)
    assert row_a["disk_bytes"] > 0 and row_a["images_per_second"] > 0
    assert row_a["config"]["d_lr"] == 2e-4 and row_a["scores"] == []
    acc, fid = row_b["scores"]
    assert (acc.metric, acc.best, acc.best_of) == ("cond_acc", 0.6, "EMA at epoch 1")
    assert (fid.metric, fid.best, fid.last) == ("fid", 80.0, 80.0)


def test_headline_score_of_a_multi_attribute_run(two_runs):
    _, a, _ = two_runs
    results = [
        make_row("epoch 2", "x.pt", "g", 2, metric, value, 500)
        for metric, value in (("cond_acc_hair", 0.5), ("cond_acc_all", 0.3), ("fid", 40.0), ("cond_acc:red hair", 0.9))
    ] + [make_row("epoch 1", "y.pt", "g", 1, "fid", 30.0, 500)]
    scores = run_compare.run_scores(a, results=results, rows=[])
    assert [s.metric for s in scores] == ["cond_acc_all", "fid", "cond_acc_hair"]  # per-class figures left out
    fid = scores[1]
    assert (fid.best, fid.best_of, fid.last, fid.last_of) == (30.0, "epoch 1", 40.0, "epoch 2")  # lower is better
    assert scores[0].text(0.3) == "accuracy all 0.3"
    assert run_compare.metric_label("fid") == "FID" and run_compare.higher_is_better("kid") is False


def test_evaluation_table_lines_up_runs(two_runs):
    _, a, b = two_runs
    table = run_compare.evaluation_table([a, b], names=["run a", "run b"])
    assert table.metrics == ["cond_acc", "fid"]  # per-class figures and the real images left out
    assert [(r["run"], r["generator"]) for r in table.rows] == [("run b", "epoch 1"), ("run b", "EMA at epoch 1")]
    assert table.rows[0]["values"] == {"cond_acc": 0.4, "fid": 80.0}
    assert table.n_text(table.rows[1]) == "200"


def test_use_run_settings_copies_them_into_the_project(two_runs):
    project, _, b = two_runs
    config = run_compare.use_run_settings(project, b)
    assert project.config == b.read_config() and config.d_lr == 1e-3
    saved = Project.load(project.folder).config
    assert saved.d_lr == 2e-4  # the file changes only when the project is saved


def test_series_csv_is_written_atomically(tmp_path):
    path = run_compare.write_series_csv(tmp_path / "out.csv", "step", [("a D loss", [1, 2], [0.5, float("nan")])])
    assert path.read_text().splitlines() == ["series,step,value", "a D loss,1.0,0.5", "a D loss,2.0,"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_sample_at(two_runs):
    _, a, _ = two_runs
    assert run_compare.sample_at(a, 2).name == "epoch_0002.png"
    assert run_compare.sample_at(a, 9) is None

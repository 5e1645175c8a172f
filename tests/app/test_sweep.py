"""Sweeps and the queue: parsing, refusals before any run, a 4-run sweep with a failure, the results table."""

from __future__ import annotations

import csv

import pytest
from helpers import SPACES, random_dataset

import studio.core.trainer as trainer_module
from studio.app import run_queue as rq
from studio.app.sweep import (
    SweepError,
    format_table,
    parse_sets,
    plan_sweep,
    results_path,
    sweep_results,
    write_results,
)
from studio.app.training import Training, TrainOutcome
from studio.core.events import RunFinished
from studio.errors import TrainingError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _train(request):
    """Train a queued request on random images of the test project's 4 classes."""
    request.dataset = random_dataset(SPACES["categorical"], n=16)
    return Training(request).run()


# --- parsing and validation -----------------------------------------------------------------------------


def test_values_are_read_by_the_type_of_their_setting():
    values = parse_sets(
        ["d_lr=1e-4,2e-4", "batch_size=8,16.0", "ema=true,off", "loss=bce,hinge", "g_betas=[0.5,0.999],[0,0.9]"]
    )
    assert values == {
        "d_lr": [1e-4, 2e-4],
        "batch_size": [8, 16],
        "ema": [True, False],
        "loss": ["bce", "hinge"],
        "g_betas": [[0.5, 0.999], [0, 0.9]],
    }
    assert all(isinstance(v, float) for v in values["d_lr"]) and all(type(v) is int for v in values["batch_size"])
    # A comma inside quotes belongs to the value: dataset specs have them.
    assert parse_sets(['dataset="celeba:/d?attrs=Smiling,Male",builtin:faces'])["dataset"] == [
        "celeba:/d?attrs=Smiling,Male",
        "builtin:faces",
    ]


@pytest.mark.parametrize(
    "assignment, words",
    [
        ("d_lrr=1e-4", ["d_lrr", "did you mean d_lr"]),
        ("d_lr=fast", ["d_lr=fast", "takes a number"]),
        ("batch_size=8,1.5", ["batch_size", "whole number"]),
        ("ema=maybe", ["ema=maybe", "true or false"]),
        ("d_lr=1e-4,1e-4", ["1e-4 is given twice"]),
        ("d_lr=1e-4,,2e-4", ["empty value"]),
        ("d_lr=nan", ["finite"]),
        ("d_lr", ["KEY=VALUE"]),
    ],
)
def test_bad_keys_and_values_are_refused_by_name(assignment, words):
    with pytest.raises(SweepError) as caught:
        parse_sets([assignment])
    for word in words:
        assert word in str(caught.value)


def test_invalid_value_is_refused_before_anything_is_queued(project):
    values = parse_sets(["aux_weight=1,6", "d_lr=1e-4,2"])
    with pytest.raises(SweepError, match=r"--set d_lr=2: d_lr is 2.0; it must be at most 1.0"):
        plan_sweep(project.config, values)
    # A combination that cannot train is named too.
    with pytest.raises(SweepError, match="loss=wgan-gp"):
        plan_sweep(project.config, parse_sets(["loss=bce,wgan-gp"]))
    assert not (project.folder / rq.QUEUE_FILE).exists() and project.runs() == []


def test_plan_is_the_cartesian_product(project):
    plan = plan_sweep(project.config, parse_sets(["d_lr=1e-4,2e-4", "aux_weight=1,6,24"]), {"epochs": 1})
    assert len(plan) == 6
    assert plan.changes[1] == {"epochs": 1, "d_lr": 1e-4, "aux_weight": 6.0}
    assert [(c.d_lr, c.aux_weight, c.epochs) for c in plan.configs][-1] == (2e-4, 24.0, 1)
    assert plan.configs[0].ngf == project.config.ngf  # everything else is the project's


# --- a sweep run through the queue ------------------------------------------------------------------------


def test_four_run_sweep_with_one_failure_completes_and_tabulates(project, monkeypatch, tmp_path):
    original = trainer_module.Trainer._end_epoch

    def fails_for_one(self, *args, **kwargs):
        if self.config.d_lr == 3e-4 and self.config.aux_weight == 6.0:
            raise TrainingError("the loss became non-finite (NaN or infinity) near step 2, epoch 1")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(trainer_module.Trainer, "_end_epoch", fails_for_one)
    plan = plan_sweep(project.config, parse_sets(["d_lr=1e-4,3e-4", "aux_weight=1,6"]), {"epochs": 1})
    entries = rq.add_entries(project.folder, list(zip(plan.configs, plan.changes)), sweep="s1")
    heard = []
    trained = rq.run_queue(project, _train, on_change=lambda entry, state: heard.append((entry.id, state)))

    assert [e.id for e in trained] == [e.id for e in entries]
    queue = rq.load_queue(project.folder)
    assert [e.state for e in queue.entries] == ["done", "done", "done", "failed"]
    failed = queue.entries[3]
    assert "non-finite" in failed.message and failed.run  # the failed run is named, its folder kept
    assert heard.count((failed.id, "failed")) == 1 and len(heard) == 8

    table = sweep_results(project.folder, "s1")
    assert len(table.rows) == 4 and table.varied == ["d_lr", "aux_weight"]
    assert [(r["d_lr"], r["aux_weight"], r["state"]) for r in table.rows] == [
        (1e-4, 1.0, "done"),
        (1e-4, 6.0, "done"),
        (3e-4, 1.0, "done"),
        (3e-4, 6.0, "failed"),
    ]
    done = table.rows[0]
    assert done["epochs"] == 1 and isinstance(done["d_loss"], float) and isinstance(done["aux_acc_real"], float)
    assert table.rows[3]["d_loss"] is None and "non-finite" in table.rows[3]["message"]

    path = write_results(table, results_path(project.folder, "s1"))
    assert path == project.folder / "sweeps" / "s1" / "results.csv"
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and rows[3]["state"] == "failed" and rows[0]["d_lr"] == "0.0001"
    text = format_table(table)
    assert len(text.splitlines()) == 5 and "non-finite" in text


def test_scores_give_last_and_best(project, train_run):
    entry = rq.add_settings(project.folder, project.config.replace(epochs=1), project.config)
    run = train_run(project, epochs=1)
    rq.finish_entry(project.folder, entry.id, "done", run=run.run_id)
    # As the trainer logs them: the figures of G and of its EMA, whether each was kept among the best, the time.
    score = {"kind": "score", "judge": "digits", "g_kept": True, "seconds": 1.5}
    run.append_metrics(
        [
            {**score, "epoch": 1, "step": 4, "g_cond_acc": 0.5, "ema_cond_acc": 0.55, "g_fid": 90.0},
            {**score, "epoch": 2, "step": 8, "g_cond_acc": 0.8, "ema_cond_acc": 0.85, "g_fid": 70.0},
            {**score, "epoch": 3, "step": 12, "g_cond_acc": 0.6, "ema_cond_acc": 0.7, "g_fid": 80.0},
        ]
    )
    table = sweep_results(project)
    (row,) = table.rows
    assert (row["last_cond_acc"], row["best_cond_acc"]) == (0.6, 0.85)  # last: G's; best: of G or its EMA
    assert (row["last_fid"], row["best_fid"]) == (80.0, 70.0)  # lower is better for a distance
    assert not any("seconds" in c or "kept" in c or "judge" in c for c in table.columns)


def test_stop_ends_the_queue_and_leaves_the_rest_queued(project):
    configs = [(project.config.replace(seed=s), {"seed": s}) for s in range(3)]
    rq.add_entries(project.folder, configs)

    def stopped(request):
        return TrainOutcome(RunFinished("stopped", 1, 3), None)

    rq.run_queue(project, stopped)
    queue = rq.load_queue(project.folder)
    assert [e.state for e in queue.entries] == ["stopped", "queued", "queued"]
    assert "stopped at epoch 1" in queue.entries[0].message


# --- editing the queue ------------------------------------------------------------------------------------


def test_reorder_remove_clear_retry(project):
    a, b, c = rq.add_entries(project.folder, [(project.config.replace(seed=s), {"seed": s}) for s in range(3)])
    assert b.label == "seed=1"
    assert rq.move_entry(project.folder, c.id, -1) == 1
    assert [e.id for e in rq.load_queue(project.folder).entries] == [a.id, c.id, b.id]
    rq.finish_entry(project.folder, a.id, "failed", "boom")
    rq.requeue(project.folder, [a.id])
    assert rq.load_queue(project.folder).get(a.id).state == "queued"
    rq.finish_entry(project.folder, b.id, "done")
    assert rq.clear_queue(project.folder) == 1
    assert rq.remove_entries(project.folder, [a.id]) == 1
    assert [e.id for e in rq.load_queue(project.folder).entries] == [c.id]
    assert rq.add_entries(project.folder, [(project.config, {})])[0].id == "q0004"  # ids are never reused


def test_one_runner_at_a_time_and_a_dead_runners_entry_reads_stopped(project):
    (entry,) = rq.add_entries(project.folder, [(project.config, {})])
    with rq.QueueRunner(project.folder):
        assert rq.claim_next(project.folder).id == entry.id
        with pytest.raises(rq.QueueBusy, match="being run by process"):
            rq.QueueRunner(project.folder).acquire()
        with pytest.raises(Exception, match="being trained"):
            rq.remove_entries(project.folder, [entry.id])
        assert rq.load_queue(project.folder).get(entry.id).state == "running"
    # The runner is gone (as after a crash): the entry it was training reads as stopped.
    assert rq.load_queue(project.folder).get(entry.id).state == "stopped"


def test_damaged_queue_file_is_named(project):
    (project.folder / rq.QUEUE_FILE).write_text('{"format": "gan-studio/queue", "version": 1, "entries": [')
    with pytest.raises(Exception, match=r"queue\.json: damaged queue file"):
        rq.load_queue(project.folder)


# --- several GPUs -----------------------------------------------------------------------------------------


def test_gpu_slots_follow_the_device_count():
    assert rq.gpu_slots("cuda", None, lambda: 4) == ["0", "1", "2", "3"]
    assert rq.gpu_slots("auto", 2, lambda: 4) == ["0", "1"]
    assert rq.gpu_slots("cpu", None, lambda: 4) == []  # settings that train on the CPU: one at a time
    assert rq.gpu_slots("cuda", None, lambda: 1) == []
    assert rq.gpu_slots("cuda", 1, lambda: 4) == []
    with pytest.raises(Exception, match="has 2 CUDA device"):
        rq.gpu_slots("cuda", 3, lambda: 2)


def test_parallel_runs_one_entry_per_gpu_at_a_time(project):
    entries = rq.add_entries(project.folder, [(project.config.replace(seed=s), {"seed": s}) for s in range(5)])
    folder = project.folder
    active: dict[str, str] = {}
    peak = []

    class FakeChild:
        def __init__(self, entry, gpu):
            assert gpu not in active.values(), "two runs on one GPU"
            self.entry, self.polls = entry, 0
            active[entry.id] = gpu
            peak.append(len(active))

        def poll(self):
            self.polls += 1
            if self.polls < 3:
                return None
            del active[self.entry.id]
            if self.entry.id == entries[2].id:
                return 1  # dies without recording anything
            rq.finish_entry(folder, self.entry.id, "done", run=f"run-{self.entry.id}")
            return 0

        def last_error(self):
            return "error: CUDA out of memory"

    trained = rq.run_parallel(folder, ["0", "1"], launch=FakeChild, poll_seconds=0)
    assert len(trained) == 5 and max(peak) == 2
    queue = rq.load_queue(folder)
    assert [e.state for e in queue.entries] == ["done", "done", "failed", "done", "done"]
    assert queue.entries[2].message == "error: CUDA out of memory"
    assert {e.gpu for e in queue.entries} == {"0", "1"}

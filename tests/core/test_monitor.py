"""The collapse alarm's measures and bookkeeping, the best-generator keeper, and both inside a tiny run."""

import json

import pytest
import torch
from helpers import SPACES, random_dataset, tiny_config
from torch import nn

from studio.core.checkpoint import load_checkpoint
from studio.core.events import RunAlarm
from studio.core.monitor import (
    SETTLE_STEPS,
    AlarmDetector,
    BestKeeper,
    HealthProbe,
    Judging,
    best_index,
    best_paths,
    pixel_features,
    within_condition_diversity,
)
from studio.core.rundir import RunDirectory
from studio.core.trainer import Trainer
from studio.errors import CheckpointError

SPACE = SPACES["categorical"]


# --- the diversity measure ------------------------------------------------------------------


def test_diversity_is_the_mean_distance_within_each_group():
    features = torch.tensor([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0], [1.0, 1.0], [9.0, 9.0]])
    groups = torch.tensor([0, 0, 1, 1, 2])  # group 2 has one row: no pair, left out
    assert within_condition_diversity(features, groups) == pytest.approx((5.0 + 0.0) / 2)
    assert within_condition_diversity(features[2:4], groups[2:4]) == 0.0
    assert within_condition_diversity(features[4:], groups[4:]) == 0.0


def test_pixel_features_shrink_images_to_16_px():
    images = torch.rand(5, 3, 32, 32) * 2 - 1
    assert pixel_features(images).shape == (5, 3 * 16 * 16)


class _G(nn.Module):
    """A stand-in generator: images made from z (or from the condition alone when ``ignore_z``)."""

    def __init__(self, nz: int, ignore_z: bool = False):
        super().__init__()
        self.proj = nn.Linear(nz, 3 * 8 * 8)
        self.ignore_z = ignore_z

    def forward(self, z, cond):
        z = torch.zeros_like(z) + cond[:, :1] if self.ignore_z else z
        return torch.tanh(self.proj(z)).view(-1, 3, 8, 8).repeat_interleave(4, 2).repeat_interleave(4, 3)


def test_probe_tells_a_g_that_ignores_z_from_one_that_does_not():
    dataset = random_dataset(SPACE, n=64)
    probe = HealthProbe(dataset, SPACE, nz=8)
    assert probe.features_name == "pixels" and probe.basis == "per condition"
    assert len(probe.labels) == 4 * 8  # the 4 conditions of the set, 8 noise vectors each
    varied = probe.measure(_G(8))["diversity"]
    same = probe.measure(_G(8, ignore_z=True))["diversity"]
    assert varied > 0.1 and same < 1e-6
    assert probe.measure(_G(8))["judge_acc"] is None  # no judge, no accuracy


def test_probe_reads_features_and_accuracy_through_the_judging_it_is_lent():
    dataset = random_dataset(SPACE, n=64)
    seen = {}

    def features(images):
        seen["features"] = images.shape
        return images.mean(dim=(2, 3))

    def accuracy(images, labels):
        seen["accuracy"] = (images.shape[0], labels.shape[0])
        return 0.75

    probe = HealthProbe(dataset, SPACE, nz=8, judging=Judging("judge", features, accuracy), accuracy_n=40)
    figures = probe.measure(_G(8))
    assert probe.features_name == "judge" and figures["judge_acc"] == 0.75
    assert seen["accuracy"] == (40, 40) and seen["features"][1] == 3


def test_probe_leaves_the_generator_in_its_training_mode():
    dataset = random_dataset(SPACE, n=64)
    g = _G(8).train()
    HealthProbe(dataset, SPACE, nz=8).measure(g)
    assert g.training


# --- the detector ---------------------------------------------------------------------------------


def _epochs(detector, values, key="diversity", start_step=SETTLE_STEPS):
    raised = []
    for i, v in enumerate(values, 1):
        raised += [(i, a) for a in detector.epoch(i, start_step + i, {key: v})]
    return raised


def test_diversity_alarm_fires_once_on_a_fall_and_names_the_epoch_it_began():
    detector = AlarmDetector(diversity=0.25, after=1)
    raised = _epochs(detector, [0.05, 0.6, 0.7, 0.65, 0.1, 0.05, 0.04])
    assert [(i, a.kind, a.since_epoch) for i, a in raised] == [(5, "diversity", 5)]
    assert "down from 0.70 at epoch 3" in raised[0][1].message
    # recovered, then down again: a second alarm
    raised = [a for a in detector.epoch(8, 200, {"diversity": 0.6}) + detector.epoch(9, 210, {"diversity": 0.0})]
    assert [a.since_epoch for a in raised] == [9]


def test_diversity_alarm_waits_for_patience_and_for_the_first_epochs():
    detector = AlarmDetector(diversity=0.25, patience=2, after=1)
    raised = _epochs(detector, [0.8, 0.1, 0.1, 0.1])
    assert [(i, a.since_epoch) for i, a in raised] == [(3, 2)]
    # a G alike from the start is not a fall, unless its images are identical
    assert _epochs(AlarmDetector(diversity=0.25, after=1), [0.03, 0.02, 0.03]) == []
    raised = _epochs(AlarmDetector(diversity=0.25, after=3), [0.0, 0.0, 0.0, 0.0])
    assert [(i, a.since_epoch) for i, a in raised] == [(3, 3)]
    # nothing before G's BatchNorm statistics have settled
    assert _epochs(AlarmDetector(diversity=0.25, after=1), [0.0, 0.0], start_step=0) == []


def test_d_separation_alarms_only_when_held_for_its_steps():
    detector = AlarmDetector(d_gap=0.9, d_steps=50, after=1)
    alarms = []
    for step in range(110, 200, 10):  # one report every 10 steps, the gap wide from step 120 on
        d_x, d_g_z = (0.99, 0.01) if step >= 120 else (0.6, 0.4)
        alarms += detector.step(2, step, d_x, d_g_z)
    assert [(a.kind, a.step, a.since_epoch) for a in alarms] == [("d_gap", 160, 2)]
    assert detector.held_steps() == 80
    detector.step(2, 200, 0.6, 0.4)  # a narrower report resets the count
    assert detector.held_steps() == 0
    short = AlarmDetector(d_gap=0.9, d_steps=50, after=1)
    assert [a for s in (110, 120, 130, 140) for a in short.step(1, s, 0.99, 0.01)] == []


def test_accuracy_alarm_on_a_fall_from_its_best():
    detector = AlarmDetector(acc_drop=0.2, after=1)
    # the judge's reading collapses at epoch 5; the median of three epochs shows it at epoch 6
    raised = _epochs(detector, [0.5, 0.8, 0.9, 0.85, 0.5, 0.45, 0.4], key="judge_acc")
    assert [(i, a.kind, a.since_epoch) for i, a in raised] == [(6, "accuracy", 6)]
    message = raised[0][1].message
    assert "reads 0.50 of G's images as their condition (median of epochs 4-6)" in message
    assert "down from 0.85 (median of epochs 2-4" in message


def test_accuracy_alarm_ignores_one_epoch_high_or_low():
    # the healthy real CIFAR-10 run's first epochs: one high epoch, then the usual level
    healthy = [0.12, 0.11, 0.16, 0.27, 0.36, 0.60, 0.39, 0.47, 0.41, 0.43, 0.38, 0.29, 0.48, 0.49]
    assert _epochs(AlarmDetector(acc_drop=0.2, after=1), healthy, key="judge_acc") == []
    # a single bad epoch in a good run is no collapse either
    assert _epochs(AlarmDetector(acc_drop=0.2, after=1), [0.8, 0.9, 0.9, 0.3, 0.9, 0.9], key="judge_acc") == []


def test_thresholds_of_zero_turn_their_checks_off():
    detector = AlarmDetector(diversity=0.0, d_gap=0.0, acc_drop=0.0, after=1)
    assert _epochs(detector, [0.9, 0.0, 0.0]) == []
    assert _epochs(detector, [0.9, 0.1, 0.1], key="judge_acc") == []
    assert [a for s in range(110, 2000, 10) for a in detector.step(3, s, 1.0, 0.0)] == []


def test_replay_of_a_run_does_not_raise_its_alarms_again():
    rows = [{"kind": "epoch", "epoch": e, "step": 100 + e, "diversity": d} for e, d in [(1, 0.8), (2, 0.1)]]
    detector = AlarmDetector(diversity=0.25, after=1)
    detector.replay(rows)
    assert detector.epoch(3, 103, {"diversity": 0.1}) == []  # the same collapse, already reported


# --- the best generators ----------------------------------------------------------------------------


def _state(epoch: int) -> dict:
    cfg = tiny_config()
    return {
        "epoch": epoch,
        "step": 10 * epoch,
        "config": cfg.to_dict(),
        "space": SPACE.to_dict(),
        "g": {"w": torch.full((2,), float(epoch))},
    }


def test_keeper_keeps_the_best_k_files_and_lists_them_best_first(tmp_path):
    keeper = BestKeeper(tmp_path, keep=2, best_by="cond_acc")
    for epoch, acc in [(1, 0.5), (2, 0.9), (3, 0.7), (4, 0.6)]:
        keeper.offer(_state(epoch), "g", {"cond_acc": acc, "fid": 100 - 10 * epoch})
    index = best_index(tmp_path)
    assert [e["epoch"] for e in index["entries"]] == [2, 3] and index["best_by"] == "cond_acc"
    assert sorted(p.name for p in (tmp_path / "best").glob("*.pt")) == ["epoch_0002_g.pt", "epoch_0003_g.pt"]
    assert best_paths(tmp_path, 1) == [tmp_path / "best" / "epoch_0002_g.pt"]
    state = load_checkpoint(best_paths(tmp_path, 1)[0])
    assert state["scores"]["cond_acc"] == 0.9 and state["which"] == "g"
    with pytest.raises(CheckpointError, match="best 3 generators but only 2 are kept"):
        best_paths(tmp_path, 3)
    # a run rewound to epoch 2 forgets the generators after it
    keeper.forget_after(20)
    assert [e["epoch"] for e in best_index(tmp_path)["entries"]] == [2]
    assert not (tmp_path / "best" / "epoch_0003_g.pt").exists()


def test_keeper_ranks_fid_lowest_first(tmp_path):
    keeper = BestKeeper(tmp_path, keep=2, best_by="fid")
    for epoch, fid in [(1, 80.0), (2, 40.0), (3, 60.0)]:
        keeper.offer(_state(epoch), "ema", {"cond_acc": 0.5, "fid": fid})
    assert [e["file"] for e in best_index(tmp_path)["entries"]] == ["epoch_0002_ema.pt", "epoch_0003_ema.pt"]


# --- inside the trainer ---------------------------------------------------------------------------------


def _train(tmp_path, cfg, dataset, judging=None, ignore_z_from=None, name="run"):
    run = RunDirectory.create(tmp_path, cfg, run_id=name)
    events = []
    state = {"trainer": None}

    def on_event(event):
        events.append(event)
        if ignore_z_from and getattr(event, "epoch", None) == ignore_z_from - 1 and type(event).__name__ == "EpochEnd":
            fixed = torch.randn(1, cfg.nz)
            state["trainer"].g.register_forward_pre_hook(lambda m, a: (fixed.expand_as(a[0]).contiguous(), a[1]))

    trainer = Trainer(cfg, dataset, run, on_event, judging=judging)
    state["trainer"] = trainer
    return trainer, run, events, trainer.run()


# 160 images, 20 steps an epoch; with the alarm armed from step 60 (not 100) the runs take a few seconds.
_ALARM_RUN = dict(family="acgan", epochs=4, log_every=5, alarm_after=1)
_SETTLE = 60


@pytest.fixture
def short_settle(monkeypatch):
    import studio.core.monitor as monitor

    monkeypatch.setattr(monitor, "SETTLE_STEPS", _SETTLE)


def test_g_made_to_ignore_z_raises_the_alarm_in_the_epoch_it_began_and_stops_the_run(tmp_path, short_settle):
    cfg = tiny_config(**_ALARM_RUN, on_alarm="stop-and-mark-best")
    _, run, events, result = _train(tmp_path, cfg, random_dataset(SPACE, n=160), ignore_z_from=3)
    alarms = [e for e in events if isinstance(e, RunAlarm)]
    assert [(a.kind, a.epoch, a.since_epoch, a.action) for a in alarms] == [("diversity", 3, 3, "stop-and-mark-best")]
    # nothing scored: the mark goes to the last epoch before the collapse, whose full checkpoint is pinned
    assert alarms[0].marked == str(run.checkpoint_path(2))
    assert best_index(run.checkpoints_dir)["marked"]["file"] == "../epoch_0002.pt"
    assert "epoch_0002.pt" in (run.path / "pins.json").read_text()
    assert result.reason == "stopped" and result.epoch == 3
    assert run.checkpoints()[-1].epoch == 3
    rows = [r for r in run.read_metrics() if r["kind"] == "alarm"]
    assert len(rows) == 1 and rows[0]["since_epoch"] == 3 and "ignoring z" in rows[0]["message"]
    epochs = [r for r in run.read_metrics() if r["kind"] == "epoch"]
    assert epochs[-1]["diversity"] < 0.01 * max(r["diversity"] for r in epochs[:-1])  # identical images


def test_a_healthy_run_raises_no_alarm(tmp_path, short_settle):
    cfg = tiny_config(**{**_ALARM_RUN, "alarm_after": 3})
    _, run, events, result = _train(tmp_path, cfg, random_dataset(SPACE, n=160))
    assert result.reason == "completed"
    assert not [e for e in events if isinstance(e, RunAlarm)]
    assert not [r for r in run.read_metrics() if r["kind"] == "alarm"]
    assert all(r["diversity"] is not None for r in run.read_metrics() if r["kind"] == "epoch")


def test_scores_keep_the_best_generators_for_the_lab_and_average_best(tmp_path):
    accuracies = iter([0.4, 0.4, 0.9, 0.9, 0.6, 0.6])  # G then EMA, per epoch
    judging = Judging("fake judge", score=lambda g: {"cond_acc": next(accuracies)})
    cfg = tiny_config(family="acgan", epochs=3, ema=True, score_every=1, keep_best=2)
    _, run, events, result = _train(tmp_path, cfg, random_dataset(SPACE, n=32), judging)
    assert result.reason == "completed"
    scores = [r for r in run.read_metrics() if r["kind"] == "score"]
    assert [(r["epoch"], r["g_cond_acc"], r["ema_cond_acc"]) for r in scores] == [
        (1, 0.4, 0.4),
        (2, 0.9, 0.9),
        (3, 0.6, 0.6),
    ]
    index = json.loads((run.checkpoints_dir / "best" / "index.json").read_text())
    assert [(e["epoch"], e["which"]) for e in index["entries"]] == [(2, "g"), (2, "ema")]
    from studio.core.averaging import list_checkpoints

    listed = {e.epoch: e.metrics for e in list_checkpoints(run)}  # what the lab lists beside each checkpoint
    assert listed[2]["g_cond_acc"] == 0.9 and listed[3]["ema_cond_acc"] == 0.6 and "diversity" in listed[2]
    from studio.app.checkpoints import AverageRequest, average, list_run
    from studio.app.reporting import checkpoint_lines

    listing = "\n".join(checkpoint_lines(list_run(run)))
    assert "best by cond_acc" in listing and "best/epoch_0002_ema.pt" in listing

    outcome = average(AverageRequest(run.path, best=2, bn_batches=1, bn_batch_size=4))
    assert outcome.path.name == "average_best2_epochs_0002-0002.pt" and outcome.epochs == [2, 2]


def test_d_winning_for_many_steps_raises_the_separation_alarm(tmp_path, short_settle):
    # A D learning 250 times faster than G; the tiny D's separation reaches 0.7, so the test's threshold is 0.5.
    cfg = tiny_config(**_ALARM_RUN, d_lr=0.05, alarm_d_gap=0.5, alarm_d_steps=15, alarm_diversity=0.0)
    _, run, events, _ = _train(tmp_path, cfg, random_dataset(SPACE, n=160))
    alarms = [e for e in events if isinstance(e, RunAlarm)]
    assert [a.kind for a in alarms] == ["d_gap"] and alarms[0].step >= _SETTLE + 15
    assert "D(x) - D(G(z)) has stayed above 0.5" in alarms[0].message

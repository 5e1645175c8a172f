import json
import os
import threading

import pytest
import torch
from helpers import SPACES, random_dataset, tiny_config

import studio.core.trainer as trainer_module
from studio.core.checkpoint import load_checkpoint
from studio.core.events import CheckpointSaved, EpochEnd, RunError, RunPaused, RunResumed, RunStarted, StepMetrics
from studio.core.losses import AdversarialLoss
from studio.core.rundir import RunDirectory
from studio.core.trainer import Trainer

SPACE = SPACES["multi-attribute"]


def train(tmp_path, cfg, dataset=None, resume_from=None, run=None, max_steps=None, name="run"):
    run = run or RunDirectory.create(tmp_path, cfg, run_id=name)
    events = []
    trainer = Trainer(cfg, dataset or random_dataset(SPACE), run, events.append, resume_from, max_steps)
    result = trainer.run()
    return trainer, run, events, result


def weights(trainer):
    return {
        **{f"g.{k}": v for k, v in trainer.g.state_dict().items()},
        **{f"d.{k}": v for k, v in trainer.d.state_dict().items()},
    }


def assert_same_weights(a, b):
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    different = [k for k in wa if not torch.equal(wa[k], wb[k])]
    assert not different, different[:5]


def test_run_directory_is_filled(tmp_path):
    cfg = tiny_config(family="acgan", ema=True)
    trainer, run, events, result = train(tmp_path, cfg)
    assert result.reason == "completed"
    assert json.loads(run.config_path.read_text()) == cfg.to_dict()
    assert [p.name for _, p in run.samples()] == ["epoch_0001.png", "epoch_0002.png"]
    assert [c.path.name for c in run.checkpoints()] == ["epoch_0001.pt", "epoch_0002.pt"]
    rows = run.read_metrics()
    assert {r["kind"] for r in rows} == {"step", "epoch"}
    assert rows[-1]["kind"] == "epoch" and rows[-1]["epoch"] == 2
    state = torch.load(run.checkpoints()[-1].path, weights_only=True)
    for key in ("g", "d", "opt_g", "opt_d", "sched_g", "sched_d", "ema", "rng", "epoch", "config"):
        assert key in state, key
    assert state["epoch"] == 2 and state["ema"] is not None
    kinds = [type(e) for e in events]
    assert kinds[0] is RunStarted and kinds.count(EpochEnd) == 2 and kinds.count(CheckpointSaved) == 2
    steps = [e for e in events if isinstance(e, StepMetrics)]
    assert len(steps) == 2 * (32 // cfg.batch_size)
    assert all(s.values["aux_acc_real"] is not None for s in steps)


def test_epoch_grid_uses_the_same_noise_and_conditions_every_epoch(tmp_path, monkeypatch):
    seen = []
    real_generate = trainer_module.generate_grid

    def spy(g, space, grid, z, *args, **kwargs):
        seen.append((grid.labels.clone(), z.clone()))
        return real_generate(g, space, grid, z, *args, **kwargs)

    monkeypatch.setattr(trainer_module, "generate_grid", spy)
    cfg = tiny_config(family="cgan-concat", epochs=3)
    _, run, events, _ = train(tmp_path, cfg)
    _, _, _, _ = train(tmp_path, cfg.replace(epochs=4), run=run, resume_from=run.checkpoints()[-1].path)
    assert len(seen) == 4
    for labels, z in seen[1:]:
        assert torch.equal(labels, seen[0][0]) and torch.equal(z, seen[0][1])
    grids = [e for e in events if isinstance(e, EpochEnd)]
    # hair x eyes table: one row per hair colour, one column per eye colour.
    assert (grids[0].rows, grids[0].cols) == (3, 2)
    assert grids[0].row_captions[0] == "red hair" and grids[0].col_captions == ["black eyes", "brown eyes"]
    assert grids[0].grid.dtype.name == "uint8" and grids[0].grid.shape[2] == 3


@pytest.mark.parametrize(
    "family,extra",
    [("acgan", {"ema": True, "d_dropout": 0.2}), ("dcgan", {}), ("cgan-concat", {"mode_seeking": 1.0, "g_steps": 2})],
)
def test_resume_gives_the_same_weights_as_a_straight_run(tmp_path, family, extra):
    cfg = tiny_config(family=family, epochs=4, lr_step_epochs=1, lr_gamma=0.5, label_noise=0.1, label_flip=0.2, **extra)
    straight, *_ = train(tmp_path, cfg, name="straight")

    first, run, _, _ = train(tmp_path, cfg.replace(epochs=2), name="split")
    resumed, _, _, result = train(tmp_path, cfg, run=run, resume_from=run.checkpoint_path(2))
    assert result.reason == "completed" and resumed.epoch == 4
    assert_same_weights(straight, resumed)
    assert resumed.opt_g.param_groups[0]["lr"] == straight.opt_g.param_groups[0]["lr"]
    if cfg.ema:
        sa, sb = straight.ema.state_dict(), resumed.ema.state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_stop_mid_epoch_then_resume_matches_a_straight_run(tmp_path):
    cfg = tiny_config(family="acgan", epochs=2)
    straight, *_ = train(tmp_path, cfg, name="straight")
    _, run, events, result = train(tmp_path, cfg, name="split", max_steps=3)  # 4 steps per epoch
    assert result.reason == "stopped"
    partial = run.latest_checkpoint()
    assert partial.path.name == "epoch_0001_step_000003.pt"
    assert load_checkpoint(partial.path)["epoch_step"] == 3
    resumed, *_ = train(tmp_path, cfg, run=run, resume_from=partial.path)
    assert_same_weights(straight, resumed)
    # The metrics log holds each step once after the resume.
    steps = [r["step"] for r in run.read_metrics() if r["kind"] == "step"]
    assert steps == sorted(set(steps))


def test_same_seed_repeats_and_other_seed_differs(tmp_path):
    cfg = tiny_config(family="cgan-projection", epochs=1)
    a, *_ = train(tmp_path, cfg, name="a")
    b, *_ = train(tmp_path, cfg, name="b")
    c, *_ = train(tmp_path, cfg.replace(seed=1), name="c")
    assert_same_weights(a, b)
    assert not torch.equal(a.g.state_dict()["main.1.weight"], c.g.state_dict()["main.1.weight"])


def test_pause_holds_and_stop_writes_a_checkpoint_from_another_thread(tmp_path):
    cfg = tiny_config(family="acgan", epochs=50)
    dataset = random_dataset(SPACE, n=64)
    run = RunDirectory.create(tmp_path, cfg)
    events = []
    paused = threading.Event()

    def on_event(event):
        events.append(event)
        if isinstance(event, RunPaused):
            paused.set()

    trainer = Trainer(cfg, dataset, run, on_event)
    thread = threading.Thread(target=trainer.run)
    thread.start()
    trainer.request_pause()
    assert paused.wait(30)
    step = trainer.step
    threading.Event().wait(0.3)
    assert trainer.step == step  # nothing moves while paused
    trainer.request_resume()
    threading.Event().wait(0.2)
    trainer.request_stop()
    thread.join(30)
    assert not thread.is_alive()
    assert any(isinstance(e, RunResumed) for e in events)
    assert events[-1].reason == "stopped"
    latest = run.latest_checkpoint()
    assert latest is not None and load_checkpoint(latest.path)["step"] == trainer.step


def test_non_finite_loss_stops_with_an_error_and_writes_no_checkpoint(tmp_path, monkeypatch):
    def nan_d(real, fake, *_):
        return (real.float().mean() + fake.float().mean()) * float("nan")

    broken = AdversarialLoss("broken", nan_d, lambda fake: -fake.float().mean())
    monkeypatch.setattr(trainer_module, "adversarial_loss", lambda name: broken)
    cfg = tiny_config(family="dcgan", epochs=2)
    _, run, events, result = train(tmp_path, cfg)
    assert result.reason == "error"
    errors = [e for e in events if isinstance(e, RunError)]
    assert errors and "non-finite" in errors[0].message
    assert run.checkpoints() == []


def test_too_small_dataset_is_refused_with_a_reason(tmp_path):
    cfg = tiny_config(batch_size=64)
    with pytest.raises(Exception, match="fewer than one batch"):
        Trainer(cfg, random_dataset(SPACE, n=10), RunDirectory(tmp_path))


def test_resume_refuses_a_checkpoint_of_another_model(tmp_path):
    cfg = tiny_config(family="acgan", epochs=1)
    _, run, _, _ = train(tmp_path, cfg)
    _, _, events, result = train(
        tmp_path, cfg.replace(ngf=8, epochs=2), name="other", resume_from=run.checkpoint_path(1)
    )
    assert result.reason == "error"
    assert "epoch_0001.pt" in result.message and "ngf" in result.message


def test_aux_on_fake_off_trains_d_classifier_on_real_images_only(tmp_path, monkeypatch):
    seen = []
    space = SPACE
    real_aux_loss = space.aux_loss

    def spy(logits, labels):
        seen.append(logits.requires_grad)
        return real_aux_loss(logits, labels)

    monkeypatch.setattr(space, "aux_loss", spy)
    cfg = tiny_config(family="acgan", epochs=1, aux_on_fake=False)
    trainer = Trainer(cfg, random_dataset(space), RunDirectory(tmp_path), max_steps=1, write_files=False)
    assert trainer.run().reason == "stopped"
    # One D step (real only) and one G step: two aux terms, not three.
    assert len(seen) == 2


def test_ema_decay_warms_up_so_early_averages_forget_the_initial_weights():
    import torch

    from studio.core.trainer import warmed_ema

    update = warmed_ema(0.999)
    avg, cur = [torch.zeros(3)], [torch.ones(3)]
    update(avg, cur, torch.tensor(1))  # decay min(0.999, 2/11)
    assert torch.allclose(avg[0], torch.full((3,), 9 / 11))
    late = [torch.zeros(3)]
    update(late, cur, torch.tensor(1_000_000))  # the configured decay once warm
    assert torch.allclose(late[0], torch.full((3,), 0.001))
    counts = [torch.tensor(5)]
    update(counts, [torch.tensor(9)], torch.tensor(3))
    assert counts[0].item() == 9


def test_mode_seeking_loss_is_largest_for_a_g_that_ignores_z():
    from studio.core.losses import mode_seeking_loss, paired_labels

    labels = torch.arange(10).view(5, 2)
    paired = paired_labels(labels)
    assert torch.equal(paired[2:4], labels[:2]) and torch.equal(paired[:2], labels[:2])
    assert torch.equal(paired[4], labels[4])  # an odd batch leaves its last fake unpaired

    z = torch.randn(8, 16)
    copies = torch.randn(4, 3, 8, 8).repeat(2, 1, 1, 1).requires_grad_()
    varied = torch.randn(8, 3, 8, 8)
    assert mode_seeking_loss(copies, z) > 1e3 > 10 * mode_seeking_loss(varied, z)
    # Its gradient pushes the two images of a pair apart.
    close = (copies.detach() + 0.01 * torch.randn_like(copies)).requires_grad_()
    mode_seeking_loss(close, z).backward()
    step = close.detach() - 0.1 * close.grad.sign()
    assert (step[:4] - step[4:]).abs().mean() > (close[:4] - close[4:]).abs().mean()


def test_mode_seeking_draws_fakes_in_pairs_that_share_a_condition(tmp_path, monkeypatch):
    import studio.core.losses as losses

    cfg = tiny_config(family="acgan", epochs=1, mode_seeking=2.0, g_steps=2)
    trainer = Trainer(cfg, random_dataset(SPACE), RunDirectory(tmp_path), max_steps=2, write_files=False)
    trainer._setup()
    conds, terms = [], []
    forward = trainer.g.forward
    monkeypatch.setattr(trainer.g, "forward", lambda z, cond: conds.append(cond) or forward(z, cond))
    monkeypatch.setattr(
        trainer_module,
        "mode_seeking_loss",
        lambda fake, z: terms.append(fake.shape) or losses.mode_seeking_loss(fake, z),
    )
    monkeypatch.setattr(trainer, "_setup", lambda: None)
    assert trainer.run().reason == "stopped"
    # Two iterations: one fake batch for D and G, one fresh batch for the second G step.
    assert len(conds) == 4 and len(terms) == 4
    for cond in conds:
        assert torch.equal(cond[:4], cond[4:])
    # Off, the fakes take the real batch's conditions as they come.
    labels = trainer.labels[:8]
    assert trainer._fake_labels(labels) is not labels
    assert (
        Trainer(cfg.replace(mode_seeking=0.0), random_dataset(SPACE), RunDirectory(tmp_path))._fake_labels(labels)
        is labels
    )


@pytest.mark.parametrize("checkpoint_every", [1, 3])
def test_stop_exactly_at_an_epoch_boundary_then_resume_matches_a_straight_run(tmp_path, checkpoint_every):
    # 4 steps per epoch: max_steps=8 stops right after epoch 2. The stop must neither rewrite epoch_0002.pt
    # with the next epoch's data order nor lose the epoch when no checkpoint was due (checkpoint_every=3).
    cfg = tiny_config(family="acgan", epochs=4, checkpoint_every=checkpoint_every)
    straight, *_ = train(tmp_path, cfg, name="straight")
    _, run, events, result = train(tmp_path, cfg, name="split", max_steps=8)
    assert result.reason == "stopped" and result.epoch == 2
    saved = [e.path for e in events if isinstance(e, CheckpointSaved)]
    assert saved.count(str(run.checkpoint_path(2))) == 1
    assert run.latest_checkpoint().path == run.checkpoint_path(2)
    resumed, *_ = train(tmp_path, cfg, run=run, resume_from=run.checkpoint_path(2))
    assert_same_weights(straight, resumed)


def test_non_finite_loss_at_the_first_step_does_not_claim_a_checkpoint(tmp_path, monkeypatch):
    def nan_d(real, fake, *_):
        return (real.float().mean() + fake.float().mean()) * float("nan")

    monkeypatch.setattr(
        trainer_module,
        "adversarial_loss",
        lambda name: AdversarialLoss("broken", nan_d, lambda fake: -fake.float().mean()),
    )
    _, run, events, _ = train(tmp_path, tiny_config(family="dcgan", epochs=2))
    message = next(e for e in events if isinstance(e, RunError)).message
    assert "no checkpoint had been written" in message and "was kept" not in message


def test_a_second_trainer_of_the_same_run_is_refused_naming_the_holder(tmp_path):
    cfg = tiny_config(family="acgan", epochs=2)
    run = RunDirectory.create(tmp_path, cfg)
    holder = run.lock()
    try:
        events = []
        result = Trainer(cfg, random_dataset(SPACE), run, events.append).run()
        assert result.reason == "error"
        assert "being trained by process" in result.message and str(os.getpid()) in result.message
        assert run.checkpoints() == [] and not run.metrics_path.exists()
    finally:
        holder.release()
    assert Trainer(cfg, random_dataset(SPACE), run).run().reason == "completed"
    assert run.writer() is None  # released at the end of the run


def test_a_full_disk_is_reported_naming_the_file_and_the_disk(tmp_path, monkeypatch):
    import errno

    import studio.core.atomic as atomic

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    cfg = tiny_config(family="dcgan", epochs=1)
    run = RunDirectory.create(tmp_path, cfg)
    monkeypatch.setattr(atomic.os, "fsync", no_space)
    _, run, _, result = train(tmp_path, cfg, run=run)
    assert result.reason == "error"
    named, _, problem = result.message.partition(": ")
    assert named.startswith(str(run.path)) and problem.startswith(f"no space left on the disk holding {run.path}")
    assert not [p for p in run.path.rglob("*.tmp")]  # no temporary file left behind

"""Retention of full checkpoints, slim snapshots, pins, and a disk that fills during a save."""

import errno
import warnings

import pytest
import torch
from helpers import SPACES, random_dataset, tiny_config

import studio.core.atomic as atomic
from studio.core.averaging import average_checkpoints, list_checkpoints, run_generators, select_checkpoints
from studio.core.checkpoint import KIND_SNAPSHOT, generator_from_checkpoint, load_checkpoint
from studio.core.events import CheckpointSaved
from studio.core.retention import apply_retention, pin, read_pins, unpin
from studio.core.rundir import RunDirectory
from studio.core.trainer import Trainer
from studio.errors import CheckpointError, StudioError, StudioWarning

SPACE = SPACES["categorical"]


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny models: a second intra-op thread only adds waiting on a busy machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def train(tmp_path, cfg, on_event=None, resume_from=None, run=None):
    run = run or RunDirectory.create(tmp_path, cfg, run_id="run")
    result = Trainer(cfg, random_dataset(SPACE, n=16), run, on_event, resume_from).run()
    return run, result


def names(infos):
    return [c.path.name for c in infos]


def test_every_epoch_keeps_a_snapshot_and_only_the_last_k_full_checkpoints(tmp_path):
    run, result = train(tmp_path, tiny_config(family="acgan", epochs=5, ema=True, keep_checkpoints=2))
    assert result.reason == "completed"
    assert names(run.checkpoints()) == ["epoch_0004.pt", "epoch_0005.pt"]
    assert names(run.snapshots()) == [f"epoch_{e:04d}.pt" for e in range(1, 6)]
    snapshot = load_checkpoint(run.snapshot_path(5))
    full = load_checkpoint(run.checkpoint_path(5))
    assert snapshot["kind"] == KIND_SNAPSHOT and "d" not in snapshot and "opt_g" not in snapshot
    for part in ("g", "ema"):  # the same tensors, BatchNorm statistics included
        assert snapshot[part].keys() == full[part].keys()
        assert all(torch.equal(snapshot[part][k], full[part][k]) for k in full[part])
    assert run.snapshot_path(5).stat().st_size < run.checkpoint_path(5).stat().st_size / 2
    # Every epoch's generator is still there for the lab, the explorer and sampling.
    assert [e.epoch for e in list_checkpoints(run)] == [1, 2, 3, 4, 5]
    assert [e.resumable for e in list_checkpoints(run)] == [False, False, False, True, True]
    assert [r.epoch for r in run_generators(run) if r.kind == "checkpoint"] == [1, 2, 3, 4, 5]
    g, _, _ = generator_from_checkpoint(run.snapshot_path(1), "ema")
    assert not g.training


def test_keep_zero_keeps_every_full_checkpoint(tmp_path):
    run, _ = train(tmp_path, tiny_config(family="dcgan", epochs=4, keep_checkpoints=0))
    assert len(run.checkpoints()) == 4 and len(run.snapshots()) == 4


def test_a_pinned_checkpoint_is_never_deleted(tmp_path):
    pinned_at = []

    def on_event(event):
        if isinstance(event, CheckpointSaved) and event.epoch == 1:
            pinned_at.append(pin(RunDirectory(tmp_path / "run"), 1))

    run, _ = train(tmp_path, tiny_config(family="dcgan", epochs=4, keep_checkpoints=1), on_event)
    assert pinned_at and names(run.checkpoints()) == ["epoch_0001.pt", "epoch_0004.pt"]
    assert read_pins(run) == ["epoch_0001.pt"]
    assert [e.pinned for e in list_checkpoints(run)] == [True, False, False, False]
    unpin(run, "epoch_0001.pt")
    assert apply_retention(run, 1, run.checkpoint_path(4)) == [run.checkpoint_path(1)]
    with pytest.raises(StudioError, match="no longer kept.*snapshots"):
        pin(run, 2)
    with pytest.raises(StudioError, match="not pinned"):
        unpin(run, 4)


def test_a_damaged_pins_file_stops_all_deletion(tmp_path):
    run, _ = train(tmp_path, tiny_config(family="dcgan", epochs=3, keep_checkpoints=0))
    (run.path / "pins.json").write_text("{not json")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert apply_retention(run, 1, run.checkpoint_path(3)) == []
    assert len(run.checkpoints()) == 3
    assert any(issubclass(w.category, StudioWarning) and "pins.json" in str(w.message) for w in caught)


def test_checkpoints_after_the_newest_are_left_to_be_overwritten(tmp_path):
    run, _ = train(tmp_path, tiny_config(family="dcgan", epochs=4, keep_checkpoints=0))
    removed = apply_retention(run, 1, run.checkpoint_path(2))  # a resume from epoch 1 has just written epoch 2
    assert removed == [run.checkpoint_path(1)]
    assert names(run.checkpoints()) == ["epoch_0002.pt", "epoch_0003.pt", "epoch_0004.pt"]


def test_an_old_run_without_snapshots_loses_no_generator(tmp_path):
    run, _ = train(tmp_path, tiny_config(family="acgan", epochs=3, keep_checkpoints=0, ema=True))
    before = {e: load_checkpoint(run.checkpoint_path(e))["g"] for e in (1, 2)}
    for snapshot in run.snapshots():  # as a run written before snapshots existed
        snapshot.path.unlink()
    assert select_checkpoints(run, last=3) == [run.checkpoint_path(e) for e in (1, 2, 3)]
    assert apply_retention(run, 1, run.checkpoint_path(3)) == [run.checkpoint_path(1), run.checkpoint_path(2)]
    assert select_checkpoints(run, last=3) == [run.snapshot_path(1), run.snapshot_path(2), run.checkpoint_path(3)]
    for epoch, weights in before.items():
        state = load_checkpoint(run.snapshot_path(epoch))
        assert state["kind"] == KIND_SNAPSHOT and state["ema"] is not None
        assert all(torch.equal(state["g"][k], weights[k]) for k in weights)


def test_the_average_of_snapshots_equals_the_average_of_full_checkpoints(tmp_path):
    run, _ = train(tmp_path, tiny_config(family="acgan", epochs=4, keep_checkpoints=0))
    snapshots = select_checkpoints(run, last=3)
    assert [p.parent.name for p in snapshots] == ["snapshots"] * 3
    full = [run.checkpoint_path(e) for e in (2, 3, 4)]
    a = average_checkpoints(snapshots, bn_batches=4, bn_batch_size=8, seed=3)
    b = average_checkpoints(full, bn_batches=4, bn_batch_size=8, seed=3)
    assert (a.epochs, a.steps, a.bn_mode) == (b.epochs, b.steps, b.bn_mode) == ([2, 3, 4], a.steps, "re-estimated")
    sa, sb = a.generator.state_dict(), b.generator.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert [p.name for p in a.sources] == [p.name for p in b.sources]


def test_resume_from_a_snapshot_is_refused_with_a_clear_message(tmp_path):
    cfg = tiny_config(family="dcgan", epochs=1)
    run, _ = train(tmp_path, cfg)
    _, result = train(tmp_path, cfg.replace(epochs=2), resume_from=run.snapshot_path(1), run=run)
    assert result.reason == "error" and "generator snapshot holds no training state" in result.message
    assert "checkpoints/" in result.message


def test_a_disk_that_fills_during_a_save_keeps_the_previous_checkpoint_and_names_the_disk(tmp_path, monkeypatch):
    real_write = atomic.atomic_write_bytes

    def fills_up(path, data, overwrite=True):
        if path.name == "epoch_0003.pt" and path.parent.name == "checkpoints":
            with atomic.atomic_open(path, overwrite) as f:
                f.write(data[: len(data) // 2])
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(path, data, overwrite)

    monkeypatch.setattr(atomic, "atomic_write_bytes", fills_up)
    project = tmp_path / "project.json"
    project.write_text('{"kept": true}')
    run, result = train(tmp_path, tiny_config(family="dcgan", epochs=4, keep_checkpoints=1))
    assert result.reason == "error" and result.epoch == 3
    assert "no space left on the disk holding" in result.message and "mounted at" in result.message
    assert "Training stopped" in result.message and "epoch_0002.pt is intact" in result.message
    assert names(run.checkpoints()) == ["epoch_0002.pt"]
    assert load_checkpoint(run.checkpoint_path(2))["epoch"] == 2  # whole, checksums and all
    assert not list(run.path.rglob("*.tmp")) and project.read_text() == '{"kept": true}'
    with pytest.raises(CheckpointError):
        load_checkpoint(run.checkpoint_path(3))


def test_a_full_disk_while_logging_names_the_disk(tmp_path, monkeypatch):
    import studio.core.rundir as rundir

    run = RunDirectory.create(tmp_path, tiny_config(family="dcgan"), run_id="run")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(rundir, "open", full, raising=False)
    with pytest.raises(OSError) as caught:
        run.append_metrics([{"kind": "step", "step": 1}])
    assert caught.value.filename == str(run.metrics_path)
    assert "no space left on the disk holding" in caught.value.strerror and "mounted at" in caught.value.strerror

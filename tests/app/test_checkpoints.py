"""A run's checkpoints and generators, a project's runs, and averaging: the rules the lab and the CLI share."""

import threading

import pytest
import torch

from studio.app.checkpoints import (
    AverageRequest,
    CheckpointSummary,
    ProjectSummary,
    RunState,
    RunSummary,
    average,
    average_sources,
    inspect,
    list_run,
    list_runs,
    open_run,
)
from studio.app.common import Cancelled
from studio.core.rundir import RunDirectory
from studio.errors import StudioError


def test_a_run_lists_its_checkpoints_and_generators(ema_run):
    listing = list_run(ema_run.path)
    assert [e.epoch for e in listing.entries] == [1, 2, 3] and listing.complete_epochs == 3
    assert "d_loss" in listing.entries[-1].metrics
    assert [r.label for r in listing.of_kind("checkpoint")] == ["epoch 1", "epoch 2", "epoch 3"]
    assert [r.label for r in listing.of_kind("ema")] == ["EMA at epoch 3"]


def test_a_folder_without_a_run_is_refused_by_name(tmp_path):
    with pytest.raises(StudioError, match=f"{tmp_path}: not a run folder"):
        open_run(tmp_path)
    with pytest.raises(StudioError, match="not a project, run folder or checkpoint"):
        inspect(tmp_path)


def test_the_runs_of_a_project_say_how_far_they_got(project, train_run):
    done = train_run(project, max_steps=3)
    failed = RunDirectory.create(project.runs_dir, project.config)
    states = {s.run.path: s for s in list_runs(project)}
    assert states[done.path].state == "ready" and states[done.path].epochs_checkpointed == 1
    assert states[failed.path].state == "failed" and "no checkpoint" in states[failed.path].note()
    with done.lock():
        (busy,) = [s for s in list_runs(project) if s.run.path == done.path]
        assert busy.state == "running" and "being trained by process" in busy.note()


def test_inspect_tells_a_checkpoint_a_project_and_a_run_apart(project, train_run):
    run = train_run(project)
    summary = inspect(run.checkpoint_path(2))
    assert isinstance(summary, CheckpointSummary)
    assert (summary.epoch, summary.has_ema, summary.average) == (2, False, "")
    assert summary.config.family == "acgan"
    assert isinstance(inspect(project.folder), ProjectSummary)
    leftover = run.checkpoints_dir / ".epoch_0003.pt.x1y2.tmp"  # what a trainer killed mid-write leaves
    leftover.write_bytes(b"half")
    found = inspect(run.path)
    assert isinstance(found, RunSummary) and found.samples == 2 and found.metric_rows > 0
    assert found.removed == [leftover] and not leftover.exists()
    assert [e.epoch for e in found.listing.entries] == [1, 2]


def test_averaging_the_last_epochs_saves_a_new_generator(ema_run):
    heard = []
    request = AverageRequest(ema_run, last=2, bn_batches=2, bn_batch_size=4, name="avg_test_last.pt")
    assert [p.name for p in average_sources(request)] == ["epoch_0002.pt", "epoch_0003.pt"]
    outcome = average(request, log=heard.append)
    try:
        assert heard == ["averaging 2 generators: epoch_0002.pt, epoch_0003.pt"]
        assert outcome.path == ema_run.checkpoints_dir / "avg_test_last.pt" and outcome.epochs == [2, 3]
        state = torch.load(outcome.path, weights_only=True)
        assert state["averaged"]["files"] == ["epoch_0002.pt", "epoch_0003.pt"] and state["bn_reestimated"]
        with pytest.raises(StudioError, match="already exists"):
            average(request)
    finally:
        outcome.path.unlink()


def test_a_unique_name_is_found_instead_of_refusing(ema_run):
    request = AverageRequest(
        ema_run,
        checkpoints=[ema_run.checkpoint_path(1), "epoch_0003.pt"],
        which="ema",
        bn_reestimate=False,
        unique_name=True,
    )
    first = average(request)
    second = average(request)
    try:
        assert first.path.name == "average_2_epochs_0001-0003_ema.pt"
        assert second.path.name == "average_2_epochs_0001-0003_ema_2.pt"
        assert "averaged from the checkpoints" in first.describe_bn()
    finally:
        first.path.unlink()
        second.path.unlink()


def test_bad_choices_and_a_stop_save_nothing(ema_run):
    before = sorted(p.name for p in ema_run.checkpoints_dir.iterdir())
    with pytest.raises(StudioError, match="only 3"):
        average(AverageRequest(ema_run, last=9))
    with pytest.raises(StudioError, match="--bn-batches must be at least 1"):
        average(AverageRequest(ema_run, last=2, bn_batches=0))
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled, match="averaging cancelled"):
        average(AverageRequest(ema_run, last=2), should_stop=stop.is_set)
    assert sorted(p.name for p in ema_run.checkpoints_dir.iterdir()) == before


def test_a_run_without_a_checkpoint_says_how_far_it_got(project):
    run = RunDirectory.create(project.runs_dir, project.config)
    state = RunState.of(run)
    assert (state.state, state.epochs_done) == ("failed", 0)
    assert state.note() == "no checkpoint: training failed or was stopped before the first epoch ended"
    for epoch in (1, 2):  # sample grids are drawn as each epoch ends, checkpoints maybe later
        run.sample_path(epoch).parent.mkdir(parents=True, exist_ok=True)
        run.sample_path(epoch).write_bytes(b"")
    state = RunState.of(run)
    assert (state.state, state.epochs_done) == ("failed", 2) and "after epoch 2" in state.note()


def test_a_bad_selection_carries_what_a_front_end_words_itself(ema_run):
    with pytest.raises(StudioError, match="--epochs '3-1'") as reversed_range:
        average_sources(AverageRequest(ema_run, epochs="3-1"))
    assert reversed_range.value.code == "average.range_reversed"
    assert reversed_range.value.fields == {"range": "3-1", "first": 3, "last": 1}
    with pytest.raises(StudioError, match="--epochs 'x'") as unreadable:
        average_sources(AverageRequest(ema_run, epochs="x"))
    assert (unreadable.value.code, unreadable.value.fields) == ("average.range_unreadable", {"range": "x"})
    with pytest.raises(StudioError, match="--last must be at least 1") as too_few:
        average_sources(AverageRequest(ema_run, last=0))
    assert (too_few.value.code, too_few.value.fields) == ("average.last_too_few", {"last": 0})


def test_the_core_hears_progress_and_stop_by_name(ema_run, monkeypatch):
    # The window's tests hold the average at the core; they find progress and should_stop by name.
    import studio.core.averaging as averaging

    heard = {}
    real = averaging.average_checkpoints

    def spy(*args, progress=None, should_stop=None, **kwargs):
        heard.update(progress=progress, should_stop=should_stop)
        return real(*args, progress=progress, should_stop=should_stop, **kwargs)

    monkeypatch.setattr(averaging, "average_checkpoints", spy)
    stop = threading.Event()
    outcome = average(
        AverageRequest(ema_run, last=2, bn_reestimate=False, name="avg_spy.pt"),
        progress=lambda text, fraction: None,
        should_stop=stop.is_set,
    )
    try:
        assert heard["should_stop"] == stop.is_set and heard["progress"] is not None
    finally:
        outcome.path.unlink()

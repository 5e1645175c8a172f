"""A run's notes, its summary, pins, disk budget and prolonging it: the application layer."""

import json
import shutil

import pytest
from helpers import SPACES, random_dataset, tiny_config

from studio.app.retention import (
    check_disk_budget,
    disk_use,
    extend_epochs,
    pin_checkpoint,
    pinned_checkpoints,
    projected_disk_use,
    unpin_checkpoint,
)
from studio.app.run_notes import read_notes, write_notes
from studio.app.run_summary import SUMMARY_KEYS, run_summary
from studio.app.runs import create_run, plan_resume
from studio.core.diskuse import tree_bytes
from studio.core.rundir import RunDirectory
from studio.core.trainer import Trainer
from studio.errors import ConfigError, StudioError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> RunDirectory:
    """One 3-epoch run keeping 2 full checkpoints, trained once; each test works on its own copy."""
    config = tiny_config(family="acgan", epochs=3, keep_checkpoints=2)
    run = RunDirectory.create(tmp_path_factory.mktemp("summary") / "runs", config)
    Trainer(config, random_dataset(SPACES["categorical"]), run).run()
    return run


@pytest.fixture
def run(trained, tmp_path) -> RunDirectory:
    copy = tmp_path / "runs" / trained.run_id
    shutil.copytree(trained.path, copy)
    return RunDirectory(copy)


def test_notes_are_saved_in_the_run_and_edited_field_by_field(run):
    assert read_notes(run).empty
    write_notes(run, name="baseline", tags="a, b", note="first try\nsecond line")
    write_notes(run, add_tags=["c", "a"], remove_tags=["b"])
    notes = read_notes(run)
    assert (notes.name, notes.tags, notes.note) == ("baseline", ["a", "c"], "first try\nsecond line")
    data = json.loads((run.path / "notes.json").read_text())
    assert data["name"] == "baseline" and data["tags"] == ["a", "c"] and data["updated"]
    with pytest.raises(StudioError, match="tag 'bad tag'"):
        write_notes(run, tags=["bad tag"])
    with pytest.raises(StudioError, match="one line"):
        write_notes(run, name="two\nlines")
    assert read_notes(run).tags == ["a", "c"]  # a refused edit changes nothing
    (run.path / "notes.json").write_text("[1, 2]")
    with pytest.raises(StudioError, match="notes.json: damaged run notes file"):
        read_notes(run)


def test_run_summary_holds_what_a_runs_table_shows(run):
    write_notes(run, name="lr test", tags=["sweep"], note="d_lr 1e-4")
    pin_checkpoint(run, 2)
    summary = run_summary(run.path)
    assert set(SUMMARY_KEYS) <= set(summary)
    assert (summary["id"], summary["name"], summary["tags"], summary["note"]) == (
        run.run_id,
        "lr test",
        ["sweep"],
        "d_lr 1e-4",
    )
    assert (summary["state"], summary["epochs_done"], summary["epochs_planned"]) == ("completed", 3, 3)
    assert summary["disk_bytes"] == tree_bytes(run.path) == disk_use(run)["total"] > 0
    assert summary["disk"]["snapshots"] > 0 and summary["disk"]["checkpoints"] > summary["disk"]["snapshots"]
    assert summary["images_per_second"] > 0 and summary["config"]["keep_checkpoints"] == 2
    assert (summary["full_checkpoints"], summary["snapshots"], summary["pinned"]) == (2, 3, ["epoch_0002.pt"])
    assert summary["latest_checkpoint"].endswith("epoch_0003.pt") and summary["problems"] == []
    (run.path / "pins.json").write_text("oops")
    assert "pins.json" in run_summary(run)["problems"][0]
    with pytest.raises(StudioError, match="no such run folder"):
        run_summary(run.path / "missing")


def test_pins_through_the_application(run):
    assert pin_checkpoint(run, "epoch_0002.pt") == run.checkpoint_path(2)
    assert pinned_checkpoints(run) == ["epoch_0002.pt"]
    unpin_checkpoint(run, 2)
    assert pinned_checkpoints(run) == []
    with pytest.raises(StudioError, match="no such full checkpoint"):
        pin_checkpoint(run, 7)
    with pytest.raises(StudioError, match="no longer kept"):
        pin_checkpoint(run, 1)


def test_more_epochs_extend_the_plan_and_log_an_event_row(run):
    plan = plan_resume(run, more=3)
    assert (plan.epochs_done, plan.config.epochs) == (3, 6)
    before = run.config_path.read_text()
    assert extend_epochs(run, plan.config.epochs, plan.checkpoint) == 3
    assert json.loads(run.config_path.read_text()) == {**json.loads(before), "epochs": 6}
    row = run.read_metrics()[-1]
    assert row["kind"] == "epochs" and row["epochs"] == {"from": 3, "to": 6} and row["step"] == 12
    assert extend_epochs(run, 6, plan.checkpoint) is None  # no change, no row
    assert run_summary(run)["epochs_planned"] == 6 and run_summary(run)["state"] == "stopped"
    with pytest.raises(StudioError, match="--more"):
        plan_resume(run, epochs=9, more=1)


def test_a_disk_budget_refuses_a_run_saying_by_how_much(tmp_path):
    dataset = random_dataset(SPACES["categorical"])
    config = tiny_config(family="acgan", epochs=50, keep_checkpoints=2)
    projection = projected_disk_use(config, dataset)
    assert projection.full_kept == 2 and projection.checkpoint > projection.snapshot > 0
    assert projection.total == 50 * projection.per_epoch + 2 * projection.checkpoint
    budget = projection.total / 2 / 1e9
    with pytest.raises(ConfigError, match=r"over disk_budget_gb .* by \d"):
        create_run(tmp_path / "runs", config.replace(disk_budget_gb=budget), dataset)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    create_run(tmp_path / "runs", config.replace(disk_budget_gb=projection.total * 2 / 1e9), dataset)
    check_disk_budget(config.replace(disk_budget_gb=0.0), dataset)  # 0: no budget
    # keep_checkpoints 0 keeps every full checkpoint: the projection says so.
    assert projected_disk_use(config.replace(keep_checkpoints=0), dataset).full_kept == 50

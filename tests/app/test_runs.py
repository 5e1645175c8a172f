"""Starting and resuming runs: one set of rules for the window and the command line."""

import pytest
from helpers import SPACES, random_dataset, tiny_config

from studio.app.runs import create_run, plan_resume, resumable_run
from studio.core.rundir import RunDirectory
from studio.core.trainer import Trainer
from studio.errors import ConfigError, RunBusyError, StudioError
from studio.project import Project

SPACE = SPACES["categorical"]


@pytest.fixture
def project(tmp_path):
    return Project.create(tmp_path / "p", tiny_config(family="acgan", epochs=2))


def trained_run(project, epochs=2, max_steps=None):
    run = RunDirectory.create(project.runs_dir, project.config.replace(epochs=epochs))
    Trainer(run.read_config(), random_dataset(SPACE), run, max_steps=max_steps).run()
    return run


def test_a_run_that_cannot_train_leaves_no_folder(project):
    too_big = project.config.replace(batch_size=64)
    with pytest.raises(ConfigError, match="fewer than one batch"):
        create_run(project.runs_dir, too_big, random_dataset(SPACE))
    with pytest.raises(ConfigError, match="this PyTorch sees no CUDA GPU|only"):
        create_run(project.runs_dir, project.config.replace(device="cuda:7"), random_dataset(SPACE))
    assert not project.runs_dir.exists() or not list(project.runs_dir.iterdir())
    assert create_run(project.runs_dir, project.config, random_dataset(SPACE)).exists()


def test_resuming_a_project_passes_over_newer_runs_without_a_checkpoint(project):
    good = trained_run(project, max_steps=5)
    RunDirectory.create(project.runs_dir, project.config)  # failed or killed before its first checkpoint
    assert resumable_run(project).path == good.path
    plan = plan_resume(project.folder)
    assert plan.run.path == good.path and plan.checkpoint == good.latest_checkpoint().path
    assert plan.epochs_done == 1 and not plan.rewinds


def test_a_project_without_any_checkpoint_says_so(project):
    RunDirectory.create(project.runs_dir, project.config)
    with pytest.raises(StudioError, match="none of its 1 run"):
        plan_resume(project.folder)


def test_a_finished_run_continues_only_when_more_epochs_are_asked_for(project):
    run = trained_run(project)
    with pytest.raises(StudioError, match="has completed its 2 epochs; ask for more epochs"):
        plan_resume(run.path)
    plan = plan_resume(run.path, epochs=3)
    assert plan.config.epochs == 3 and plan.epochs_done == 2


def test_an_older_checkpoint_is_a_rewind_over_the_later_ones(project):
    run = trained_run(project)
    plan = plan_resume(run.checkpoint_path(1))
    assert plan.rewinds and [c.path.name for c in plan.later] == ["epoch_0002.pt"]
    assert "1 later checkpoint(s), up to epoch_0002.pt" in plan.rewind_text()


def test_a_run_being_trained_is_refused_naming_the_process(project):
    run = trained_run(project, max_steps=5)
    with run.lock():
        with pytest.raises(RunBusyError, match="being trained by process"):
            plan_resume(run.path)


def test_an_averaged_generator_is_not_resumed(project, tmp_path):
    from studio.core.averaging import average_checkpoints, save_average

    run = trained_run(project, epochs=2)
    path = save_average(run, average_checkpoints([run.checkpoint_path(1), run.checkpoint_path(2)]), None)
    with pytest.raises(StudioError, match="an averaged generator holds no training state"):
        plan_resume(path)


def test_a_run_whose_data_is_still_to_load_is_checked_for_what_can_be_known(project):
    # The window shows a new run at once and loads its data in the worker: settings and device first.
    with pytest.raises(ConfigError, match="this PyTorch sees no CUDA GPU|only"):
        create_run(project.runs_dir, project.config.replace(device="cuda:7"))
    assert not project.runs_dir.exists() or not list(project.runs_dir.iterdir())
    assert create_run(project.runs_dir, project.config).exists()


def test_who_trains_a_run_is_said_the_same_everywhere(project):
    from studio.app.runs import describe_writer

    assert (
        describe_writer({"pid": 7, "host": "h", "since": "2024-05-01 10:00:00", "command": "studio train p"})
        == "process 7 on h since 2024-05-01 10:00:00 (studio train p)"
    )
    assert describe_writer({"pid": 7, "host": "", "since": None}) == "process 7 on ?"

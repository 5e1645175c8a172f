"""Training a run through the application layer: new, resumed, prolonged, stopped, on a time budget."""

import threading

import pytest
from helpers import SPACES, random_dataset

from studio.app.training import (
    RewindNeeded,
    Training,
    TrainRequest,
    new_project,
    new_run_request,
    resume_run_request,
)
from studio.core.events import CheckpointSaved, EpochEnd, RunStarted
from studio.errors import ConfigError, StudioError
from studio.project import Project

SPACE = SPACES["categorical"]


def test_a_new_run_is_made_once_its_data_fits_and_trains_to_the_end(project):
    events = []
    request = new_run_request(project.folder, {"epochs": 1}, dataset=random_dataset(SPACE))
    outcome = Training(request, on_event=events.append).run()
    assert outcome.finished.reason == "completed" and outcome.finished.epoch == 1
    assert outcome.run.path.parent == project.runs_dir and outcome.latest == outcome.run.checkpoint_path(1)
    assert not outcome.out_of_time
    kinds = [type(e) for e in events]
    assert kinds[0] is RunStarted and EpochEnd in kinds and CheckpointSaved in kinds

    with pytest.raises(ConfigError, match="fewer than one batch"):
        Training(new_run_request(project, {"batch_size": 64}, dataset=random_dataset(SPACE))).run()
    assert len(project.runs()) == 1


def test_a_stop_before_the_trainer_starts_makes_no_run(project):
    training = Training(new_run_request(project, dataset=random_dataset(SPACE)))
    training.request_stop()
    outcome = training.run()
    assert outcome.finished.reason == "stopped" and outcome.run is None and outcome.latest is None
    assert not training.training and project.runs() == []


def test_a_stop_while_training_ends_with_a_checkpoint(project):
    training = Training(new_run_request(project, {"epochs": 50}, dataset=random_dataset(SPACE)))
    training.on_event = lambda event: training.request_stop() if isinstance(event, EpochEnd) else None
    outcome = training.run()
    assert training.training and outcome.finished.reason == "stopped" and outcome.latest is not None


def test_a_time_budget_stops_the_run_and_says_so(project):
    outcome = Training(new_run_request(project, {"epochs": 10_000}, dataset=random_dataset(SPACE), minutes=0.005)).run()
    assert outcome.finished.reason == "stopped" and outcome.out_of_time and outcome.finished.epoch < 10_000


def test_pause_and_resume_from_another_thread(project):
    events = []
    training = Training(new_run_request(project, {"epochs": 2}, dataset=random_dataset(SPACE)), events.append)
    training.request_pause()  # before the trainer exists: it starts paused
    done = []
    thread = threading.Thread(target=lambda: done.append(training.run()))
    thread.start()
    thread.join(2.0)
    assert thread.is_alive() and not any(isinstance(e, EpochEnd) for e in events)
    training.request_resume()
    thread.join(60)
    assert done and done[0].finished.reason == "completed"


def test_resuming_prolonging_and_rewinding(project, train_run):
    run = train_run(project, epochs=2)
    with pytest.raises(StudioError, match="completed its 2 epochs"):
        resume_run_request(run.path)
    prolonged = resume_run_request(run.path, at_least=3, dataset=random_dataset(SPACE))
    assert prolonged.config.epochs == 3 and prolonged.resume_from == run.checkpoint_path(2) and prolonged.resumes
    assert resume_run_request(run.path, epochs=4, at_least=3).config.epochs == 4
    with pytest.raises(RewindNeeded, match="1 later checkpoint") as refused:
        resume_run_request(run.checkpoint_path(1))
    assert refused.value.plan.later[0].path == run.checkpoint_path(2)
    assert resume_run_request(run.checkpoint_path(1), rewind=True).resume_from == run.checkpoint_path(1)

    outcome = Training(prolonged).run()
    assert outcome.finished.epoch == 3 and outcome.run.path == run.path and outcome.latest == run.checkpoint_path(3)


def test_a_request_trains_a_new_run_or_an_existing_one(project):
    with pytest.raises(StudioError, match="not both or neither"):
        TrainRequest(project.config)


def test_a_new_project_comes_from_a_preset_checked_against_its_data(tmp_path):
    project = new_project(tmp_path / "digits", "tiny-demo", "builtin:digits", {"epochs": 7})
    again = Project.load(project.folder)
    assert again.preset == "tiny-demo" and again.config.dataset == "builtin:digits" and again.config.epochs == 7
    with pytest.raises(StudioError, match="no preset 'nope'"):
        new_project(tmp_path / "x", "nope")
    assert not (tmp_path / "x").exists()

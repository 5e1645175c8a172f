"""Runs trained once on tiny configs for the application layer's tests."""

import pytest
from helpers import SPACES, random_dataset, tiny_config

from studio.core.rundir import RunDirectory
from studio.core.trainer import Trainer
from studio.project import Project

SPACE = SPACES["categorical"]


def _train(project: Project, epochs: int = 2, max_steps: int | None = None, **changes) -> RunDirectory:
    run = RunDirectory.create(project.runs_dir, project.config.replace(epochs=epochs, **changes))
    Trainer(run.read_config(), random_dataset(SPACE), run, max_steps=max_steps).run()
    return run


@pytest.fixture(scope="module")
def ema_run(tmp_path_factory) -> RunDirectory:
    """A 3-epoch ACGAN run over 4 classes that keeps an EMA of G; the tests leave its checkpoints as they are."""
    project = Project.create(
        tmp_path_factory.mktemp("app") / "p", tiny_config(family="acgan", epochs=3, ema=True, ema_decay=0.5)
    )
    return _train(project, epochs=3)


@pytest.fixture
def project(tmp_path) -> Project:
    return Project.create(tmp_path / "p", tiny_config(family="acgan", epochs=2))


@pytest.fixture
def train_run():
    """train_run(project, epochs=2, max_steps=None, **settings): a run of ``project`` trained on random images."""
    return _train

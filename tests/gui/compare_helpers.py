"""Tiny real runs for the comparison and runs-table tests: trained headless in a second or two each."""

from __future__ import annotations

from pathlib import Path

from helpers import random_dataset, tiny_config

from studio.core.rundir import RunDirectory
from studio.core.trainer import Trainer
from studio.data.dataset import dataset_space
from studio.eval.results import append_results, make_row
from studio.project import Project


def train_tiny(project: Project, run_id: str, max_steps: int | None = None, **changes) -> RunDirectory:
    """A run of ``project`` (its settings with ``changes``) on 32 random hair x eyes images."""
    config = project.config.replace(**changes)
    run = RunDirectory.create(project.runs_dir, config, run_id=run_id)
    dataset = random_dataset(dataset_space(config.dataset), n=32)
    Trainer(run.read_config(), dataset, run, max_steps=max_steps).run()
    return run


def compare_project(folder: Path) -> tuple[Project, RunDirectory, RunDirectory]:
    """A project with two finished runs that differ in d_lr and epochs; run b has evaluation figures."""
    project = Project.create(folder, tiny_config(family="acgan", epochs=2, sample_grid_max=4, dataset_size=32))
    a = train_tiny(project, "run-a")
    b = train_tiny(project, "run-b", d_lr=1e-3, epochs=1)
    checkpoint = str(b.checkpoint_path(1))
    append_results(
        b.path,
        [
            make_row("epoch 1", checkpoint, "g", 1, "cond_acc", 0.25, 100),
            make_row("epoch 1", checkpoint, "g", 1, "fid", 120.0, 100),
        ],
    )
    return project, a, b

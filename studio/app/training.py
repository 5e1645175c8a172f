"""Training a run: a new one of a project, or an existing one resumed or prolonged.

:class:`Training` is the one way both front ends train: it loads the data
(unless given), makes the run folder once the data fits, runs the trainer in
the calling thread and reports the trainer's events. Stop, pause and resume
may be asked for from any thread (a signal handler, the window) at any time,
also while the data is still loading.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from studio.app.common import Progress
from studio.core.rundir import RunDirectory
from studio.errors import StudioError

__all__ = [
    "TrainRequest",
    "TrainOutcome",
    "RewindNeeded",
    "Training",
    "new_run_request",
    "resume_run_request",
    "new_project",
]


class RewindNeeded(StudioError):
    """Resuming from this checkpoint would overwrite the run's later checkpoints; ask before doing so."""

    def __init__(self, plan):
        super().__init__(
            f"{plan.checkpoint}: {plan.rewind_text()}",
            code="resume.rewind",
            checkpoint=str(plan.checkpoint),
            later=[str(c.path) for c in plan.later],
        )
        self.plan = plan


@dataclass
class TrainRequest:
    """What to train: a new run in ``runs_dir``, or ``run`` continued from ``resume_from``."""

    config: object  # TrainConfig
    runs_dir: Path | None = None  # a new run here, made once the data has loaded and fits the settings
    run: RunDirectory | None = None  # or this run ...
    resume_from: Path | None = None  # ... from this checkpoint of it
    dataset: object | None = None  # the data already in memory; default: loaded from config.dataset
    max_steps: int | None = None  # end after this many steps in total (tests, benchmarks)
    minutes: float | None = None  # a time budget: stop (with a checkpoint) after this many minutes

    def __post_init__(self) -> None:
        if (self.runs_dir is None) == (self.run is None):
            raise StudioError("train a new run (runs_dir) or an existing one (run), not both or neither")

    @property
    def resumes(self) -> bool:
        return self.resume_from is not None


@dataclass
class TrainOutcome:
    finished: object  # the RunFinished that ended it: reason 'completed', 'stopped' or 'error', epoch, step
    run: RunDirectory | None  # None when stopped before the new run's folder was made
    out_of_time: bool = False  # the time budget ended it

    @property
    def latest(self) -> Path | None:
        """The run's newest checkpoint, once training has ended."""
        info = self.run.latest_checkpoint() if self.run is not None else None
        return info.path if info is not None else None


def new_project(folder: str | Path, preset: str, dataset: str | None = None, changes: dict | None = None):
    """A project folder from a preset (its dataset and settings changed as asked), checked against the data."""
    from studio.data.dataset import dataset_space, parse_spec
    from studio.presets import load_preset
    from studio.project import Project

    config = load_preset(preset).config
    if dataset:
        parse_spec(dataset)
        config = config.replace(dataset=dataset)
    if changes:
        config = config.replace(**changes)
    config.check_against(dataset_space(config.dataset), source=f"preset {preset}")
    return Project.create(folder, config, preset=preset)


def new_run_request(project, changes: dict | None = None, **options) -> TrainRequest:
    """A new run of ``project`` (a Project or its folder) with its settings changed as asked.

    ``options``: ``max_steps``, ``minutes`` and ``dataset`` of :class:`TrainRequest`.
    """
    from studio.project import Project

    project = project if isinstance(project, Project) else Project.load(project)
    config = project.config.replace(**changes) if changes else project.config
    return TrainRequest(config, runs_dir=project.runs_dir, **options)


def resume_run_request(
    target,
    epochs: int | None = None,
    device: str | None = None,
    rewind: bool = False,
    at_least: int | None = None,
    more: int | None = None,
    **options,
) -> TrainRequest:
    """Continue ``target`` (a project, run folder or checkpoint file) to ``epochs`` in total.

    ``at_least`` prolongs: the run's own epoch count (or ``epochs``), or that
    many when more; ``more``: that many epochs beyond those done (the run's config.json records the new
    total once training starts). From a checkpoint older than the run's latest only with ``rewind``;
    otherwise :class:`RewindNeeded` (holding the plan) is raised.
    """
    from studio.app.runs import plan_resume

    plan = plan_resume(target, epochs, device, at_least, more)
    if plan.config.disk_budget_gb > 0:
        from studio.app.retention import check_disk_budget, disk_use

        check_disk_budget(plan.config, source=str(plan.run.path), already=disk_use(plan.run)["total"])
    if plan.rewinds and not rewind:
        raise RewindNeeded(plan)
    return TrainRequest(plan.config, run=plan.run, resume_from=plan.checkpoint, **options)


class Training:
    """One run trained in the calling thread: ``run()`` blocks until it completes, stops or fails.

    ``on_event`` gets every trainer event (:mod:`studio.core.events`);
    ``progress`` hears the data loading. Errors before the trainer starts
    (data, settings, a busy run) raise :class:`~studio.errors.StudioError`;
    errors while training end the run with reason 'error', as the trainer reports them.
    """

    def __init__(
        self,
        request: TrainRequest,
        on_event: Callable | None = None,
        progress: Progress | None = None,
        distributed=None,
        samples_on_demand: bool = False,
    ):
        self.request = request
        self.distributed = distributed  # this process's rank of a torchrun group (studio.core.distributed), if any
        self.on_event = on_event or (lambda event: None)
        # A grid at step 0 and request_sample() (studio.app.live_samples): the window asks for them.
        self._sampler = None
        if samples_on_demand:
            from studio.app.live_samples import LiveSampler

            self._sampler = LiveSampler(self.on_event)
        self.progress = progress
        self.run_dir: RunDirectory | None = request.run
        self._lock = threading.Lock()
        self._trainer = None
        self._stop = threading.Event()
        self._pause = threading.Event()
        self._out_of_time = threading.Event()

    # --- control, from any thread ----------------------------------------------------
    def request_stop(self) -> None:
        with self._lock:
            self._stop.set()
            if self._trainer is not None:
                self._trainer.request_stop()

    def request_pause(self) -> None:
        with self._lock:
            self._pause.set()
            if self._trainer is not None:
                self._trainer.request_pause()

    def request_resume(self) -> None:
        with self._lock:
            self._pause.clear()
            if self._trainer is not None:
                self._trainer.request_resume()

    def request_sample(self) -> bool:
        """Draw the fixed-noise grid from the current G and EMA after the next step (a LiveSamples event).

        False when this Training was not made with ``samples_on_demand``.
        """
        if self._sampler is None:
            return False
        self._sampler.request()
        return True

    @property
    def training(self) -> bool:
        """Whether the trainer exists: from now on a stop ends the run with a checkpoint."""
        return self._trainer is not None

    def _time_is_up(self) -> None:
        self._out_of_time.set()
        self.request_stop()

    # --- the work -----------------------------------------------------------------------
    def run(self) -> TrainOutcome:
        from studio.app.runs import create_run
        from studio.core.device import resolve_device
        from studio.core.events import RunFinished
        from studio.core.trainer import Trainer
        from studio.data.dataset import load_dataset

        request, config = self.request, self.request.config
        dataset = request.dataset
        if dataset is None:
            resolve_device(config.device)  # before minutes of data loading
            dataset = load_dataset(
                config.dataset, config.image_size, config.channels, config.dataset_size, self.progress
            )
        if self._stop.is_set():
            finished = RunFinished("stopped", 0, 0)
            self.on_event(finished)
            return TrainOutcome(finished, self.run_dir)
        if self.run_dir is None:
            if self.distributed is None:
                self.run_dir = create_run(request.runs_dir, config, dataset)
            else:  # one folder, made by rank 0, for every rank
                make = lambda: create_run(request.runs_dir, config, dataset)  # noqa: E731
                self.run_dir = self.distributed.from_main(make, lambda run: str(run.path), RunDirectory)
        judging = None
        writer = self.distributed is None or self.distributed.is_main  # the checks run where the run is written
        if writer and (config.collapse_alarm or config.score_every > 0):  # the judge, lent to the trainer's checks
            from studio.app.run_health import judging_for_run

            say = (lambda text: self.progress(text, 1.0)) if self.progress is not None else None
            judging = judging_for_run(config, dataset, resolve_device(config.device), say)
        trainer = Trainer(
            config,
            dataset,
            self.run_dir,
            on_event=self._sampler or self.on_event,
            resume_from=request.resume_from,
            max_steps=request.max_steps,
            judging=judging,
            distributed=self.distributed,
        )
        if self._sampler is not None:
            self._sampler.trainer = trainer
        with self._lock:
            self._trainer = trainer
            if self._stop.is_set():
                trainer.request_stop()
            if self._pause.is_set():
                trainer.request_pause()
        timer = None
        if request.minutes is not None:
            timer = threading.Timer(request.minutes * 60.0, self._time_is_up)
            timer.daemon = True
            timer.start()
        if request.resume_from is not None and (self.distributed is None or self.distributed.is_main):
            from studio.app.retention import extend_epochs

            # A continued run's plan in config.json (never "16 of 6"), and an event row in its metrics.
            extend_epochs(self.run_dir, config.epochs, request.resume_from)
        try:
            finished = trainer.run()
        finally:
            if timer is not None:
                timer.cancel()
        return TrainOutcome(finished, self.run_dir, self._out_of_time.is_set())

"""A project's runs, a run's checkpoints and generators, and averaging them: one set of rules.

* :func:`list_run` is what the checkpoint lab shows and ``average RUN`` prints:
  the training checkpoints with their epoch's figures, then every generator
  (each checkpoint's G, the EMA, the saved averages).
* :func:`list_runs` says of each run of a project how far it got and whether a
  process is training it; :func:`inspect` describes a project, run or checkpoint.
* :func:`average` chooses checkpoints (the last N, an epoch range, or files),
  averages them and saves the result in the run, never over an existing file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from studio.app.common import Log, Progress, ShouldStop, check_stop
from studio.core.rundir import RunDirectory
from studio.errors import StudioError

__all__ = [
    "RunListing",
    "RunState",
    "ProjectSummary",
    "RunSummary",
    "CheckpointSummary",
    "AverageRequest",
    "AverageOutcome",
    "open_run",
    "list_run",
    "list_runs",
    "inspect",
    "average_sources",
    "average",
    "free_average_name",
]


def open_run(path: RunDirectory | str | Path) -> RunDirectory:
    """The run folder at ``path`` (a RunDirectory passes through); refused unless it holds a run."""
    run = path if isinstance(path, RunDirectory) else RunDirectory(Path(path).expanduser())
    if not run.exists():
        raise StudioError(f"{run.path}: not a run folder (no config.json)")
    return run


# --- listing -------------------------------------------------------------------------


@dataclass
class RunListing:
    """A run's training checkpoints (oldest first) and every generator a user can pick in it."""

    run: RunDirectory
    entries: list = field(default_factory=list)  # CheckpointEntry: path, epoch, saved time, the epoch's figures
    generators: list = field(default_factory=list)  # GeneratorRef: each checkpoint's G, the EMA, the averages

    def of_kind(self, kind: str) -> list:
        """The generators of one kind: 'checkpoint', 'ema' or 'average'."""
        return [r for r in self.generators if r.kind == kind]

    @property
    def complete_epochs(self) -> int:
        """How many checkpoints were written at the end of an epoch (what 'the last N' counts)."""
        return sum(e.complete_epoch for e in self.entries)


def list_run(run) -> RunListing:
    """The checkpoints and generators of ``run`` (a RunDirectory or its folder)."""
    from studio.core.averaging import list_checkpoints, run_generators

    run = open_run(run)
    return RunListing(run, list_checkpoints(run), run_generators(run))


@dataclass
class RunState:
    """One run of a project as its listing shows it."""

    run: RunDirectory
    latest: object | None  # CheckpointInfo of its newest checkpoint
    writer: dict | None  # the process training it now: pid, host, since, command
    epochs_sampled: int = 0  # the newest epoch with a sample grid (drawn as each epoch ends)

    @classmethod
    def of(cls, run: RunDirectory) -> RunState:
        """The state of ``run`` from its files and its lock (a lock that cannot be probed: nobody trains it)."""
        try:
            writer = run.writer()
        except OSError:
            writer = None
        sampled = max((epoch for epoch, _ in run.samples()), default=0)
        return cls(run, run.latest_checkpoint(), writer, sampled)

    @property
    def epochs_checkpointed(self) -> int:
        return self.latest.epoch if self.latest is not None else 0

    @property
    def epochs_done(self) -> int:
        """The complete epochs it trained: its newest sample grid or end-of-epoch checkpoint."""
        complete = self.latest.epoch if self.latest is not None and self.latest.complete_epoch else 0
        return max(self.epochs_sampled, complete)

    @property
    def state(self) -> str:
        """'running' (another process trains it), 'failed' (no checkpoint) or 'ready'."""
        if self.writer is not None:
            return "running"
        return "failed" if self.latest is None else "ready"

    def note(self) -> str:
        if self.state == "running":
            from studio.app.runs import describe_writer

            return f"being trained by {describe_writer(self.writer)}"
        if self.state == "failed":
            if not self.epochs_done:
                return "no checkpoint: training failed or was stopped before the first epoch ended"
            return (
                f"no checkpoint: training failed or was stopped after epoch {self.epochs_done}, "
                "before its first checkpoint"
            )
        return ""


def list_runs(project) -> list[RunState]:
    """Every run of ``project``, oldest first, with its newest checkpoint and who trains it."""
    return [RunState.of(run) for run in project.runs()]


# --- describing a path ----------------------------------------------------------------------


@dataclass
class CheckpointSummary:
    path: Path
    epoch: int
    step: int
    epoch_step: int  # steps into the next epoch
    config: object  # TrainConfig
    space: object  # ConditionSpace
    has_ema: bool
    saved_at: str
    average: str = ""  # what a saved average holds; empty for a training checkpoint
    kind: str = "training"  # 'training', 'average' or 'snapshot' (a slim generator snapshot)


@dataclass
class ProjectSummary:
    project: object  # Project
    runs: list[RunState]


@dataclass
class RunSummary:
    listing: RunListing
    config: object  # TrainConfig
    removed: list[Path]  # temporary files a killed trainer left, removed now
    samples: int  # sample grids written
    metric_rows: int

    @property
    def run(self):
        return self.listing.run


def inspect(path) -> CheckpointSummary | ProjectSummary | RunSummary:
    """What a checkpoint file, a project folder (or its project.json) or a run folder holds."""
    from studio.app.runs import tidy_run
    from studio.project import PROJECT_FILE, Project

    path = Path(path).expanduser()
    if path.is_file() and path.suffix == ".pt":
        from studio.core.checkpoint import checkpoint_config, load_checkpoint

        state = load_checkpoint(path)
        config, space = checkpoint_config(state, path)
        average = ""
        if state.get("averaged"):
            from studio.core.averaging import describe_average

            average = describe_average(path).split(": ", 1)[1]
        return CheckpointSummary(
            path,
            state["epoch"],
            state["step"],
            state.get("epoch_step", 0),
            config,
            space,
            bool(state.get("ema")),
            state.get("saved_at", "?"),
            average,
            str(state.get("kind", "training")),
        )
    if (path / PROJECT_FILE).is_file() or path.name == PROJECT_FILE:
        project = Project.load(path)
        return ProjectSummary(project, list_runs(project))
    run = RunDirectory(path)
    if run.exists():
        removed = tidy_run(run)
        config = run.read_config()
        return RunSummary(list_run(run), config, removed, len(run.samples()), len(run.read_metrics()))
    raise StudioError(f"{path}: not a project, run folder or checkpoint")


# --- averaging -----------------------------------------------------------------------------


@dataclass
class AverageRequest:
    """Which checkpoints of a run to average, and how.

    Choose them one way: ``checkpoints`` (paths, or names inside the run's
    checkpoints/), ``last`` (the last N end-of-epoch checkpoints),
    ``epochs`` (a range 'A-B', or (A, B)) or ``best`` (the N best generators
    the run kept by its measured score, G or EMA as each was scored).
    """

    run: RunDirectory | str | Path
    checkpoints: list | None = None
    last: int | None = None
    epochs: str | tuple[int, int] | None = None
    which: str = "g"  # 'g', or 'ema' for the checkpoints' EMA generators
    bn_reestimate: bool = True  # measure BatchNorm statistics anew (else average them)
    bn_batches: int = 32
    bn_batch_size: int = 64
    seed: int = 0  # of the BatchNorm noise
    name: str | None = None  # file name in checkpoints/ (default average_epochs_A-B.pt)
    unique_name: bool = False  # the default name taken: add _2, _3 ... instead of refusing
    device: str = "cpu"
    best: int | None = None

    @property
    def chosen(self) -> bool:
        return any(x is not None for x in (self.checkpoints, self.last, self.epochs, self.best))

    def validate(self) -> None:
        if self.bn_batches < 1 or self.bn_batch_size < 2:
            raise StudioError("--bn-batches must be at least 1 and --bn-batch-size at least 2")
        if self.best is not None and self.which == "ema":
            raise StudioError("--best takes the kept generators as they were scored (G or EMA); leave out --ema")
        if self.best is not None and any(x is not None for x in (self.checkpoints, self.last, self.epochs)):
            raise StudioError("choose the checkpoints one way: the best N, the last N, an epoch range, or files")


@dataclass
class AverageOutcome:
    path: Path  # the saved average
    result: object  # AverageResult: the generator in memory and how it was made
    sources: list[Path]

    @property
    def epochs(self) -> list[int]:
        return sorted(self.result.epochs)

    def describe_bn(self) -> str:
        return self.result.describe_bn()


def average_sources(request: AverageRequest) -> list[Path]:
    """The checkpoint files ``request`` chooses; refused, naming the run, when they do not exist."""
    from studio.core.averaging import parse_epoch_range, select_checkpoints

    run = open_run(request.run)
    if request.best is not None:
        from studio.core.monitor import best_paths

        return best_paths(run.checkpoints_dir, request.best)
    epochs = parse_epoch_range(request.epochs) if isinstance(request.epochs, str) else request.epochs
    files = [str(p) for p in request.checkpoints] if request.checkpoints is not None else None
    return select_checkpoints(run, last=request.last, epochs=epochs, files=files)


def free_average_name(run, result) -> str:
    """The default name of ``result``, or the same with _2, _3 ... when an average of that span exists."""
    from studio.core.averaging import default_average_name

    name = default_average_name(result)
    stem = name[: -len(".pt")]
    count = 1
    while run.average_path(name).exists():
        count += 1
        name = f"{stem}_{count}.pt"
    return name


def best_average_name(run, result, unique: bool) -> str:
    """average_best3_epochs_0012-0030.pt: the N best kept generators, their first and last epochs."""
    epochs = sorted(result.epochs)
    stem = f"average_best{len(epochs)}_epochs_{epochs[0]:04d}-{epochs[-1]:04d}"
    name, count = f"{stem}.pt", 1
    while unique and run.average_path(name).exists():
        count += 1
        name = f"{stem}_{count}.pt"
    return name


def average(
    request: AverageRequest,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
    log: Log | None = None,
) -> AverageOutcome:
    """Average the chosen generators and save the result in the run's checkpoints/ folder.

    ``log`` hears which files are averaged before the work starts. A stop
    asked for raises :class:`~studio.app.common.Cancelled` and saves nothing.
    """
    from studio.core.averaging import average_checkpoints, save_average

    request.validate()
    run = open_run(request.run)
    paths = average_sources(request)
    if log is not None:
        what = "EMA generators" if request.which == "ema" else "generators"
        log(f"averaging {len(paths)} {what}: {', '.join(p.name for p in paths)}")
    result = average_checkpoints(
        paths,
        request.which,
        request.bn_reestimate,
        request.bn_batches,
        request.bn_batch_size,
        request.seed,
        request.device,
        progress=progress,
        should_stop=should_stop,
    )
    check_stop(should_stop, "averaging")
    name = request.name
    if name is None and request.best is not None:
        name = best_average_name(run, result, request.unique_name)
    if name is None and request.unique_name:
        name = free_average_name(run, result)
    return AverageOutcome(save_average(run, result, name), result, paths)

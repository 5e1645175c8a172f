"""Starting and resuming runs: the rules live here once, for the window and the command line.

* A new run is checked against its data (settings, device, image shape,
  batch size) before its folder exists, so bad input never leaves an empty run.
* Resuming a project picks its newest run that has a checkpoint; a run that
  has done its epochs is continued only when more epochs are asked for; a run
  another process is training is refused, naming that process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studio.core.checkpoint import load_checkpoint, resume_refusal
from studio.core.config import TrainConfig
from studio.core.rundir import CheckpointInfo, RunDirectory
from studio.core.trainer import check_trainable
from studio.errors import RunBusyError, StudioError

__all__ = ["ResumePlan", "plan_resume", "create_run", "resumable_run", "refuse_if_busy", "tidy_run", "describe_writer"]


@dataclass
class ResumePlan:
    run: RunDirectory
    checkpoint: Path
    config: TrainConfig  # the run's saved settings with the epochs and device asked for
    epochs_done: int  # complete epochs in the checkpoint
    later: list[CheckpointInfo]  # checkpoints that training from ``checkpoint`` overwrites (a rewind)

    @property
    def rewinds(self) -> bool:
        return bool(self.later)

    def rewind_text(self) -> str:
        last = self.later[-1].path.name if self.later else ""
        return f"the run has {len(self.later)} later checkpoint(s), up to {last}, which training would overwrite"


def create_run(runs_dir: str | Path, config: TrainConfig, dataset=None) -> RunDirectory:
    """A new run folder for ``config`` on ``dataset``, made only once training can start.

    Without ``dataset`` (it is still to be loaded) only what can be known
    without the data is checked first: the settings and the device.
    """
    if dataset is not None:
        check_trainable(config, dataset, source="settings")
    else:
        from studio.core.device import resolve_device

        config.validate("settings")
        resolve_device(config.device)
    from studio.app.retention import check_disk_budget

    check_disk_budget(config, dataset)
    return RunDirectory.create(runs_dir, config)


def describe_writer(writer: dict) -> str:
    """'process 123 on host since 2024-05-01 10:00:00 (studio train ...)': who trains a run, leaving out the unknown."""
    known = {k: str(v) for k, v in writer.items() if v not in (None, "", "?")}
    text = f"process {known.get('pid', '?')} on {known.get('host', '?')}"
    if "since" in known:
        text += f" since {known['since']}"
    if "command" in known:
        text += f" ({known['command']})"
    return text


def tidy_run(run: RunDirectory) -> list[Path]:
    """Remove the temporary files a killed trainer left in ``run``, unless a live process is training it."""
    return run.remove_stale_temp_files() if run.writer() is None else []


def refuse_if_busy(run: RunDirectory) -> None:
    holder = run.writer()
    if holder is not None:
        raise RunBusyError(
            f"{run.path}: this run is being trained by {describe_writer(holder)}; wait for it to end, or stop it first"
        )


def resumable_run(project) -> RunDirectory:
    """The project's newest run that has a checkpoint (runs that failed before their first one are passed over)."""
    runs = project.runs()
    if not runs:
        raise StudioError(f"{project.folder}: this project has no runs yet; use 'train'")
    for run in reversed(runs):
        if run.latest_checkpoint() is not None:
            return run
    raise StudioError(f"{project.folder}: none of its {len(runs)} run(s) has a checkpoint to resume from")


def plan_resume(
    target: str | Path | RunDirectory,
    epochs: int | None = None,
    device: str | None = None,
    at_least: int | None = None,
    more: int | None = None,
) -> ResumePlan:
    """What resuming ``target`` (a project folder, run folder or checkpoint file) would do, or why it cannot.

    ``epochs`` is the total to train to (default: the run's own); ``at_least``
    prolongs a run to that many when it is more; ``more`` trains that many
    epochs beyond those done. A run that has already done them is refused with what to change.
    """
    from studio.project import PROJECT_FILE, Project

    checkpoint: Path | None = None
    done = 0
    if isinstance(target, RunDirectory):
        run = target
    else:
        path = Path(target).expanduser()
        if path.is_file() and path.suffix == ".pt":
            state = load_checkpoint(path, mmap=True)
            refusal = resume_refusal(state, path)
            if refusal:
                raise StudioError(refusal)
            run, checkpoint, done = RunDirectory(path.parent.parent), path, state["epoch"]
            if not run.exists():
                raise StudioError(f"{path}: not inside a run folder (RUN/checkpoints/), so there is no run to continue")
        elif (path / PROJECT_FILE).is_file() or path.name == PROJECT_FILE:
            run = resumable_run(Project.load(path))
        else:
            run = RunDirectory(path)
            if not run.exists():
                raise StudioError(f"{path}: not a project, run folder or checkpoint")
    refuse_if_busy(run)
    if checkpoint is None:
        latest = run.latest_checkpoint()
        if latest is None:
            raise StudioError(f"{run.path}: this run has no checkpoint to resume from")
        checkpoint = latest.path
        done = latest.epoch if latest.complete_epoch else latest.epoch - 1
    saved = run.read_config()
    total = epochs if epochs is not None else saved.epochs
    if more is not None:
        if more < 1 or epochs is not None:
            raise StudioError("--more N: give a number of epochs of at least 1, and no --epochs beside it")
        total = done + more
    if at_least is not None:
        total = max(total, at_least)
    if done >= total:
        raise StudioError(
            f"{run.path}: this run has completed its {done} epochs; ask for more epochs to train it further "
            "(Epochs in the Model panel, --epochs on the command line)"
        )
    changes = {"epochs": total}
    if device is not None:
        changes["device"] = device
    return ResumePlan(run, checkpoint, saved.replace(**changes), done, run.checkpoints_after(checkpoint))

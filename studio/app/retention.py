"""What a run keeps on disk: pins, disk use, the disk budget, and prolonging a run by N epochs.

* :func:`pin_checkpoint` / :func:`unpin_checkpoint`: a pinned full checkpoint
  is never deleted by retention (``keep_checkpoints``).
* :func:`projected_disk_use` measures what a run of some settings will write,
  by building its models; :func:`check_disk_budget` refuses a run over
  ``disk_budget_gb``, saying by how much.
* :func:`extend_epochs` prolongs a run: its frozen config.json gets the new
  epoch count (atomically, :func:`studio.app.epochs.record_planned_epochs`) and
  metrics.jsonl an event row saying so.
"""

from __future__ import annotations

import time
from pathlib import Path

from studio.core.rundir import RunDirectory
from studio.errors import ConfigError, StudioError

__all__ = [
    "pin_checkpoint",
    "unpin_checkpoint",
    "pinned_checkpoints",
    "disk_use",
    "projected_disk_use",
    "check_disk_budget",
    "extend_epochs",
    "EPOCHS_EVENT",
]

EPOCHS_EVENT = "epochs"  # metrics.jsonl row kind: the run's planned epochs changed


def _run(run) -> RunDirectory:
    run = run if isinstance(run, RunDirectory) else RunDirectory(Path(run).expanduser())
    if not run.exists():
        raise StudioError(f"{run.path}: not a run folder (no config.json)")
    return run


def pin_checkpoint(run, which: str | int) -> Path:
    """Pin a full checkpoint of ``run`` (an epoch number, a file name or a path): never deleted."""
    from studio.core.retention import pin

    return pin(_run(run), which)


def unpin_checkpoint(run, which: str | int) -> Path:
    from studio.core.retention import unpin

    return unpin(_run(run), which)


def pinned_checkpoints(run) -> list[str]:
    from studio.core.retention import read_pins

    return read_pins(_run(run))


def disk_use(run) -> dict[str, int]:
    """Bytes ``run`` uses: 'checkpoints', 'snapshots', 'samples', 'other' and 'total'."""
    from studio.core.diskuse import run_disk_use

    return run_disk_use(_run(run))


def _images_per_epoch(config, dataset) -> int:
    if dataset is not None:
        return len(dataset)
    if config.dataset.startswith("builtin:"):
        return config.dataset_size or 12_000
    return 12_000  # a folder or table not loaded yet: only the metrics rows depend on it


def projected_disk_use(config, dataset=None):
    """A :class:`~studio.core.diskuse.DiskProjection` of a run of ``config`` (on ``dataset`` when loaded)."""
    from studio.core.diskuse import project_disk_use

    if dataset is not None:
        space, images = dataset.space, dataset.images[:400]
    else:
        from studio.data.dataset import dataset_space

        space, images = dataset_space(config.dataset), None
    return project_disk_use(config, space, _images_per_epoch(config, dataset), images)


def check_disk_budget(config, dataset=None, source: str = "settings", already: int = 0) -> None:
    """Refuse a run whose projected disk use exceeds ``disk_budget_gb`` (0: no budget), saying by how much.

    ``already``: bytes the run uses now (a run being prolonged), counted against the budget too.
    """
    if config.disk_budget_gb <= 0:
        return
    from studio.core.diskuse import human_bytes

    projection = projected_disk_use(config, dataset)
    budget = config.disk_budget_gb * 1e9
    total = max(projection.total, already)
    if total > budget:
        raise ConfigError(
            f"{source}: this run would use about {projection.describe()}, over disk_budget_gb "
            f"{config.disk_budget_gb:g} by {human_bytes(total - budget)}; lower epochs or keep_checkpoints, "
            "or raise disk_budget_gb (0 = no limit)"
        )


def extend_epochs(run, epochs: int, resume_from: str | Path) -> int | None:
    """Record ``epochs`` as ``run``'s planned total (config.json, atomically) and log the change as an event row.

    Returns the former total, or None when it did not change. The row carries the
    step of ``resume_from``, the checkpoint training continues from, so the resume's
    trimming of the metrics after that checkpoint keeps it.
    """
    from studio.app.epochs import record_planned_epochs
    from studio.core import jsonio
    from studio.core.checkpoint import load_checkpoint

    run = _run(run)
    data = jsonio.read_json(run.config_path, what="run settings file")
    before = data.get("epochs") if isinstance(data, dict) else None
    if not record_planned_epochs(run, epochs):
        return None
    state = load_checkpoint(resume_from, mmap=True)
    row = {
        "kind": EPOCHS_EVENT,
        "epoch": int(state["epoch"]),
        "step": int(state["step"]),
        "epochs": {"from": before, "to": int(epochs)},  # nested: per-epoch figure readers skip it
        "at": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    run.append_metrics([row])
    return before

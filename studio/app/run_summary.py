"""One run in one dictionary: what a table of runs, the runs list and ``info`` show of it.

:func:`run_summary` reads only the run's files (config.json, notes.json,
pins.json, metrics.jsonl, the folder sizes) and its lock; it never loads a
checkpoint, so listing many runs stays quick. A file it cannot read is named
in the 'problems' list instead of failing the whole summary.
"""

from __future__ import annotations

from pathlib import Path

from studio.core.rundir import RunDirectory
from studio.errors import StudioError

__all__ = ["run_summary", "SUMMARY_KEYS"]

SUMMARY_KEYS = (
    "id",
    "path",
    "name",
    "tags",
    "note",
    "state",
    "epochs_done",
    "epochs_planned",
    "steps",
    "disk_bytes",
    "disk",
    "images_per_second",
    "full_checkpoints",
    "snapshots",
    "pinned",
    "latest_checkpoint",
    "writer",
    "config",
    "problems",
)


def _last_rate(rows: list[dict]) -> float | None:
    """images/s of the newest epoch row, else of the newest step row."""
    for kind in ("epoch", "step"):
        for row in reversed(rows):
            rate = row.get("images_per_second")
            if row.get("kind") == kind and isinstance(rate, (int, float)) and not isinstance(rate, bool):
                return float(rate)
    return None


def run_summary(run_path: str | Path | RunDirectory) -> dict:
    """Everything a runs table shows of one run, as plain data.

    Keys (:data:`SUMMARY_KEYS`): id, path (str), name, tags (list), note, state ('running',
    'completed', 'stopped', 'failed' or 'unreadable'), epochs_done, epochs_planned, steps,
    disk_bytes, disk ({'checkpoints', 'snapshots', 'samples', 'other', 'total'} bytes),
    images_per_second (the last epoch's, or None), full_checkpoints and snapshots (counts),
    pinned (file names), latest_checkpoint (path or None), writer (who trains it now, or
    None), config (config.json as a dict, {} when unreadable), problems (texts naming files
    that could not be read).
    """
    from studio.app.checkpoints import RunState
    from studio.app.epochs import planned_epochs
    from studio.app.run_notes import read_notes
    from studio.app.runs import describe_writer
    from studio.core.diskuse import run_disk_use
    from studio.core.retention import read_pins

    run = run_path if isinstance(run_path, RunDirectory) else RunDirectory(Path(run_path).expanduser())
    if not run.path.is_dir():
        raise StudioError(f"{run.path}: no such run folder")
    problems: list[str] = []
    config, planned = {}, 0
    try:
        config = run.read_config().to_dict()
        planned = config["epochs"]
    except StudioError as exc:
        problems.append(str(exc))
    try:
        notes = read_notes(run) if run.exists() else None
    except StudioError as exc:
        notes = None
        problems.append(str(exc))
    try:
        pinned = read_pins(run)
    except StudioError as exc:
        pinned = []
        problems.append(str(exc))
    found = RunState.of(run)
    rows = run.read_metrics(warn=False)
    done = found.epochs_done
    if not config:
        state = "unreadable"
    elif found.state == "ready":
        state = "completed" if done >= planned else "stopped"
    else:
        state = found.state  # running, or failed before its first checkpoint
    steps = max((r["step"] for r in rows if isinstance(r.get("step"), int)), default=0)
    disk = run_disk_use(run)
    return {
        "id": run.run_id,
        "path": str(run.path),
        "name": notes.name if notes else "",
        "tags": list(notes.tags) if notes else [],
        "note": notes.note if notes else "",
        "state": state,
        "epochs_done": done,
        "epochs_planned": planned_epochs(done, planned),
        "steps": steps,
        "disk_bytes": disk["total"],
        "disk": disk,
        "images_per_second": _last_rate(rows),
        "full_checkpoints": len(run.checkpoints()),
        "snapshots": len(run.snapshots()),
        "pinned": pinned,
        "latest_checkpoint": str(found.latest.path) if found.latest is not None else None,
        "writer": describe_writer(found.writer) if found.writer is not None else None,
        "config": config,
        "problems": problems,
    }

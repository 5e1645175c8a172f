"""The run directory: everything a run leaves behind, readable without the trainer.

<run>/config.json               frozen settings
<run>/metrics.jsonl             one JSON object per reported step and per epoch
<run>/samples/epoch_0001.png    fixed-noise grid per epoch
<run>/checkpoints/epoch_0001.pt full, resumable state bundle (the last few kept, and pinned ones;
                                epoch_0003_step_000120.pt when stopped mid-epoch)
<run>/snapshots/epoch_0001.pt   slim generator snapshot of every epoch (G, its EMA, settings)
<run>/pins.json                 full checkpoints the user pinned: never deleted
<run>/notes.json                the run's name, tags and note
<run>/checkpoints/average_epochs_0021-0030.pt   averaged generators (any other .pt there)
<run>/.lock, <run>/.writer.json  the OS lock a training process holds, and who holds it
<run>/status.json               the training process's state and progress, for windows that follow the run
<run>/control.json              pause / resume / stop asked of that process by another one
"""

from __future__ import annotations

import errno
import json
import os
import re
import socket
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from studio.core import jsonio
from studio.core.atomic import atomic_write_json, atomic_write_text
from studio.core.config import TrainConfig
from studio.errors import RunBusyError, StudioError, StudioWarning

__all__ = [
    "RunDirectory",
    "CheckpointInfo",
    "RunLock",
    "new_run_id",
    "guard_output",
    "run_of_generator_file",
    "BEST_DIR",
]

# Temporary files of the trainer's own atomic writes (.epoch_0003.pt.abc123.tmp): a writer killed
# mid-write leaves them behind; whoever next holds the run's lock removes them.
_TRAINER_TEMP = re.compile(
    r"^\.(?:epoch_\d{4,}(?:_step_\d+)?\.(?:pt|png)|metrics\.jsonl|config\.json|status\.json|control\.json)\..+\.tmp$"
)

_CKPT = re.compile(r"^epoch_(\d{4,})(?:_step_(\d+))?\.pt$")


@dataclass(frozen=True, order=True)
class CheckpointInfo:
    epoch: int
    step_in_epoch: int  # 0 for a checkpoint written at the end of an epoch
    path: Path

    @property
    def complete_epoch(self) -> bool:
        return self.step_in_epoch == 0


# checkpoints/best/: the best generators a run keeps by its measured score (core/monitor.py).
BEST_DIR = "best"


def _run_of(folder: Path) -> Path | None:
    """The run folder that ``folder`` is, or is the checkpoints/ (or its best/), snapshots/ or samples/ folder of."""
    if (folder / "config.json").is_file() and (folder / "checkpoints").is_dir():
        return folder
    if folder.name == BEST_DIR and folder.parent.name == "checkpoints":
        folder = folder.parent
    if folder.name in ("checkpoints", "snapshots", "samples") and (folder.parent / "config.json").is_file():
        return folder.parent
    return None


def run_of_generator_file(path: str | Path) -> Path | None:
    """The run a checkpoint, snapshot, average or kept best generator file belongs to, if it is in one."""
    folder = Path(path).resolve().parent
    return _run_of(folder) if folder.name in ("checkpoints", "snapshots", BEST_DIR) else None


def guard_output(out: str | Path, inputs=()) -> None:
    """Refuse an output path that is one of the command's inputs or a file a run keeps, ``--force`` or not.

    Exports and sample grids written over a checkpoint would destroy it, and
    any other ``.pt`` in a run's checkpoints/ would be listed as an average.
    """
    out = Path(out).expanduser()
    target = out.resolve()
    for source in inputs:
        if Path(source).expanduser().resolve() == target:
            raise StudioError(f"{out}: is this command's own input; write the output to another file")
    run = _run_of(target.parent)
    if run is None:
        return
    if target.parent.name in ("checkpoints", "snapshots", BEST_DIR) and (target.suffix == ".pt" or target.exists()):
        raise StudioError(f"{out}: inside the checkpoints of run {run}; write the output outside the run's folders")
    kept = ("config.json", "metrics.jsonl", "pins.json", "notes.json")
    if target.exists() and (target.parent.name == "samples" or target.name in kept):
        raise StudioError(f"{out}: a file of run {run}; write the output to another file")


def new_run_id(runs_root: Path) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_id, n = stamp, 1
    while (runs_root / run_id).exists():
        n += 1
        run_id = f"{stamp}-{n}"
    return run_id


class RunDirectory:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    # --- layout -------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def samples_dir(self) -> Path:
        return self.path / "samples"

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def snapshots_dir(self) -> Path:
        return self.path / "snapshots"

    def snapshot_path(self, epoch: int) -> Path:
        return self.snapshots_dir / f"epoch_{epoch:04d}.pt"

    def sample_path(self, epoch: int) -> Path:
        return self.samples_dir / f"epoch_{epoch:04d}.png"

    def checkpoint_path(self, epoch: int, step_in_epoch: int = 0) -> Path:
        if step_in_epoch:
            return self.checkpoints_dir / f"epoch_{epoch:04d}_step_{step_in_epoch:06d}.pt"
        return self.checkpoints_dir / f"epoch_{epoch:04d}.pt"

    @property
    def run_id(self) -> str:
        return self.path.name

    # --- creation -----------------------------------------------------------
    @classmethod
    def create(cls, runs_root: str | Path, config: TrainConfig, run_id: str | None = None) -> RunDirectory:
        runs_root = Path(runs_root)
        run = cls(runs_root / (run_id or new_run_id(runs_root)))
        run.path.mkdir(parents=True, exist_ok=False)
        run.samples_dir.mkdir()
        run.checkpoints_dir.mkdir()
        atomic_write_json(run.config_path, config.to_dict())
        return run

    def exists(self) -> bool:
        return self.config_path.is_file()

    def read_config(self) -> TrainConfig:
        if not self.config_path.is_file():
            raise StudioError(f"{self.config_path}: missing; {self.path} is not a run directory")
        data = jsonio.read_json(self.config_path, what="run settings file")
        return TrainConfig.from_dict(data, source=str(self.config_path))

    # --- the writer's lock ------------------------------------------------------
    @property
    def lock_path(self) -> Path:
        return self.path / ".lock"

    @property
    def writer_path(self) -> Path:
        return self.path / ".writer.json"

    def lock(self, timeout: float = 2.0) -> RunLock:
        """Take the run for training (an OS lock, freed by the OS when the holder dies); RunBusyError if held."""
        return RunLock(self, timeout).acquire()

    def writer(self) -> dict | None:
        """Who is training the run now (pid, host, since, command), or None when no live process holds it."""
        if not self.lock_path.is_file():
            return None
        probe = FileLock(str(self.lock_path))
        try:
            probe.acquire(timeout=0)
        except Timeout:
            return self._read_writer() or {"pid": "?", "host": "?", "since": "?", "command": "?"}
        except OSError:
            return None  # a read-only run nobody can be writing to
        probe.release()
        return None

    # --- status and control, for processes that follow the run ----------------------------
    @property
    def status_path(self) -> Path:
        return self.path / "status.json"

    @property
    def control_path(self) -> Path:
        return self.path / "control.json"

    def write_status(self, status: dict) -> None:
        """Replace status.json (the writer's state and progress; see :mod:`studio.core.runstatus`)."""
        atomic_write_json(self.status_path, jsonio.finite_or_none(status))

    def read_status(self) -> dict | None:
        """The last status the writer wrote, or None (none yet, or a file that is not a JSON object)."""
        return self._read_object(self.status_path)

    def write_control(self, request: dict) -> None:
        """Replace control.json: a request to the process training the run."""
        atomic_write_json(self.control_path, request)

    def read_control(self) -> dict | None:
        return self._read_object(self.control_path)

    @staticmethod
    def _read_object(path: Path) -> dict | None:
        try:
            data = jsonio.read_json(path)
        except StudioError:
            return None
        return data if isinstance(data, dict) else None

    def _read_writer(self) -> dict | None:
        try:
            data = jsonio.read_json(self.writer_path)
        except StudioError:
            return None
        return data if isinstance(data, dict) else None

    def remove_stale_temp_files(self) -> list[Path]:
        """Delete the temporary files a killed trainer left (call with the lock held, or with no writer)."""
        removed = []
        for folder in (self.path, self.checkpoints_dir, self.snapshots_dir, self.samples_dir):
            if not folder.is_dir():
                continue
            for p in folder.iterdir():
                if _TRAINER_TEMP.match(p.name) and p.is_file():
                    try:
                        p.unlink()
                        removed.append(p)
                    except OSError:
                        pass
        return removed

    # --- checkpoints and samples ----------------------------------------------
    def checkpoints(self) -> list[CheckpointInfo]:
        found = []
        if self.checkpoints_dir.is_dir():
            for p in self.checkpoints_dir.iterdir():
                m = _CKPT.match(p.name)
                if m:
                    found.append(CheckpointInfo(int(m.group(1)), int(m.group(2) or 0), p))
        # A mid-epoch checkpoint of epoch N sorts after every complete epoch < N.
        return sorted(found, key=lambda c: (c.epoch - (1 if c.step_in_epoch else 0), c.step_in_epoch))

    def snapshots(self) -> list[CheckpointInfo]:
        """The slim generator snapshots, one per complete epoch, oldest first."""
        found = []
        if self.snapshots_dir.is_dir():
            for p in self.snapshots_dir.iterdir():
                m = _CKPT.match(p.name)
                if m and not m.group(2):
                    found.append(CheckpointInfo(int(m.group(1)), 0, p))
        return sorted(found)

    def epoch_generators(self) -> list[CheckpointInfo]:
        """One generator file per complete epoch, oldest first: its snapshot, or (runs written before
        snapshots existed, or a snapshot lost) its full checkpoint. What averaging and sampling read."""
        by_epoch = {c.epoch: c for c in self.checkpoints() if c.complete_epoch}
        by_epoch.update({c.epoch: c for c in self.snapshots()})
        return [by_epoch[e] for e in sorted(by_epoch)]

    def averages(self) -> list[Path]:
        """Averaged generators saved in the run: every .pt in checkpoints/ that is not a training checkpoint.

        :meth:`checkpoints` never lists them, so resume and the runs listing
        only ever see what the trainer wrote.
        """
        if not self.checkpoints_dir.is_dir():
            return []
        return sorted(p for p in self.checkpoints_dir.glob("*.pt") if p.is_file() and not _CKPT.match(p.name))

    def average_path(self, name: str) -> Path:
        return self.checkpoints_dir / name

    def latest_checkpoint(self) -> CheckpointInfo | None:
        found = self.checkpoints()
        return found[-1] if found else None

    def checkpoints_after(self, path: str | Path) -> list[CheckpointInfo]:
        """The training checkpoints written after ``path``: resuming from it rewinds the run past them,
        and training overwrites them as it reaches their epochs."""
        found = self.checkpoints()
        names = [c.path.name for c in found]
        name = Path(path).name
        return found[names.index(name) + 1 :] if name in names else []

    def samples(self) -> list[tuple[int, Path]]:
        if not self.samples_dir.is_dir():
            return []
        out = []
        for p in sorted(self.samples_dir.glob("epoch_*.png")):
            try:
                out.append((int(p.stem.split("_")[1]), p))
            except (IndexError, ValueError):
                continue
        return out

    # --- metrics ------------------------------------------------------------
    def append_metrics(self, rows: list[dict]) -> None:
        """Append rows to the metrics log (one JSON object per line).

        The log only grows during a run; a torn last line from a crash is
        skipped by :meth:`read_metrics`, and a resume rewrites the log
        atomically to drop the rows after its checkpoint.
        """
        if not rows:
            return
        try:
            with open(self.metrics_path, "a", encoding="utf-8") as f:
                f.write("".join(_metrics_line(r) for r in rows))
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            from studio.core.diskuse import describe_disk

            text = f"no space left on the disk holding {self.path} ({describe_disk(self.path)})"
            raise OSError(exc.errno, text, str(self.metrics_path)) from None

    def read_metrics(self, warn: bool = True) -> list[dict]:
        """The logged rows; a damaged line is skipped with a warning naming the file and line.

        The last line may be torn by a crash mid-append: it is skipped silently.
        """
        if not self.metrics_path.is_file():
            return []
        rows = []
        lines = self.metrics_path.read_bytes().split(b"\n")
        last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
        for i, raw in enumerate(lines):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
                problem = None if isinstance(row, dict) else f"not an object but a JSON {_json_kind(row)}"
            except UnicodeDecodeError:
                problem = "not UTF-8 text"
            except (json.JSONDecodeError, RecursionError):
                problem = "not valid JSON"
            if problem is None:
                rows.append(row)
            elif warn and i != last:
                warnings.warn(f"{self.metrics_path}: line {i + 1} skipped ({problem})", StudioWarning, stacklevel=2)
        return rows

    def truncate_metrics(self, global_step: int) -> None:
        """Drop rows logged after ``global_step`` (a resume goes back to its checkpoint)."""
        rows = [r for r in self.read_metrics() if _row_step(r) <= global_step]
        atomic_write_text(self.metrics_path, "".join(_metrics_line(r) for r in rows))


def _metrics_line(row: dict) -> str:
    # Strict JSON: a figure that became NaN is written as null, which every JSON reader takes.
    return jsonio.dumps(jsonio.finite_or_none(row), indent=None) + "\n"


def _json_kind(value) -> str:
    return {list: "list", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def _row_step(row: dict) -> float:
    step = row.get("step", 0)
    return step if isinstance(step, (int, float)) and not isinstance(step, bool) else 0


class RunLock:
    """The OS lock of a run being trained, with who holds it written beside it.

    The lock is the operating system's (``flock`` / ``LockFileEx`` through
    filelock): it is released when the holder exits, however it exits, so a lock
    of a killed process is simply taken over. ``.writer.json`` only names the
    holder for the message a second writer gets.
    """

    def __init__(self, run: RunDirectory, timeout: float = 2.0):
        self.run = run
        self.timeout = timeout
        self._lock = FileLock(str(run.lock_path))

    def acquire(self) -> RunLock:
        try:
            self._lock.acquire(timeout=self.timeout)
        except Timeout:
            raise RunBusyError(_busy_message(self.run)) from None
        try:
            holder = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": time.strftime("%Y-%m-%d %H:%M:%S"),
                "command": " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))[:200],
            }
            atomic_write_json(self.run.writer_path, holder)
            self.run.remove_stale_temp_files()
        except BaseException:
            self._lock.release()
            raise
        return self

    def release(self) -> None:
        if not self._lock.is_locked:
            return
        try:
            self.run.writer_path.unlink()
        except OSError:
            pass
        self._lock.release()

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _busy_message(run: RunDirectory) -> str:
    holder = run._read_writer() or {}
    who = f"process {holder.get('pid', '?')} on {holder.get('host', '?')}"
    since = f" since {holder['since']}" if holder.get("since") else ""
    command = f" ({holder['command']})" if holder.get("command") else ""
    return f"{run.path}: this run is being trained by {who}{since}{command}; wait for it to end, or stop it first"

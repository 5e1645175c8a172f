"""Following a run that another process trains, from its files alone; and training in a child process.

:class:`RunFollower` reads a run folder incrementally -- new metrics rows
(a torn last line waits for the rest), new sample grids, new checkpoints,
the trainer's status.json -- and turns them into the very events an
in-process trainer reports (:mod:`studio.core.events`), so whatever shows a
run in progress shows a followed one unchanged. The trainer may run in a
child of this process, in a terminal (``python -m studio train``), under
torchrun, or on another machine that shares the folder.

:class:`TrainingProcess` starts ``python -m studio train|resume ...`` as a
child (several GPUs: ``--gpus N``), finds its run folder and passes pause,
continue and stop to it through the run's control.json (:func:`send_request`).
"""

from __future__ import annotations

import collections
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from studio.core.events import (
    METRIC_NAMES,
    CheckpointSaved,
    EpochEnd,
    Event,
    RunAlarm,
    RunError,
    RunFinished,
    RunPaused,
    RunResumed,
    RunStarted,
    StepMetrics,
)
from studio.core.rundir import RunDirectory
from studio.core.runstatus import ACTIVE_STATES, FINAL_STATES, HEARTBEAT_SECONDS, send_request
from studio.errors import StudioError

__all__ = [
    "RunFollower",
    "TrainingProcess",
    "being_trained",
    "describe_trainer",
    "send_request",
    "train_argv",
    "resume_argv",
    "resume_run_child_argv",
    "changed_settings",
    "ALL_CUDA",
    "cuda_device_count",
]

# The Device choice "every CUDA device of this machine, one process each".
ALL_CUDA = "cuda:all"
# A status not rewritten for this long (its writer rewrites it at least every HEARTBEAT_SECONDS) is a dead run's.
STALE_SECONDS = 3 * HEARTBEAT_SECONDS


def cuda_device_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _stale(status: dict) -> bool:
    updated = status.get("updated_at")
    return not isinstance(updated, (int, float)) or time.time() - updated > STALE_SECONDS


def being_trained(run: RunDirectory) -> dict | None:
    """Who trains ``run`` now, if anybody does (another process, or a thread of this one): {pid, host, ...}.

    The run's lock says it for this machine (and for a shared folder whose
    file system passes locks on); a status of another machine rewritten
    within :data:`STALE_SECONDS` says it where locks do not cross machines.
    """
    writer = run.writer()
    if writer is not None:
        return writer
    status = run.read_status()
    if (
        status is not None
        and status.get("state") in ACTIVE_STATES
        and status.get("host") != socket.gethostname()
        and not _stale(status)
    ):
        return {"pid": status.get("pid", "?"), "host": status.get("host", "?")}
    return None


def describe_trainer(writer: dict) -> str:
    """'process 4242 on gpu-box'."""
    return f"process {writer.get('pid', '?')} on {writer.get('host', '?')}"


# --- following a run's files ------------------------------------------------------------------


class RunFollower:
    """Reads what a training process adds to ``run`` and returns it as trainer events, in the trainer's order.

    ``poll()`` is cheap when nothing changed (a few ``stat`` calls) and may
    be called from a GUI timer. Nothing is returned before the trainer has
    written its first status (its RunStarted). With ``replay`` the first
    session is reported from its start, as the trainer reported it; without,
    from where it is now: RunStarted then carries the step and epoch reached,
    what an in-process run's resume carries, so a dashboard reads the history
    up to there from the files. A new session in the same folder (the run is
    resumed) starts over with its own RunStarted; joining (no ``replay``) a
    run whose status is still its last session's final one waits for the new
    session. ``finished`` holds the
    RunFinished once the session ended -- also one whose process died
    without saying so (the lock freed, the status left "running").
    """

    def __init__(self, run: RunDirectory | str | Path, replay: bool = True):
        self.run = run if isinstance(run, RunDirectory) else RunDirectory(run)
        self.replay = replay
        self.status: dict | None = None
        self.started: RunStarted | None = None
        self.finished: RunFinished | None = None
        self._status_key: tuple[int, int] | None = None
        self._session: tuple | None = None
        self._sessions = 0
        self._layout: tuple | None = None
        self._suspect_dead = False
        self._reset()

    def _reset(self) -> None:
        self._offset = 0
        self._partial = b""
        self._identity: tuple[int, int] | None = None
        self._cut_step = 0
        self._cut_epoch = 0
        self._state = "running"
        self._checkpoints: set[str] = set()
        self._step = 0
        self._epoch = 0

    @property
    def steps_per_epoch(self) -> int:
        return self.started.steps_per_epoch if self.started is not None else 0

    @property
    def state(self) -> str:
        """running | paused | stopping | completed | stopped | error ('' before the trainer has started)."""
        if self.finished is not None:
            return self.finished.reason
        return self._state if self.started is not None else ""

    # --- the one call --------------------------------------------------------------------------
    def poll(self) -> list[Event]:
        events: list[Event] = []
        status = self._read_status()
        if status is None or not isinstance(status.get("started"), dict):
            return events
        session = (status.get("pid"), status.get("host"), status.get("since"))
        if self._session is None and not self.replay and status.get("state") in FINAL_STATES:
            return events  # joining a run being (re)started: this status is its last session's; wait for the next
        if session != self._session:
            started = self._begin(session, status)
            if started is None:
                return events
            events.append(started)
        elif self.finished is not None:
            return events
        events.extend(self._from_rows())
        events.extend(self._new_checkpoints(final=status.get("state") in FINAL_STATES))
        events.extend(self._state_change(status))
        return events

    # --- status --------------------------------------------------------------------------------
    def _read_status(self) -> dict | None:
        try:
            st = self.run.status_path.stat()
        except OSError:
            return self.status
        key = (st.st_mtime_ns, st.st_size)
        if key != self._status_key:
            self._status_key = key
            self.status = self.run.read_status() or self.status
        return self.status

    def _begin(self, session: tuple, status: dict) -> RunStarted | None:
        fields = dict(status["started"])
        try:
            started = RunStarted(run_dir=str(self.run.path), **fields)
        except TypeError:
            return None  # a status of another version: nothing we can show faithfully
        self._reset()
        self._session = session
        self.finished = None
        self._suspect_dead = False
        self._sessions += 1
        self._cut_epoch, self._cut_step = started.start_epoch, started.start_step
        if self._sessions == 1 and not self.replay:
            # Join where the run is: everything written so far is history, read by whoever shows it.
            rows = self._new_rows()
            steps = [int(r["step"]) for r in rows if r.get("kind") == "step" and _number(r.get("step"))]
            epochs = [int(r["epoch"]) for r in rows if r.get("kind") == "epoch" and _number(r.get("epoch"))]
            self._cut_step = max(steps, default=self._cut_step)
            self._cut_epoch = max(epochs, default=self._cut_epoch)
            started.start_step, started.start_epoch = self._cut_step, self._cut_epoch
        self._step, self._epoch = self._cut_step, self._cut_epoch
        self.started = started
        grid = status.get("grid")
        if isinstance(grid, dict) and all(k in grid for k in ("rows", "cols", "row_captions", "col_captions")):
            self._layout = (
                int(grid["rows"]),
                int(grid["cols"]),
                list(grid["row_captions"]),
                list(grid["col_captions"]),
            )
        for info in self.run.checkpoints():
            if self._checkpoint_step(info) <= self._cut_step:
                self._checkpoints.add(info.path.name)
        return started

    def _state_change(self, status: dict) -> list[Event]:
        state = status.get("state")
        step = status.get("step", self._step) if _number(status.get("step")) else self._step
        events: list[Event] = []
        if state in FINAL_STATES:
            if self._state == "paused":  # a trainer always wakes up before it ends (this poll missed it)
                events.append(RunResumed(int(step)))
            if state == "error":
                events.append(RunError(str(status.get("message") or "training stopped with an error")))
            epoch = status.get("epoch", self._epoch)
            self.finished = RunFinished(state, int(epoch), int(step), str(status.get("message") or ""))
            events.append(self.finished)
            self._state = state
            return events
        if self._died(status):
            latest = self.run.latest_checkpoint()
            kept = f"its last checkpoint is {latest.path.name}" if latest else "it wrote no checkpoint"
            message = (
                f"{self.run.path}: the training process ({describe_trainer(status)}) ended without finishing "
                f"the run (killed, or the machine went down); {kept}"
            )
            events.append(RunError(message))
            self.finished = RunFinished("error", self._epoch, self._step, message)
            events.append(self.finished)
            return events
        if state == "paused" and self._state != "paused":
            events.append(RunPaused(int(step)))
        elif state in ("running", "stopping") and self._state == "paused":
            events.append(RunResumed(int(step)))
        if state in ACTIVE_STATES:
            self._state = state
        return events

    def _died(self, status: dict) -> bool:
        """A status still active whose writer is gone, on two polls in a row (the lock is freed after the
        final status is written, so one poll may see the old status and the freed lock)."""
        try:
            alive = self.run.writer() is not None
        except OSError:
            alive = True
        if not alive and status.get("host") != socket.gethostname() and not _stale(status):
            alive = True  # another machine: its lock may not reach us, its heartbeat does
        if alive:
            self._suspect_dead = False
            return False
        if not self._suspect_dead:
            self._suspect_dead = True
            return False
        return True

    # --- metrics rows ----------------------------------------------------------------------------
    def _new_rows(self) -> list[dict]:
        path = self.run.metrics_path
        try:
            st = path.stat()
        except OSError:
            return []
        identity = (st.st_dev, st.st_ino)
        if self._identity is not None and (identity != self._identity or st.st_size < self._offset):
            # Rewritten (a resume drops the rows after its checkpoint): read it again; the cut skips old rows.
            self._offset, self._partial = 0, b""
        self._identity = identity
        if st.st_size <= self._offset:
            return []
        try:
            with open(path, "rb") as f:
                f.seek(self._offset)
                data = f.read(st.st_size - self._offset)
        except OSError:
            return []
        self._offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()  # b"" after a complete line; else the part written so far
        rows = []
        for raw in lines:
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                continue  # a damaged line: the run's own listing warns about it
            if isinstance(row, dict):
                rows.append(row)
        return rows

    def _from_rows(self) -> list[Event]:
        events: list[Event] = []
        for row in self._new_rows():
            kind = row.get("kind")
            if not _number(row.get("step")) or not _number(row.get("epoch")):
                continue
            step, epoch = int(row["step"]), int(row["epoch"])
            if kind == "step" and step > self._cut_step:
                events.append(self._step_metrics(row, step, epoch))
                self._step = step
            elif kind == "epoch" and epoch > self._cut_epoch:
                end = self._epoch_end(row, step, epoch)
                self._step, self._epoch = step, epoch
                if end is not None:
                    events.append(end)
                saved = self._checkpoint_of(epoch)
                if saved is not None:
                    events.append(saved)
            elif kind == "alarm" and step > self._cut_step:  # the collapse alarm, as the trainer raised it
                since = row.get("since_epoch")
                events.append(
                    RunAlarm(
                        str(row.get("alarm", "alarm")),
                        epoch,
                        step,
                        int(since) if _number(since) else epoch,
                        str(row.get("message", "")),
                        action=str(row.get("action") or "none"),
                        marked=str(row.get("marked") or ""),
                    )
                )
        return events

    def _step_metrics(self, row: dict, step: int, epoch: int) -> StepMetrics:
        spe = self.steps_per_epoch
        epoch_step = min(max(step - (epoch - 1) * spe, 0), spe)
        values = _figures(row)
        rate = _figure(row.get("images_per_second")) or 0.0
        return StepMetrics(epoch, step, epoch_step, spe, values, rate, _lrs(row))

    def _epoch_end(self, row: dict, step: int, epoch: int) -> EpochEnd | None:
        path = self.run.sample_path(epoch)
        grid = _read_grid(path)
        if grid is None:
            return None
        rows, cols, row_captions, col_captions = self._grid_layout()
        config = self._config()
        from studio.core.sampling import GRID_PADDING

        return EpochEnd(
            epoch=epoch,
            step=step,
            grid=grid,
            rows=rows,
            cols=cols,
            row_captions=list(row_captions),
            col_captions=list(col_captions),
            cell_size=config.image_size if config is not None else 0,
            padding=GRID_PADDING,
            means=_figures(row),
            seconds=_figure(row.get("seconds")) or 0.0,
            images_per_second=_figure(row.get("images_per_second")) or 0.0,
            lrs=_lrs(row),
            sample_path=str(path),
        )

    def _config(self):
        try:
            return self.run.read_config()
        except StudioError:
            return None

    def _grid_layout(self) -> tuple:
        """(rows, cols, row captions, col captions) of the run's grid, as its trainer lays it out."""
        if self._layout is None:
            self._layout = (1, 1, [], [])
            config = self._config()
            if config is not None:
                from studio.core.conditions import NoCondition

                try:
                    if config.conditional:
                        from studio.data.dataset import dataset_space

                        space = dataset_space(config.dataset)
                    else:
                        space = NoCondition()
                    grid = space.default_grid(config.sample_grid_max)
                    self._layout = (grid.rows, grid.cols, list(grid.row_captions), list(grid.col_captions))
                except (StudioError, OSError):
                    pass  # a dataset that moved only costs the captions
        return self._layout

    # --- checkpoints ---------------------------------------------------------------------------
    def _checkpoint_step(self, info) -> int:
        spe = self.steps_per_epoch
        if info.complete_epoch:
            return info.epoch * spe
        return (info.epoch - 1) * spe + info.step_in_epoch

    def _saved(self, info) -> CheckpointSaved:
        self._checkpoints.add(info.path.name)
        epochs = info.epoch if info.complete_epoch else info.epoch - 1
        return CheckpointSaved(str(info.path), epochs, self._checkpoint_step(info))

    def _checkpoint_of(self, epoch: int) -> CheckpointSaved | None:
        path = self.run.checkpoint_path(epoch)
        if path.name in self._checkpoints or not path.is_file():
            return None
        from studio.core.rundir import CheckpointInfo

        return self._saved(CheckpointInfo(epoch, 0, path))

    def _new_checkpoints(self, final: bool) -> list[Event]:
        """Checkpoints not yet reported, up to the step the rows read so far reached (all of them once the run
        has ended), so that they come in the trainer's order when it writes faster than it is polled."""
        return [
            self._saved(info)
            for info in self.run.checkpoints()
            if info.path.name not in self._checkpoints and (final or self._checkpoint_step(info) <= self._step)
        ]


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _figure(value) -> float | None:
    """A logged figure; null (a figure that was NaN, or one that does not apply) stays None."""
    return float(value) if _number(value) else None


def _lrs(row: dict) -> dict[str, float]:
    return {k: float(v) for k, v in row.items() if k.endswith("_lr") and _number(v)}


# What a metrics row holds beside the figures: where it is, when, how fast.
_BOOKKEEPING = frozenset(("kind", "epoch", "step", "seconds", "images_per_second", "time", "at"))


def _figures(row: dict) -> dict[str, float | None]:
    """The figures of a metrics row, the trainer's named ones first (as the trainer reported them)."""
    figures = {k: _figure(row.get(k)) for k in METRIC_NAMES}
    for key, value in row.items():
        if key not in figures and key not in _BOOKKEEPING and not key.endswith("_lr"):
            figures[key] = value if _number(value) or value is None else None
    return figures


def _read_grid(path: Path) -> np.ndarray | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))
    except (OSError, UnidentifiedImageError):
        return None


# --- training in a child process -------------------------------------------------------------------


def changed_settings(project_folder: str | Path, config) -> dict:
    """The settings in ``config`` that differ from the project file's: what the child's ``--set`` passes."""
    from studio.project import Project

    saved = Project.load(project_folder).config.to_dict()
    return {k: v for k, v in config.to_dict().items() if saved.get(k) != v}


def _scale_options(gpus: int | None, processes: int | None) -> list[str]:
    options = []
    if gpus:
        options += ["--gpus", str(gpus)]
    if processes:
        options += ["--processes", str(processes)]
    return options


def train_argv(
    project_folder: str | Path,
    changes: dict | None = None,
    gpus: int | None = None,
    processes: int | None = None,
    max_steps: int | None = None,
) -> list[str]:
    """``python -m studio train PROJECT --quiet [--set K=V ...] [--gpus N | --processes N]``."""
    from studio.core import jsonio

    argv = [sys.executable, "-m", "studio", "train", str(project_folder), "--quiet"]
    for key, value in (changes or {}).items():
        argv += ["--set", f"{key}={jsonio.dumps(value, indent=None)}"]
    if max_steps is not None:
        argv += ["--max-steps", str(max_steps)]
    return argv + _scale_options(gpus, processes)


def resume_argv(
    target: str | Path,
    epochs: int | None = None,
    device: str | None = None,
    rewind: bool = False,
    gpus: int | None = None,
    processes: int | None = None,
) -> list[str]:
    """``python -m studio resume TARGET --quiet [--epochs N] [--device D] [--rewind] [--gpus N | --processes N]``."""
    argv = [sys.executable, "-m", "studio", "resume", str(target), "--quiet"]
    if epochs is not None:
        argv += ["--epochs", str(epochs)]
    if device is not None:
        argv += ["--device", device]
    if rewind:
        argv.append("--rewind")
    return argv + _scale_options(gpus, processes)


def resume_run_child_argv(request, gpus: int | None = None, processes: int | None = None) -> list[str]:
    """The child's command for a :class:`~studio.app.training.TrainRequest` that resumes a run: from its
    checkpoint, to its epochs (a rewind, if any, was agreed to when the request was made)."""
    device = "cuda" if request.config.device == ALL_CUDA else request.config.device
    return resume_argv(request.resume_from, request.config.epochs, device, True, gpus, processes)


class TrainingProcess:
    """``python -m studio train|resume ...`` in a child process, its output kept, its run folder found.

    ``run`` comes from the child's ``run PATH`` line, printed once its
    trainer has started and written its status (a resumed run's status.json
    is its last session's until then). ``pause``/``resume``/``stop`` go to the
    trainer through control.json once it has started; a stop before that
    (the data still loading) ends the child with SIGTERM, which the command
    line takes as Ctrl-C.
    """

    def __init__(self, argv: list[str], run: RunDirectory | None = None, env: dict | None = None):
        self.argv = list(argv)
        self.run = run
        self.env = env
        self.process: subprocess.Popen | None = None
        self.lines: collections.deque[str] = collections.deque(maxlen=200)
        self._reader: threading.Thread | None = None
        self._terminated = False
        self.stop_requested = False  # stop() was called: an exit before training is no failure

    def start(self) -> TrainingProcess:
        env = dict(os.environ if self.env is None else self.env)
        env["PYTHONUNBUFFERED"] = "1"
        options: dict = {}
        if os.name == "posix":
            options["start_new_session"] = True  # a Ctrl-C meant for the window does not reach the run
        try:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                text=True,
                encoding="utf-8",
                errors="replace",
                **options,
            )
        except OSError as exc:
            raise StudioError(f"{self.argv[0]}: cannot start the training process ({exc.strerror or exc})") from None
        self._reader = threading.Thread(target=self._read_output, name="training-process-output", daemon=True)
        self._reader.start()
        return self

    def _read_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            if self.run is None and line.startswith("run "):
                path = Path(line[4:].strip())
                if (path / "config.json").is_file():
                    self.run = RunDirectory(path)

    # --- state ---------------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def poll(self) -> int | None:
        """The exit status once the child has ended, else None."""
        return self.process.poll() if self.process is not None else None

    def wait(self, timeout: float | None = None) -> int | None:
        if self.process is None:
            return None
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        if self._reader is not None:
            self._reader.join(timeout=2)
        return code

    def output(self) -> str:
        return "\n".join(self.lines)

    def error_message(self) -> str:
        """The child's one-line error ("error: ..."), or the end of its output."""
        for line in reversed(self.lines):
            if line.startswith("error: "):
                return line[len("error: ") :]
        tail = [line for line in self.lines if line.strip()][-3:]
        code = self.poll()
        ended = f"the training process ended with status {code}" if code is not None else "the training process"
        return f"{ended}: {' | '.join(tail)}" if tail else ended

    # --- control -------------------------------------------------------------------------------
    def _trainer_listens(self) -> bool:
        if self.run is None:
            return False
        status = self.run.read_status()
        return status is not None and status.get("state") in ACTIVE_STATES

    def request(self, action: str) -> bool:
        """Pass 'pause', 'resume' or 'stop' to the run's trainer; False when it has not started yet."""
        if not self._trainer_listens():
            return False
        send_request(self.run, action)
        return True

    def stop(self) -> None:
        """Stop with a checkpoint: through control.json once training, else SIGTERM (the data still loads)."""
        self.stop_requested = True
        if self.poll() is not None:
            return
        if not self.request("stop"):
            self.terminate()

    def terminate(self) -> None:
        """SIGTERM once (the command line stops after the step, with a checkpoint; twice would abort it)."""
        if self.process is None or self.poll() is not None or self._terminated:
            return
        self._terminated = True
        if os.name == "posix":
            self.process.send_signal(signal.SIGTERM)
        else:
            self.process.terminate()

    def kill(self) -> None:
        if self.process is not None and self.poll() is None:
            self.process.kill()

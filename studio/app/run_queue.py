"""The project's queue of runs: PROJECT/queue.json, shared by the window and the command line.

    {"format": "gan-studio/queue", "version": 1, "entries": [
        {"id": "q0001", "label": "d_lr=0.0001, aux_weight=6", "changes": {...}, "config": {...all settings...},
         "sweep": "sweep-20260101-120000", "state": "queued", "run": null, "message": "", ...}]}

An entry holds the complete settings it trains with (what was queued is what
runs, whatever happens to the project's settings meanwhile) and the changes
that make it differ, for its label. States: queued, running, done, failed,
stopped. Every change is a read-modify-write under an OS lock of the file,
written atomically; the entries are trained one after another by whoever holds
the queue's runner lock (one window or one command at a time), and a runner
that died leaves its running entry shown as stopped.

A run that fails is recorded (state failed, its message) and the queue goes
on; a stop (Ctrl-C, the window's Stop) ends the entry being trained as stopped,
with its checkpoint, and leaves the later entries queued.

On a machine with several GPUs :func:`run_parallel` trains up to one entry per
GPU at once, each in a child process (``python -m studio queue PROJECT run
--entry ID``) that sees only its GPU (``CUDA_VISIBLE_DEVICES``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

from studio.core import jsonio
from studio.core.atomic import atomic_write_json
from studio.core.config import TrainConfig
from studio.errors import ConfigError, StudioError, one_line

__all__ = [
    "QUEUE_FILE",
    "STATES",
    "FINISHED",
    "QueueEntry",
    "Queue",
    "QueueBusy",
    "QueueRunner",
    "load_queue",
    "add_entries",
    "add_settings",
    "move_entry",
    "remove_entries",
    "clear_queue",
    "requeue",
    "claim_next",
    "set_entry_run",
    "finish_entry",
    "record_outcome",
    "entry_request",
    "run_queue",
    "run_entry",
    "gpu_slots",
    "run_parallel",
]

QUEUE_FILE = "queue.json"
QUEUE_FORMAT = "gan-studio/queue"
QUEUE_VERSION = 1
STATES = ("queued", "running", "done", "failed", "stopped")
FINISHED = ("done", "failed", "stopped")


class QueueBusy(StudioError):
    """Another window or command is running the project's queue."""


@dataclass
class QueueEntry:
    id: str
    config: TrainConfig
    changes: dict = field(default_factory=dict)
    label: str = ""
    sweep: str | None = None
    state: str = "queued"
    run: str | None = None  # the run's folder name in PROJECT/runs
    message: str = ""
    added: str = ""
    started: str = ""
    ended: str = ""
    gpu: str | None = None  # the GPU a parallel runner gave it

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "label": self.label,
            "changes": self.changes,
            "config": self.config.to_dict(),
            "sweep": self.sweep,
            "state": self.state,
            "run": self.run,
            "message": self.message,
            "added": self.added,
            "started": self.started,
            "ended": self.ended,
            "gpu": self.gpu,
        }

    @classmethod
    def from_dict(cls, data, source: str) -> QueueEntry:
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise StudioError(f"{source}: an entry is not an object with an id")
        where = f"{source}: entry {data['id']}"
        config = TrainConfig.from_dict(data.get("config"), source=where)
        state = data.get("state")
        if state not in STATES:
            raise StudioError(f"{where}: state {state!r} is not one of {', '.join(STATES)}")
        changes = data.get("changes") or {}
        if not isinstance(changes, dict):
            raise StudioError(f"{where}: 'changes' is not an object")

        def text(key: str) -> str:
            value = data.get(key)
            return value if isinstance(value, str) else ""

        return cls(
            id=data["id"],
            config=config,
            changes=changes,
            label=text("label"),
            sweep=data.get("sweep") if isinstance(data.get("sweep"), str) else None,
            state=state,
            run=data.get("run") if isinstance(data.get("run"), str) else None,
            message=text("message"),
            added=text("added"),
            started=text("started"),
            ended=text("ended"),
            gpu=data.get("gpu") if isinstance(data.get("gpu"), str) else None,
        )


@dataclass
class Queue:
    folder: Path  # the project folder
    entries: list[QueueEntry]

    def get(self, entry_id: str) -> QueueEntry:
        for entry in self.entries:
            if entry.id == entry_id:
                return entry
        raise StudioError(f"{self.folder / QUEUE_FILE}: no entry {entry_id!r}")

    def sweeps(self) -> list[str]:
        """The sweeps with entries in the queue, oldest first."""
        return list(dict.fromkeys(e.sweep for e in self.entries if e.sweep))

    def counts(self) -> dict[str, int]:
        return {s: sum(e.state == s for e in self.entries) for s in STATES}

    def _next_id(self) -> str:
        used = [int(e.id[1:]) for e in self.entries if e.id[:1] == "q" and e.id[1:].isdigit()]
        return f"q{max(used, default=0) + 1:04d}"


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


def _queue_file(folder: Path) -> Path:
    return Path(folder) / QUEUE_FILE


def _read(folder: Path) -> Queue:
    path = _queue_file(folder)
    if not path.is_file():
        return Queue(Path(folder), [])
    data = jsonio.read_json(path, what="queue file")
    if not isinstance(data, dict) or data.get("format") != QUEUE_FORMAT:
        raise StudioError(f"{path}: not a GAN Studio queue file")
    if not isinstance(data.get("version"), int) or data["version"] > QUEUE_VERSION:
        raise StudioError(f"{path}: written by a newer GAN Studio (queue version {data.get('version')}); upgrade")
    entries = data.get("entries")
    if not isinstance(entries, list):
        raise StudioError(f"{path}: 'entries' is not a list")
    try:
        return Queue(Path(folder), [QueueEntry.from_dict(e, str(path)) for e in entries])
    except ConfigError as exc:
        raise StudioError(str(exc)) from None


def _write(queue: Queue) -> None:
    data = {"format": QUEUE_FORMAT, "version": QUEUE_VERSION, "entries": [e.to_dict() for e in queue.entries]}
    atomic_write_json(_queue_file(queue.folder), data)


@contextmanager
def _editing(folder: str | Path) -> Iterator[Queue]:
    """The queue, read under the file's lock and written back when the block ends without an error."""
    folder = Path(folder)
    lock = FileLock(str(folder / ".queue.lock"))
    try:
        lock.acquire(timeout=30)
    except Timeout:
        raise StudioError(f"{_queue_file(folder)}: another process has held the queue for 30 s; try again") from None
    try:
        queue = _read(folder)
        _mark_stale(queue)
        yield queue
        _write(queue)
    finally:
        lock.release()


def _runner_lock_path(folder: Path) -> Path:
    return Path(folder) / ".queue-runner.lock"


def _runner_info_path(folder: Path) -> Path:
    return Path(folder) / ".queue-runner.json"


def runner_holder(folder: str | Path) -> dict | None:
    """Who runs the project's queue now (pid, host, since), or None when no live process does."""
    path = _runner_lock_path(Path(folder))
    if not path.is_file():
        return None
    probe = FileLock(str(path))
    try:
        probe.acquire(timeout=0)
    except Timeout:
        try:
            info = jsonio.read_json(_runner_info_path(Path(folder)))
        except StudioError:
            info = None
        return info if isinstance(info, dict) else {"pid": "?", "host": "?"}
    except OSError:
        return None
    probe.release()
    return None


def _mark_stale(queue: Queue, runner_gone: bool = False) -> bool:
    """Entries left running by a runner that is gone become stopped; True when any did."""
    running = [e for e in queue.entries if e.state == "running"]
    if not running or not (runner_gone or runner_holder(queue.folder) is None):
        return False
    for entry in running:
        entry.state, entry.ended = "stopped", entry.ended or _now()
        entry.message = entry.message or "the window or command that trained it ended before the run did"
    return True


def load_queue(folder: str | Path) -> Queue:
    """The project's queue (empty when it has none); entries a dead runner left running read as stopped."""
    queue = _read(Path(folder))
    _mark_stale(queue)
    return queue


# --- editing ------------------------------------------------------------------------------------------------


def add_entries(folder: str | Path, items: list[tuple[TrainConfig, dict]], sweep: str | None = None):
    """Append one queued entry per (settings, changes); returns the new entries."""
    from studio.app.sweep import describe_changes

    added = []
    with _editing(folder) as queue:
        for config, changes in items:
            config.validate("queue entry")
            entry = QueueEntry(queue._next_id(), config, dict(changes), describe_changes(changes), sweep, added=_now())
            queue.entries.append(entry)
            added.append(entry)
    return added


def add_settings(folder: str | Path, config: TrainConfig, saved: TrainConfig | None = None) -> QueueEntry:
    """Queue ``config`` (the settings shown in the window); its label names what differs from ``saved``."""
    changes = {}
    if saved is not None:
        new, old = config.to_dict(), saved.to_dict()
        changes = {k: v for k, v in new.items() if old.get(k) != v}
    return add_entries(folder, [(config, changes)])[0]


def move_entry(folder: str | Path, entry_id: str, delta: int) -> int:
    """Move an entry ``delta`` places (negative: up); returns its new index."""
    with _editing(folder) as queue:
        entry = queue.get(entry_id)
        index = queue.entries.index(entry)
        target = max(0, min(len(queue.entries) - 1, index + delta))
        queue.entries.insert(target, queue.entries.pop(index))
    return target


def remove_entries(folder: str | Path, entry_ids: list[str]) -> int:
    """Remove entries (never one being trained: stop it first); the runs they made stay."""
    with _editing(folder) as queue:
        chosen = [queue.get(i) for i in entry_ids]
        busy = [e.id for e in chosen if e.state == "running"]
        if busy:
            raise StudioError(f"entry {', '.join(busy)} is being trained; stop it before removing it")
        queue.entries = [e for e in queue.entries if e not in chosen]
    return len(chosen)


def clear_queue(folder: str | Path, everything: bool = False) -> int:
    """Remove the finished entries (``everything``: the queued ones too, never a running one)."""
    drop = FINISHED + (("queued",) if everything else ())
    with _editing(folder) as queue:
        before = len(queue.entries)
        queue.entries = [e for e in queue.entries if e.state not in drop]
        return before - len(queue.entries)


def requeue(folder: str | Path, entry_ids: list[str]) -> int:
    """Put failed or stopped entries back in the queue: each makes a new run when its turn comes."""
    with _editing(folder) as queue:
        chosen = [queue.get(i) for i in entry_ids]
        for entry in chosen:
            if entry.state in ("failed", "stopped"):
                entry.state, entry.message, entry.run, entry.started, entry.ended = "queued", "", None, "", ""
    return len(chosen)


# --- running ------------------------------------------------------------------------------------------------


def claim_next(folder: str | Path, only: list[str] | None = None, gpu: str | None = None) -> QueueEntry | None:
    """The first queued entry (of ``only``, when given), now marked running; None when none is left."""
    with _editing(folder) as queue:
        for entry in queue.entries:
            if entry.state == "queued" and (only is None or entry.id in only):
                entry.state, entry.started, entry.message, entry.gpu = "running", _now(), "", gpu
                return entry
    return None


def set_entry_run(folder: str | Path, entry_id: str, run_id: str) -> None:
    with _editing(folder) as queue:
        queue.get(entry_id).run = run_id


def finish_entry(
    folder: str | Path, entry_id: str, state: str, message: str = "", run: str | None = None
) -> QueueEntry:
    """Record how an entry ended; returns it as recorded."""
    if state not in FINISHED:
        raise ValueError(state)
    with _editing(folder) as queue:
        entry = queue.get(entry_id)
        entry.state, entry.message, entry.ended = state, one_line(message, 500), _now()
        if run:
            entry.run = run
    return entry


def record_outcome(folder: str | Path, entry_id: str, finished, run_id: str | None) -> QueueEntry:
    """Record how a run ended (a RunFinished: completed, stopped or error); returns the entry as recorded."""
    state = {"completed": "done", "stopped": "stopped"}.get(finished.reason, "failed")
    message = finished.message if state == "failed" else ""
    if state == "stopped":
        message = f"stopped at epoch {finished.epoch}, step {finished.step}"
    return finish_entry(folder, entry_id, state, message or ("failed" if state == "failed" else ""), run_id)


def entry_request(project, entry: QueueEntry, **options):
    """The TrainRequest of a new run of ``entry``'s settings in ``project`` (a Project or its folder)."""
    from studio.app.training import TrainRequest
    from studio.project import Project

    project = project if isinstance(project, Project) else Project.load(project)
    return TrainRequest(entry.config, runs_dir=project.runs_dir, **options)


class QueueRunner:
    """The right to train the project's queue: an OS lock, freed when the holder exits however it exits."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._lock = FileLock(str(_runner_lock_path(self.folder)))

    def acquire(self) -> QueueRunner:
        try:
            self._lock.acquire(timeout=0.5)
        except Timeout:
            holder = runner_holder(self.folder) or {}
            raise QueueBusy(
                f"{self.folder / QUEUE_FILE}: the queue is being run by process {holder.get('pid', '?')} on "
                f"{holder.get('host', '?')}; stop it there first"
            ) from None
        try:
            info = {"pid": os.getpid(), "host": socket.gethostname(), "since": _now()}
            atomic_write_json(_runner_info_path(self.folder), info)
            with _editing(self.folder) as queue:
                _mark_stale(queue, runner_gone=True)  # what a dead runner left running, before ours start
        except BaseException:
            self._lock.release()
            raise
        return self

    def release(self) -> None:
        if self._lock.is_locked:
            try:
                _runner_info_path(self.folder).unlink()
            except OSError:
                pass
            self._lock.release()

    @property
    def held(self) -> bool:
        return self._lock.is_locked

    def __enter__(self) -> QueueRunner:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, StudioError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{exc.filename}: {exc.strerror or exc}" if exc.filename else str(exc.strerror or exc)
    return f"{type(exc).__name__}: {exc}"


def train_entry(project, entry: QueueEntry, train: Callable, on_change: Callable | None = None) -> str:
    """Train one claimed entry with ``train(request) -> TrainOutcome``; record and return its state.

    Whatever goes wrong is recorded as the entry's failure; a KeyboardInterrupt
    records it as stopped and goes on up.
    """
    from studio.project import Project

    project = project if isinstance(project, Project) else Project.load(project)
    notify = on_change or (lambda entry, state: None)
    try:
        outcome = train(entry_request(project, entry))
    except KeyboardInterrupt:
        notify(finish_entry(project.folder, entry.id, "stopped", "interrupted"), "stopped")
        raise
    except Exception as exc:  # noqa: BLE001 - a failing run is recorded and the queue goes on
        notify(finish_entry(project.folder, entry.id, "failed", _error_text(exc)), "failed")
        return "failed"
    run_id = outcome.run.run_id if outcome.run is not None else None
    recorded = record_outcome(project.folder, entry.id, outcome.finished, run_id)
    notify(recorded, recorded.state)
    return recorded.state


def run_queue(
    project,
    train: Callable,
    only: list[str] | None = None,
    on_change: Callable | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[QueueEntry]:
    """Train the queued entries (of ``only``) one after another with ``train(request) -> TrainOutcome``.

    A failed run is recorded and the next one starts; a stopped one (Ctrl-C)
    ends the queue there, the rest staying queued. ``on_change(entry, state)``
    hears each entry start ('running') and end. Returns the entries trained.
    """
    from studio.project import Project

    project = project if isinstance(project, Project) else Project.load(project)
    notify = on_change or (lambda entry, state: None)
    done = []
    with QueueRunner(project.folder):
        while not (should_stop and should_stop()):
            entry = claim_next(project.folder, only)
            if entry is None:
                break
            notify(entry, "running")
            state = train_entry(project, entry, train, notify)
            done.append(entry)
            if state == "stopped":
                break
    return done


def run_entry(project, entry_id: str, train: Callable, on_change: Callable | None = None) -> str:
    """Train one entry and return its state: a queued one as :func:`run_queue` would, or, in a child process
    of :func:`run_parallel`, the entry it claimed for this process (on the one GPU the child sees)."""
    from studio.project import Project

    project = project if isinstance(project, Project) else Project.load(project)
    entry = load_queue(project.folder).get(entry_id)
    if entry.state == "running" and os.environ.get(CHILD_ENV) == entry_id and runner_holder(project.folder):
        if entry.gpu is not None and entry.config.device.startswith("cuda:"):
            entry.config = entry.config.replace(device="cuda")  # the only GPU this process sees
        return train_entry(project, entry, train, on_change)
    if entry.state != "queued":
        raise StudioError(
            f"{project.folder / QUEUE_FILE}: entry {entry_id} is {entry.state}, not queued"
            + ("; 'queue PROJECT retry --entry ID' queues it again" if entry.state in ("failed", "stopped") else "")
        )
    run_queue(project, train, only=[entry_id], on_change=on_change)
    return load_queue(project.folder).get(entry_id).state


# --- several GPUs -------------------------------------------------------------------------------------------


def gpu_slots(device: str, requested: int | None = None, device_count: Callable[[], int] | None = None) -> list[str]:
    """The GPUs a parallel queue may use: CUDA indices as text ('0', '1', ...), empty for one at a time.

    ``requested``: how many (None: all when the settings train on CUDA and there
    are several; 0 or 1: one at a time). ``device_count`` stands in for
    ``torch.cuda.device_count`` (tests).
    """
    if requested is not None and requested <= 1:
        return []
    if device_count is None:
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    else:
        count = device_count()
    if requested is None and not (device in ("auto", "cuda") and count > 1):
        return []
    if requested is not None and requested > count:
        raise StudioError(f"--parallel-gpus {requested}: this machine has {count} CUDA device(s)")
    return [str(i) for i in range(requested or count)]


CHILD_ENV = "GAN_STUDIO_QUEUE_ENTRY"  # set by a parallel runner for the child that trains that entry


def child_command(project_folder: Path, entry_id: str) -> list[str]:
    return [sys.executable, "-m", "studio", "queue", str(project_folder), "run", "--entry", entry_id, "--quiet"]


class _Child:
    """A child process training one entry on one GPU; its output kept for the failure message."""

    def __init__(self, command: list[str], gpu: str, log: Path):
        env = dict(os.environ, CUDA_VISIBLE_DEVICES=gpu, **{CHILD_ENV: command[command.index("--entry") + 1]})
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log = log
        self._out = open(log, "wb")  # closed by poll() once the child has ended
        self.process = subprocess.Popen(command, env=env, stdout=self._out, stderr=subprocess.STDOUT)

    def poll(self) -> int | None:
        code = self.process.poll()
        if code is not None and not self._out.closed:
            self._out.close()
        return code

    def last_error(self) -> str:
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        errors = [line for line in lines if line.startswith("error:")]
        return (errors or lines or [""])[-1]


def run_parallel(
    project_folder: str | Path,
    gpus: list[str],
    only: list[str] | None = None,
    launch: Callable[[QueueEntry, str], object] | None = None,
    on_change: Callable | None = None,
    should_stop: Callable[[], bool] | None = None,
    poll_seconds: float = 1.0,
) -> list[QueueEntry]:
    """Train the queued entries (of ``only``) with up to one child process per GPU of ``gpus`` at once.

    ``launch(entry, gpu)`` starts one and returns an object with ``poll()``
    (the exit status, or None while it runs) and ``last_error()``; the default
    runs ``python -m studio queue PROJECT run --entry ID`` with only that GPU
    visible, the child recording its entry's outcome. An entry still marked
    running when its child has exited is recorded failed with the child's last
    error line. After ``should_stop()`` turns true no new child starts; those
    running end on their own (Ctrl-C reaches them too and they stop with a checkpoint).
    """
    folder = Path(project_folder)
    notify = on_change or (lambda entry, state: None)
    if launch is None:

        def launch(entry: QueueEntry, gpu: str) -> _Child:
            return _Child(child_command(folder, entry.id), gpu, folder / "sweeps" / "logs" / f"{entry.id}.log")

    running: dict[str, tuple[QueueEntry, object]] = {}
    trained: list[QueueEntry] = []
    with QueueRunner(folder):
        while True:
            stopping = bool(should_stop and should_stop())
            for gpu in gpus:
                if gpu in running or stopping:
                    continue
                entry = claim_next(folder, only, gpu=gpu)
                if entry is None:
                    break
                notify(entry, "running")
                try:
                    running[gpu] = (entry, launch(entry, gpu))
                except Exception as exc:  # noqa: BLE001 - recorded as the entry's failure
                    notify(finish_entry(folder, entry.id, "failed", _error_text(exc)), "failed")
            if not running:
                break
            for gpu, (entry, child) in list(running.items()):
                code = child.poll()
                if code is None:
                    continue
                del running[gpu]
                trained.append(entry)
                recorded = load_queue(folder).get(entry.id)
                if recorded.state == "running":  # the child died without recording how its run ended
                    why = child.last_error() or f"the child process exited with status {code}"
                    recorded = finish_entry(folder, entry.id, "failed", why)
                notify(recorded, recorded.state)
            if running:
                time.sleep(poll_seconds)
    return trained

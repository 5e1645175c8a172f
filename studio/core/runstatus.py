"""A run's state for other processes (RUN/status.json), and their requests to it (RUN/control.json).

The process that trains a run (rank 0 of a distributed one) keeps status.json
current, so that a window in another process, or on another machine that
shares the folder, follows the run from its files alone; and it watches
control.json, where such a window asks it to pause, continue or stop.

status.json (strict JSON, replaced atomically)::

    {"state": "running", "pid": 4242, "host": "gpu-box", "epoch": 3, "epochs": 25,
     "step": 1210, "epoch_step": 10, "steps_per_epoch": 400, "images_per_second": 5120.0,
     "updated_at": 1733250000.0, "message": "", "since": 1733249000.0,
     "started": {RunStarted's fields: device, precision, start_epoch, start_step, ...}}

state: running | paused | stopping | completed | stopped | error.  ``epoch``
is the epoch in progress (1-based) while training, the complete epochs once
ended.  State changes are written at once; progress by a watcher thread, at
most every :data:`POLL_SECONDS` (an atomic write is fsynced: some 10 ms the
training loop does not wait for).  ``updated_at`` moves at least every
:data:`HEARTBEAT_SECONDS`, also while paused, so a follower on another
machine can tell a silent run from a dead one.

control.json: ``{"request": "pause" | "resume" | "stop", "id": "...", "by": "pid@host", "at": 1733250000.0}``.
Each request (by its id) is carried out once; the file of an earlier session
is removed when a run starts.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Protocol

from studio.core.events import (
    CheckpointSaved,
    EpochEnd,
    Event,
    RunError,
    RunFinished,
    RunPaused,
    RunResumed,
    RunStarted,
    StepMetrics,
)
from studio.core.rundir import RunDirectory

__all__ = [
    "ACTIVE_STATES",
    "FINAL_STATES",
    "REQUESTS",
    "HEARTBEAT_SECONDS",
    "StatusReporter",
    "send_request",
]

ACTIVE_STATES = ("running", "paused", "stopping")
FINAL_STATES = ("completed", "stopped", "error")
REQUESTS = ("pause", "resume", "stop")
# How often status.json is rewritten when nothing else changes, and how often control.json is looked at.
HEARTBEAT_SECONDS = 20.0
POLL_SECONDS = 0.5


class Controllable(Protocol):
    def request_pause(self) -> None: ...

    def request_resume(self) -> None: ...

    def request_stop(self) -> None: ...


def send_request(run: RunDirectory, request: str) -> dict:
    """Ask the process training ``run`` to pause, resume or stop (it acts within about a second)."""
    if request not in REQUESTS:
        raise ValueError(f"request {request!r}: use one of {', '.join(REQUESTS)}")
    message = {
        "request": request,
        "id": uuid.uuid4().hex,
        "by": f"{os.getpid()}@{socket.gethostname()}",
        "at": time.time(),
    }
    run.write_control(message)
    return message


class StatusReporter:
    """Wraps the trainer's event callback: keeps status.json current and carries out control.json's requests.

    ``reporter = StatusReporter(run, on_event, trainer)``; pass ``reporter`` as
    the callback, ``start()`` it once the run's lock is held and ``close()``
    it when the run has ended. ``trainer`` receives the requests (its
    ``request_pause``/``request_resume``/``request_stop`` are thread-safe);
    its ``stop_requested``, when it has one, turns the state to "stopping".
    """

    def __init__(self, run: RunDirectory, forward: Callable[[Event], None], trainer: Controllable | None = None):
        self.run = run
        self.forward = forward
        self.trainer = trainer
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._written = 0.0  # time.monotonic() of the last write
        self._dirty = False
        self._control_seen: tuple[int, int] | None = None
        self._done_ids: set[str] = set()
        self.status: dict = {
            "state": "running",
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "epoch": 0,
            "epochs": 0,
            "step": 0,
            "epoch_step": 0,
            "steps_per_epoch": 0,
            "images_per_second": None,
            "updated_at": time.time(),
            "message": "",
            "since": time.time(),
            "started": None,
            "grid": None,
        }

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> StatusReporter:
        """Forget the requests of an earlier session and watch for new ones (call with the run's lock held)."""
        try:
            self.run.control_path.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            self._control_seen = self._control_key()  # cannot remove it: at least never obey it
        self._thread = threading.Thread(target=self._watch, name="run-control", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None

    # --- events ----------------------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        try:
            self._observe(event)
        except OSError:
            pass  # a status that cannot be written must never end the run; followers see it stale
        self.forward(event)

    def _observe(self, event: Event) -> None:
        s = self.status
        urgent = True
        with self._lock:
            if isinstance(event, RunStarted):
                started = dataclasses.asdict(event)
                started.pop("run_dir", None)
                s.update(
                    state="running",
                    epoch=event.start_epoch + 1,
                    epochs=event.epochs,
                    step=event.start_step,
                    epoch_step=event.start_step - event.start_epoch * event.steps_per_epoch,
                    steps_per_epoch=event.steps_per_epoch,
                    started=started,
                    grid=self._grid_layout(),
                )
            elif isinstance(event, StepMetrics):
                s.update(
                    epoch=event.epoch,
                    step=event.step,
                    epoch_step=event.epoch_step,
                    steps_per_epoch=event.steps_per_epoch,
                    images_per_second=event.images_per_second,
                )
                urgent = False
            elif isinstance(event, EpochEnd):
                s.update(epoch=event.epoch, step=event.step, epoch_step=s["steps_per_epoch"])
            elif isinstance(event, CheckpointSaved):
                s.update(checkpoint=os.path.basename(event.path))
            elif isinstance(event, RunPaused):
                s.update(state="stopping" if s["state"] == "stopping" else "paused", step=event.step)
            elif isinstance(event, RunResumed):
                s.update(state="stopping" if s["state"] == "stopping" else "running", step=event.step)
            elif isinstance(event, RunError):
                s.update(message=event.message)
                return  # written with the RunFinished that follows
            elif isinstance(event, RunFinished):
                s.update(state=event.reason, epoch=event.epoch, step=event.step)
                if event.message:
                    s["message"] = event.message
            else:
                return
            self._dirty = True
            if urgent:
                self._write_locked()  # else the watcher writes it within POLL_SECONDS, off the training thread

    def _grid_layout(self) -> dict | None:
        """How the trainer lays out its sample grid, so a follower captions the PNGs as the trainer does."""
        grid = getattr(self.trainer, "grid", None)
        if grid is None:
            return None
        from studio.core.sampling import GRID_PADDING

        return {
            "rows": grid.rows,
            "cols": grid.cols,
            "row_captions": [str(c) for c in grid.row_captions],
            "col_captions": [str(c) for c in grid.col_captions],
            "padding": GRID_PADDING,
        }

    def _write_locked(self) -> None:
        self.status["updated_at"] = time.time()
        self.run.write_status(self.status)
        self._written = time.monotonic()
        self._dirty = False

    # --- the watcher thread ---------------------------------------------------------------------
    def _watch(self) -> None:
        while not self._closed.wait(POLL_SECONDS):
            try:
                self._poll_control()
                self._heartbeat()
            except OSError:
                pass

    def _heartbeat(self) -> None:
        with self._lock:
            if self.status["started"] is None or self.status["state"] in FINAL_STATES:
                return
            stopping = bool(getattr(self.trainer, "stop_requested", False))
            if stopping and self.status["state"] != "stopping":
                self.status["state"] = "stopping"
                self._write_locked()
            elif self._dirty or time.monotonic() - self._written >= HEARTBEAT_SECONDS:
                self._write_locked()

    def _control_key(self) -> tuple[int, int] | None:
        try:
            st = self.run.control_path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def _poll_control(self) -> None:
        key = self._control_key()
        if key is None or key == self._control_seen:
            return
        self._control_seen = key
        message = self.run.read_control()
        if message is None or self.trainer is None:
            return
        request, request_id = message.get("request"), str(message.get("id", ""))
        if request not in REQUESTS or request_id in self._done_ids:
            return
        self._done_ids.add(request_id)
        if request == "pause":
            self.trainer.request_pause()
        elif request == "resume":
            self.trainer.request_resume()
        else:
            self.trainer.request_stop()
            self.trainer.request_resume()  # a paused run wakes up to write its checkpoint

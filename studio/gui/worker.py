"""Long work off the GUI thread: the training run and one-off jobs (dataset loads).

Each job is a parentless QObject moved to its own QThread and wired the
canonical way: ``started -> work``, ``finished -> quit``, ``deleteLater`` on
both.  Only plain data crosses the boundary: the core's event dataclasses,
uint8 numpy grids, the loaded dataset.

There is no Qt event loop inside the worker thread while ``Trainer.run()``
blocks, so a queued slot on the worker would never run: stop and pause are the
trainer's own ``threading.Event`` flags, set directly from the GUI thread.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from studio.core.config import TrainConfig
from studio.core.events import RunError, RunFinished
from studio.core.rundir import RunDirectory
from studio.errors import StudioError

__all__ = [
    "TrainingJob", "TrainingWorker", "CallWorker", "BackgroundJob", "JobPanelMixin", "JobCancelled", "start_worker",
    "join_thread", "thread_running",
]


@dataclass
class TrainingJob:
    """Everything a run needs; built on the GUI thread, read on the worker's."""

    config: TrainConfig
    run: RunDirectory
    dataset: Any = None  # an ImageDataset already in memory, or None to load it in the thread
    resume_from: str | None = None
    max_steps: int | None = None


class TrainingWorker(QObject):
    """Runs ``Trainer.run()``; forwards every trainer event as ``event``."""

    event = Signal(object)  # studio.core.events.Event
    datasetProgress = Signal(str, float)
    finished = Signal(object)  # the RunFinished that ended the run

    def __init__(self, job: TrainingJob):
        super().__init__()  # parentless: moveToThread refuses objects with a parent
        self.job = job
        self._lock = threading.Lock()
        self._trainer = None
        # Requests made before the trainer exists (while the dataset loads).
        self._stop = threading.Event()
        self._pause = threading.Event()

    # --- control, from any thread ------------------------------------------
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

    # --- the thread's work --------------------------------------------------
    @Slot()
    def work(self) -> None:
        result = RunFinished("error", 0, 0, "the run did not start")
        try:
            result = self._run()
        except Exception as exc:  # noqa: BLE001 - a bug must not leave the thread running forever
            result = self._fail(f"{type(exc).__name__}: {exc}", traceback.format_exc())
        finally:
            self.finished.emit(result)

    def _run(self) -> RunFinished:
        from studio.core.trainer import Trainer
        from studio.data.dataset import load_dataset

        job = self.job
        cfg = job.config
        try:
            dataset = job.dataset
            if dataset is None:
                dataset = load_dataset(cfg.dataset, cfg.image_size, cfg.channels, cfg.dataset_size,
                                       self.datasetProgress.emit)
            if self._stop.is_set():
                result = RunFinished("stopped", 0, 0)
                self.event.emit(result)
                return result
            trainer = Trainer(cfg, dataset, job.run, on_event=self.event.emit, resume_from=job.resume_from,
                              max_steps=job.max_steps)
        except StudioError as exc:
            return self._fail(str(exc), "")
        except OSError as exc:
            name = f"{exc.filename}: " if exc.filename else ""
            return self._fail(f"{name}{exc.strerror or exc}", traceback.format_exc())
        with self._lock:
            self._trainer = trainer
            if self._stop.is_set():
                trainer.request_stop()
            if self._pause.is_set():
                trainer.request_pause()
        return trainer.run()

    def _fail(self, message: str, details: str) -> RunFinished:
        self.event.emit(RunError(message, details))
        result = RunFinished("error", 0, 0, message)
        self.event.emit(result)
        return result


class CallWorker(QObject):
    """Calls ``fn(progress)`` once in a thread; ``progress(message, fraction)`` may be called from ``fn``."""

    progress = Signal(str, float)
    returned = Signal(object)
    errored = Signal(object)  # the exception
    finished = Signal()

    def __init__(self, fn: Callable[[Callable[[str, float], None]], Any]):
        super().__init__()
        self._fn = fn

    @Slot()
    def work(self) -> None:
        try:
            value = self._fn(self.progress.emit)
        except Exception as exc:  # noqa: BLE001 - reported to the GUI, which decides what to show
            exc.details = traceback.format_exc()  # type: ignore[attr-defined]
            self.errored.emit(exc)
        else:
            self.returned.emit(value)
        finally:
            self.finished.emit()


# Python references to started workers and threads until Qt has deleted them
# (deleteLater below). A caller dropping its last reference earlier would make
# Python delete the object too, racing Qt's deletion:
# crashes and hangs once jobs run back to back.
_started: list[QObject] = []


def start_worker(worker: QObject) -> QThread:
    """Move ``worker`` (with ``work`` and ``finished``) to a new QThread and start it."""
    global _started
    thread = QThread()
    _started = [o for o in _started if shiboken6.isValid(o)] + [worker, thread]
    thread.setObjectName(type(worker).__name__)
    worker.moveToThread(thread)
    thread.started.connect(worker.work)
    # Direct: quit() is thread-safe, and a queued quit would wait for the GUI
    # thread, which may itself be blocked joining this thread on close.
    worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    # The worker goes home before its deletion is posted, so that Qt deletes it
    # on the GUI thread. Deleted in the worker thread, its destructor would hold
    # one of Qt's signal-slot locks while PySide waits for the GIL, and a GUI
    # thread holding the GIL while it connects a signal (a QLabel's setText can)
    # would wait for that lock: a deadlock.
    home = QThread.currentThread()
    worker.finished.connect(lambda: worker.moveToThread(home), Qt.ConnectionType.DirectConnection)
    worker.finished.connect(worker.deleteLater, Qt.ConnectionType.DirectConnection)
    thread.finished.connect(thread.deleteLater)
    thread.start()
    return thread


def thread_running(thread: QThread | None) -> bool:
    return thread is not None and shiboken6.isValid(thread) and thread.isRunning()


def join_thread(thread: QThread | None, timeout_ms: int | None = None) -> bool:
    """Wait for ``thread`` to end; True when it has (or was already gone)."""
    if not thread_running(thread):
        return True
    if timeout_ms is None:
        return bool(thread.wait())
    return bool(thread.wait(timeout_ms))


class BackgroundJob(QObject):
    """One cancellable background call at a time, for a panel (the lab, the evaluation tab).

    ``fn(progress, should_stop)`` runs in a worker thread; the panel's callbacks
    are slots of widgets, so the signals reach them queued on the GUI thread.
    This object lives on the GUI thread too: it forgets the worker when it
    finishes, then calls ``on_finished``.
    """

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.thread: QThread | None = None
        self.worker: CallWorker | None = None
        self.stop = threading.Event()
        self._on_finished: Callable[[], None] = lambda: None

    @property
    def busy(self) -> bool:
        return self.worker is not None

    @property
    def cancelled(self) -> bool:
        return self.stop.is_set()

    def start(
        self,
        fn: Callable[[Callable[[str, float], None], Callable[[], bool]], Any],
        on_progress: Callable[[str, float], None],
        on_returned: Callable[[Any], None],
        on_errored: Callable[[BaseException], None],
        on_finished: Callable[[], None],
    ) -> bool:
        if self.busy:
            return False
        self.stop = threading.Event()
        stop = self.stop
        worker = CallWorker(lambda progress: fn(progress, stop.is_set))
        worker.progress.connect(on_progress)
        worker.returned.connect(on_returned)
        worker.errored.connect(on_errored)
        worker.finished.connect(self._finished)
        self._on_finished = on_finished
        self.worker = worker
        self.thread = start_worker(worker)
        return True

    @Slot()
    def _finished(self) -> None:
        self.worker = None
        self._on_finished()

    def cancel(self) -> bool:
        """Ask the running call to stop at its next check; False when nothing runs."""
        if not self.busy:
            return False
        self.stop.set()
        return True

    def wait(self, timeout_ms: int | None = None) -> bool:
        return join_thread(self.thread, timeout_ms)

    def shutdown(self) -> None:
        self.stop.set()
        self.wait()


class JobCancelled(Exception):
    """Raised inside a panel's background call when the user pressed Cancel; not an error to report."""


class JobPanelMixin:
    """The job half of a panel that runs one cancellable call at a time (the lab, the evaluation tab).

    The panel calls :meth:`_init_jobs` in its constructor and provides ``status``
    (a QLabel), ``progress`` (a QProgressBar), the signals ``message(str)``,
    ``errorOccurred(title, text, details)`` and ``jobFinished(name)``,
    ``_update_controls()`` and ``_on_errored(exc)``, which usually starts with
    :meth:`_failure`.  The progress bar shows "busy" until a report with a
    fraction above 0 makes it a percentage.
    """

    def _init_jobs(self) -> None:
        self._jobs = BackgroundJob(self)
        self._job = ""
        self._job_failed = False
        self._on_done: Callable[[Any], None] = lambda value: None

    @property
    def busy(self) -> bool:
        return self._jobs.busy

    def _start(self, name: str, fn: Callable, done: Callable[[Any], None], text: str) -> bool:
        """Run ``fn(progress, should_stop)`` in the background; ``done(value)`` gets what it returns."""
        if self.busy:
            return False
        self._job = name
        self._on_done = done
        self._job_failed = False
        self._jobs.start(fn, self._on_progress, self._on_returned, self._on_job_errored, self._on_finished)
        self.progress.setRange(0, 0)
        self.status.setText(text)
        self._update_controls()
        return True

    def _on_progress(self, text: str, fraction: float) -> None:
        self.status.setText(text)
        if fraction > 0:
            self.progress.setRange(0, 100)
            self.progress.setValue(round(100 * min(1.0, fraction)))

    def _on_returned(self, value) -> None:
        self._on_done(value)

    def _on_job_errored(self, exc: BaseException) -> None:
        self._job_failed = True
        self._on_errored(exc)

    def _failure(self, exc: BaseException, what: str, log: str) -> tuple[str, str] | None:
        """None after reporting a cancel as '<what> cancelled'; else the error's text and details."""
        if isinstance(exc, JobCancelled) or self._jobs.cancelled:
            self.status.setText(f"{what} cancelled")
            self.message.emit(f"{log} cancelled")
            return None
        text = str(exc) if isinstance(exc, (StudioError, OSError)) else f"{type(exc).__name__}: {exc}"
        details = "" if isinstance(exc, StudioError) else getattr(exc, "details", "")
        return text, details

    def _on_finished(self) -> None:
        job = self._job
        self.progress.setRange(0, 100)
        # A full bar says the job got there; a cancelled or failed one did not.
        self.progress.setValue(0 if self._jobs.cancelled or self._job_failed else 100)
        self._update_controls()
        self.jobFinished.emit(job)

    def cancel(self) -> None:
        """Stop the job at its next check; nothing half-made is saved."""
        if self._jobs.cancel():
            self.status.setText("Cancelling…")

    def wait(self, timeout_ms: int | None = None) -> bool:
        """Block until the background job's thread has ended (for scripts and closing)."""
        return self._jobs.wait(timeout_ms)

    def shutdown(self) -> None:
        self._jobs.shutdown()

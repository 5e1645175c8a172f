"""Background work in the window: one mechanism, with superqt's vocabulary.

    worker = create_worker(fn, *args, _connect={"returned": self._on_done}, **kwargs)

runs ``fn(*args, **kwargs)`` once in a QThread of its own.  A ``fn`` that takes
``progress`` or ``should_stop`` (the core's convention) gets the worker's: its
``progress(message, fraction)`` reports arrive as the ``progress`` signal, and
``should_stop()`` turns true after :meth:`Worker.cancel`.  Signals:

    started            the call began (in the worker's thread)
    progress(str, float)
    returned(object)   what ``fn`` returned
    errored(object)    the exception ``fn`` raised; its traceback text is ``exc.details``
    finished(object)   the call ended either way: what it returned, None after an error

The signals are emitted in the worker's thread and reach slots of GUI objects
queued.  Connect methods of QObjects (a panel's, a :class:`PanelJob`'s); a
plain function or lambda runs in the worker's thread.

Why not superqt's ``create_worker`` itself: its workers run on
``QThreadPool.globalInstance()``, as many at once as the machine has cores
(two on a small laptop: a training run and an "evaluate every K epochs" job
would hold a preview render back for the hours the run lasts); each one swaps
the process-wide ``warnings.showwarning`` and filters while it runs, so two
that overlap and end out of order leave a finished worker's hook installed,
swallowing every later warning; ``quit()`` also drops ``returned``, where an
average saved before Cancel stopped its comparison must still be reported;
and there is no per-job wait for closing the window.  So the worker is a
QObject in its own QThread, as before, deleted back on the GUI thread.

The training run is a :class:`TrainingWorker`: the same worker, whose call is
:meth:`studio.app.training.Training.run` -- the command line's ``train`` and
``resume`` make the same call -- and which forwards every trainer event as
``event``.  There is no Qt event loop inside the worker thread while the
trainer runs, so stop and pause go straight to the Training from the GUI
thread (it holds them while the data loads, then passes them to the trainer).

A panel that runs one job at a time behind a progress bar, a status line and
Cancel (the lab, the evaluation tab) keeps a :class:`PanelJob`.
"""

from __future__ import annotations

import inspect
import threading
import traceback
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import QLabel, QProgressBar, QWidget

from studio.app.training import Training, TrainRequest
from studio.core.events import RunError, RunFinished
from studio.errors import StudioError

__all__ = [
    "Worker",
    "create_worker",
    "PanelJob",
    "PanelJobHost",
    "JobCancelled",
    "TrainingWorker",
    "error_text",
    "join_thread",
    "thread_running",
]

Progress = Callable[[str, float], None]


class JobCancelled(Exception):
    """Raised inside a background call when the user pressed Cancel; not an error to report."""


def error_text(exc: BaseException) -> tuple[str, str]:
    """(text, details) of an error a job raised: a StudioError or OSError speaks for itself, a bug names its type.

    The details are the traceback :class:`Worker` kept, none for a StudioError (the user's to fix, not a bug).
    """
    if isinstance(exc, StudioError):
        return str(exc), ""
    text = str(exc) if isinstance(exc, OSError) else f"{type(exc).__name__}: {exc}"
    return text, getattr(exc, "details", "")


def _takes(fn: Callable, name: str) -> bool:
    """Whether ``fn`` names a parameter ``name`` (a ``**kwargs`` does not count: it may pass them on)."""
    try:
        parameter = inspect.signature(fn).parameters.get(name)
    except (TypeError, ValueError):  # a builtin without a signature
        return False
    return parameter is not None and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)


# Python references to started workers and threads until Qt has deleted them
# (deleteLater below). A caller dropping its last reference earlier would make
# Python delete the object too, racing Qt's deletion:
# crashes and hangs once jobs run back to back.
_started: list[QObject] = []


class Worker(QObject):
    """One call of ``fn(*args, **kwargs)`` in a QThread of its own; see the module's docstring."""

    started = Signal()
    progress = Signal(str, float)
    returned = Signal(object)
    errored = Signal(object)
    finished = Signal(object)

    def __init__(self, fn: Callable[..., Any] | None = None, *args: Any, **kwargs: Any):
        super().__init__()  # parentless: moveToThread refuses objects with a parent
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._stop = threading.Event()
        self.qthread: QThread | None = None  # not "thread": that is QObject.thread()

    # --- from the GUI thread ----------------------------------------------------------------
    def start(self) -> QThread:
        """Run the call in a new QThread; returns the thread."""
        global _started
        thread = QThread()
        _started = [o for o in _started if shiboken6.isValid(o)] + [self, thread]
        thread.setObjectName(type(self).__name__)
        self.moveToThread(thread)
        thread.started.connect(self.work)
        # Direct: quit() is thread-safe, and a queued quit would wait for the GUI
        # thread, which may itself be blocked joining this thread on close.
        self.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        # The worker goes home before its deletion is posted, so that Qt deletes it
        # on the GUI thread. Deleted in the worker thread, its destructor would hold
        # one of Qt's signal-slot locks while PySide waits for the GIL, and a GUI
        # thread holding the GIL while it connects a signal (a QLabel's setText can)
        # would wait for that lock: a deadlock.
        home = QThread.currentThread()
        self.finished.connect(lambda *_: self.moveToThread(home), Qt.ConnectionType.DirectConnection)
        self.finished.connect(self.deleteLater, Qt.ConnectionType.DirectConnection)
        thread.finished.connect(thread.deleteLater)
        self.qthread = thread
        thread.start()
        return thread

    def cancel(self) -> None:
        """Ask the call to stop at its next ``should_stop()`` check."""
        self._stop.set()

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set()

    def should_stop(self) -> bool:
        return self._stop.is_set()

    @property
    def running(self) -> bool:
        return thread_running(self.qthread)

    def wait(self, timeout_ms: int | None = None) -> bool:
        """Block until the worker's thread has ended; True when it has (or never started)."""
        return join_thread(self.qthread, timeout_ms)

    # --- in the worker's thread -----------------------------------------------------------------
    def call(self) -> Any:
        """The work; a subclass may override it instead of passing ``fn``."""
        kwargs = dict(self._kwargs)
        for name, value in (("progress", self.progress.emit), ("should_stop", self.should_stop)):
            if name not in kwargs and _takes(self._fn, name):
                kwargs[name] = value
        return self._fn(*self._args, **kwargs)

    @Slot()
    def work(self) -> None:
        value = None
        try:
            self.started.emit()
            value = self.call()
        except Exception as exc:  # noqa: BLE001 - reported to the GUI, which decides what to show
            exc.details = traceback.format_exc()  # type: ignore[attr-defined]
            self.errored.emit(exc)
        else:
            self.returned.emit(value)
        finally:
            self.finished.emit(value)


def create_worker(
    fn: Callable[..., Any], *args: Any, _connect: dict[str, Callable] | None = None, _start: bool = True, **kwargs: Any
) -> Worker:
    """A :class:`Worker` calling ``fn(*args, **kwargs)``, its signals connected, started unless ``_start`` is False.

    The names follow superqt's ``create_worker``: ``_connect`` maps signal names to slots.
    """
    worker = Worker(fn, *args, **kwargs)
    for name, slot in (_connect or {}).items():
        getattr(worker, name).connect(slot)
    if _start:
        worker.start()
    return worker


def thread_running(thread: QThread | None) -> bool:
    return thread is not None and shiboken6.isValid(thread) and thread.isRunning()


def join_thread(thread: QThread | None, timeout_ms: int | None = None) -> bool:
    """Wait for ``thread`` to end; True when it has (or was already gone)."""
    if not thread_running(thread):
        return True
    if timeout_ms is None:
        return bool(thread.wait())
    return bool(thread.wait(timeout_ms))


# --- the training run -------------------------------------------------------------------------------


class TrainingWorker(Worker):
    """Runs a :class:`~studio.app.training.Training` of ``request``; forwards every trainer event as ``event``.

    Returns (and finishes with) the RunFinished that ended the run.
    ``progress`` reports the dataset's load when the request brings no
    dataset. An error never escapes: it becomes a RunError event and a
    RunFinished of reason "error".
    """

    event = Signal(object)  # studio.core.events.Event

    def __init__(self, request: TrainRequest):
        super().__init__()
        self.request = request
        self.training = Training(request, on_event=self.event.emit, progress=self.progress.emit, samples_on_demand=True)

    # --- control, from any thread (the Training holds a request until its trainer exists) ----------
    def request_stop(self) -> None:
        self._stop.set()
        self.training.request_stop()

    cancel = request_stop

    def request_pause(self) -> None:
        self.training.request_pause()

    def request_resume(self) -> None:
        self.training.request_resume()

    def request_sample(self) -> bool:
        """A grid from the current G and EMA after the next step (a LiveSamples event)."""
        return self.training.request_sample()

    # --- the thread's work --------------------------------------------------
    def call(self) -> RunFinished:
        try:
            return self.training.run().finished
        except StudioError as exc:
            return self._fail(str(exc), "")
        except OSError as exc:
            name = f"{exc.filename}: " if exc.filename else ""
            return self._fail(f"{name}{exc.strerror or exc}", traceback.format_exc())
        except Exception as exc:  # noqa: BLE001 - a bug must not leave the thread running forever
            return self._fail(f"{type(exc).__name__}: {exc}", traceback.format_exc())

    def _fail(self, message: str, details: str) -> RunFinished:
        self.event.emit(RunError(message, details))
        result = RunFinished("error", 0, 0, message)
        self.event.emit(result)
        return result


# --- one job at a time behind a panel's progress bar --------------------------------------------------


class PanelJob(QObject):
    """One named background job at a time for a panel, shown on its progress bar and status line.

    ``start(name, text, fn, *args, done=..., **kwargs)`` runs ``fn`` in a
    :class:`Worker`; ``done(value)`` gets what it returned, the panel's
    ``errored(exc)`` what it raised (usually through :meth:`failure`), and
    ``ended(name)`` fires once the worker has finished either way.  The bar
    shows "busy" until a report with a fraction above 0 makes it a percentage;
    at the end it is full for a job that got there and empty for one cancelled
    or failed.  Every callback runs on the GUI thread.
    """

    ended = Signal(str)  # the job's name, when its call has ended

    def __init__(
        self,
        parent: QWidget,
        progress: QProgressBar,
        status: QLabel,
        log: Callable[[str], None],
        errored: Callable[[BaseException], None],
    ):
        super().__init__(parent)
        self._bar, self._status, self._log, self._errored = progress, status, log, errored
        self.name = ""
        self.worker: Worker | None = None
        self.qthread: QThread | None = None  # not "thread": that is QObject.thread()
        self.failed = False
        self._cancelled = False
        self._done: Callable[[Any], None] = lambda value: None

    @property
    def busy(self) -> bool:
        return self.worker is not None

    @property
    def cancelled(self) -> bool:
        """Whether Cancel was pressed during the current (or the last) job."""
        return self._cancelled

    def start(
        self, name: str, text: str, fn: Callable[..., Any], *args: Any, done: Callable[[Any], None], **kwargs: Any
    ) -> bool:
        """Run ``fn(*args, **kwargs)`` in the background under ``name``, saying ``text``; False when one runs."""
        if self.busy:
            return False
        self.name, self.failed, self._cancelled, self._done = name, False, False, done
        worker = Worker(fn, *args, **kwargs)
        worker.progress.connect(self._on_progress)
        worker.returned.connect(self._on_returned)
        worker.errored.connect(self._on_errored)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self._bar.setRange(0, 0)
        self._status.setText(text)
        self.qthread = worker.start()
        return True

    def cancel(self) -> bool:
        """Ask the job to stop at its next check; False when nothing runs."""
        if not self._stop():
            return False
        self._status.setText("Cancelling…")
        return True

    def wait(self, timeout_ms: int | None = None) -> bool:
        """Block until the job's thread has ended (for scripts and closing)."""
        return join_thread(self.qthread, timeout_ms)

    def shutdown(self) -> None:
        """Stop the job (what it was doing counts as cancelled) and wait for its thread."""
        self._stop()
        self.wait()

    def _stop(self) -> bool:
        if self.worker is None:
            return False
        self._cancelled = True
        self.worker.cancel()
        return True

    def failure(self, exc: BaseException, what: str, log: str) -> tuple[str, str] | None:
        """None after reporting a cancel as '<what> cancelled'; else the error's text and details."""
        if isinstance(exc, JobCancelled) or self._cancelled:
            self._status.setText(f"{what} cancelled")
            self._log(f"{log} cancelled")
            return None
        return error_text(exc)

    @Slot(str, float)
    def _on_progress(self, text: str, fraction: float) -> None:
        self._status.setText(text)
        if fraction > 0:
            self._bar.setRange(0, 100)
            self._bar.setValue(round(100 * min(1.0, fraction)))

    @Slot(object)
    def _on_returned(self, value: Any) -> None:
        self._done(value)

    @Slot(object)
    def _on_errored(self, exc: BaseException) -> None:
        self.failed = True
        self._errored(exc)

    @Slot(object)
    def _on_finished(self, _value: Any) -> None:
        self.worker = None
        self._bar.setRange(0, 100)
        self._bar.setValue(0 if self._cancelled or self.failed else 100)
        self.ended.emit(self.name)


class PanelJobHost:
    """Busy, cancel, wait and shutdown of a panel whose one background job is the :class:`PanelJob` ``self._jobs``."""

    _jobs: PanelJob

    @property
    def busy(self) -> bool:
        return self._jobs.busy

    @property
    def _job(self) -> str:
        """The name of the running (or last) job (the lab: 'average', 'compare' or 'export';
        the evaluation panel: 'evaluate', 'auto' or 'judge')."""
        return self._jobs.name

    def cancel(self) -> None:
        """Stop the job at its next check; nothing half-made is saved."""
        self._jobs.cancel()

    def wait(self, timeout_ms: int | None = None) -> bool:
        """Block until the background job's thread has ended (for scripts and closing)."""
        return self._jobs.wait(timeout_ms)

    def shutdown(self) -> None:
        self._jobs.shutdown()

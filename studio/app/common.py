"""What every operation of the application layer shares: progress and stop callables, refusals.

An operation takes ``progress(text, fraction)`` (fraction in [0, 1]) and
``should_stop()``; both may be None. A stop asked for mid-way raises
:class:`Cancelled`, a :class:`~studio.errors.StudioError`, after anything
half-made has been left out. Nothing here imports torch or Qt.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from studio.errors import Cancelled, StudioError

__all__ = [
    "MAX_SEED",
    "Progress",
    "ShouldStop",
    "Log",
    "Cancelled",
    "OutputExists",
    "report",
    "check_stop",
    "scaled",
]

MAX_SEED = 2**31 - 1  # the largest seed an operation accepts (the settings' own bound)

Progress = Callable[[str, float], None]
ShouldStop = Callable[[], bool]
Log = Callable[[str], None]


class OutputExists(StudioError):
    """The file an operation would write exists, and replacing it was not asked for."""

    def __init__(self, path: str | Path, message: str):
        super().__init__(message)
        self.path = Path(path)


def report(progress: Progress | None) -> Progress:
    """``progress``, or a callable that does nothing."""
    return progress if progress is not None else (lambda text, fraction: None)


def check_stop(should_stop: ShouldStop | None, what: str) -> None:
    """Raise :class:`Cancelled` ('<what> cancelled') when a stop was asked for."""
    if should_stop is not None and should_stop():
        raise Cancelled(f"{what} cancelled")


def scaled(progress: Progress | None, start: float, span: float) -> Progress:
    """``progress`` with fractions mapped into [start, start + span]: one step of a longer operation."""
    out = report(progress)
    return lambda text, fraction: out(text, start + span * fraction)

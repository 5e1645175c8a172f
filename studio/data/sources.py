"""What the real-data sources share: spec options and the on-disk cache.

A source spec is ``KIND:PATH`` with optional settings after a question mark,
``KIND:PATH?key=value&key=a,b,c``; list values are comma-separated.  The
decoded images of a source are cached as one uint8 tensor keyed by the spec's
settings and the size and modification time of the files read, so a second
load reads one file and a changed file is decoded again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import torch

from studio.core.atomic import atomic_torch_save
from studio.errors import DatasetError

__all__ = [
    "split_options",
    "join_options",
    "option_flag",
    "option_list",
    "check_options",
    "file_stamp",
    "cached_tensors",
    "CACHE_VERSION",
]

# Bump when decoding changes, so stale caches are not reused.
CACHE_VERSION = 1

_QUERY = re.compile(r"^[A-Za-z_][\w.-]*=[^&]*(?:&[A-Za-z_][\w.-]*=[^&]*)*$")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def split_options(value: str) -> tuple[str, dict[str, str]]:
    """``'/data?split=test&download=1'`` -> ``('/data', {'split': 'test', 'download': '1'})``.

    Only a tail of ``key=value`` pairs counts as options, so a path that merely
    contains a question mark stays whole.
    """
    path, sep, query = value.rpartition("?")
    if not sep or not _QUERY.match(query):
        return value, {}
    options: dict[str, str] = {}
    for pair in query.split("&"):
        key, _, item = pair.partition("=")
        options[key] = item.strip()
    return path, options


def join_options(path: str, options: dict[str, str]) -> str:
    """The inverse of :func:`split_options`; empty values are left out."""
    query = "&".join(f"{k}={v}" for k, v in options.items() if v != "")
    return f"{path}?{query}" if query else path


def check_options(spec: str, options: dict[str, str], allowed: Iterable[str]) -> None:
    allowed = list(allowed)
    unknown = [k for k in options if k not in allowed]
    if unknown:
        takes = ", ".join(allowed) if allowed else "no options"
        raise DatasetError(f"dataset {spec!r}: unknown option '{unknown[0]}'; this source takes {takes}")


def option_flag(spec: str, options: dict[str, str], key: str) -> bool:
    text = options.get(key, "").lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise DatasetError(f"dataset {spec!r}: {key}={options[key]!r} is not a yes/no value; write {key}=1")


def option_list(options: dict[str, str], key: str) -> list[str] | None:
    if key not in options:
        return None
    return [part.strip() for part in options[key].split(",") if part.strip()]


def file_stamp(paths: Iterable[str | Path]) -> list[tuple[str, int, int]]:
    """(path, size, mtime) of each path: what the cache key holds of the source files."""
    out = []
    for path in paths:
        try:
            st = os.stat(path)
            out.append((str(path), int(st.st_size), int(st.st_mtime_ns)))
        except OSError:  # gone since it was listed: reading it will say so
            out.append((str(path), -1, -1))
    return out


def cached_tensors(
    name: str,
    key: dict,
    build: Callable[[], dict[str, torch.Tensor]],
    on_cached: Callable[[], None] | None = None,
) -> dict:
    """``build()`` once per ``key``; afterwards the tensors come from the cache folder.

    ``key`` is plain data (settings, file stamps); ``name`` is a readable
    prefix of the cache file.  A damaged or unwritable cache only costs
    decoding again.
    """
    from studio.data.dataset import cache_dir

    digest = hashlib.sha256(json.dumps({**key, "version": CACHE_VERSION}, sort_keys=True).encode()).hexdigest()
    path = cache_dir() / f"{name}-{digest[:20]}.pt"
    if path.is_file():
        try:
            tensors = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            if on_cached is not None:
                on_cached()
            return tensors
        except Exception:  # noqa: BLE001 -- a damaged cache is only a cache
            pass
    tensors = build()
    try:
        atomic_torch_save(tensors, path)
    except OSError:
        pass  # a read-only cache folder only costs decoding again next time
    return tensors

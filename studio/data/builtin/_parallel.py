"""Split a per-image generator over worker processes.

Every built-in generator draws image ``i`` from its own RNG seeded with
``(seed, i)``, so a chunk of indices can be produced anywhere and the result is
identical whatever the number of workers or the chunk boundaries.  This module
only schedules chunks and stitches their arrays back together.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["run_chunked", "resolve_workers", "SERIAL_BELOW"]

# Below this many images a pool costs more to start than it saves.
SERIAL_BELOW = 500

# Several chunks per worker keep both cores busy when chunks take uneven time.
_CHUNKS_PER_WORKER = 4

ChunkFn = Callable[..., tuple[np.ndarray, ...]]


def resolve_workers(workers: int | None) -> int:
    """Number of processes to use: ``None`` means one per CPU core."""
    if workers is None:
        return max(1, os.cpu_count() or 1)
    return max(1, int(workers))


def _chunk_bounds(n: int, parts: int) -> list[tuple[int, int]]:
    edges = np.linspace(0, n, parts + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def _context() -> multiprocessing.context.BaseContext:
    # Forking is fastest, but forking a process that runs other threads (the
    # GUI, a training thread) can copy a lock held by one of them into the
    # child; spawn is slower to start yet always safe.
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _concat(parts: Sequence[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    return tuple(np.concatenate(column, axis=0) for column in zip(*parts))


def run_chunked(
    fn: ChunkFn,
    n: int,
    seed: int,
    workers: int | None,
    extra: tuple = (),
) -> tuple[np.ndarray, ...]:
    """Call ``fn(seed, start, stop, *extra)`` over ``range(n)`` and join results.

    ``fn`` must be a module-level function (it is pickled by reference) that
    returns a tuple of arrays whose first axis has ``stop - start`` entries.
    """
    n = int(n)
    if n < 0:
        raise ValueError(f"number of images must be >= 0, got {n}")
    count = resolve_workers(workers)
    if count == 1 or n < max(SERIAL_BELOW, 1) or n < 2:
        return fn(seed, 0, n, *extra)

    count = min(count, n)
    jobs = [(seed, a, b, *extra) for a, b in _chunk_bounds(n, count * _CHUNKS_PER_WORKER)]
    try:
        with _context().Pool(count) as pool:
            parts = pool.starmap(fn, jobs, chunksize=1)
    except (OSError, PermissionError, ImportError):
        # Sandboxes without /dev/shm or process rights: do it here instead.
        return fn(seed, 0, n, *extra)
    return _concat(parts)

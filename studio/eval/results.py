"""Evaluation results of a run: one row per (generator, metric), kept in the run directory.

``evaluation/results.json`` holds every row ever written (append-only: rows
are added, never changed or dropped); ``evaluation/results.csv`` is the same
table for a spreadsheet. Both are rewritten atomically on each append, so a
crash never leaves half a file, and a damaged file is reported, never replaced.
An append holds ``evaluation/results.lock`` while it reads and rewrites, so the
window and a command-line evaluation of the same run never drop each other's rows.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from studio.core.atomic import atomic_write_json, atomic_write_text
from studio.errors import StudioError

__all__ = ["COLUMNS", "results_path", "load_results", "append_results", "make_row"]

COLUMNS = ("time", "generator", "checkpoint", "which", "epoch", "metric", "value", "feature_space",
           "comparable", "n", "judge", "judge_id", "conditions")


def results_path(run_path: str | Path) -> Path:
    return Path(run_path) / "evaluation" / "results.json"


def load_results(run_path: str | Path) -> list[dict]:
    """Every row stored for the run (oldest first); [] when it was never evaluated."""
    path = results_path(run_path)
    if not path.is_file():
        return []
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StudioError(f"{path}: damaged evaluation results ({exc}); it was left as it is") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise StudioError(f"{path}: damaged evaluation results (not a list of rows); it was left as it is")
    return rows


def make_row(generator: str, checkpoint: str, which: str, epoch: int | None, metric: str, value: float,
             n: int, feature_space: str = "", comparable: str = "", judge: str = "", judge_id: str = "",
             conditions: str = "", when: float | None = None) -> dict:
    """One result: ``which`` is 'g', 'ema', 'average' or 'real' (the judge on real images)."""
    return {"time": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when)), "generator": generator,
            "checkpoint": checkpoint, "which": which, "epoch": epoch, "metric": metric, "value": float(value),
            "feature_space": feature_space, "comparable": comparable, "n": int(n), "judge": judge,
            "judge_id": judge_id, "conditions": conditions}


# A lock older than this was left by a writer that died: an append takes milliseconds.
_STALE_LOCK_S = 60.0


@contextmanager
def _results_lock(path: Path, timeout: float = 30.0) -> Iterator[None]:
    """Hold ``results.lock`` beside ``path`` (made with O_EXCL, so one process at a time)."""
    lock = path.with_suffix(".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            try:
                if time.time() - lock.stat().st_mtime > _STALE_LOCK_S:
                    lock.unlink(missing_ok=True)
                    continue
            except FileNotFoundError:
                continue
            if time.monotonic() > deadline:
                raise StudioError(f"{lock}: another evaluation has been writing this run's results for "
                                  f"{timeout:.0f} s; try again (delete the file if no evaluation is running)") from None
            time.sleep(0.02)
    try:
        yield
    finally:
        os.close(fd)
        lock.unlink(missing_ok=True)


def append_results(run_path: str | Path, rows: list[dict]) -> Path:
    """Add rows to the run's results; earlier rows, and rows another process adds meanwhile, are kept."""
    path = results_path(run_path)
    with _results_lock(path):
        rows = load_results(run_path) + list(rows)
        atomic_write_json(path, rows)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(path.with_suffix(".csv"), buffer.getvalue())
    return path

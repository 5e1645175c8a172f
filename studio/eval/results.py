"""Evaluation results of a run: one row per (generator, metric), kept in the run directory.

``evaluation/results.json`` holds every row ever written (append-only: rows
are added, never changed or dropped); ``evaluation/results.csv`` is the same
table for a spreadsheet. A value that came out NaN or infinite is stored as
null (an empty cell in the CSV), so any JSON reader takes the file. Both are
rewritten atomically on each append, so a crash never leaves half a file, and
a damaged file is reported, never replaced.
An append holds an OS lock on ``evaluation/results.lock`` while it reads and
rewrites, so the window and a command-line evaluation of the same run never
drop each other's rows.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

from filelock import FileLock, Timeout

from studio.core import jsonio
from studio.core.atomic import atomic_write_json, atomic_write_text
from studio.errors import StudioError

__all__ = ["COLUMNS", "results_path", "load_results", "append_results", "make_row"]

COLUMNS = (
    "time",
    "generator",
    "checkpoint",
    "which",
    "epoch",
    "metric",
    "value",
    "feature_space",
    "comparable",
    "n",
    "n_real",
    "judge",
    "judge_id",
    "conditions",
)


def results_path(run_path: str | Path) -> Path:
    return Path(run_path) / "evaluation" / "results.json"


def load_results(run_path: str | Path) -> list[dict]:
    """Every row stored for the run (oldest first); [] when it was never evaluated."""
    path = results_path(run_path)
    if not path.is_file():
        return []
    try:
        rows = jsonio.read_json(path, StudioError, "evaluation results")
    except StudioError as exc:
        raise StudioError(f"{exc}; it was left as it is") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise StudioError(f"{path}: damaged evaluation results (not a list of rows); it was left as it is")
    return rows


def make_row(
    generator: str,
    checkpoint: str,
    which: str,
    epoch: int | None,
    metric: str,
    value: float,
    n: int,
    feature_space: str = "",
    comparable: str = "",
    judge: str = "",
    judge_id: str = "",
    conditions: str = "",
    when: float | None = None,
    n_real: int | None = None,
) -> dict:
    """One result: ``which`` is 'g', 'ema', 'average' or 'real' (the judge on real images).

    ``n`` counts the generated (or, for 'real', the real) images a figure was
    measured on; ``n_real`` the real images it compared them with, where it did.
    """
    return {
        "time": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when)),
        "generator": generator,
        "checkpoint": checkpoint,
        "which": which,
        "epoch": epoch,
        "metric": metric,
        "value": float(value),
        "feature_space": feature_space,
        "comparable": comparable,
        "n": int(n),
        "n_real": int(n_real) if n_real is not None else None,
        "judge": judge,
        "judge_id": judge_id,
        "conditions": conditions,
    }


def append_results(run_path: str | Path, rows: list[dict]) -> Path:
    """Add rows to the run's results; earlier rows, and rows another process adds meanwhile, are kept."""
    path = results_path(run_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # An OS lock (filelock): the system releases it if the writer dies, so it never goes stale.
    lock = FileLock(path.with_suffix(".lock"))
    try:
        lock.acquire(timeout=30)
    except Timeout:
        raise StudioError(
            f"{path}: another evaluation has been writing this run's results for 30 s; try again"
        ) from None
    try:
        # Strict JSON: a figure that came out NaN or infinite (a KID of too few images) is stored as null.
        rows = jsonio.finite_or_none(load_results(run_path) + list(rows))
        atomic_write_json(path, rows)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(path.with_suffix(".csv"), buffer.getvalue())
    finally:
        lock.release()
    return path

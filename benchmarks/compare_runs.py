"""What comparing runs costs: ``python benchmarks/compare_runs.py [--rows N] [--runs K]``.

Writes K synthetic run folders whose metrics.jsonl hold N step reports each
(plus an epoch row every 100 steps, a resume and evaluation results), then
times :func:`studio.app.run_compare.load_curves` on every x axis, one
:func:`studio.app.run_compare.run_row` (a runs table line) and the config diff.
Nothing is trained; the figures are file reading and array building.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.app import run_compare
from studio.core.config import TrainConfig
from studio.core.rundir import RunDirectory
from studio.eval.results import append_results, make_row


def make_run(root: Path, name: str, rows: int, d_lr: float) -> RunDirectory:
    config = TrainConfig(d_lr=d_lr, epochs=max(1, rows // 100))
    run = RunDirectory.create(root, config, run_id=name)
    rng = random.Random(name)
    lines, now = [], 1.7e9
    for step in range(1, rows + 1):
        epoch = (step - 1) // 100 + 1
        now += 0.05
        row = {"kind": "step", "epoch": epoch, "step": step, "images_per_second": 1200.0, "time": now}
        row.update({k: rng.random() for k in ("d_loss", "g_loss", "d_x", "d_g_z1", "d_g_z2", "aux_acc_real")})
        row.update(aux_acc_fake=rng.random(), g_lr=2e-4, d_lr=d_lr)
        lines.append(json.dumps(row))
        if step % 100 == 0:
            lines.append(json.dumps({"kind": "epoch", "epoch": epoch, "step": step, "images_per_second": 1200.0}))
        if step == rows // 2:
            lines.append(json.dumps({"kind": "resume", "epoch": epoch, "step": step, "at": "now"}))
    run.metrics_path.write_text("\n".join(lines) + "\n")
    append_results(run.path, [make_row("epoch 1", "x.pt", "g", 1, "cond_acc", 0.5, 1000)])
    return run


def timed(what: str, fn, reps: int = 3) -> None:
    best = float("inf")
    for _ in range(reps):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    print(f"{what:48s} {best * 1000:9.1f} ms (best of {reps})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="step reports per run (default 100,000)")
    parser.add_argument("--runs", type=int, default=2, help="runs compared (default 2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        runs = [make_run(root, f"run-{i}", args.rows, 2e-4 * (i + 1)) for i in range(args.runs)]
        size = runs[0].metrics_path.stat().st_size
        print(f"{args.runs} runs x {args.rows:,} step reports ({size / 1e6:.1f} MB of metrics.jsonl each)")
        for axis in run_compare.X_AXES:
            timed(f"load_curves, x axis {axis}", lambda axis=axis: run_compare.load_curves(runs, axis))
        timed("run_row (one runs-table line)", lambda: run_compare.run_row(runs[0]))
        configs = [r.read_config() for r in runs]
        timed("config_diff", lambda: run_compare.config_diff(configs))


if __name__ == "__main__":
    main()

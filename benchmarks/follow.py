"""What following a run costs: ``python benchmarks/follow.py [--rows N] [--reps N]``.

The trainer's side: one status.json write (atomic, fsynced), as done at most
twice a second. The follower's side: a poll when nothing changed (what the
window's timer does between reports), a poll that reads N new metrics rows,
and a poll that reads a new 12 x 10 grid of 32 px images from its PNG.
Figures are medians over ``--reps`` repetitions, in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PIL import Image

from studio.app.follow import RunFollower
from studio.core.config import TrainConfig
from studio.core.rundir import RunDirectory

STARTED = dict(
    device="cpu",
    precision="float32",
    start_epoch=0,
    start_step=0,
    epochs=100,
    steps_per_epoch=1_000_000,
    batch_size=64,
    g_parameters=1,
    d_parameters=1,
    has_aux=True,
)


def _median_ms(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100, help="new metrics rows per poll (default 100)")
    parser.add_argument("--reps", type=int, default=50, help="repetitions (default 50)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        run = RunDirectory.create(folder, TrainConfig(dataset="builtin:faces", image_size=32))
        lock = run.lock()  # as a training process holds it (the follower probes it at each poll)
        status = dict(state="running", pid=1, host=socket.gethostname(), since=1.0, updated_at=time.time())
        status.update(started=STARTED, grid={"rows": 12, "cols": 10, "row_captions": [], "col_captions": []})
        write = _median_ms(lambda: run.write_status(status), args.reps)
        follower = RunFollower(run)
        follower.poll()
        idle = _median_ms(follower.poll, args.reps)

        step = [0]
        figures = {"d_loss": 1.0, "g_loss": 2.0, "d_x": 0.5, "d_g_z1": 0.4, "d_g_z2": 0.3, "g_lr": 2e-4, "d_lr": 2e-4}

        def rows_then_poll() -> None:
            lines = []
            for _ in range(args.rows):
                step[0] += 1
                lines.append(json.dumps({"kind": "step", "epoch": 1, "step": step[0], **figures}))
            with open(run.metrics_path, "a", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
            t = time.perf_counter()
            assert len(follower.poll()) == args.rows
            timings.append(time.perf_counter() - t)

        timings: list[float] = []
        for _ in range(args.reps):
            rows_then_poll()
        rows_ms = 1000 * statistics.median(timings)

        grid = np.random.default_rng(0).integers(0, 256, (12 * 34 + 2, 10 * 34 + 2, 3), dtype=np.uint8)
        timings = []
        for epoch in range(1, args.reps + 1):
            Image.fromarray(grid).save(run.sample_path(epoch))
            with open(run.metrics_path, "a", encoding="utf-8") as f:
                f.write(json.dumps({"kind": "epoch", "epoch": epoch, "step": step[0], "seconds": 1.0}) + "\n")
            t = time.perf_counter()
            follower.poll()
            timings.append(time.perf_counter() - t)
        grid_ms = 1000 * statistics.median(timings)
        lock.release()

    print(f"status.json write (atomic, fsync)      {write:8.3f} ms")
    print(f"poll, nothing new                      {idle:8.3f} ms")
    print(f"poll, {args.rows:4d} new metrics rows          {rows_ms:8.3f} ms")
    print(f"poll, a new 12 x 10 grid of 32 px       {grid_ms:8.3f} ms")


if __name__ == "__main__":
    main()

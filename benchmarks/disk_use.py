"""What a preset's run writes to disk: measured file sizes, projected to a full-length run.

    python benchmarks/disk_use.py [--preset acgan-digits] [--epochs 3] [--full-epochs 100] [--device cpu]

Trains the preset on its own dataset for ``--epochs`` epochs into a temporary
project (default keep_checkpoints), then measures every file the run wrote:
one full checkpoint, one generator snapshot, the sample grids and the
metrics rows per epoch. From those sizes it projects a run of
``--full-epochs`` epochs two ways:

* now:  every epoch a snapshot + grid + metrics, and the last K full checkpoints;
* before: every epoch a full checkpoint + grid + metrics (no snapshots).

It also prints the studio's own projection (made by building the models, what
``disk_budget_gb`` is checked against) beside the measured figure.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="acgan-digits")
    parser.add_argument("--epochs", type=int, default=3, help="epochs to train and measure")
    parser.add_argument("--full-epochs", type=int, default=100, help="length of the run to project to")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--keep", type=int, default=None, help="keep_checkpoints (default: the setting's default)")
    parser.add_argument("--dir", help="project folder to use (default: a temporary one, removed afterwards)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: a shared machine)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)

    from studio.app.retention import projected_disk_use
    from studio.app.training import Training, new_project, new_run_request
    from studio.core.diskuse import human_bytes, run_disk_use

    tmp = None
    if args.dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="disk_use_")
        folder = Path(tmp.name) / "project"
    else:
        folder = Path(args.dir)
    changes = {"epochs": args.epochs, "device": args.device}
    if args.keep is not None:
        changes["keep_checkpoints"] = args.keep
    project = new_project(folder, args.preset, changes=changes)
    started = time.perf_counter()
    outcome = Training(new_run_request(project)).run()
    seconds = time.perf_counter() - started
    if outcome.finished.reason != "completed":
        print(f"run ended: {outcome.finished.reason} {outcome.finished.message}", file=sys.stderr)
        return 1
    run = outcome.run
    config = run.read_config()
    full = [c.path.stat().st_size for c in run.checkpoints()]
    snaps = [c.path.stat().st_size for c in run.snapshots()]
    grids = [p.stat().st_size for _, p in run.samples()]
    metrics = run.metrics_path.stat().st_size
    disk = run_disk_use(run)
    other = disk["other"] - metrics  # config.json and the like: once per run
    k = config.keep_checkpoints
    n = args.full_epochs

    per_epoch_now = statistics.mean(snaps) + statistics.mean(grids) + metrics / args.epochs
    per_epoch_before = statistics.mean(full) + statistics.mean(grids) + metrics / args.epochs
    kept = n if k == 0 else min(k, n)
    now = n * per_epoch_now + kept * statistics.mean(full) + other
    before = n * per_epoch_before + other
    projection = projected_disk_use(config.replace(epochs=n))

    print(
        f"{args.preset} on {config.dataset}: {args.epochs} epochs on {args.device} in {seconds:.0f} s, run {run.path}"
    )
    print(f"  measured on disk: {human_bytes(disk['total'])} ({disk})")
    print(f"  full checkpoint {human_bytes(statistics.mean(full))} x {len(full)} kept (keep_checkpoints {k})")
    print(f"  snapshot        {human_bytes(statistics.mean(snaps))} x {len(snaps)}")
    print(f"  sample grid     {human_bytes(statistics.mean(grids))} per epoch (mean of {len(grids)})")
    print(f"  metrics.jsonl   {human_bytes(metrics / args.epochs)} per epoch; other files {human_bytes(other)}")
    print(f"projected {n}-epoch run, from the measured sizes:")
    print(f"  now (snapshot per epoch, last {k} full checkpoints): {human_bytes(now)}  [{now / 1e9:.3f} GB]")
    print(f"  before (full checkpoint per epoch):                 {human_bytes(before)}  [{before / 1e9:.3f} GB]")
    print(f"  saved: {human_bytes(before - now)} ({100 * (1 - now / before):.0f}%)")
    print(f"  the studio's projection (disk_budget_gb check): {projection.describe()}")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""ACGAN's softmax classifier against ReACGAN's D2D-CE on one preset, same seed and budget.

    python benchmarks/d2dce_compare.py --epochs 6 --dataset-size 4000 [--preset acgan-digits] [--seeds 0 1]
        [--set aux_weight=1]   # extra settings for the d2d-ce runs only

For each seed: two projects from the preset (``aux_loss`` ce and d2d-ce, a
fixed number of epochs, EMA on), trained and evaluated through the
command-line studio (``evaluate RUN --metrics cond_acc,fid`` with the
dataset's judge: its last checkpoint and its EMA).  Prints the training
time and one table per run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from preset_quality import ROOT, studio, table

sys.path.insert(0, str(ROOT))

from studio.eval.results import load_results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="acgan-digits")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--dataset-size", type=int, default=4000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--n", type=int, default=2000, help="images per generator (default 2000)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="d2d-ce runs only")
    parser.add_argument("--losses", nargs="+", default=["ce", "d2d-ce"], choices=["ce", "d2d-ce"])
    parser.add_argument("--work", type=Path, help="where the projects go (default: a temporary folder)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="gan-studio-d2dce-"))
    for seed in args.seeds:
        for aux_loss in args.losses:
            tag = "-".join([aux_loss, *(args.set if aux_loss == "d2d-ce" else [])]).replace("=", "")
            project = (work / f"{tag}-seed{seed}").resolve()
            changes = [f"aux_loss={aux_loss}", f"epochs={args.epochs}", f"dataset_size={args.dataset_size}"]
            changes += [f"seed={seed}", "ema=true", "collapse_alarm=false"]
            changes += args.set if aux_loss == "d2d-ce" else []
            studio("new", str(project), "--preset", args.preset, *[a for c in changes for a in ("--set", c)])
            started = time.perf_counter()
            out = studio("train", str(project), "--quiet", "--device", args.device)
            seconds = time.perf_counter() - started
            (run,) = sorted((project / "runs").iterdir())
            studio("evaluate", str(run), "--metrics", "cond_acc,fid", "--n", str(args.n), "--quiet")
            epochs = [line for line in out.splitlines() if line.startswith("epoch ")]
            print(f"== {aux_loss}, seed {seed}: {', '.join(changes)}; trained in {seconds:.0f} s; run {run}")
            if epochs:
                print("   " + epochs[-1])
            print(table(load_results(run)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

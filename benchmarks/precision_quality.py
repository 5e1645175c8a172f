"""Does bfloat16 training cost sample quality? ``python benchmarks/precision_quality.py --minutes 2.5``.

Trains one preset (``acgan-digits`` unless ``--preset``) in float32 and in
bfloat16, alternately for each seed (float32 then bfloat16, so a change in
the machine's load hits both), for the same wall-clock time (``--minutes``)
or the same number of epochs (``--epochs``), EMA on. Each run's last
checkpoint and its EMA are then scored with the dataset's judge: conditional
accuracy and FID in the judge's features (N images each), as ``python -m
studio evaluate RUN --metrics cond_acc,fid`` does. Prints one row per run
(epochs reached, seconds, figures) and the mean of each precision.

Equal time is the comparison that matters to a user (bfloat16 takes more
steps in it); equal epochs isolates what the precision does to each step.
On a shared machine, where ``--minutes`` would hand either side the other
programs' load, ``--epochs N --bf16-ratio R`` gives bfloat16 R times the
epochs instead: equal time at a speed ratio R measured on a quiet machine.
Everything runs through the command-line studio, in subprocesses; runs go to
``--work`` (a temporary folder unless given).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from preset_quality import studio  # noqa: E402  (the same one-command runner)

from studio.eval.results import load_results  # noqa: E402

PRECISIONS = ("float32", "bfloat16")


def figures(run: Path) -> dict[str, float]:
    """{'g cond_acc': ..., 'g fid': ..., 'ema cond_acc': ..., 'ema fid': ...} from the run's stored results."""
    out = {}
    for row in load_results(run):
        if row["which"] in ("g", "ema") and row["metric"] in ("cond_acc", "fid"):
            out[f"{row['which']} {row['metric']}"] = row["value"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="acgan-digits")
    budget = parser.add_mutually_exclusive_group(required=True)
    budget.add_argument("--minutes", type=float, help="train each run this long (equal time)")
    budget.add_argument("--epochs", type=int, help="train each run this many epochs (equal steps)")
    parser.add_argument(
        "--bf16-ratio", type=float, default=1.0, help="with --epochs: bfloat16 trains this many times the epochs"
    )
    parser.add_argument("--seeds", default="0,1", help="comma-separated seeds (default 0,1)")
    parser.add_argument("--n", type=int, default=2000, help="images per generator for the judge (default 2000)")
    parser.add_argument("--threads", type=int, default=0, help="cpu_threads of every run (0: the studio's default)")
    parser.add_argument("--work", type=Path, help="where the projects go (default: a temporary folder)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="gan-studio-precision-"))
    budget = f"{args.minutes:g} min" if args.minutes else f"{args.epochs} epochs"
    if args.epochs and args.bf16_ratio != 1.0:
        budget += f" ({round(args.epochs * args.bf16_ratio)} in bfloat16)"
    print(f"preset {args.preset}, {budget} per run, EMA on, cpu_threads {args.threads}; runs in {work}")
    print(f"precision  seed  epochs  seconds  cond_acc last / EMA  FID last / EMA (judge features, N {args.n})")
    results: dict[str, list[dict[str, float]]] = {p: [] for p in PRECISIONS}
    for seed in [int(s) for s in args.seeds.split(",")]:
        for precision in PRECISIONS:
            project = work / f"{precision}-seed{seed}"
            epochs_here = args.epochs and round(args.epochs * (args.bf16_ratio if precision == "bfloat16" else 1.0))
            studio(
                "new",
                str(project),
                "--preset",
                args.preset,
                *("--set", f"precision={precision}", "--set", f"seed={seed}", "--set", "ema=true"),
                *("--set", f"cpu_threads={args.threads}", "--set", f"epochs={epochs_here or 100000}"),
            )
            limit = ["--minutes", f"{args.minutes:g}"] if args.minutes else []
            started = time.perf_counter()
            out = studio("train", str(project), "--quiet", *limit)
            seconds = time.perf_counter() - started
            epochs = len([line for line in out.splitlines() if line.startswith("epoch ")])
            (run,) = sorted((project / "runs").iterdir())
            studio("evaluate", str(run), "--metrics", "cond_acc,fid", "--n", str(args.n), "--quiet")
            got = figures(run)
            results[precision].append(got)
            print(
                f"{precision:9s}  {seed:4d}  {epochs:6d}  {seconds:7.0f}  "
                f"{got.get('g cond_acc', float('nan')):.3f} / {got.get('ema cond_acc', float('nan')):.3f}"
                f"        {got.get('g fid', float('nan')):6.1f} / {got.get('ema fid', float('nan')):6.1f}",
                flush=True,
            )
    for precision, rows in results.items():
        mean = {k: statistics.fmean(r[k] for r in rows if k in r) for k in rows[0]}
        print(
            f"mean {precision}: cond_acc {mean.get('g cond_acc', float('nan')):.3f} / "
            f"{mean.get('ema cond_acc', float('nan')):.3f}, FID {mean.get('g fid', float('nan')):.1f} / "
            f"{mean.get('ema fid', float('nan')):.1f} (last / EMA)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

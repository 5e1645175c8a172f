"""What a preset reaches in a fixed time: ``python benchmarks/preset_quality.py digits --minutes 20``.

For each chosen set this makes a project from its preset (EMA on, a
checkpoint every epoch), trains it for ``--minutes`` of wall-clock time with
``train --minutes``, averages the last ``--last`` epoch checkpoints (BatchNorm
re-estimated), and evaluates the run (its last checkpoint, the average and the
EMA) with its judge: conditional accuracy and FID in the judge's features, as
``python -m studio evaluate RUN --metrics cond_acc,fid`` does. It prints the
epochs reached and one table per set. Judges are trained on first use and
kept in the studio's cache; runs go to ``--work`` (a temporary folder unless
given). These are the commands the README's evaluation table comes from;
everything runs through the command-line studio, in subprocesses.

Sets: digits, faces, shapes (scored on i-CLEVR's test.json and new_test.json
from ``--data``), mnist, fashion, cifar10 (CIFAR-10's test images as a folder)
and anime (real data from ``--data``, by default ``../shared/data`` beside the
repository). ``--preset`` trains a set with another preset: ``anime --preset
acgan-anime-hair-eyes``.

``--epochs N`` trains a fixed budget (N epochs) instead of ``--minutes``.
``--best K`` has the run score itself every ``--score-every`` epochs and keep
its best generators (``score_every``, ``keep_best``), then adds the best one
and the average of the best K to the table. ``--inception N`` also scores the
generators in Inception features (FID, KID, precision, recall, density,
coverage with N generated images), the literature's measures.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from studio.core.monitor import best_index  # noqa: E402
from studio.core.rundir import BEST_DIR  # noqa: E402
from studio.eval.results import load_results  # noqa: E402

# name -> (preset, dataset override or None, extra evaluate arguments given the data folder)
SETS = {
    "digits": ("acgan-digits", None, lambda data: []),
    "shapes": (
        "acgan-shapes-cpu",
        None,
        lambda data: [
            "--conditions",
            str(data / "iclevr" / "test.json"),
            "--conditions",
            str(data / "iclevr" / "new_test.json"),
        ],
    ),
    "faces": ("acgan-hair-eyes", None, lambda data: []),
    "mnist": ("acgan-mnist", lambda data: f"mnist:{data}", lambda data: []),
    "fashion": ("acgan-fashion-mnist", lambda data: f"fashion-mnist:{data}", lambda data: []),
    "cifar10": ("acgan-cifar10-real", lambda data: f"folder:{data / 'cifar10-test'}", lambda data: []),
    "anime": ("cgan-anime-hair-eyes", lambda data: f"table:{data / 'anime-faces' / 'tags.csv'}", lambda data: []),
}


def studio(*args: str) -> str:
    """Run one command of the command-line studio; its output, or exit with it on failure."""
    done = subprocess.run([sys.executable, "-m", "studio", *args], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"python -m studio {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done.stdout


def table(rows: list[dict]) -> str:
    """One line per generator, one column per metric (and condition file); per-class figures left out."""
    columns: list[str] = []
    cells: dict[str, dict[str, float]] = {}
    for row in rows:
        if ":" in row["metric"]:  # per-class figures: python -m studio evaluate --per-class shows them
            continue
        conditions = str(row.get("conditions") or "")
        # Scored on a conditions file: "test.json x 63" (the file, repeated to N images).
        source = conditions.split(" x ")[0]
        metric = row["metric"] + (f" [{Path(source).name}]" if source.endswith(".json") else "")
        if str(row.get("feature_space") or "").startswith("inception"):
            metric += " [inc]"
        if metric not in columns:
            columns.append(metric)
        cells.setdefault(row["generator"], {})[metric] = row["value"]
    width = max(len(g) for g in cells) + 2
    lines = ["generator".ljust(width) + "  ".join(c.rjust(12) for c in columns)]
    for generator, values in cells.items():
        lines.append(
            generator.ljust(width) + "  ".join((f"{values[c]:.4g}" if c in values else "-").rjust(12) for c in columns)
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", choices=sorted(SETS))
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=float, default=20.0, help="training time of each set (default 20)")
    budget.add_argument("--epochs", type=int, help="train this many epochs instead of a time budget")
    parser.add_argument("--last", type=int, default=5, help="epoch checkpoints to average (default 5)")
    parser.add_argument("--n", type=int, default=2000, help="images per generator (default 2000)")
    parser.add_argument(
        "--data",
        type=Path,
        default=ROOT.parent / "shared" / "data",
        help="folder with MNIST/, anime-faces/ and iclevr/ (default ../shared/data)",
    )
    parser.add_argument("--work", type=Path, help="where the projects go (default: a temporary folder)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--best", type=int, default=0, help="keep the best K generators by the run's own score")
    parser.add_argument("--score-every", type=int, default=2, help="epochs between the run's scores (with --best)")
    parser.add_argument("--best-by", default="cond_acc", choices=("cond_acc", "fid"), help="score ranking the best")
    parser.add_argument(
        "--inception", type=int, default=0, metavar="N", help="also score in Inception features, N generated images"
    )
    parser.add_argument(
        "--preset",
        help="train every set named with this preset instead of its own (e.g. anime --preset acgan-anime-hair-eyes)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a preset setting, as 'new --set' does (repeatable)",
    )
    args = parser.parse_args()
    data = args.data.resolve()
    work = args.work or Path(tempfile.mkdtemp(prefix="gan-studio-quality-"))
    for name in args.sets:
        preset, dataset, extra = SETS[name]
        preset = args.preset or preset
        project = (work / name).resolve()
        setup = [
            "new",
            str(project),
            "--preset",
            preset,
            "--set",
            f"epochs={args.epochs or 100000}",
            "--set",
            "checkpoint_every=1",
            "--set",
            "ema=true",
        ]
        if dataset is not None:
            setup += ["--dataset", dataset(data)]
        if args.best:
            setup += ["--set", f"score_every={args.score_every}", "--set", f"keep_best={args.best}"]
            setup += ["--set", f"best_by={args.best_by}"]
        for change in args.set:
            setup += ["--set", change]
        studio(*setup)
        started = time.perf_counter()
        limit = [] if args.epochs else ["--minutes", f"{args.minutes:g}"]
        out = studio("train", str(project), "--quiet", *limit, "--device", args.device)
        seconds = time.perf_counter() - started
        alarms = [line for line in out.splitlines() if line.startswith("ALARM")]
        epochs = [line for line in out.splitlines() if line.startswith("epoch ")]
        (run,) = sorted((project / "runs").iterdir())
        if min(args.last, len(epochs)) >= 2:
            studio("average", str(run), "--last", str(min(args.last, len(epochs))))
        best = []
        kept = best_index(run / "checkpoints")["entries"] if args.best else []
        if len(kept) >= 2:
            studio("average", str(run), "--best", str(len(kept)))
        if kept:
            best = [str(run / "checkpoints" / BEST_DIR / kept[0]["file"])]
        for features, metrics, n in (("judge", "cond_acc,fid", args.n), ("inception", "fid,kid,prdc", args.inception)):
            if n:
                studio(
                    "evaluate",
                    str(run),
                    *best,
                    "--features",
                    features,
                    "--metrics",
                    metrics,
                    "--n",
                    str(n),
                    "--quiet",
                    "--device",
                    args.device,
                    *extra(data),
                )
        budget = f"{args.epochs} epochs" if args.epochs else f"{args.minutes:g} min"
        print(
            f"== {name}: preset {preset}, {budget} of training ({seconds:.0f} s with loading), "
            f"{len(epochs)} epochs; run {run}"
        )
        if epochs:
            print("   " + epochs[-1].split(" -> ")[0])
        print(f"   alarms: {len(alarms)}" + "".join(f"\n   {line}" for line in alarms))
        print(table(load_results(run)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

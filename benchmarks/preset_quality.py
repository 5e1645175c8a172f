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
from ``--data``), mnist and anime (real data from ``--data``, by default
``../shared/data`` beside the repository). ``--preset`` trains a set with
another preset: ``anime --preset acgan-anime-hair-eyes``.
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
    parser.add_argument("--minutes", type=float, default=20.0, help="training time of each set (default 20)")
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
            "epochs=100000",
            "--set",
            "checkpoint_every=1",
            "--set",
            "ema=true",
        ]
        if dataset is not None:
            setup += ["--dataset", dataset(data)]
        for change in args.set:
            setup += ["--set", change]
        studio(*setup)
        started = time.perf_counter()
        out = studio("train", str(project), "--quiet", "--minutes", f"{args.minutes:g}", "--device", args.device)
        seconds = time.perf_counter() - started
        epochs = [line for line in out.splitlines() if line.startswith("epoch ")]
        (run,) = sorted((project / "runs").iterdir())
        if min(args.last, len(epochs)) >= 2:
            studio("average", str(run), "--last", str(min(args.last, len(epochs))))
        studio(
            "evaluate",
            str(run),
            "--metrics",
            "cond_acc,fid",
            "--n",
            str(args.n),
            "--quiet",
            "--device",
            args.device,
            *extra(data),
        )
        print(
            f"== {name}: preset {preset}, {args.minutes:g} min of training ({seconds:.0f} s with loading), "
            f"{len(epochs)} epochs; run {run}"
        )
        if epochs:
            print("   " + epochs[-1].split(" -> ")[0])
        print(table(load_results(run)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Screenshots of comparing runs: ``python scripts/screenshots_compare.py OUTDIR``.

Trains two runs of a copy of the example project from the command line (the
second with a five times higher D learning rate, stopped after its first epoch
and resumed), scores both with the faces judge when one is stored (or trains
it), names and tags them, then opens the window and saves, at 1280x800 and
1600x1000:

    compare-dashboard-WxH.png   the Training tab comparing the two runs: curves overlaid (one colour
                                per run, one line style per series, run names below each plot),
                                resume and evaluation marks, the grids of one epoch side by side
    compare-dashboard-below-WxH.png  the same with "Grids below": the grids under the plots, side by side
    compare-runs-table-WxH.png  the Runs table tab: one row per run, the settings that differ,
                                the evaluation figures lined up

Runs headless (offscreen) when there is no display. ``--epochs`` and
``--images`` trade time for nicer samples (defaults: 4 epochs of 2,000 faces,
a couple of minutes on a two-core CPU).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SIZES = ((1280, 800), (1600, 1000))


def _cli(*args: str) -> None:
    from studio.cli import main

    code = main([str(a) for a in args])
    if code != 0:
        raise SystemExit(f"python -m studio {' '.join(map(str, args))} failed ({code})")


def train_runs(project: Path, epochs: int, images: int) -> list[Path]:
    """Two runs of ``project``: the example's settings, and a faster D stopped after one epoch and resumed."""
    common = ["--quiet", "--set", f"dataset_size={images}", "--set", "log_every=2"]
    _cli("train", project, "--epochs", epochs, *common)
    runs = sorted((project / "runs").iterdir())
    _cli("train", project, "--epochs", 1, *common, "--set", "d_lr=0.001")
    second = sorted(set((project / "runs").iterdir()) - set(runs))[0]
    _cli("resume", second, "--epochs", epochs, "--quiet")
    return [runs[0], second]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", help="folder for the PNG files")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run (default 4)")
    parser.add_argument("--images", type=int, default=2000, help="faces to draw (default 2000)")
    parser.add_argument("--no-evaluate", action="store_true", help="skip scoring the runs")
    parser.add_argument("--project", help="take the pictures of this project's runs instead of training two")
    args = parser.parse_args(argv)
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    work = Path(tempfile.mkdtemp(prefix="gan-studio-compare-"))
    from PySide6.QtCore import QSettings

    # A private settings file: the screenshots never touch the user's recent projects.
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work / "settings"))
    if args.project:
        # Runs trained before (e.g. by an earlier call that could not take the pictures).
        shoot(Path(args.project), out)
        shutil.rmtree(work, ignore_errors=True)
        return 0
    project = work / "hair-eyes-demo"
    shutil.copytree(REPO / "projects" / "hair-eyes-demo", project, ignore=shutil.ignore_patterns("runs"))
    started = time.perf_counter()
    a, b = train_runs(project, args.epochs, args.images)
    print(f"trained two runs in {time.perf_counter() - started:.0f} s", flush=True)
    _cli("note", a, "--name", "baseline", "--tag", "demo")
    _cli("note", b, "--name", "fast D (d_lr x5)", "--tag", "demo", "--tag", "lr")
    if not args.no_evaluate:
        for run in (a, b):
            _cli("evaluate", run, "--metrics", "cond_acc", "--n", "500", "--quiet")
    try:
        shoot(project, out)
    except BaseException:
        print(f"the trained project is kept in {project}: take the pictures with --project {project}", flush=True)
        raise
    shutil.rmtree(work, ignore_errors=True)
    return 0


def shoot(project: Path, out: Path) -> None:
    from PySide6.QtWidgets import QApplication

    from studio.gui import create_main_window

    window = create_main_window(project)
    app = QApplication.instance()
    window.resize(*SIZES[0])
    window.show()

    def pump(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.01)

    pump(0.5)
    paths = [row["path"] for row in window.runs_table.model.rows]
    window.runs_table.select_paths(paths)
    for width, height in SIZES:
        window.resize(width, height)
        window.main_tabs.setCurrentWidget(window.dashboard)
        pump(0.8)
        path = out / f"compare-dashboard-{width}x{height}.png"
        window.grab().save(str(path))
        print(f"wrote {path}", flush=True)
        below = window.dashboard.comparison.below
        below.setChecked(True)
        pump(0.8)
        path = out / f"compare-dashboard-below-{width}x{height}.png"
        window.grab().save(str(path))
        print(f"wrote {path}", flush=True)
        below.setChecked(False)
        window.main_tabs.setCurrentWidget(window.runs_table)
        pump(0.5)
        path = out / f"compare-runs-table-{width}x{height}.png"
        window.grab().save(str(path))
        print(f"wrote {path}", flush=True)
    window.setWindowModified(False)
    window.close()


if __name__ == "__main__":
    sys.exit(main())

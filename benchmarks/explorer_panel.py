"""How the condition explorer tab responds in the window: ``python benchmarks/explorer_panel.py``.

Saves a run whose checkpoint holds the acgan-hair-eyes preset's generator
(64 px, random weights), opens the window on it (offscreen without a display)
and shows the Condition explorer tab with the 12 hair x 10 eye table. Then:

* new seed, ``--reps`` times: the time until the first rows are on screen and
  until the whole grid is, from the moment the seed changes;
* a truncation slider drag (``--drag`` positions 20 ms apart): the time from
  the last position to the finished grid, and how many renders ran or were
  cut short;
* all along, the longest the GUI thread went without serving a 5 ms timer:
  the stall a user would feel while the grid renders in its worker thread.

Figures are medians over the repetitions.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _make_run(folder: Path, preset: str):
    import torch

    from studio.core.checkpoint import save_checkpoint
    from studio.core.models import Generator
    from studio.core.rundir import RunDirectory
    from studio.data.dataset import dataset_space
    from studio.presets import load_preset
    from studio.project import Project

    config = load_preset(preset).config.replace(device="cpu")
    project = Project.create(folder, config.replace(dataset_size=64), preset=preset)
    space = dataset_space(config.dataset)
    run = RunDirectory.create(project.runs_dir, config, run_id="bench")
    torch.manual_seed(0)
    g = Generator(config, space)
    state = {
        "epoch": 1,
        "step": 1,
        "config": config.to_dict(),
        "space": space.to_dict(),
        "g": g.state_dict(),
        "d": {},
        "ema": None,
    }
    save_checkpoint(run.checkpoint_path(1), state)
    return project, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="acgan-hair-eyes", help="preset whose generator is drawn")
    parser.add_argument("--reps", type=int, default=8, help="new-seed redraws to time (default 8)")
    parser.add_argument("--drag", type=int, default=10, help="slider positions in the drag (default 10)")
    args = parser.parse_args(argv)

    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    work = Path(tempfile.mkdtemp(prefix="gan-studio-explorer-bench-"))
    from PySide6.QtCore import QElapsedTimer, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work / "settings"))
    project, run = _make_run(work / "project", args.preset)

    from studio.core.sampling import GRID_PADDING
    from studio.gui import create_main_window

    window = create_main_window(project.folder)
    app = QApplication.instance()
    window.resize(1440, 900)
    window.show()
    explorer = window.condition_explorer

    longest = [0.0]
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]

    def beat() -> None:
        now = clock.nsecsElapsed()
        longest[0] = max(longest[0], (now - last[0]) / 1e6)
        last[0] = now

    heart = QTimer()
    heart.setInterval(5)
    heart.timeout.connect(beat)

    def pump_until(condition, timeout: float = 120.0) -> None:
        end = time.perf_counter() + timeout
        while not condition():
            if time.perf_counter() > end:
                raise SystemExit("error: timed out waiting for the explorer")
            app.processEvents()
            time.sleep(0.001)

    window.runs_panel.select_run(run.path)
    window.main_tabs.setCurrentWidget(explorer)
    pump_until(explorer.idle)
    layout = explorer.layout
    cell = (explorer.mosaic.shape[0] - GRID_PADDING) // layout.rows - GRID_PADDING
    print(
        f"{args.preset}: {layout.rows} x {layout.cols} cells of {cell} px, "
        f"torch threads {__import__('torch').get_num_threads()}"
    )

    first_rows: list[float] = []
    explorer.rowsShown.connect(lambda first, end: first_rows.append(time.perf_counter()))
    firsts, totals, stalls = [], [], []
    heart.start()
    for i in range(args.reps):
        first_rows.clear()
        longest[0] = 0.0
        last[0] = clock.nsecsElapsed()
        started = time.perf_counter()
        explorer.seed_spin.setValue(1000 + i)
        pump_until(explorer.idle)
        totals.append(time.perf_counter() - started)
        firsts.append(first_rows[0] - started if first_rows else float("nan"))
        stalls.append(longest[0])
    print(
        f"new seed: first rows on screen {statistics.median(firsts) * 1000:.0f} ms, "
        f"whole grid {statistics.median(totals) * 1000:.0f} ms (median of {args.reps})"
    )
    print(
        f"GUI thread during a redraw: longest stall {statistics.median(stalls):.0f} ms median, "
        f"{max(stalls):.0f} ms worst"
    )

    renders_before = explorer.render_count
    jobs_before = explorer._job_id
    longest[0] = 0.0
    last[0] = clock.nsecsElapsed()
    for k in range(args.drag):
        explorer.truncation_slider.setValue(30 - k * 2)
        end = time.perf_counter() + 0.02
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.001)
    released = time.perf_counter()
    pump_until(explorer.idle)
    settled = time.perf_counter() - released
    jobs = explorer._job_id - jobs_before
    finished = explorer.render_count - renders_before
    print(
        f"truncation drag of {args.drag} positions: grid final {settled * 1000:.0f} ms after the last one; "
        f"{jobs} renders started, {jobs - finished} cut short by a newer position; "
        f"longest GUI stall {longest[0]:.0f} ms"
    )
    heart.stop()
    window.setWindowModified(False)
    window.close()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

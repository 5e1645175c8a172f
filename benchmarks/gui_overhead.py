"""What training in the window costs against the headless CLI: ``python benchmarks/gui_overhead.py``.

Both sides train the same project (the tiny-demo preset on built-in faces)
for a fixed number of steps and measure steady-state images per second from
the trainer's own step reports, skipping the warm-up:

* headless: ``Trainer.run()`` with the CLI's progress reporter, in a fresh
  interpreter that never imports Qt;
* window:   the studio window shown (offscreen without a display), Train
  pressed, the run in the GUI worker thread, Qt's event loop running with
  the live plots, progress bars and timeline.

Runs alternate (headless, window, headless, ...) and each window run is
compared with the mean of the headless runs just before and after it, so a
machine whose speed drifts (a shared VM) slows both sides alike; the median
of those ratios is the overhead.  The window's process never runs torch on
its main thread before training, as in the application.  The last line ends
in ``img/s``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _make_project(folder: Path, preset: str, overrides: dict) -> Path:
    from studio.presets import load_preset
    from studio.project import Project

    config = load_preset(preset).config
    if overrides:
        config = config.replace(**overrides)
    Project.create(folder, config, preset=preset)
    return folder


def _rate(marks: list[tuple[int, float]], warmup: int, batch: int) -> float:
    """Images per second between the first report after ``warmup`` steps and the last report."""
    after = [(s, t) for s, t in marks if s >= warmup]
    if len(after) < 2:
        raise SystemExit("error: too few step reports to measure; raise --steps")
    (s0, t0), (s1, t1) = after[0], after[-1]
    return (s1 - s0) * batch / (t1 - t0)


# --- headless side (a child process without Qt) --------------------------------------------------


def headless(project: Path, steps: int, warmup: int) -> dict:
    from studio.cli import _progress_reporter
    from studio.core.events import StepMetrics
    from studio.core.rundir import RunDirectory
    from studio.core.trainer import Trainer
    from studio.data.dataset import load_dataset
    from studio.project import Project

    config = Project.load(project).config
    dataset = load_dataset(config.dataset, config.image_size, config.channels, config.dataset_size)
    run = RunDirectory.create(Project.load(project).runs_dir, config)
    reporter = _progress_reporter(quiet=False)  # what `python -m studio train` shows
    marks: list[tuple[int, float]] = []

    def on_event(event) -> None:
        if isinstance(event, StepMetrics):
            marks.append((event.step, time.perf_counter()))
        reporter(event)

    result = Trainer(config, dataset, run, on_event=on_event, max_steps=warmup + steps).run()
    reporter.close()
    if result.reason == "error":
        raise SystemExit(f"error: {result.message}")
    return {"rate": _rate(marks, warmup, config.batch_size), "steps": result.step}


def run_headless_child(project: Path, steps: int, warmup: int) -> float:
    code = [sys.executable, __file__, "--child", str(project), "--steps", str(steps), "--warmup", str(warmup)]
    done = subprocess.run(code, capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"headless run failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])["rate"]


# --- window side ------------------------------------------------------------------------------


class WindowBench:
    def __init__(self, project: Path, size: tuple[int, int]):
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtCore import QSettings

        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(project.parent / "settings"))
        from PySide6.QtWidgets import QApplication

        from studio.gui import create_main_window

        self.window = create_main_window(project)
        self.app = QApplication.instance()
        self.window.resize(*size)
        self.window.show()
        end = time.perf_counter() + 600
        while self.window.dataset_panel.dataset_for(self.window.binder.config) is None:
            if time.perf_counter() > end:
                raise SystemExit("error: the dataset did not load in the window")
            self.app.processEvents()
            time.sleep(0.02)

    def run(self, steps: int, warmup: int) -> tuple[float, float]:
        """(images per second, share of one core the GUI thread used meanwhile)."""
        from PySide6.QtCore import Qt

        from studio.core.events import StepMetrics

        window = self.window
        marks: list[tuple[int, float]] = []

        def record(event) -> None:  # runs in the worker thread, at the moment the trainer reports
            if isinstance(event, StepMetrics):
                marks.append((event.step, time.perf_counter()))

        done: list = []
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        if not window.start_training(max_steps=warmup + steps):
            raise SystemExit(f"error: the window refused to train: {window.binder.error or window.last_error}")
        window._worker.event.connect(record, Qt.ConnectionType.DirectConnection)
        window._worker.finished.connect(done.append, Qt.ConnectionType.DirectConnection)
        # Qt's events handled as they come, between short sleeps that give the GIL back to the training thread
        # (a nested QEventLoop here missed the worker's last signal and never returned).
        while not done:
            self.app.processEvents()
            time.sleep(0.002)
        self.app.processEvents()
        gui_share = (time.thread_time() - cpu0) / (time.perf_counter() - wall0)
        window.join_training()
        self.app.processEvents()
        if window.last_error:
            raise SystemExit(f"error: {window.last_error}")
        return _rate(marks, warmup, window.binder.config.batch_size), gui_share

    def close(self) -> None:
        self.window.setWindowModified(False)
        self.window.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="tiny-demo")
    parser.add_argument("--steps", type=int, default=200, help="timed steps per run (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="steps left out of the timing (default 10)")
    parser.add_argument(
        "--repeats", type=int, default=5, help="window runs, each between two headless runs (default 5)"
    )
    parser.add_argument("--log-every", type=int, help="override the preset's report interval")
    parser.add_argument("--images", type=int, default=4000, help="dataset size (default 4000)")
    parser.add_argument("--device", help="auto, cpu or cuda")
    parser.add_argument("--cpu-threads", type=int, help="the cpu_threads setting of both sides (default: the preset's)")
    parser.add_argument("--size", default="1440x900", help="window size (default 1440x900)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(headless(Path(args.child), args.steps, args.warmup)))
        return 0

    work = Path(tempfile.mkdtemp(prefix="gan-studio-bench-"))
    overrides = {"dataset_size": args.images, "epochs": 1000}
    if args.log_every:
        overrides["log_every"] = args.log_every
    if args.device:
        overrides["device"] = args.device
    if args.cpu_threads is not None:
        overrides["cpu_threads"] = args.cpu_threads
    project = _make_project(work / "project", args.preset, overrides)
    from studio.project import Project

    config = Project.load(project).config
    width, height = (int(v) for v in args.size.lower().split("x"))
    headless_rates, window_rates, gui_shares = [], [], []
    bench = None
    try:
        # The first headless run also draws and caches the dataset the window then reads.
        headless_rates.append(run_headless_child(project, args.steps, args.warmup))
        print(f"headless {headless_rates[-1]:8.1f} img/s", flush=True)
        bench = WindowBench(project, (width, height))
        for _ in range(args.repeats):
            rate, share = bench.run(args.steps, args.warmup)
            window_rates.append(rate)
            gui_shares.append(share)
            print(f"window   {rate:8.1f} img/s  (GUI thread busy {100 * share:.1f}% of one core)", flush=True)
            headless_rates.append(run_headless_child(project, args.steps, args.warmup))
            print(f"headless {headless_rates[-1]:8.1f} img/s", flush=True)
    finally:
        if bench is not None:
            bench.close()
        shutil.rmtree(work, ignore_errors=True)
    ratios = [w / ((headless_rates[i] + headless_rates[i + 1]) / 2) for i, w in enumerate(window_rates)]
    overhead = 100 * (1 - statistics.median(ratios))
    h, w = statistics.median(headless_rates), statistics.median(window_rates)
    import torch

    print(
        f"preset {args.preset}, batch {config.batch_size}, log_every {config.log_every}, "
        f"{args.steps} timed steps per run, {args.repeats} window runs, {torch.get_num_threads()} torch threads"
    )
    print("window / neighbouring headless: " + ", ".join(f"{r:.3f}" for r in ratios))
    print(
        f"overhead of the window: {overhead:+.1f}% (median of the ratios); the GUI thread used "
        f"{100 * statistics.median(gui_shares):.1f}% of one core while training"
    )
    print(f"headless {h:.1f} img/s, window {w:.1f} img/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

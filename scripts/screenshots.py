"""Screenshots of the studio before, during and after a run: ``python scripts/screenshots.py OUTDIR``.

Trains a copy of the example project (in a temporary folder; the example
itself is never written to) and saves ``widget.grab()`` images:

    01-dataset.png      the example opened, Dataset tab with real images and class counts
    02-model.png        the Model tab: presets, hyperparameters with tooltips, parameter counts
    03-refused.png      an impossible combination refused at the field, Train disabled with the reason
    04-training.png     during the run: live curves, the newest sample grid, progress, images/s and ETA
    05-finished.png     after the run: the Runs tab, curves and the timeline
    06-timeline-zoom.png  an earlier epoch scrubbed to and zoomed to 200%
    07-export.png       the grid exported with captions (the PNG file itself, at the suggested scale)
    08-lab.png          the checkpoint lab: the last epochs averaged (BatchNorm re-estimated) and compared
                        with the last checkpoint and the EMA
    09-explorer.png     the condition explorer: blue eyes held, hair varying, one noise vector per row
    10-evaluation.png   the evaluation tab: every generator of the run scored (conditional accuracy and
                        FID in judge features; the faces judge is trained on first use), the table and
                        the metrics over epochs
    04b-sample-now.png  "Sample now" during the run: the grid from the current G and its EMA
    11-dashboard-WxH.png, 11-enlarged-sample-WxH.png
                        at 1280x800 and 1600x1000: the grid at native size or larger, and one sample
                        clicked and shown enlarged with its condition
    12-lab-compare-WxH.png  the lab's comparison of "blue eyes only (hair varies)" at 100% or more,
                            the setup panel hidden (View > Setup Panel)
    13-evaluation-WxH.png   the evaluation tab at that window size

Runs headless (offscreen) when there is no display.  ``--epochs`` and
``--images`` trade time for nicer samples; the defaults train the example
as it ships (10 epochs of 4,000 faces), a few minutes on a two-core CPU.
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", help="folder for the PNG files")
    parser.add_argument("--epochs", type=int, default=10, help="epochs to train (default 10)")
    parser.add_argument(
        "--images", type=int, default=4000, help="faces to draw for the run (default 4000, the example's)"
    )
    parser.add_argument("--size", default="1440x900", help="window size, WIDTHxHEIGHT (default 1440x900)")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)

    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    work = Path(tempfile.mkdtemp(prefix="gan-studio-shots-"))
    from PySide6.QtCore import QSettings

    # A private settings file: the screenshots never touch the user's recent projects.
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work / "settings"))
    project = work / "hair-eyes-demo"
    shutil.copytree(REPO / "projects" / "hair-eyes-demo", project, ignore=shutil.ignore_patterns("runs"))

    from PySide6.QtWidgets import QApplication, QComboBox, QWidget

    from studio.gui import create_main_window

    window = create_main_window(project)
    app = QApplication.instance()
    window.resize(width, height)
    window.show()

    def pump(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.01)

    def wait(condition, timeout: float, what: str) -> None:
        end = time.perf_counter() + timeout
        while not condition():
            if time.perf_counter() > end:
                raise SystemExit(f"timed out waiting for {what}")
            pump(0.05)

    def shot(name: str) -> None:
        pump(0.4)  # let the redraw timers run
        path = out / name
        window.grab().save(str(path))
        print(f"wrote {path}", flush=True)

    def field(key: str) -> QWidget:
        return window.findChild(QWidget, key)

    field("dataset_size").setValue(args.images)
    field("epochs").setValue(args.epochs)
    wait(lambda: window.dataset_panel.dataset_for(window.binder.config) is not None, 600, "the dataset")
    window.setup_tabs.setCurrentIndex(0)
    shot("01-dataset.png")

    window.setup_tabs.setCurrentIndex(1)
    shot("02-model.png")

    loss, batchnorm = field("loss"), field("d_batchnorm")
    batchnorm.setChecked(True)
    loss.setCurrentIndex(loss.findData("wgan-gp"))
    shot("03-refused.png")
    loss.setCurrentIndex(loss.findData("bce"))

    window.start_training()
    wait(lambda: window.dashboard.timeline.count() >= min(2, args.epochs), 1800, "two epochs")
    pump(1.0)
    shot("04-training.png")
    if window.training and window.sample_now():
        live = window._live_samples_dialog
        wait(lambda: live.view.count() > 0 or not window.training, 600, "the samples drawn now")
        pump(0.3)
        live.grab().save(str(out / "04b-sample-now.png"))
        print(f"wrote {out / '04b-sample-now.png'}", flush=True)
        live.hide()

    wait(lambda: not window.training, 3600, "the end of the run")
    window.setup_tabs.setCurrentIndex(2)
    shot("05-finished.png")

    timeline = window.dashboard.timeline
    timeline.slider.setValue(max(0, timeline.count() - 3))
    zoom = window.findChild(QComboBox, "sampleZoom")
    zoom.setCurrentIndex(zoom.findData(2.0))
    shot("06-timeline-zoom.png")

    window.export_grid(out / "07-export.png", captions=True)
    print(f"wrote {out / '07-export.png'}")

    lab = window.checkpoint_lab
    window.main_tabs.setCurrentWidget(lab)
    if args.epochs >= 2 and lab.select_last(min(5, args.epochs)) and lab.average():
        wait(lambda: not lab.busy, 600, "the average")
    shot("08-lab.png")

    explorer = window.condition_explorer
    window.main_tabs.setCurrentWidget(explorer)
    explorer.cols_combo.setCurrentIndex(explorer.cols_combo.findText("hair"))
    explorer.mode_combo.setCurrentIndex(explorer.mode_combo.findData("vary"))
    explorer.fix_combo.setCurrentIndex(explorer.fix_combo.findText("blue eyes"))
    wait(explorer.idle, 300, "the explorer's grid")
    shot("09-explorer.png")

    evaluation = window.evaluation_panel
    window.main_tabs.setCurrentWidget(evaluation)
    evaluation.select_refs(evaluation.refs)  # every checkpoint, the averages and the EMA
    evaluation.set_metrics(["cond_acc", "fid"])
    evaluation.n_spin.setValue(min(1000, args.images))
    if evaluation.evaluate():
        wait(lambda: not evaluation.busy, 1800, "the evaluation")
    shot("10-evaluation.png")

    # Images large enough to judge, at a laptop's and a desktop's window size.
    window.main_tabs.setCurrentWidget(lab)
    subset = lab.subset_combo.findText("blue eyes only (hair varies)")
    if subset >= 0:
        lab.subset_combo.setCurrentIndex(subset)
    if lab.compare():
        wait(lambda: not lab.busy, 600, "the comparison")
    for w, h in ((1280, 800), (1600, 1000)):
        window.resize(w, h)
        pump(0.5)
        window.main_tabs.setCurrentWidget(window.dashboard)
        timeline.show_index(timeline.count() - 1)
        shot(f"11-dashboard-{w}x{h}.png")
        dialog = timeline.show_cell(2, 9)
        if dialog is not None:
            pump(0.3)
            dialog.grab().save(str(out / f"11-enlarged-sample-{w}x{h}.png"))
            print(f"wrote {out / f'11-enlarged-sample-{w}x{h}.png'}", flush=True)
            dialog.hide()
        window.main_tabs.setCurrentWidget(lab)
        window.setup_dock.hide()  # View > Setup Panel (F9): the room goes to the grids
        shot(f"12-lab-compare-{w}x{h}.png")
        window.setup_dock.show()
        window.main_tabs.setCurrentWidget(evaluation)
        shot(f"13-evaluation-{w}x{h}.png")
    window.main_tabs.setCurrentWidget(window.dashboard)
    window.setWindowModified(False)
    window.close()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

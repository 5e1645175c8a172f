"""The dashboard comparing runs: their curves overlaid, their sample grids side by side at one epoch.

The runs' figures come from :func:`studio.app.run_compare.load_curves`; this
module only draws them. While runs are compared the dashboard's timeline
gives way to :class:`CompareSamples` (one epoch slider for every run), and a
bar above the plots names the runs and offers the x axis.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from studio.app.run_compare import X_AXES, load_curves, run_events, sample_at
from studio.gui.plot_tools import RunOverlay, run_colour

__all__ = ["CompareSamples", "DashboardComparison"]

ZOOMS = (1, 2, 3, 4)


class CompareSamples(QWidget):
    """The runs' sample grids of one epoch, side by side, never shrunk below their own size."""

    epochChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("compareSamples")
        self.runs: list[tuple[str, Path, int]] = []  # (name, run folder, epochs with grids)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("compareEpochSlider")
        self.slider.setMinimum(1)
        self.slider.setToolTip("The epoch whose grids are shown, the same for every run")
        self.epoch_label = QLabel()
        self.epoch_label.setObjectName("compareEpochLabel")
        self.zoom = QComboBox()
        self.zoom.setObjectName("compareZoom")
        for z in ZOOMS:
            self.zoom.addItem(f"{z}x", z)
        self.zoom.setToolTip("Grid size: 1x is each image at its trained size; larger sizes scroll")
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(QLabel("Epoch"))
        top.addWidget(self.slider, 1)
        top.addWidget(self.epoch_label)
        top.addWidget(self.zoom)

        self.strip = QWidget()
        self.strip_layout = QHBoxLayout(self.strip)
        self.strip_layout.setContentsMargins(4, 4, 4, 4)
        self.strip_layout.setSpacing(12)
        self.scroll = QScrollArea()
        self.scroll.setObjectName("compareSamplesScroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.strip)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.scroll, 1)
        self.columns: list[tuple[QLabel, QLabel]] = []
        self.slider.valueChanged.connect(self._on_epoch_changed)
        self.zoom.currentIndexChanged.connect(lambda _: self._show())

    def set_runs(self, runs: list[tuple[str, Path, int]]) -> None:
        """``runs``: (name, run folder, newest epoch with a grid); the slider starts at the newest common epoch."""
        self.runs = list(runs)
        while self.strip_layout.count():
            child = self.strip_layout.takeAt(0).widget()
            if child is not None:
                child.deleteLater()
        self.columns = []
        for i in range(len(self.runs)):
            column = QWidget()
            box = QVBoxLayout(column)
            box.setContentsMargins(0, 0, 0, 0)
            caption = QLabel()
            caption.setObjectName(f"compareCaption{i}")
            caption.setStyleSheet(f"color: {run_colour(i)}; font-weight: bold")
            image = QLabel()
            image.setObjectName(f"compareGrid{i}")
            image.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            box.addWidget(caption)
            box.addWidget(image)
            box.addStretch(1)
            self.strip_layout.addWidget(column)
            self.columns.append((caption, image))
        self.strip_layout.addStretch(1)
        newest = max((e for *_, e in self.runs), default=1)
        common = min((e for *_, e in self.runs if e > 0), default=newest)
        self.slider.blockSignals(True)
        self.slider.setMaximum(max(newest, 1))
        self.slider.setValue(max(common, 1))
        self.slider.blockSignals(False)
        self._show()

    def epoch(self) -> int:
        return self.slider.value()

    def _on_epoch_changed(self, epoch: int) -> None:
        self._show()
        self.epochChanged.emit(epoch)

    def shown_paths(self) -> list[Path | None]:
        """The grid file each column shows at the slider's epoch (None: that run has none)."""
        return [sample_at(path, self.epoch()) for _, path, _ in self.runs]

    def _show(self) -> None:
        epoch = self.epoch()
        self.epoch_label.setText(f"{epoch} of {self.slider.maximum()}")
        scale = int(self.zoom.currentData() or 1)
        for (caption, image), (name, path, done), grid in zip(self.columns, self.runs, self.shown_paths()):
            pixmap = _grid_pixmap(Path(path), grid, epoch, scale) if grid is not None else QPixmap()
            if pixmap.isNull():
                caption.setText(f"{name} · no grid for epoch {epoch} ({done} done)")
                image.clear()
                continue
            caption.setText(f"{name} · epoch {epoch}")
            image.setPixmap(pixmap)
            image.setToolTip(str(grid))


def _grid_pixmap(run_path: Path, grid_path: Path, epoch: int, scale: int) -> QPixmap:
    """The run's grid of ``epoch`` with its row and column captions (the exported look), at ``scale``."""
    import numpy as np
    from PySide6.QtGui import QImage

    from studio.core.rundir import RunDirectory
    from studio.gui.dashboard import frames_from_samples
    from studio.gui.frames import frame_image, read_grid_png

    try:
        run = RunDirectory(run_path)
        frame = next(f for f in frames_from_samples(run, run.read_config()) if f.epoch == epoch)
        picture = frame_image(read_grid_png(grid_path), frame, scale, captions=True)
    except Exception:  # noqa: BLE001 - captions we cannot lay out: the plain grid
        pixmap = QPixmap(str(grid_path))
        if scale != 1 and not pixmap.isNull():
            pixmap = pixmap.scaled(
                pixmap.width() * scale,
                pixmap.height() * scale,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.FastTransformation,  # pixels stay pixels
            )
        return pixmap
    pixels = np.ascontiguousarray(np.asarray(picture.convert("RGB"), dtype=np.uint8))
    h, w = pixels.shape[:2]
    return QPixmap.fromImage(QImage(pixels.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy())


class DashboardComparison:
    """Puts the dashboard into, and out of, comparing runs."""

    def __init__(self, dashboard):
        self.dashboard = dashboard
        self.overlay = RunOverlay(dashboard.plots)
        self.paths: list[Path] = []
        self.names: list[str] = []
        self._curves: list = []  # the RunCurves drawn
        self._sizes: list[int] | None = None  # the splitter's sizes before comparing
        self._policy: QSizePolicy | None = None  # the timeline's, while it is hidden
        self.samples = CompareSamples()
        # The timeline and the compared grids share the splitter's right side.
        self.stack = QStackedWidget()
        self.stack.setObjectName("dashboardRightStack")
        index = dashboard.splitter.indexOf(dashboard.timeline)
        dashboard.splitter.replaceWidget(index, self.stack)
        self.stack.addWidget(dashboard.timeline)
        self.stack.addWidget(self.samples)

        self.bar = QWidget()
        self.bar.setObjectName("compareBar")
        self.label = QLabel()
        self.label.setObjectName("compareLabel")
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.x_axis = QComboBox()
        self.x_axis.setObjectName("xAxisCombo")
        for key, label in X_AXES.items():
            self.x_axis.addItem(label, key)
        self.x_axis.setToolTip(
            "What the curves are drawn against: steps, epochs (with the fraction done), images seen "
            "(steps x batch size: runs of different batch sizes line up), or seconds of training"
        )
        self.below = QCheckBox("Grids below")
        self.below.setObjectName("compareGridsBelow")
        self.below.setToolTip(
            "Put the sample grids under the plots, where the runs' grids fit side by side; "
            "untick to keep them beside the plots (they scroll sideways)"
        )
        self.stop_button = QPushButton("Stop comparing")
        self.stop_button.setObjectName("stopCompareButton")
        self.stop_button.setToolTip("Back to one run's curves and timeline")
        row = QHBoxLayout(self.bar)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label, 1)
        row.addWidget(QLabel("x axis"))
        row.addWidget(self.x_axis)
        row.addWidget(self.below)
        row.addWidget(self.stop_button)
        self.bar.hide()
        layout = dashboard.layout()
        layout.insertWidget(layout.indexOf(dashboard.splitter), self.bar)
        self.x_axis.currentIndexChanged.connect(lambda _: self.redraw())
        # Smoothing only redraws what is read; the x axis reads the runs again.
        dashboard.plots.smoothed.toggled.connect(lambda _: self._redraw_smoothed())
        dashboard.plots.smoothing.valueChanged.connect(lambda _: self._redraw_smoothed())
        self.stop_button.clicked.connect(self._on_stop_clicked)
        self.below.toggled.connect(lambda _: self.active and self._lay_out())
        self.stopped: list = []  # callables told when the user stops comparing

    @property
    def active(self) -> bool:
        return bool(self.paths)

    def show(self, paths, names=None, epochs_done=None) -> None:
        """Overlay the runs at ``paths`` (StudioError if one cannot be read)."""
        paths = [Path(p) for p in paths]
        names = list(names) if names is not None else [p.name for p in paths]
        curves = load_curves(paths, self._axis(), names)  # raises before anything changes
        d = self.dashboard
        # No single run is shown meanwhile: its curves, timeline and progress make way.
        d.run_path = None
        d.plots.clear()
        d.timeline.clear()
        d.controls.reset_progress()
        d.plots.set_has_aux(any(c.has("aux_acc_real") for c in curves))
        self.paths, self.names = paths, names
        self._draw(curves)
        done = epochs_done or [max((e for e, _ in _samples(p)), default=0) for p in paths]
        self.samples.set_runs(list(zip(names, paths, done)))
        self.stack.setCurrentWidget(self.samples)
        if self._policy is None:
            # A stack is as wide as its widest page: the hidden timeline must not hold the plots narrow.
            self._policy = d.timeline.sizePolicy()
            d.timeline.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        if self._sizes is None:
            self._sizes = d.splitter.sizes()
            self._lay_out()
        keys = ", ".join(f'<span style="color:{run_colour(i)}"><b>{n}</b></span>' for i, n in enumerate(names))
        self.label.setText(f"Comparing {len(paths)} runs: {keys}")
        self.bar.show()
        d.title.hide()  # the bar names the runs

    def _lay_out(self) -> None:
        """Grids beside the plots (the curves keep their height), or below them (the grids get the width)."""
        splitter = self.dashboard.splitter
        below = self.below.isChecked()
        splitter.setOrientation(Qt.Orientation.Vertical if below else Qt.Orientation.Horizontal)
        total = splitter.height() if below else splitter.width()
        share = 0.55 if below else 0.62
        if total > 0:
            splitter.setSizes([int(total * share), total - int(total * share)])

    def _axis(self) -> str:
        return self.x_axis.currentData() or "step"

    def _redraw_smoothed(self) -> None:
        if self.active and self._curves:
            self._draw(self._curves)

    def _draw(self, curves) -> None:
        self._curves = list(curves)
        plots = self.dashboard.plots
        weight = plots.smoothing.value() if plots.smoothed.isChecked() else 0.0
        self.overlay.show(curves, weight)

    def redraw(self) -> None:
        if not self.active:
            return
        try:
            curves = load_curves(self.paths, self._axis(), self.names)
        except Exception:  # noqa: BLE001 - a run deleted meanwhile: keep what is drawn
            return
        self._draw(curves)

    def _on_stop_clicked(self) -> None:
        self.end()
        for callback in self.stopped:
            callback()

    def mark_events(self, run=None) -> None:
        """Mark ``run``'s resumes, evaluations and alarms on the plots, by step (None: remove the marks)."""
        events = []
        if run is not None:
            try:
                events = run_events(run)
            except Exception:  # noqa: BLE001 - marks we cannot read are only not drawn
                events = []
            for event in events:
                event.x = event.step
        for plot in self.dashboard.plots.plots.values():
            plot.tools.set_events(events)

    def end(self) -> None:
        if not self.active and not self.bar.isVisible():
            return
        self.overlay.clear()
        self.paths, self.names, self._curves = [], [], []
        self.samples.set_runs([])
        self.stack.setCurrentWidget(self.dashboard.timeline)
        if self._policy is not None:
            self.dashboard.timeline.setSizePolicy(self._policy)
            self._policy = None
        if self._sizes is not None:
            self.dashboard.splitter.setOrientation(Qt.Orientation.Horizontal)
            if sum(self._sizes) > 0:
                self.dashboard.splitter.setSizes(self._sizes)
        self._sizes = None
        self.bar.hide()
        self.dashboard.title.show()


def _samples(path: Path):
    from studio.core.rundir import RunDirectory

    return RunDirectory(path).samples()

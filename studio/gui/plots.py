"""Live training curves: losses, D outputs, auxiliary accuracy, learning rates.

The pattern of pyqtgraph's scrollingPlots example: curves are created once,
the data lives in preallocated buffers that grow by doubling
(:class:`~studio.gui.history.MetricHistory`), and a QTimer redraws at most
ten times a second, only when something new arrived.  Peak downsampling and
clip-to-view keep a long run as cheap to draw as a short one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QGraphicsItem, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget
from superqt import QLabeledDoubleSlider

from studio.gui import plot_tools
from studio.gui.history import MetricHistory, ema

__all__ = ["MetricPlot", "TrainingPlots", "PLOTS", "LR_NAMES", "REDRAW_INTERVAL_MS"]

REDRAW_INTERVAL_MS = 250  # at most 4 redraws a second: smooth to the eye, cheap for the trainer
LR_NAMES = ("g_lr", "d_lr")


@dataclass(frozen=True)
class Curve:
    key: str
    label: str
    colour: str


@dataclass(frozen=True)
class PlotSpec:
    object_name: str
    title: str
    y_label: str
    curves: tuple[Curve, ...]
    y_range: tuple[float, float] | None = None
    tooltip: str = ""


PLOTS = (
    PlotSpec(
        "lossPlot", "Losses", "loss", (Curve("d_loss", "D loss", "#d62728"), Curve("g_loss", "G loss", "#1f77b4"))
    ),
    PlotSpec(
        "discriminatorPlot",
        "Discriminator outputs",
        "mean D output",
        (
            Curve("d_x", "D(x)", "#2ca02c"),
            Curve("d_g_z1", "D(G(z1))", "#ff7f0e"),
            Curve("d_g_z2", "D(G(z2))", "#9467bd"),
        ),
        y_range=(0.0, 1.0),
        tooltip="Mean probability D gives: D(x) to real images, D(G(z1)) to fakes before its update, "
        "D(G(z2)) to the fakes G is trained on after it. Near 0.5 both are balanced; D(x) near 1 with "
        "D(G(z)) near 0 means D is winning.",
    ),
    PlotSpec(
        "auxAccuracyPlot",
        "Auxiliary classifier accuracy",
        "accuracy",
        (Curve("aux_acc_real", "on real", "#2ca02c"), Curve("aux_acc_fake", "on fake", "#d62728")),
        y_range=(0.0, 1.0),
    ),
    PlotSpec(
        "lrPlot",
        "Learning rates",
        "learning rate",
        (Curve("g_lr", "G", "#1f77b4"), Curve("d_lr", "D", "#d62728")),
    ),
)


def _nice_ceil(value: float) -> float:
    """The next of 1, 2, 2.5, 5 x 10^k at or above ``value``."""
    if value <= 0:
        return 1.0
    base = 10 ** math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        if m * base >= value:
            return m * base
    return 10 * base


class MetricPlot(pg.PlotWidget):
    """One plot whose curves are made once and fed views of a MetricHistory."""

    def __init__(self, spec: PlotSpec, parent: QWidget | None = None):
        super().__init__(parent=parent, background="w")
        self.spec = spec
        self.setObjectName(spec.object_name)
        self.setMinimumSize(190, 150)
        if spec.tooltip:
            self.setToolTip(spec.tooltip)
        item = self.getPlotItem()
        # The legend lives in the title: inside the plot it would hide the newest points.
        keys = " ".join(f'<span style="color:{c.colour}">&#9472;&#9472;</span>&nbsp;{c.label}' for c in spec.curves)
        item.setTitle(f'<b>{spec.title}</b><br><span style="font-size:8pt">{keys}</span>', size="9pt", color="#222")
        item.setLabel("bottom", "step")
        item.setLabel("left", spec.y_label)
        item.showGrid(x=True, y=True, alpha=0.25)
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        item.setMenuEnabled(False)
        # "0.0002", not "2 (x1e-4)": a reader compares these with the settings they typed.
        for side in ("left", "bottom"):
            axis = item.getAxis(side)
            axis.enableAutoSIPrefix(False)
            axis.setTextPen("#333")
            # The axes draw the grid across the plot, so every curve update repainted them in
            # Python; cached as a pixmap, that repaint is a blit until the ticks change.
            axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        if spec.y_range is not None:
            item.setYRange(*spec.y_range, padding=0.02)
            item.enableAutoRange(axis="y", enable=False)
        self.curves = {}
        for curve in spec.curves:
            pen = pg.mkPen(curve.colour, width=1.5)
            self.curves[curve.key] = item.plot([], [], pen=pen, skipFiniteCheck=True)
        # Ranges are set here, in coarse steps: an axis that changes on every report is
        # re-laid out and repainted on every report, the largest part of a live plot's cost.
        item.enableAutoRange(x=False, y=False)
        self.user_range = False  # the user zoomed or panned: leave the view alone
        item.getViewBox().sigRangeChangedManually.connect(self._on_manual_range)
        item.autoBtn.clicked.connect(self._on_auto_button)
        self._placeholder = pg.TextItem("", color="#777", anchor=(0.5, 0.5))
        self._placeholder.setParentItem(item.getViewBox())
        self._placeholder.hide()
        item.getViewBox().sigResized.connect(self._place_placeholder)
        plot_tools.install(self)  # hover read-out, log scale, CSV/PNG export, event marks

    def set_placeholder(self, text: str) -> None:
        """A note in the middle of the plot (e.g. 'no auxiliary classifier')."""
        self._placeholder.setText(text)
        self._placeholder.setVisible(bool(text))
        self._place_placeholder()

    def placeholder(self) -> str:
        return self._placeholder.toPlainText() if self._placeholder.isVisible() else ""

    def _place_placeholder(self, *_) -> None:
        rect = self.getPlotItem().getViewBox().boundingRect()
        self._placeholder.setPos(rect.center())

    def clear_data(self) -> None:
        for curve in self.curves.values():
            curve.setData([], [])
        self.user_range = False

    def _on_manual_range(self, *_) -> None:
        self.user_range = True

    def _on_auto_button(self, *_) -> None:
        # pyqtgraph's "A" button has just fitted the view; the coarse steps take over from here.
        self.getPlotItem().enableAutoRange(x=False, y=False)
        self.user_range = False

    def fit(
        self, x_first: float, x_last: float, y_low: float | None, y_high: float | None, tight: bool = False
    ) -> None:
        """Follow the data in coarse steps (no change while it stays comfortably inside).

        ``tight`` fits the data exactly: a finished run has no more steps to make room for.
        """
        if self.user_range:
            return
        if self.tools.log_y:  # ranges in log units: the tools fit them to the data
            self.tools.fit_to_data()
            return
        view = self.getPlotItem().getViewBox()
        (vx0, vx1), (vy0, vy1) = view.viewRange()
        span = max(x_last - x_first, 1.0)
        if tight:
            view.setXRange(x_first, x_first + span, padding=0.02)
        elif x_last > vx1 or vx1 - x_first > 4 * span or abs(vx0 - x_first) > 1e-9:
            view.setXRange(x_first, x_first + _nice_ceil(span * 1.3), padding=0)
        if self.spec.y_range is not None or y_low is None or y_high is None:
            return
        if self.spec.object_name == "lrPlot":
            # From zero: a constant rate centred in a band around it would read as 0.
            low, high = 0.0, max(y_high, 1e-12) * 1.15
        else:
            y_span = max(y_high - y_low, abs(y_high) * 1e-3, 1e-12)
            low, high = y_low - 0.08 * y_span, y_high + 0.08 * y_span
        if tight or y_low < vy0 or y_high > vy1 or (vy1 - vy0) > 2.5 * (high - low):
            view.setYRange(low, high, padding=0)


class TrainingPlots(QWidget):
    """The four live plots with the smoothing controls; redraws from a timer."""

    redrawn = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("trainingPlots")
        names = tuple(c.key for spec in PLOTS for c in spec.curves)
        self.history = MetricHistory(names)
        self._drawn_version = -1
        self._has_aux = True

        self.smoothed = QCheckBox("Smoothed")
        self.smoothed.setObjectName("smoothToggle")
        self.smoothed.setChecked(True)
        self.smoothed.setToolTip("Show the smoothed curves; untick to see the raw reported values.")
        self.smoothing = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
        self.smoothing.setObjectName("smoothingSlider")
        self.smoothing.setRange(0.0, 0.99)
        self.smoothing.setDecimals(2)
        self.smoothing.setValue(0.6)
        self.smoothing.setToolTip(
            "Exponential moving average weight: 0 shows every report as it came, 0.9-0.99 shows the trend."
        )
        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(self.smoothed)
        label = QLabel("Smoothing")
        label.setBuddy(self.smoothing)
        controls.addWidget(label)
        controls.addWidget(self.smoothing, 1)
        self.log_scale = QCheckBox("Log scale")
        self.log_scale.setObjectName("logScaleToggle")
        self.log_scale.setToolTip(
            "A logarithmic y axis on every plot (values at or below zero are not drawn); "
            "right-click one plot to switch only that one, or to save its data or picture."
        )
        controls.addWidget(self.log_scale)

        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        self.plots: dict[str, MetricPlot] = {}
        for i, spec in enumerate(PLOTS):
            plot = MetricPlot(spec)
            self.plots[spec.object_name] = plot
            grid.addWidget(plot, i // 2, i % 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addLayout(grid, 1)

        self.log_scale.toggled.connect(lambda on: [p.tools.set_log(on) for p in self.plots.values()])
        self.smoothed.toggled.connect(self._force_redraw)
        self.smoothing.valueChanged.connect(self._force_redraw)
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_INTERVAL_MS)
        self.timer.timeout.connect(self.redraw)
        self.timer.start()

    # --- data -----------------------------------------------------------------
    def clear(self) -> None:
        self.history.clear()
        for plot in self.plots.values():
            plot.clear_data()
        self._drawn_version = -1

    def set_has_aux(self, has_aux: bool) -> None:
        self._has_aux = has_aux
        plot = self.plots["auxAccuracyPlot"]
        plot.set_placeholder("" if has_aux else "This model has no auxiliary classifier")
        for curve in plot.curves.values():
            curve.setVisible(has_aux)

    def add(self, step: float, values: dict, lrs: dict | None = None) -> None:
        """Buffer one report; drawn at the next timer tick."""
        merged = dict(values)
        if lrs:
            merged.update(lrs)
        self.history.append(step, merged)

    def extend(self, rows: list[tuple[float, dict]]) -> None:
        self.history.extend(rows)

    # --- drawing --------------------------------------------------------------
    def _force_redraw(self, *_) -> None:
        self._drawn_version = -1
        self.redraw()

    def fit_tight(self) -> None:
        """Draw what is buffered and fit every plot to it (a run ended, or one read from files)."""
        self._tight = True
        self._force_redraw()
        self._tight = False

    _tight = False

    def redraw(self) -> None:
        if self.history.version == self._drawn_version:
            return
        self._drawn_version = self.history.version
        x = self.history.x()
        weight = self.smoothing.value() if self.smoothed.isChecked() else 0.0
        for plot in self.plots.values():
            lows: list[float] = []
            highs: list[float] = []
            for key, curve in plot.curves.items():
                if not self.history.has_values(key):
                    curve.setData([], [])
                    continue
                y = self.history.y(key)
                # Learning rates are step functions: smoothing them would invent values.
                if weight > 0.0 and key not in LR_NAMES:
                    y = ema(y, weight)
                curve.setData(x, y, skipFiniteCheck=True)
                lows.append(float(y.min()))
                highs.append(float(y.max()))
            if len(x):
                plot.fit(float(x[0]), float(x[-1]), min(lows, default=None), max(highs, default=None), self._tight)
        self.redrawn.emit()

    def curve_data(self, object_name: str, key: str):
        """(x, y) given to the curve (before clipping to the view); empty before the first point."""
        x, y = self.plots[object_name].curves[key].getOriginalDataset()
        return (np.empty(0) if x is None else x), (np.empty(0) if y is None else y)

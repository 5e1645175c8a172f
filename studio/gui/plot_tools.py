"""Reading the training plots: hover read-out, log scale, export, event marks, and several runs overlaid.

:class:`PlotTools` adds to one :class:`~studio.gui.plots.MetricPlot` what a
reader of curves expects: the values under the mouse, a logarithmic y axis,
a right-click menu that saves the plotted data as CSV or the plot as PNG, and
vertical marks for what happened in the run (resumes, evaluations, alarms).

:class:`RunOverlay` draws several runs' curves (from
:func:`studio.app.run_compare.load_curves`) on the same plots: one colour per
run, one line style per series, a legend with the run names.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, Qt
from PySide6.QtWidgets import QFileDialog, QMenu

from studio.app.run_compare import write_series_csv
from studio.core.atomic import atomic_write_bytes
from studio.gui.history import ema

__all__ = [
    "RUN_COLOURS",
    "EVENT_COLOURS",
    "PlotTools",
    "RunOverlay",
    "install",
    "run_colour",
    "run_x_label",
    "save_plot_png",
]

# One colour per compared run (matplotlib's tab10): distinct for the common colour blindnesses' first few.
RUN_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
# One line style per series of a plot while runs are compared (colour says the run).
SERIES_STYLES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine)
_STYLE_TEXT = ("&#9472;&#9472;", "- -", "&middot;&middot;&middot;")
EVENT_COLOURS = {"resume": "#555555", "evaluation": "#1f77b4", "alarm": "#d62728"}
_EVENT_LABELS = {"resume": "resumed", "evaluation": "eval", "alarm": "alarm"}


def run_colour(index: int) -> str:
    return RUN_COLOURS[index % len(RUN_COLOURS)]


def _fmt(value: float) -> str:
    if not math.isfinite(value):
        return "–"
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.3e}"
    return f"{value:.4g}"


def save_plot_png(plot: pg.PlotWidget, path: str | Path, width: int = 0) -> Path:
    """The plot as a PNG (``width`` px wide, default twice its size on screen), written atomically."""
    from pyqtgraph.exporters import ImageExporter

    exporter = ImageExporter(plot.getPlotItem())
    exporter.parameters()["width"] = int(width or max(2 * plot.width(), 400))
    image = exporter.export(toBytes=True)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    path = Path(path).expanduser()
    atomic_write_bytes(path, bytes(data.data()))
    return path


class PlotTools:
    """Hover read-out, log scale, CSV/PNG export and event marks for one MetricPlot."""

    def __init__(self, plot):
        self.plot = plot
        self.log_y = False
        self.x_label = "step"
        self.events: list = []
        self._marks: list[pg.InfiniteLine] = []
        item = plot.getPlotItem()
        self.readout = pg.TextItem("", color="#222", anchor=(0, 0), fill=pg.mkBrush(255, 255, 255, 220))
        self.readout.setZValue(50)
        self.readout.setParentItem(item.getViewBox())
        self.readout.hide()
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#999", width=1))
        self.cursor.setZValue(40)
        item.addItem(self.cursor, ignoreBounds=True)
        self.cursor.hide()
        plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        plot.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        tip = plot.toolTip()
        plot.setToolTip(
            (tip + "\n\n" if tip else "")
            + "Hover to read the values at a step; right-click to save the data (CSV) or the plot (PNG), "
            "or to switch the y axis to a log scale."
        )

    # --- the curves drawn ---------------------------------------------------------------------
    def labelled_items(self) -> list[tuple[str, pg.PlotDataItem]]:
        """(name, data item) of every curve with data: the run's own curves, or the compared runs'."""
        out = []
        labels = {c.key: c.label for c in self.plot.spec.curves}
        for key, curve in self.plot.curves.items():
            if curve.isVisible() and curve.xData is not None and len(curve.xData):
                out.append((labels.get(key, key), curve))
        overlay = getattr(self.plot, "overlay_items", {})
        for name, curve in overlay.items():
            if curve.isVisible() and curve.xData is not None and len(curve.xData):
                out.append((name, curve))
        return out

    def series(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """(name, x, y) of what is drawn, y as given (before the log scale)."""
        out = []
        for name, curve in self.labelled_items():
            x, y = curve.getOriginalDataset()
            if x is not None and y is not None:
                out.append((name, np.asarray(x, dtype=float), np.asarray(y, dtype=float)))
        return out

    # --- hover read-out -----------------------------------------------------------------------
    def readout_text(self, x: float) -> str:
        """What the read-out says at ``x`` (data coordinates): the x, each curve's nearest value, events there."""
        lines = []
        for name, xs, ys in self.series():
            i = int(np.clip(np.searchsorted(xs, x), 0, len(xs) - 1))
            if i > 0 and abs(xs[i - 1] - x) <= abs(xs[i] - x):
                i -= 1
            if not lines:
                lines.append(f"{self.x_label} {_fmt(float(xs[i]))}")
            lines.append(f"{name}: {_fmt(float(ys[i]))}")
        near = self._events_near(x)
        lines += [event.text for event in near]
        return "\n".join(lines)

    def _events_near(self, x: float) -> list:
        view = self.plot.getPlotItem().getViewBox()
        (x0, x1), _ = view.viewRange()
        tolerance = (x1 - x0) / 100
        return [e for e in self.events if abs(e.x - x) <= tolerance]

    def _on_mouse_moved(self, pos: QPointF) -> None:
        view = self.plot.getPlotItem().getViewBox()
        if not view.sceneBoundingRect().contains(pos):
            self.readout.hide()
            self.cursor.hide()
            return
        point = view.mapSceneToView(pos)
        text = self.readout_text(point.x())
        if not text:
            self.readout.hide()
            self.cursor.hide()
            return
        self.readout.setText(text)
        local = view.mapFromScene(pos)
        # Beside the cursor, on the side with room.
        rect = view.boundingRect()
        anchor_x = 1 if local.x() > rect.width() / 2 else 0
        self.readout.setAnchor((anchor_x, 0))
        self.readout.setPos(local.x() + (-10 if anchor_x else 10), rect.top() + 4)
        self.readout.show()
        self.cursor.setPos(point.x())
        self.cursor.show()

    # --- log scale ----------------------------------------------------------------------------
    def set_log(self, on: bool) -> None:
        """A logarithmic y axis (values at or below zero are left out of the drawing)."""
        self.log_y = bool(on)
        self.plot.getPlotItem().setLogMode(y=self.log_y)
        self.plot.user_range = False
        self.fit_to_data()

    def fit_to_data(self) -> bool:
        """Fit the view to every curve drawn (in log units on a log axis); False when nothing is drawn.

        Computed from the data itself: with clip-to-view, pyqtgraph's own auto range sees
        only the part of a curve already in view.
        """
        x_low = x_high = y_low = y_high = None
        for _, x, y in self.series():
            keep = np.isfinite(x) & np.isfinite(y)
            if self.log_y:
                keep &= y > 0
            if not keep.any():
                continue
            x, y = x[keep], y[keep]
            x_low = min(float(x.min()), x_low if x_low is not None else math.inf)
            x_high = max(float(x.max()), x_high if x_high is not None else -math.inf)
            y_low = min(float(y.min()), y_low if y_low is not None else math.inf)
            y_high = max(float(y.max()), y_high if y_high is not None else -math.inf)
        if x_low is None:
            return False
        view = self.plot.getPlotItem().getViewBox()
        view.setXRange(x_low, x_high if x_high > x_low else x_low + 1.0, padding=0.02)
        if self.log_y:
            low, high = math.log10(y_low), math.log10(y_high)
            view.setYRange(low, high if high > low else low + 1.0, padding=0.05)
        elif self.plot.spec.y_range is not None:
            view.setYRange(*self.plot.spec.y_range, padding=0.02)
        else:
            view.setYRange(y_low, y_high if y_high > y_low else y_low + 1.0, padding=0.05)
        return True

    # --- export -------------------------------------------------------------------------------
    def export_csv(self, path: str | Path) -> Path:
        return write_series_csv(path, self.x_label, self.series())

    def export_png(self, path: str | Path, width: int = 0) -> Path:
        return save_plot_png(self.plot, path, width)

    def menu(self) -> QMenu:
        menu = QMenu(self.plot)
        log = menu.addAction("Log scale (y)")
        log.setCheckable(True)
        log.setChecked(self.log_y)
        log.toggled.connect(self.set_log)
        menu.addSeparator()
        csv_action = menu.addAction("Save data as CSV…")
        csv_action.setEnabled(bool(self.labelled_items()))
        csv_action.triggered.connect(self._ask_csv)
        png_action = menu.addAction("Save plot as PNG…")
        png_action.triggered.connect(self._ask_png)
        fit = menu.addAction("Fit to data")
        fit.triggered.connect(self._fit)
        return menu

    def _fit(self) -> None:
        self.plot.user_range = False
        self.fit_to_data()

    def _on_mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.RightButton:
            return
        view = self.plot.getPlotItem().getViewBox()
        if not view.sceneBoundingRect().contains(event.scenePos()):
            return
        event.accept()
        self.menu().exec(event.screenPos().toPoint())

    def _ask(self, caption: str, suffix: str, filters: str) -> Path | None:
        from studio.gui.settings import settings

        s = settings()
        folder = str(s.value("export/plotFolder", str(Path.home())))
        name = f"{self.plot.objectName()}.{suffix}"
        path, _ = QFileDialog.getSaveFileName(self.plot, caption, str(Path(folder) / name), filters)
        if not path:
            return None
        path = Path(path)
        if path.suffix.lower() != f".{suffix}":
            path = path.with_suffix(f".{suffix}")
        s.setValue("export/plotFolder", str(path.parent))
        return path

    def _ask_csv(self) -> None:
        path = self._ask("Save the plotted data", "csv", "CSV files (*.csv)")
        if path is not None:
            self._write(lambda: self.export_csv(path))

    def _ask_png(self) -> None:
        path = self._ask("Save the plot", "png", "PNG images (*.png)")
        if path is not None:
            self._write(lambda: self.export_png(path))

    def _write(self, write) -> None:
        from PySide6.QtWidgets import QMessageBox

        try:
            write()
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            QMessageBox.warning(self.plot, "Cannot save", f"{where}{exc.strerror or exc}")

    # --- event marks --------------------------------------------------------------------------
    def set_events(self, events, colours: dict[str, str] | None = None) -> None:
        """Vertical marks at each event's ``x`` (objects with kind, x, text, run); [] removes them.

        ``colours`` (run name -> colour) draws a compared run's marks in its colour; otherwise
        the kind says the colour (resume grey, evaluation blue, alarm red).
        """
        item = self.plot.getPlotItem()
        for mark in self._marks:
            item.removeItem(mark)
        self._marks = []
        self.events = [e for e in events if math.isfinite(e.x)]
        xs = [float(x.min()) for _, x, _ in self.series() if len(x)] + [
            float(x.max()) for _, x, _ in self.series() if len(x)
        ]
        low, high = (min(xs), max(xs)) if xs else (0.0, 1.0)
        for event in self.events:
            run = getattr(event, "run", "")
            colour = (colours or {}).get(run) or EVENT_COLOURS.get(event.kind, "#555555")
            # Near the right edge the label goes to the left of its line, where there is room.
            right = high > low and event.x > low + 0.8 * (high - low)
            anchor = (1, 0) if right else (0, 0)
            mark = pg.InfiniteLine(
                pos=event.x,
                angle=90,
                movable=False,
                pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine),
                label=_EVENT_LABELS.get(event.kind, event.kind),
                labelOpts={"position": 0.96, "color": colour, "anchors": [anchor, anchor]},
            )
            mark.setToolTip(f"{run}: {event.text}" if run else event.text)
            mark.setZValue(-5)
            item.addItem(mark, ignoreBounds=True)
            self._marks.append(mark)

    def marks(self) -> list[pg.InfiniteLine]:
        return list(self._marks)


class RunOverlay:
    """Several runs' curves on the training plots (a :class:`~studio.gui.plots.TrainingPlots`)."""

    def __init__(self, plots, object_names=("lossPlot", "discriminatorPlot", "auxAccuracyPlot", "lrPlot")):
        self.plots = plots
        self.object_names = tuple(n for n in object_names if n in plots.plots)
        self.curves: list = []  # RunCurves shown
        self._legends: dict[str, pg.LegendItem] = {}
        self._titles: dict[str, str] = {}
        for name in self.object_names:
            plot = plots.plots[name]
            plot.overlay_items = {}
            self._titles[name] = plot.getPlotItem().titleLabel.text

    @property
    def active(self) -> bool:
        return bool(self.curves)

    def legend(self, object_name: str) -> pg.LegendItem | None:
        return self._legends.get(object_name)

    def items(self, object_name: str) -> dict:
        """{'run · series': data item} drawn on one plot."""
        return dict(self.plots.plots[object_name].overlay_items)

    def show(self, curves, smoothing: float = 0.0) -> None:
        """Draw ``curves`` (RunCurves, one colour each in order), replacing what was overlaid."""
        self.clear()
        self.curves = list(curves)
        for object_name in self.object_names:
            plot = self.plots.plots[object_name]
            item = plot.getPlotItem()
            # Below the x axis, one column per run: inside the plot it would hide the curves.
            legend = pg.LegendItem(labelTextSize="8pt", colCount=max(len(self.curves), 1), verSpacing=-8)
            legend.setObjectName(f"{object_name}Legend")
            item.layout.addItem(legend, 4, 1)
            self._legends[object_name] = legend
            for run_index, run in enumerate(self.curves):
                colour = run_colour(run_index)
                first = None
                for series_index, spec in enumerate(plot.spec.curves):
                    if not run.has(spec.key) or not len(run.x):
                        continue
                    y = _filled(run.series[spec.key])
                    if smoothing > 0 and spec.key not in ("g_lr", "d_lr"):
                        y = ema(y, smoothing)
                    style = SERIES_STYLES[series_index % len(SERIES_STYLES)]
                    data = item.plot(
                        run.x,
                        y,
                        pen=pg.mkPen(colour, width=1.5, style=style),
                        name=None,
                        skipFiniteCheck=True,
                    )
                    label = f"{run.name} · {spec.label}"
                    data.opts["name"] = label
                    plot.overlay_items[label] = data
                    first = first or data
                if first is not None:
                    legend.addItem(pg.PlotDataItem(pen=pg.mkPen(colour, width=2.5)), run.name)
            keys = " ".join(
                f"<span>{_STYLE_TEXT[i % len(_STYLE_TEXT)]}</span>&nbsp;{c.label}"
                for i, c in enumerate(plot.spec.curves)
            )
            item.setTitle(
                f'<b>{plot.spec.title}</b><br><span style="font-size:8pt">{keys}</span>',
                size="9pt",
                color="#222",
            )
            item.setLabel("bottom", run_x_label(self.curves))
            plot.user_range = False
            tools = getattr(plot, "tools", None)
            if tools is not None:
                tools.fit_to_data()
                tools.x_label = run_x_label(self.curves)
                events = [e for run in self.curves for e in run.events]
                tools.set_events(events, {run.name: run_colour(i) for i, run in enumerate(self.curves)})

    def clear(self) -> None:
        for object_name in self.object_names:
            plot = self.plots.plots[object_name]
            item = plot.getPlotItem()
            for data in plot.overlay_items.values():
                item.removeItem(data)
            plot.overlay_items = {}
            legend = self._legends.pop(object_name, None)
            if legend is not None:
                item.layout.removeItem(legend)
                if legend.scene() is not None:
                    legend.scene().removeItem(legend)
            if self.curves:
                item.setTitle(self._titles[object_name])
                item.setLabel("bottom", "step")
                tools = getattr(plot, "tools", None)
                if tools is not None:
                    tools.x_label = "step"
                    tools.set_events([])
        self.curves = []


def run_x_label(curves) -> str:
    return curves[0].x_label if curves else "step"


def _filled(y: np.ndarray) -> np.ndarray:
    """NaN gaps carry the previous value (the first ones the first value), as the live plots do."""
    y = np.asarray(y, dtype=np.float64).copy()
    bad = ~np.isfinite(y)
    if not bad.any():
        return y
    good = np.flatnonzero(~bad)
    if not len(good):
        return np.zeros_like(y)
    index = np.where(bad, 0, np.arange(len(y)))
    np.maximum.accumulate(index, out=index)
    index[: good[0]] = good[0]
    return y[index]


def install(plot) -> PlotTools:
    """Give ``plot`` (a MetricPlot) its tools, as ``plot.tools``."""
    plot.tools = PlotTools(plot)
    return plot.tools

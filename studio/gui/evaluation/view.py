"""The evaluation panel's results: the table of every figure kept, the plots of each metric over epochs."""

from __future__ import annotations

import html

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidget, QTableWidgetItem

from studio.gui.evaluation.results import FAMILY_NAMES, curve_data, family, per_class

__all__ = ["COLUMNS", "fill_table", "draw_plots", "plotted"]

COLUMNS = ("Generator", "Metric", "Value", "Features", "N", "Judge", "Conditions")
_COLOURS = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#7f7f7f",
    "#bcbd22",
)


def _texts_and_tip(row: dict) -> tuple[list[str], str]:
    value = row.get("value")
    space = str(row.get("feature_space", "") or "")
    texts = [
        str(row.get("generator", "")),
        str(row.get("metric", "")),
        f"{value:.4g}" if isinstance(value, (int, float)) else str(value),
        space.split(":")[0] or "–",
        str(row.get("n", "")),
        str(row.get("judge", "") or "–"),
        str(row.get("conditions", "") or "–"),
    ]
    tip = "\n".join(
        part
        for part in (
            f"{row.get('time', '')}  {row.get('checkpoint', '')}",
            f"judge: {row['judge']}" if row.get("judge") else "",
            f"features: {space}; comparable with {row.get('comparable') or '?'}" if space else "",
        )
        if part
    )
    return texts, tip


def fill_table(table: QTableWidget, rows: list[dict], each_class: bool) -> None:
    """The results, newest first; each class's accuracy only when ``each_class``."""
    shown = [r for r in reversed(rows) if each_class or not per_class(r)]
    table.setRowCount(len(shown))
    for i, row in enumerate(shown):
        texts, tip = _texts_and_tip(row)
        for col, text in enumerate(texts):
            item = QTableWidgetItem(text)
            if col in (2, 4):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setToolTip(tip)
            table.setItem(i, col, item)
    if not shown:
        table.setToolTip("No figures kept for this run yet: choose generators and metrics, then Evaluate")
    else:
        table.setToolTip("Every figure kept in the run's evaluation/results.json, newest first")


def _new_plot(plot: pg.GraphicsLayoutWidget, row: int, kind: str, epochs: list[int]) -> pg.PlotItem:
    item = plot.addPlot(row=row, col=0)
    item.showGrid(x=True, y=True, alpha=0.25)
    item.setMenuEnabled(False)
    for side in ("left", "bottom"):
        item.getAxis(side).setTextPen("#333")
    # Named, with an SI prefix for tiny figures (KID), and as wide as the others so the plots align.
    item.setLabel("left", FAMILY_NAMES.get(kind, kind))
    item.getAxis("bottom").enableAutoSIPrefix(False)
    item.getAxis("left").setWidth(64)
    if kind == "cond_acc":
        item.setYRange(0.0, 1.0, padding=0.04)
        item.enableAutoRange(axis="y", enable=False)
    if len(epochs) <= 15:
        item.getAxis("bottom").setTicks([[(e, str(e)) for e in epochs]])
    return item


def draw_plots(plot: pg.GraphicsLayoutWidget, rows: list[dict]) -> tuple[dict, dict]:
    """One plot per kind of figure, stacked on a shared epoch axis: ({label: curve}, {kind: plot item})."""
    plot.clear()
    curves, items = {}, {}
    data = curve_data(rows)
    if not data:
        plot.addLabel(
            "No figures of the run's checkpoints yet:<br>select checkpoints and press Evaluate",
            color="#777",
            size="9pt",
        )
        return curves, items
    families: dict[str, list[str]] = {}
    for label in data:
        families.setdefault(family(label), []).append(label)
    epochs = sorted({e for xs, _ in data.values() for e in xs})
    first = None
    for row, (kind, labels) in enumerate(families.items()):
        item = _new_plot(plot, row, kind, epochs)
        if first is None:
            first = item
        else:
            item.setXLink(first)
        keys = []
        for label in labels:
            colour = _COLOURS[list(data).index(label) % len(_COLOURS)]
            xs, ys = data[label]
            curves[label] = item.plot(
                xs, ys, pen=pg.mkPen(colour, width=1.5), symbol="o", symbolSize=6, symbolBrush=colour, symbolPen=colour
            )
            keys.append(f'<span style="color:{colour}">&#9472;&#9679;&#9472;</span>&nbsp;{html.escape(label)}')
        # The legend in the title: inside the plot it would hide points.
        item.setTitle(f'<span style="font-size:8pt">{"&nbsp;&nbsp; ".join(keys)}</span>', color="#222")
        items[kind] = item
    shown = list(items.values())
    for item in shown[:-1]:  # the epochs are shared: numbered once, under the last plot
        item.getAxis("bottom").setStyle(showValues=False)
    shown[-1].setLabel("bottom", "epoch")
    return curves, items


def plotted(curves: dict) -> dict[str, tuple[list[float], list[float]]]:
    """What the curves show: {label: (epochs, values)}."""
    out = {}
    for label, curve in curves.items():
        xs, ys = curve.getData()
        out[label] = ([] if xs is None else [float(x) for x in xs], [] if ys is None else [float(y) for y in ys])
    return out

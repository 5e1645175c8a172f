"""The evaluation panel's results: the table of every figure kept, the plots of each metric over epochs."""

from __future__ import annotations

import html

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidget, QTableWidgetItem

from studio.gui.evaluation.results import FAMILY_NAMES, curve_data, extra_points, family, per_class

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
        ("classifier" if space.startswith("classifier") else space.split(":")[0]) or "–",
        f"{row.get('n', '')} / {row['n_real']}" if row.get("n_real") else str(row.get("n", "")),  # generated / real
        str(row.get("judge", "") or "–"),
        str(row.get("conditions", "") or "–"),
    ]
    tip = "\n".join(
        part
        for part in (
            f"{row.get('time', '')}  {row.get('checkpoint', '')}",
            f"judge: {row['judge']}" if row.get("judge") else "",
            f"conditions: {row['conditions']}" if row.get("conditions") else "",
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
    lines = curve_data(rows)
    extras = extra_points(rows)  # the EMA and the saved averages: points of their own beside the curves
    data = {**lines, **extras}
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
        keys, marks = [], {}
        for label in labels:
            base = label.split(" · ")[0]
            # An EMA's or an average's points take the colour of their metric's curve: the legend stays short.
            colour = _COLOURS[list(data).index(base if base in data else label) % len(_COLOURS)]
            xs, ys = data[label]
            if label in extras:  # an EMA (star) or an average (square): no line through unrelated epochs
                symbol, mark = (
                    ("star", "&#9733;&nbsp;EMA") if label.endswith("· EMA") else ("s", "&#9632;&nbsp;average")
                )
                curves[label] = item.plot(
                    xs, ys, pen=None, symbol=symbol, symbolSize=11, symbolBrush=colour, symbolPen="#222"
                )
                marks[symbol] = mark
            else:
                mark = "&#9472;&#9679;&#9472;"
                curves[label] = item.plot(
                    xs,
                    ys,
                    pen=pg.mkPen(colour, width=1.5),
                    symbol="o",
                    symbolSize=6,
                    symbolBrush=colour,
                    symbolPen=colour,
                )
            if len(epochs) == 1:  # one epoch: the value written beside its point, not read off an axis
                text = pg.TextItem(f"{ys[-1]:.4g}", color=colour, anchor=(-0.15, 0.5))
                text.setPos(xs[-1], ys[-1])
                item.addItem(text)
            if label not in extras:
                keys.append(f'<span style="color:{colour}">{mark}</span>&nbsp;{html.escape(label)}')
        keys += [f'<span style="color:#444">{mark}</span>' for mark in marks.values()]
        if len(epochs) == 1:
            # A single epoch on an axis of its own would be a lone dot at an arbitrary place: centre it,
            # with a little room either side and the value range around the points.
            e = epochs[0]
            item.setXRange(e - 1, e + 1, padding=0)
            values = [y for label in labels for y in data[label][1]]
            if kind != "cond_acc" and values:
                low, high = min(values), max(values)
                span = max(abs(high) * 0.2, high - low, 1e-9)
                item.setYRange(low - span, high + span, padding=0)
        # The legend in the title: inside the plot it would hide points.
        # Three keys a line: one long line would widen the plot past a narrow pane (1280 px windows).
        lines = ["&nbsp;&nbsp; ".join(keys[i : i + 3]) for i in range(0, len(keys), 3)]
        item.setTitle(f'<span style="font-size:8pt">{"<br>".join(lines)}</span>', color="#222")
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

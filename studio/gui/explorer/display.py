"""The explorer's display: the title, the grid as far as it is drawn, the status line under it."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from studio.core.explore import Layout
from studio.core.sampling import GRID_PADDING
from studio.gui.builders import make_combo
from studio.gui.frames import ZOOMS
from studio.gui.timeline import SampleView, TimelineFrame

__all__ = ["GridDisplay"]


class GridDisplay(QWidget):
    """The mosaic of one layout, painted whole or a strip of rows at a time; a click on a row names it."""

    rowClicked = Signal(int)  # the row (0-based) under a click on the grid

    WIDGETS = ("title", "view", "status", "zoom_combo")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.mosaic: np.ndarray | None = None
        self.layout_shown: Layout | None = None  # the layout of the mosaic
        self.title = QLabel("No generator")
        self.title.setObjectName("explorerTitle")
        self.title.setWordWrap(True)  # a long interpolation title must not widen the window
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.view = SampleView()
        self.view.setObjectName("explorerView")
        self.view.setToolTip(
            "The grid; click a row to choose it for resampling, double-click a sample to see it enlarged. "
            "Ctrl + wheel zooms"
        )
        self.view.canvas.placeholder = self.NO_RUN
        self.view.cellDoubleClicked.connect(self.show_cell)  # a sample, enlarged with its condition
        self.view.canvas.installEventFilter(self)
        self.status = QLabel()
        self.status.setObjectName("explorerStatus")
        self.status.setWordWrap(True)
        self.status.setProperty("hint", True)
        self.status.setToolTip("The grid's size and how it was drawn")
        self.zoom_combo = make_combo(
            "explorerZoom", "Size of the grid: 'Fit' never shrinks samples below 100% (Ctrl + wheel zooms too)"
        )
        for text, value in ZOOMS:
            self.zoom_combo.addItem(text, value)
        self.zoom_combo.currentIndexChanged.connect(lambda _: self.view.set_zoom(self.zoom_combo.currentData()))
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(QLabel("Zoom"))
        bottom.addWidget(self.zoom_combo)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        layout.addLayout(bottom)

    NO_RUN = "Choose a run with checkpoints to explore its generators."

    def clear(self, reason: str = "") -> None:
        """No grid: the placeholder shows ``reason`` (by default: choose a run)."""
        self.mosaic = None
        self.view.canvas.placeholder = reason or self.NO_RUN
        self.view.set_frame(None, None)

    def show_cell(self, row: int, col: int):
        """Sample (row, col) of the grid shown, enlarged with its condition; returns the dialog (None: no grid)."""
        from studio.gui.enlarge import EnlargedSampleDialog, cell_array, condition_text

        layout = self.layout_shown
        if self.mosaic is None or layout is None:
            return None
        if getattr(self, "_enlarged", None) is None:
            self._enlarged = EnlargedSampleDialog(self)
        condition = condition_text(list(layout.row_captions), list(layout.col_captions), row, col)
        cell = cell_array(self.mosaic, layout.rows, layout.cols, row, col)
        where = f"row {row + 1} of {layout.rows}, column {col + 1} of {layout.cols}"
        self._enlarged.show_sample(cell, condition, where)
        self._enlarged.show()
        self._enlarged.raise_()
        return self._enlarged

    def begin(self, shape: tuple[int, int], layout: Layout) -> None:
        """A grid of ``shape`` (height, width) px about to be painted row by row; the one shown stays till then."""
        if self.mosaic is None or self.mosaic.shape[:2] != tuple(shape):
            self.mosaic = np.full((shape[0], shape[1], 3), 255, dtype=np.uint8)
        self._show(layout)

    def paint_rows(self, first: int, strip: np.ndarray) -> None:
        """Put ``strip`` (rows from ``first`` on) into the mosaic on screen."""
        pitch = (self.mosaic.shape[0] - GRID_PADDING) // max(self.layout_shown.rows, 1)
        y = first * pitch
        self.mosaic[y : y + strip.shape[0]] = strip[: self.mosaic.shape[0] - y]
        self.view.canvas.update()

    def show_grid(self, mosaic: np.ndarray, layout: Layout) -> None:
        """The whole grid of ``layout``."""
        self.mosaic = mosaic
        self._show(layout)

    def _show(self, layout: Layout) -> None:
        self.layout_shown = layout
        rows = list(layout.row_captions)
        if layout.rows > 1 and len(set(rows[: layout.rows])) == 1:
            # Every row holds the same condition (it is in the title): the rows differ only by their noise.
            rows = [f"sample {i + 1}" for i in range(layout.rows)]
        frame = TimelineFrame(0, layout.rows, layout.cols, rows, list(layout.col_captions))
        self.view.set_frame(self.mosaic, frame)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.view.canvas and event.type() == QEvent.Type.MouseButtonPress:
            row = self.row_at(event.position().y())
            if row is not None:
                self.rowClicked.emit(row)
        return super().eventFilter(obj, event)

    def row_at(self, y: float) -> int | None:
        """The row of the grid at ``y`` px down the canvas; None off the grid."""
        if self.mosaic is None or self.layout_shown is None:
            return None
        canvas = self.view.canvas
        _, top, _ = canvas.margins()
        height = self.mosaic.shape[0] * canvas.zoom
        if not top <= y < top + height:
            return None
        return min(self.layout_shown.rows - 1, int((y - top) / (height / self.layout_shown.rows)))

"""One sample of a grid, enlarged with its condition: what a click on a grid cell opens.

Grids come from the core's mosaics (``torchvision.utils.make_grid``): ``padding`` pixels around
every cell, so cell ``(r, c)`` of a ``rows`` x ``cols`` grid starts at ``pad + c * (cell + pad)``.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QSizePolicy, QVBoxLayout, QWidget

__all__ = ["cell_box", "cell_at", "cell_array", "EnlargedSampleDialog", "PixelView"]

PADDING = 2  # studio.core.sampling.GRID_PADDING: the window reads grids, it does not import the maths
ENLARGED_PX = 384  # an enlarged sample is drawn at least this large (whole-number zoom)


def cell_box(shape: tuple[int, ...], rows: int, cols: int, row: int, col: int, padding: int = PADDING):
    """(x, y, width, height) of cell (row, col) in a grid image of ``shape`` (H, W, ...)."""
    height, width = shape[0], shape[1]
    cell_w = (width - padding) / max(cols, 1) - padding
    cell_h = (height - padding) / max(rows, 1) - padding
    x = padding + col * (cell_w + padding)
    y = padding + row * (cell_h + padding)
    return int(round(x)), int(round(y)), max(1, int(round(cell_w))), max(1, int(round(cell_h)))


def cell_at(shape: tuple[int, ...], rows: int, cols: int, x: float, y: float) -> tuple[int, int] | None:
    """The (row, col) under image pixel (x, y), or None outside the grid."""
    height, width = shape[0], shape[1]
    if not (0 <= x < width and 0 <= y < height) or rows < 1 or cols < 1:
        return None
    row = min(rows - 1, int(y * rows / height))
    col = min(cols - 1, int(x * cols / width))
    return row, col


def cell_array(grid: np.ndarray, rows: int, cols: int, row: int, col: int, padding: int = PADDING) -> np.ndarray:
    """The pixels of one cell, C-contiguous."""
    x, y, w, h = cell_box(grid.shape, rows, cols, row, col, padding)
    return np.ascontiguousarray(grid[y : y + h, x : x + w])


class PixelView(QWidget):
    """An image at a whole-number zoom, sharp pixels, centred."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._array: np.ndarray | None = None
        self._image: QImage | None = None
        self.zoom = 1
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_array(self, array: np.ndarray, zoom: int) -> None:
        self._array = np.ascontiguousarray(array[..., :3])
        h, w = self._array.shape[:2]
        self._image = QImage(self._array.data, w, h, 3 * w, QImage.Format.Format_RGB888)
        self.zoom = max(1, int(zoom))
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        if self._image is None:
            return QSize(ENLARGED_PX, ENLARGED_PX)
        return QSize(self._image.width() * self.zoom + 16, self._image.height() * self.zoom + 16)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("white"))
        if self._image is None:
            return
        w, h = self._image.width() * self.zoom, self._image.height() * self.zoom
        target = QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        p.drawImage(target, self._image)


class EnlargedSampleDialog(QDialog):
    """One sample, drawn large, under the condition it was asked for."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("enlargedSample")
        self.setWindowTitle("Sample")
        self.caption = QLabel()
        self.caption.setObjectName("enlargedCaption")
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail = QLabel()
        self.detail.setProperty("hint", True)
        self.view = PixelView()
        self.view.setObjectName("enlargedView")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.detail)
        layout.addWidget(buttons)

    def show_sample(self, array: np.ndarray, condition: str, detail: str = "") -> None:
        """Show ``array`` (H, W, 3) at a whole-number zoom of at least :data:`ENLARGED_PX` px."""
        side = max(array.shape[0], array.shape[1], 1)
        zoom = max(2, math.ceil(ENLARGED_PX / side))
        self.view.set_array(array, zoom)
        self.caption.setText(f"<b>{condition}</b>" if condition else "<b>unconditional sample</b>")
        size = f"{array.shape[1]}x{array.shape[0]} px shown at {zoom}x"
        self.detail.setText(f"{detail} · {size}" if detail else size)
        self.adjustSize()


def condition_text(row_captions, col_captions, row: int, col: int) -> str:
    """'blue hair, red eyes' from a grid's captions (either may be missing)."""
    parts = []
    if row < len(row_captions) and row_captions[row]:
        parts.append(str(row_captions[row]))
    if col < len(col_captions) and col_captions[col]:
        parts.append(str(col_captions[col]))
    return ", ".join(parts)

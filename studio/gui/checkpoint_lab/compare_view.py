"""The comparison view: grids side by side, each under its title, at one zoom for all.

Zoom 0 (the default) fits the view but never shrinks a grid below its own size: the view grows
and its scroll area scrolls instead; -1 fits everything, smaller when it must; 1, 2, 3 ... are fixed.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

__all__ = ["CompareView"]


class CompareView(QWidget):
    """Grids side by side, each under its title, at one zoom (by default: fit, at least 100%)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("compareView")
        self.setToolTip("The same fixed noise and conditions through each generator")
        self._arrays: list[np.ndarray] = []
        self._images: list[QImage] = []
        self._titles: list[str] = []
        self.placeholder = "Average some checkpoints, or press Compare, to see generators side by side."
        self.setAutoFillBackground(True)
        pal = self.palette()
        pal.setColor(self.backgroundRole(), QColor("white"))
        self.setPalette(pal)
        self.setMinimumSize(300, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.zoom = 0.0

    def set_images(self, titles: list[str], arrays: list[np.ndarray]) -> None:
        self._titles = list(titles)
        self._arrays = [np.ascontiguousarray(a) for a in arrays]
        self._images = [
            QImage(a.data, a.shape[1], a.shape[0], 3 * a.shape[1], QImage.Format.Format_RGB888) for a in self._arrays
        ]
        self._update_minimum()
        self.update()

    def clear(self) -> None:
        self.set_images([], [])

    def set_zoom(self, zoom: float) -> None:
        """0: fit, never below 100%; -1: fit everything; else that scale."""
        self.zoom = float(zoom)
        self._update_minimum()
        self.update()

    def _free_size(self) -> tuple[int, int]:
        """The room the view may fill without scrolling: its scroll area's viewport, else itself."""
        parent = self.parentWidget()
        if parent is not None and parent.objectName() == "qt_scrollarea_viewport":
            return parent.width(), parent.height()
        return self.width(), self.height()

    def layout_now(self, gap: int = 10, title_h: int = 20) -> tuple[int, float]:
        """(columns, scale) at the chosen zoom."""
        columns, fit = self.arrangement(gap, title_h, self._free_size())
        if self.zoom < 0 or not self._images:
            return columns, fit
        scale = self.zoom if self.zoom > 0 else max(1.0, fit)
        if abs(scale - fit) < 1e-9:
            return columns, fit
        width = max(image.width() for image in self._images) * scale
        free_w = self._free_size()[0]
        return max(1, min(len(self._images), int((free_w - gap) // (width + gap)))), scale

    def _content_size(self, gap: int, title_h: int) -> QSize:
        columns, scale = self.layout_now(gap, title_h)
        n = len(self._images)
        rows = -(-n // columns)
        width = max(image.width() for image in self._images) * scale
        height = max(image.height() for image in self._images) * scale + title_h
        return QSize(int(gap + columns * (width + gap)), int(gap + rows * (height + gap)))

    def _update_minimum(self) -> None:
        if not self._images or self.zoom < 0:
            wanted = QSize(300, 240)
        else:
            fm = QFontMetrics(self.font())
            wanted = self._content_size(10, fm.height() + 6).expandedTo(QSize(300, 240))
        if wanted != self.minimumSize():
            self.setMinimumSize(wanted)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._update_minimum()

    def titles(self) -> list[str]:
        return list(self._titles)

    def count(self) -> int:
        return len(self._images)

    def sizeHint(self) -> QSize:
        return QSize(720, 420)

    def arrangement(self, gap: int = 10, title_h: int = 20, size: tuple[int, int] | None = None) -> tuple[int, float]:
        """(columns, scale): the grid of tiles that shows the images largest in ``size`` (default: the view)."""
        n = len(self._images)
        if not n:
            return 1, 1.0
        view_w, view_h = size if size is not None else (self.width(), self.height())
        width = max(image.width() for image in self._images)
        height = max(image.height() for image in self._images)
        best = (1, 0.0)
        for columns in range(1, n + 1):
            rows = -(-n // columns)
            free_w = view_w - gap * (columns + 1)
            free_h = view_h - rows * (title_h + gap) - gap
            scale = min(free_w / (columns * width), free_h / (rows * height), 4.0)
            if scale > best[1] + 1e-9:
                best = (columns, scale)
        return best[0], max(best[1], 0.05)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        if not self._images:
            p.setPen(QColor("#777"))
            p.drawText(
                self.rect().adjusted(12, 12, -12, -12),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self.placeholder,
            )
            return
        fm = QFontMetrics(self.font())
        gap, title_h = 10, fm.height() + 6
        columns, scale = self.layout_now(gap, title_h)
        tile_w = max(image.width() for image in self._images) * scale
        tile_h = max(image.height() for image in self._images) * scale + title_h
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, scale < 1 or abs(scale - round(scale)) > 1e-6)
        for i, (title, image) in enumerate(zip(self._titles, self._images)):
            row, col = divmod(i, columns)
            x, y = gap + col * (tile_w + gap), gap + row * (tile_h + gap)
            w, h = image.width() * scale, image.height() * scale
            p.setPen(QColor("#111"))
            text = fm.elidedText(title, Qt.TextElideMode.ElideRight, int(max(tile_w, 40)))
            p.drawText(QRectF(x, y, tile_w, title_h), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
            p.drawImage(QRectF(x, y + title_h, w, h), image)
            p.setPen(QColor("#ccc"))
            p.drawRect(QRectF(x, y + title_h, w, h))

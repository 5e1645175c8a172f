"""The sample timeline: the fixed-noise grid of every epoch, scrubbed with a slider (its data: :mod:`.frames`).

:class:`SampleTimeline` is plain data (frames with their captions, images
kept in memory for the newest epochs and re-read from the run's PNGs for
older ones).  :class:`SampleTimelinePanel` shows one frame in
:class:`SampleView`, which paints the mosaic with row and column captions
drawn by Qt at screen resolution, so they stay legible at any zoom.
"""

from __future__ import annotations

import re

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QWheelEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import signals_blocked

from studio.errors import StudioError
from studio.gui.enlarge import EnlargedSampleDialog, cell_array, cell_at, condition_text
from studio.gui.frames import (
    ZOOMS,
    SampleTimeline,
    TimelineFrame,
    export_gif,
    export_png,
    frame_image,
    suggested_export_scale,
)

__all__ = [
    "TimelineFrame",
    "SampleTimeline",
    "SampleView",
    "SampleTimelinePanel",
    "export_png",
    "export_gif",
    "frame_image",
]

# --- widgets -------------------------------------------------------------------------

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")  # a colour caption (a hue sweep's columns): drawn with a chip of it
_CHIP_ROOM = 14


class _GridCanvas(QWidget):
    """Paints one mosaic at a zoom, row captions at the left, column captions on top; a click names a cell."""

    cellClicked = Signal(int, int)  # row, col
    cellDoubleClicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._image: QImage | None = None
        self._array: np.ndarray | None = None  # keeps the QImage's pixels alive
        self._frame: TimelineFrame | None = None
        self.zoom = 1.0
        self.placeholder = "Samples appear here after the first epoch."
        font = QFont(self.font())
        font.setPointSizeF(max(8.0, font.pointSizeF() - 0.5))
        self.caption_font = font
        self.setAutoFillBackground(True)
        pal = self.palette()
        pal.setColor(self.backgroundRole(), QColor("white"))
        self.setPalette(pal)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def set_frame(self, grid: np.ndarray | None, frame: TimelineFrame | None) -> None:
        if grid is None or frame is None:
            self._image = self._array = self._frame = None
        else:
            self._array = np.ascontiguousarray(grid)
            h, w = self._array.shape[:2]
            self._image = QImage(self._array.data, w, h, 3 * w, QImage.Format.Format_RGB888)
            self._frame = frame
        self.updateGeometry()
        self.adjustSize()
        self.update()

    # --- geometry ------------------------------------------------------------
    def margins(self) -> tuple[int, int, bool]:
        """(left, top, rotated): room for captions at the current zoom."""
        if self._frame is None:
            return 0, 0, False
        fm = QFontMetrics(self.caption_font)
        rows = self._frame.row_captions[: self._frame.rows]
        cols = self._frame.col_captions[: self._frame.cols]
        left = max((fm.horizontalAdvance(t) for t in rows), default=0)
        left = left + 10 if left else 0
        if not cols:
            return left, 0, False
        widest = max(fm.horizontalAdvance(t) for t in cols)
        cell = self._image.width() * self.zoom / max(self._frame.cols, 1)
        chips = _CHIP_ROOM if any(_HEX.match(t) for t in cols) else 0  # a colour chip under '#rrggbb' captions
        if widest + 6 <= cell:
            return left, fm.height() + 6 + chips, False
        return left, widest + 10 + chips, True

    def cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        """The (row, col) of the sample under widget point (x, y), or None."""
        if self._image is None or self._frame is None:
            return None
        left, top, _ = self.margins()
        return cell_at(
            (self._image.height(), self._image.width()),
            self._frame.rows,
            self._frame.cols,
            (x - left) / self.zoom,
            (y - top) / self.zoom,
        )

    def mousePressEvent(self, event) -> None:
        cell = self.cell_at(event.position().x(), event.position().y())
        if cell is not None and event.button() == Qt.MouseButton.LeftButton:
            self.cellClicked.emit(*cell)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        cell = self.cell_at(event.position().x(), event.position().y())
        if cell is not None and event.button() == Qt.MouseButton.LeftButton:
            self.cellDoubleClicked.emit(*cell)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def image_size(self) -> QSize:
        if self._image is None:
            return QSize(0, 0)
        return QSize(round(self._image.width() * self.zoom), round(self._image.height() * self.zoom))

    def sizeHint(self) -> QSize:
        if self._image is None:
            return QSize(320, 240)
        left, top, _ = self.margins()
        size = self.image_size()
        return QSize(size.width() + left + 8, size.height() + top + 8)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    # --- painting -------------------------------------------------------------
    def paintEvent(self, event) -> None:
        p = QPainter(self)
        if self._image is None:
            p.setPen(QColor("#777"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        left, top, rotated = self.margins()
        size = self.image_size()
        target = QRectF(left, top, size.width(), size.height())
        # Whole-number zoom keeps pixels square and sharp; fractions are smoothed.
        smooth = abs(self.zoom - round(self.zoom)) > 1e-6 or self.zoom < 1
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        p.drawImage(target, self._image)
        frame = self._frame
        p.setFont(self.caption_font)
        p.setPen(QColor("#111"))
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        fm = QFontMetrics(self.caption_font)
        cell_h = size.height() / max(frame.rows, 1)
        cell_w = size.width() / max(frame.cols, 1)
        for r, text in enumerate(frame.row_captions[: frame.rows]):
            rect = QRectF(0, top + r * cell_h, left - 6, cell_h)
            p.drawText(rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
        chips = _CHIP_ROOM if any(_HEX.match(t) for t in frame.col_captions[: frame.cols]) else 0
        for c, text in enumerate(frame.col_captions[: frame.cols]):
            cx = left + (c + 0.5) * cell_w
            if _HEX.match(text):
                chip_w = max(6.0, min(cell_w * 0.7, 40.0))
                p.fillRect(QRectF(cx - chip_w / 2, top - chips + 1, chip_w, chips - 4), QColor(text))
                p.setPen(QColor("#888"))
                p.drawRect(QRectF(cx - chip_w / 2, top - chips + 1, chip_w, chips - 4))
                p.setPen(QColor("#111"))
            if rotated:
                p.save()
                p.translate(QPointF(cx + fm.ascent() / 2 - 1, top - 4 - chips))
                p.rotate(-90)
                p.drawText(QPointF(0, 0), text)
                p.restore()
            else:
                rect = QRectF(cx - cell_w / 2, 0, cell_w, top - 2 - chips)
                p.drawText(rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, text)


class SampleView(QScrollArea):
    """The sample grid with its captions, zoomable.

    Zoom 0 ('Fit, at least 100%', the default) follows the view's size but never shrinks the
    samples below their native size: a grid larger than the view scrolls. Zoom -1 fits the whole
    grid, smaller when it must. A click on a sample emits ``cellClicked(row, col)``.
    """

    zoomChanged = Signal(float)
    cellClicked = Signal(int, int)
    cellDoubleClicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("sampleView")
        self.canvas = _GridCanvas()
        self.canvas.cellClicked.connect(self.cellClicked)
        self.canvas.cellDoubleClicked.connect(self.cellDoubleClicked)
        self.setWidget(self.canvas)
        self.setWidgetResizable(False)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(220, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.fit = True
        self.shrink = False  # 'fit' may go below 100% (zoom -1)
        self.setStyleSheet("QScrollArea { background: white; }")

    def set_frame(self, grid: np.ndarray | None, frame: TimelineFrame | None) -> None:
        self.canvas.set_frame(grid, frame)
        self._apply_zoom()

    def has_image(self) -> bool:
        return self.canvas._image is not None

    def set_zoom(self, zoom: float) -> None:
        """0 = fit to the view, never below 100%; -1 = fit the whole grid, smaller when it must."""
        self.fit = zoom <= 0
        self.shrink = zoom < 0
        if not self.fit:
            self.canvas.zoom = float(zoom)
        self._apply_zoom()

    def zoom(self) -> float:
        return self.canvas.zoom

    def _fit_zoom(self) -> float:
        image = self.canvas._image
        if image is None:
            return 1.0
        view = self.viewport().size()
        best = 1.0
        # The caption margins depend on the zoom (rotated or not): iterate once more.
        for _ in range(3):
            self.canvas.zoom = best
            left, top, _ = self.canvas.margins()
            zx = (view.width() - left - 10) / image.width()
            zy = (view.height() - top - 10) / image.height()
            best = max(0.25 if self.shrink else 1.0, min(zx, zy))
        return best

    def _apply_zoom(self) -> None:
        if self.fit:
            self.canvas.zoom = self._fit_zoom()
        if self.canvas._image is None:
            self.canvas.resize(self.viewport().size())
        else:
            self.canvas.resize(self.canvas.sizeHint())
        self.canvas.update()
        self.zoomChanged.emit(self.canvas.zoom)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.fit or self.canvas._image is None:
            self._apply_zoom()

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier and self.canvas._image is not None:
            factor = 1.25 if event.angleDelta().y() > 0 else 0.8
            self.set_zoom(max(0.25, min(8.0, self.canvas.zoom * factor)))
            event.accept()
            return
        super().wheelEvent(event)


class SampleTimelinePanel(QWidget):
    """The sample view, the epoch slider and the export controls."""

    frameShown = Signal(int)  # index
    exportPngRequested = Signal()
    exportGifRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("sampleTimeline")
        self.timeline = SampleTimeline()
        self.follow_newest = True
        self.preview: TimelineFrame | None = None  # the grid before the first step, until an epoch's arrives
        self.alarms: list[tuple[int, str]] = []  # (epoch a collapse alarm's sign began, what was seen)

        title = QLabel("<b>Samples</b> (fixed noise)")
        self.epoch_label = QLabel("no epochs yet")
        self.epoch_label.setObjectName("epochLabel")
        self.epoch_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        head = QHBoxLayout()
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(self.epoch_label)

        self.view = SampleView()
        self.view.setToolTip("Click a sample to see it enlarged with its condition; Ctrl + wheel zooms")
        self.view.cellClicked.connect(self.show_cell)
        self._enlarged = None

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("epochSlider")
        self.slider.setRange(0, 0)
        self.slider.setEnabled(False)
        self.slider.setPageStep(1)
        self.slider.setToolTip("Scrub through the grids of past epochs; at the right end the newest is followed.")
        self.zoom_combo = QComboBox()
        self.zoom_combo.setObjectName("sampleZoom")
        for text, value in ZOOMS:
            self.zoom_combo.addItem(text, value)
        self.zoom_combo.setToolTip(
            "Zoom of the grid (Ctrl + mouse wheel also zooms). 'Fit' never shrinks the samples below their "
            "own size: a larger grid scrolls. Click a sample to see it enlarged."
        )
        scrub = QHBoxLayout()
        scrub.addWidget(QLabel("Epoch"))
        scrub.addWidget(self.slider, 1)
        scrub.addWidget(self.zoom_combo)

        self.export_scale = QSpinBox()
        self.export_scale.setObjectName("exportScale")
        self.export_scale.setRange(1, 8)
        self.export_scale.setValue(2)
        self.export_scale.setSuffix("x")
        self.export_scale.setToolTip(
            "Exported images are enlarged this many times (nearest neighbour, sharp pixels). "
            "The first grid of a run suggests a scale at which its column captions fit their cells."
        )
        self._scale_chosen = False
        self.export_scale.valueChanged.connect(self._on_scale_edited)
        self.export_captions = QCheckBox("Captions")
        self.export_captions.setObjectName("exportCaptions")
        self.export_captions.setChecked(True)
        self.export_captions.setToolTip("Write the row and column captions into the exported images.")
        self.gif_speed = QSpinBox()
        self.gif_speed.setObjectName("gifFrameMs")
        self.gif_speed.setRange(40, 5000)
        self.gif_speed.setSingleStep(50)
        self.gif_speed.setValue(400)
        self.gif_speed.setSuffix(" ms")
        self.gif_speed.setToolTip(
            "How long the GIF shows each epoch (typical: 200 to 800 ms; the last epoch stays four times as long). "
            "Each frame is labelled with its epoch."
        )
        self.export_png_button = QPushButton("PNG…")
        self.export_png_button.setObjectName("exportPngButton")
        self.export_png_button.setToolTip("Save the grid shown as a PNG")
        self.export_gif_button = QPushButton("GIF…")
        self.export_gif_button.setObjectName("exportGifButton")
        self.export_gif_button.setToolTip("Save every epoch's grid as one animated GIF")
        export = QHBoxLayout()
        export.addWidget(QLabel("Export"))
        export.addWidget(self.export_scale)
        export.addWidget(self.export_captions)
        export.addStretch(1)
        export.addWidget(QLabel("GIF frame"))
        export.addWidget(self.gif_speed)
        export.addWidget(self.export_png_button)
        export.addWidget(self.export_gif_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.view, 1)
        layout.addLayout(scrub)
        layout.addLayout(export)

        self.slider.valueChanged.connect(self._on_slider_changed)
        self.zoom_combo.currentIndexChanged.connect(lambda _: self.view.set_zoom(self.zoom_combo.currentData()))
        self.export_png_button.clicked.connect(self.exportPngRequested)
        self.export_gif_button.clicked.connect(self.exportGifRequested)
        self._update_controls()

    # --- frames ---------------------------------------------------------------
    def set_alarms(self, alarms: list[tuple[int, str]]) -> None:
        """Mark the grids from each alarm's first epoch on (the epoch label says so, in red)."""
        self.alarms = list(alarms)
        index = self.current_index()
        if index >= 0:
            self._show(index)

    def alarm_text(self, epoch: int) -> str:
        """What the epoch label adds for ``epoch``: the alarm its grid falls under, if any."""
        raised = [(since, text) for since, text in self.alarms if epoch >= since]
        if not raised:
            return ""
        since, _ = raised[-1]
        return "collapse alarm: this epoch" if epoch == since else f"collapse alarm since epoch {since}"

    def clear(self) -> None:
        self.preview = None
        self.alarms = []
        self.timeline.clear()
        self.view.set_frame(None, None)
        self._update_slider()

    def add_frame(self, frame: TimelineFrame) -> None:
        at_end = self.slider.value() >= self.slider.maximum()
        index = self.timeline.add(frame)
        self._update_slider()
        if self.follow_newest and (at_end or len(self.timeline) == 1):
            self.show_index(len(self.timeline) - 1)
        elif index == self.slider.value():
            self.show_index(index)

    def set_frames(self, frames: list[TimelineFrame]) -> None:
        self.timeline.clear()
        for frame in frames:
            self.timeline.add(frame)
        self._update_slider()
        self.show_index(len(self.timeline) - 1)

    def show_preview(self, grid: np.ndarray, frame: TimelineFrame) -> bool:
        """Show ``grid`` (drawn before the first step) while the timeline has no epoch yet; it is not one of its
        frames, and the first epoch's grid replaces it. False when an epoch is shown already."""
        if len(self.timeline):
            return False
        self.preview = frame
        self.view.set_frame(grid, frame)
        self.epoch_label.setText("before training (step 0): the grids of the epochs follow")
        return True

    def count(self) -> int:
        return len(self.timeline)

    def current_index(self) -> int:
        return self.slider.value() if len(self.timeline) else -1

    def current(self) -> tuple[np.ndarray, TimelineFrame] | None:
        i = self.current_index()
        if i < 0:
            return None
        return self.timeline.image(i), self.timeline.frames[i]

    def show_index(self, index: int) -> None:
        if not len(self.timeline):
            self.view.set_frame(None, None)
            self._update_controls()
            return
        index = max(0, min(index, len(self.timeline) - 1))
        if self.slider.value() != index:
            self.slider.setValue(index)  # -> _on_slider_changed
            return
        self._show(index)

    def _on_slider_changed(self, index: int) -> None:
        if len(self.timeline):
            self._show(index)

    def _show(self, index: int) -> None:
        frame = self.timeline.frames[index]
        try:
            grid = self.timeline.image(index)
        except StudioError as exc:
            self.view.canvas.placeholder = str(exc)
            grid = None
        self.view.set_frame(grid, frame if grid is not None else None)
        self.preview = None
        text = f"epoch {frame.epoch}  ({index + 1} of {len(self.timeline)})"
        alarm = self.alarm_text(frame.epoch)
        if alarm:
            text = f'{text}  <span style="color:#d62728">&#9888; {alarm}</span>'
        self.epoch_label.setText(text)
        self.epoch_label.setToolTip("\n".join(t for since, t in self.alarms if frame.epoch >= since))
        self._update_controls()
        self.frameShown.emit(index)

    def show_cell(self, row: int, col: int):
        """Open (or update) the enlarged view of sample (row, col) of the frame shown; returns the dialog."""
        shown = self.current()
        if shown is None and self.preview is not None:
            shown = (self.preview.grid, self.preview)
        if shown is None or shown[0] is None:
            return None
        grid, frame = shown
        if self._enlarged is None:
            self._enlarged = EnlargedSampleDialog(self)
        condition = condition_text(frame.row_captions, frame.col_captions, row, col)
        when = "before training" if frame.epoch == 0 else f"epoch {frame.epoch}"
        detail = f"{when}, row {row + 1} of {frame.rows}, column {col + 1} of {frame.cols}"
        self._enlarged.show_sample(cell_array(grid, frame.rows, frame.cols, row, col), condition, detail)
        self._enlarged.show()
        self._enlarged.raise_()
        return self._enlarged

    def _update_slider(self) -> None:
        self._suggest_scale()
        n = len(self.timeline)
        with signals_blocked(self.slider):
            self.slider.setRange(0, max(0, n - 1))
        self.slider.setEnabled(n > 1)
        if not n:
            self.epoch_label.setText("no epochs yet")
        self._update_controls()

    def _on_scale_edited(self, _value: int) -> None:
        if not self._suggesting:
            self._scale_chosen = True

    _suggesting = False

    def _suggest_scale(self) -> None:
        if self._scale_chosen or not len(self.timeline):
            return
        frame = self.timeline.frames[-1]
        try:
            width = self.timeline.image(len(self.timeline) - 1).shape[1]
        except StudioError:
            return
        self._suggesting = True
        self.export_scale.setValue(suggested_export_scale(frame, width))
        self._suggesting = False

    def _update_controls(self) -> None:
        has = len(self.timeline) > 0
        self.export_png_button.setEnabled(has)
        self.export_gif_button.setEnabled(has)

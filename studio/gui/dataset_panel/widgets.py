"""The dataset panel's widgets: the source form, the preview of real images, the chart of images per class."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)
from superqt import QElidingLabel

from studio.data.torchvision_sets import CELEBA_ATTRIBUTES, TORCHVISION_SETS
from studio.gui.binding import make_editor
from studio.gui.dataset_panel.sources import BUILTIN_SOURCES, FOLDER_SOURCE, TABLE_SOURCE, TORCHVISION_SOURCES
from studio.gui.dataset_panel.summary import DatasetSummary
from studio.gui.scroll import fill_with_scroll

__all__ = ["CountsChart", "build", "show_summary", "PREVIEW_ICON", "MAX_BARS"]

PREVIEW_ICON = 64
MAX_BARS = 40
_GROUP_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52")


class CountsChart(pg.PlotWidget):
    """Horizontal bars: images per class, attribute value or label."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent=parent, background="w")
        self.setObjectName("datasetCounts")
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.setMouseEnabled(x=False, y=False)
        item.hideButtons()
        item.setLabel("bottom", "images")
        item.getViewBox().invertY(True)
        item.showGrid(x=True, alpha=0.2)
        for side in ("left", "bottom"):
            axis = item.getAxis(side)
            axis.setTextPen("#222")
        item.getAxis("left").setStyle(tickLength=0)
        self._bars = None
        self.names: list[str] = []
        self.values: list[int] = []

    def set_counts(self, counts: list[tuple[str, int, int]]) -> None:
        item = self.getPlotItem()
        if self._bars is not None:
            item.removeItem(self._bars)
            self._bars = None
        shown = counts[:MAX_BARS]
        self.names = [c[0] for c in shown]
        self.values = [c[1] for c in shown]
        if not shown:
            self.setFixedHeight(0)
            self.hide()
            return
        self.show()
        brushes = []
        for name, _, group in shown:
            word = name.split(" ")[0]
            colour = QColor(word) if QColor.isValidColorName(word) else QColor(_GROUP_COLOURS[group % 4])
            brushes.append(pg.mkBrush(colour))
        ys = np.arange(len(shown), dtype=float)
        self._bars = pg.BarGraphItem(
            x0=0, y=ys, height=0.72, width=self.values, brushes=brushes, pen=pg.mkPen("#555", width=1)
        )
        item.addItem(self._bars)
        item.getAxis("left").setTicks([[(float(i), n) for i, n in enumerate(self.names)]])
        item.setYRange(-0.6, len(shown) - 0.4, padding=0)
        item.setXRange(0, max(self.values) * 1.05 if max(self.values) else 1, padding=0)
        self.setFixedHeight(int(18 * len(shown) + 56))


def build(panel) -> None:
    """Every control of ``panel`` (a DatasetPanel) as its attribute, laid out in a scroll area."""
    form = _source_form(panel)
    _status_and_preview(panel)

    source_box = QGroupBox("Source")
    source_layout = QVBoxLayout(source_box)
    source_layout.addLayout(form)
    source_layout.addWidget(panel.progress)
    source_layout.addWidget(panel.status)
    preview_box = QGroupBox("Images")
    preview_layout = QVBoxLayout(preview_box)
    preview_layout.addWidget(panel.summary_label)
    preview_layout.addWidget(panel.preview)
    panel.counts_box = QGroupBox("Images per class or label")
    counts_layout = QVBoxLayout(panel.counts_box)
    counts_layout.addWidget(panel.counts)
    panel.counts_box.hide()
    hint = QLabel("Tip: drop an image folder or a label table (CSV / JSON) anywhere on this panel.")
    hint.setProperty("hint", True)
    hint.setWordWrap(True)

    content = QWidget()
    layout = QVBoxLayout(content)
    layout.setContentsMargins(6, 6, 6, 6)
    layout.addWidget(source_box)
    layout.addWidget(preview_box)
    layout.addWidget(panel.counts_box)
    layout.addWidget(hint)
    layout.addStretch(1)
    fill_with_scroll(panel, content)


def _source_form(panel) -> QFormLayout:
    """Source, folder (or table) with Browse, CelebA's attributes, download, the spec and the size."""
    panel.source_combo = QComboBox()
    panel.source_combo.setObjectName("datasetSourceCombo")
    for value, text in BUILTIN_SOURCES:
        panel.source_combo.addItem(text, value)
    panel.source_combo.addItem("Image folder…", FOLDER_SOURCE)
    panel.source_combo.insertSeparator(panel.source_combo.count())
    for value, text in TORCHVISION_SOURCES:
        panel.source_combo.addItem(text, value)
        panel.source_combo.setItemData(
            panel.source_combo.count() - 1,
            f"{TORCHVISION_SETS[value].title} in torchvision's layout: {TORCHVISION_SETS[value].layout}",
            Qt.ItemDataRole.ToolTipRole,
        )
    panel.source_combo.addItem("Label table (CSV / JSON)…", TABLE_SOURCE)
    panel.source_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    panel.source_combo.setMinimumContentsLength(18)
    panel.source_combo.setToolTip(
        "Built-in sets are drawn on first use and cached; a folder holds one subfolder per class "
        "(a single subfolder is an unlabelled set for DCGAN); MNIST, Fashion-MNIST, CIFAR-10, SVHN and "
        "CelebA are read from the folder that holds them in torchvision's layout; a label table is a CSV "
        '(id,tags such as \'0,blonde hair blue eyes\') or JSON ({"a.png": ["red cube"]}) file beside '
        "its images. You can also drop a folder or a table on this panel."
    )
    panel.folder_label = QElidingLabel()
    panel.folder_label.setObjectName("datasetFolderLabel")
    panel.folder_label.setElideMode(Qt.TextElideMode.ElideMiddle)
    # A long path elides instead of widening the panel past the Browse button.
    panel.folder_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    panel.browse = QPushButton("Browse…")
    panel.browse.setObjectName("datasetBrowseButton")
    panel.browse.setToolTip("Choose an image folder")
    folder_row = QHBoxLayout()
    folder_row.addWidget(panel.folder_label, 1)
    folder_row.addWidget(panel.browse)

    # CelebA: each checked attribute conditions the model (no/yes); none checked = unlabelled.
    panel.attributes = QListWidget()
    panel.attributes.setObjectName("datasetCelebaAttributes")
    panel.attributes.setToolTip(
        "CelebA attributes that condition the model, each no/yes. None checked: unlabelled faces for DCGAN."
    )
    for name in CELEBA_ATTRIBUTES:
        item = QListWidgetItem(name)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Unchecked)
        panel.attributes.addItem(item)
    panel.attributes.setMaximumHeight(140)
    panel.download_check = QCheckBox("Download if missing")
    panel.download_check.setObjectName("datasetDownloadCheck")
    panel.download_check.setToolTip(
        "Adds ?download=1 to the spec: torchvision fetches missing files into the "
        "chosen folder. Without it nothing is ever downloaded."
    )

    panel.spec_edit = make_editor("dataset")
    panel.size_edit = make_editor("dataset_size")
    form = QFormLayout()
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.addRow("Source", panel.source_combo)
    form.addRow("Folder", folder_row)
    form.addRow("Attributes", panel.attributes)
    form.addRow("", panel.download_check)
    form.addRow("Spec", panel.spec_edit)
    form.addRow("Images to draw", panel.size_edit)
    panel._form = form
    panel._folder_row_label = form.labelForField(folder_row)
    panel._folder_row = folder_row
    return form


def _status_and_preview(panel) -> None:
    panel.progress = QProgressBar()
    panel.progress.setObjectName("datasetProgress")
    panel.progress.setRange(0, 100)
    panel.progress.setTextVisible(True)
    panel.progress.hide()
    panel.status = QLabel()
    panel.status.setObjectName("datasetStatus")
    panel.status.setWordWrap(True)
    panel.summary_label = QLabel("No dataset loaded")
    panel.summary_label.setObjectName("datasetSummary")
    panel.summary_label.setWordWrap(True)

    panel.preview = QListWidget()
    panel.preview.setObjectName("datasetPreview")
    panel.preview.setViewMode(QListView.ViewMode.IconMode)
    panel.preview.setIconSize(QSize(PREVIEW_ICON, PREVIEW_ICON))
    panel.preview.setGridSize(QSize(PREVIEW_ICON + 58, PREVIEW_ICON + 40))
    panel.preview.setResizeMode(QListView.ResizeMode.Adjust)
    panel.preview.setMovement(QListView.Movement.Static)
    panel.preview.setWordWrap(True)
    panel.preview.setUniformItemSizes(True)
    panel.preview.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    panel.preview.setDragDropMode(QAbstractItemView.DragDropMode.NoDragDrop)
    panel.preview.setAcceptDrops(False)
    panel.preview.setMinimumHeight(2 * (PREVIEW_ICON + 40) + 8)
    panel.preview.setToolTip("Real images of the dataset with their labels")
    panel.counts = CountsChart()
    panel.counts.hide()


def show_summary(panel, summary: DatasetSummary) -> None:
    """The summary line, the preview images with their labels and the chart of images per class."""
    panel.summary_label.setText(
        f"<b>{summary.count:,}</b> images at {summary.image_size} px · condition: {summary.space_text}"
    )
    panel.summary_label.setToolTip(summary.space_exact)
    panel.preview.clear()
    for img, caption in zip(summary.images, summary.captions):
        h, w = img.shape[:2]
        qimage = QImage(img.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        pixmap = QPixmap.fromImage(qimage).scaled(
            PREVIEW_ICON,
            PREVIEW_ICON,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.FastTransformation
            if w < PREVIEW_ICON
            else Qt.TransformationMode.SmoothTransformation,
        )
        item = QListWidgetItem(QIcon(pixmap), caption)
        item.setToolTip(caption.replace("\n", ", ") or "unlabelled")
        item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        panel.preview.addItem(item)
    # Room for every caption whole, in the list's own font: "blue hair / orange eyes", never "blue hair orange ...".
    fm = panel.preview.fontMetrics()
    parts = [line for c in summary.captions for line in c.split("\n") if line]
    lines = max((c.count("\n") + 1 for c in summary.captions if c), default=0)
    width = min(3 * PREVIEW_ICON, max([PREVIEW_ICON] + [fm.horizontalAdvance(line) + 8 for line in parts]))
    # Each item says its size: Qt otherwise measures a caption wrapped at the icon's width and elides the rest.
    height = PREVIEW_ICON + 14 + fm.lineSpacing() * lines
    panel.preview.setGridSize(QSize(width + 16, height + 4))
    for i in range(panel.preview.count()):
        panel.preview.item(i).setSizeHint(QSize(width + 12, height))
    panel.counts.set_counts(summary.counts)
    panel.counts_box.setVisible(bool(summary.counts))
    if len(summary.counts) > MAX_BARS:
        panel.counts_box.setTitle(f"Images per class (first {MAX_BARS} of {len(summary.counts)})")
    else:
        panel.counts_box.setTitle("Images per class or label")

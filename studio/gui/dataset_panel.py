"""The dataset panel: pick a built-in set or an image folder, see real images and class counts.

Loading (and drawing + caching a built-in set the first time) runs in a
worker thread with a progress bar; the loaded :class:`ImageDataset` is kept
so that Train reuses it instead of loading again.  Folders come from the
source combo, the Browse button or drag and drop.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)
from superqt import QElidingLabel
from superqt.utils import signals_blocked

from studio.gui.binding import ConfigBinder, make_editor
from studio.gui.worker import CallWorker, join_thread, start_worker, thread_running

__all__ = ["DatasetPanel", "DatasetSummary", "summarise_dataset", "BUILTIN_SOURCES"]

BUILTIN_SOURCES = (
    ("builtin:faces", "Faces: hair × eye colour"),
    ("builtin:shapes", "Shapes: 1–3 of 24 objects"),
    ("builtin:digits", "Digits: 10 classes"),
)
FOLDER_SOURCE = "folder"
PREVIEW_IMAGES = 32
PREVIEW_ICON = 64
MAX_BARS = 40
_GROUP_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52")


@dataclass
class DatasetSummary:
    """What the panel shows of a loaded dataset: plain data made in the loader thread."""

    key: tuple
    count: int
    image_size: int
    space_text: str
    images: list[np.ndarray] = field(default_factory=list)  # (H, W, 3) uint8
    captions: list[str] = field(default_factory=list)
    counts: list[tuple[str, int, int]] = field(default_factory=list)  # (name, images, group)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


def summarise_dataset(dataset, key: tuple, seconds: float = 0.0) -> DatasetSummary:
    from studio.core.conditions import MultiAttribute

    n = len(dataset)
    picks = np.linspace(0, n - 1, num=min(PREVIEW_IMAGES, n)).round().astype(int) if n else []
    images, captions = [], []
    space = dataset.space
    for i in picks:
        img = dataset.images[int(i)].permute(1, 2, 0).numpy()
        if img.shape[2] == 1:
            img = np.repeat(img, 3, axis=2)
        images.append(np.ascontiguousarray(img))
        captions.append(space.caption(dataset.labels[int(i)]).replace(", ", "\n") if space.is_conditional else "")
    groups: list[int] = []
    if isinstance(space, MultiAttribute):
        for g, k in enumerate(space.sizes):
            groups += [g] * k
    counts = [(name, int(c), groups[j] if j < len(groups) else 0) for j, (name, c) in enumerate(dataset.class_counts())]
    space_text = space.describe() if space.is_conditional else "none (unlabelled)"
    return DatasetSummary(key, n, dataset.image_size, space_text, images, captions, counts, seconds)


def _dataset_key(values: dict) -> tuple:
    return (values["dataset"], values["dataset_size"], values["image_size"], values["channels"])


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
        self._bars = pg.BarGraphItem(x0=0, y=ys, height=0.72, width=self.values, brushes=brushes,
                                     pen=pg.mkPen("#555", width=1))
        item.addItem(self._bars)
        item.getAxis("left").setTicks([[(float(i), n) for i, n in enumerate(self.names)]])
        item.setYRange(-0.6, len(shown) - 0.4, padding=0)
        item.setXRange(0, max(self.values) * 1.05 if max(self.values) else 1, padding=0)
        self.setFixedHeight(int(18 * len(shown) + 56))


class DatasetPanel(QWidget):
    datasetLoaded = Signal(object)  # DatasetSummary
    datasetFailed = Signal(str)
    message = Signal(str)  # for the log panel
    warning = Signal(str)

    def __init__(self, binder: ConfigBinder, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("datasetPanel")
        self.setAcceptDrops(True)
        self.binder = binder
        self.dataset = None  # the loaded ImageDataset
        self.summary: DatasetSummary | None = None
        self._wanted: tuple | None = None
        self._loading_key: tuple | None = None
        self._threads: list = []
        self._worker = None
        self._busy = False
        self._started = 0.0

        self.source_combo = QComboBox()
        self.source_combo.setObjectName("datasetSourceCombo")
        for value, text in BUILTIN_SOURCES:
            self.source_combo.addItem(text, value)
        self.source_combo.addItem("Image folder…", FOLDER_SOURCE)
        self.source_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.source_combo.setMinimumContentsLength(18)
        self.source_combo.setToolTip(
            "Built-in sets are drawn on first use and cached; a folder holds one subfolder per class "
            "(a single subfolder is an unlabelled set for DCGAN). You can also drop a folder on this panel."
        )
        self.folder_label = QElidingLabel()
        self.folder_label.setObjectName("datasetFolderLabel")
        self.folder_label.setElideMode(Qt.TextElideMode.ElideMiddle)
        self.browse = QPushButton("Browse…")
        self.browse.setObjectName("datasetBrowseButton")
        self.browse.setToolTip("Choose an image folder")
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_label, 1)
        folder_row.addWidget(self.browse)

        self.spec_edit = make_editor("dataset")
        self.size_edit = make_editor("dataset_size")
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Source", self.source_combo)
        form.addRow("Folder", folder_row)
        form.addRow("Spec", self.spec_edit)
        form.addRow("Images to draw", self.size_edit)
        self._folder_row_label = form.labelForField(folder_row)

        self.progress = QProgressBar()
        self.progress.setObjectName("datasetProgress")
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.status = QLabel()
        self.status.setObjectName("datasetStatus")
        self.status.setWordWrap(True)
        self.summary_label = QLabel("No dataset loaded")
        self.summary_label.setObjectName("datasetSummary")
        self.summary_label.setWordWrap(True)

        self.preview = QListWidget()
        self.preview.setObjectName("datasetPreview")
        self.preview.setViewMode(QListView.ViewMode.IconMode)
        self.preview.setIconSize(QSize(PREVIEW_ICON, PREVIEW_ICON))
        self.preview.setGridSize(QSize(PREVIEW_ICON + 58, PREVIEW_ICON + 40))
        self.preview.setResizeMode(QListView.ResizeMode.Adjust)
        self.preview.setMovement(QListView.Movement.Static)
        self.preview.setWordWrap(True)
        self.preview.setUniformItemSizes(True)
        self.preview.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.preview.setDragDropMode(QAbstractItemView.DragDropMode.NoDragDrop)
        self.preview.setAcceptDrops(False)
        self.preview.setMinimumHeight(2 * (PREVIEW_ICON + 40) + 8)
        self.preview.setToolTip("Real images of the dataset with their labels")
        self.counts = CountsChart()
        self.counts.hide()

        source_box = QGroupBox("Source")
        source_layout = QVBoxLayout(source_box)
        source_layout.addLayout(form)
        source_layout.addWidget(self.progress)
        source_layout.addWidget(self.status)
        preview_box = QGroupBox("Images")
        preview_layout = QVBoxLayout(preview_box)
        preview_layout.addWidget(self.summary_label)
        preview_layout.addWidget(self.preview)
        self.counts_box = QGroupBox("Images per class or label")
        counts_layout = QVBoxLayout(self.counts_box)
        counts_layout.addWidget(self.counts)
        self.counts_box.hide()
        hint = QLabel("Tip: drop an image folder anywhere on this panel.")
        hint.setProperty("hint", True)

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(source_box)
        layout.addWidget(preview_box)
        layout.addWidget(self.counts_box)
        layout.addWidget(hint)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        binder.bind(self.spec_edit)
        binder.bind(self.size_edit)
        self.source_combo.activated.connect(self._on_source_activated)
        self.browse.clicked.connect(self.choose_folder)
        binder.configChanged.connect(self._on_values_changed)
        binder.validityChanged.connect(self._on_values_changed)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._debounce.timeout.connect(self._load_wanted)
        self._tick = QTimer(self)
        self._tick.setInterval(500)
        self._tick.timeout.connect(self._update_elapsed)
        self._sync_source()

    # --- choosing -----------------------------------------------------------
    def _on_source_activated(self, index: int) -> None:
        value = self.source_combo.itemData(index)
        if value == FOLDER_SOURCE:
            if not self.choose_folder():
                self._sync_source()
            return
        self.binder.set_value("dataset", value)

    def choose_folder(self) -> bool:
        spec = str(self.binder.values.get("dataset", ""))
        start = spec[len("folder:"):] if spec.startswith("folder:") else str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Choose an image folder (one subfolder per class)", start)
        if not path:
            return False
        self.set_folder(path)
        return True

    def set_folder(self, path: str | Path) -> None:
        spec = f"folder:{Path(path)}"
        if spec == self.binder.values.get("dataset"):
            self.binder.refresh()  # the same folder again: its contents may have changed
            self.reload()
            return
        self.binder.set_value("dataset", spec)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if self._dropped_folder(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if self._dropped_folder(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        folder = self._dropped_folder(event)
        if folder is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.set_folder(folder)

    @staticmethod
    def _dropped_folder(event) -> Path | None:
        mime = event.mimeData()
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile():
                path = Path(url.toLocalFile())
                if path.is_dir():
                    return path
                if path.is_file():  # an image dropped from inside a class folder: take its dataset root
                    return path.parent.parent
        return None

    def _sync_source(self) -> None:
        spec = str(self.binder.values.get("dataset", ""))
        with signals_blocked(self.source_combo):
            index = self.source_combo.findData(spec)
            if index < 0 and spec.startswith("folder:"):
                index = self.source_combo.findData(FOLDER_SOURCE)
            self.source_combo.setCurrentIndex(index)
        is_folder = spec.startswith("folder:")
        self.folder_label.setText(spec[len("folder:"):] if is_folder else "")
        self.folder_label.setToolTip(spec[len("folder:"):] if is_folder else "")
        self.folder_label.setVisible(is_folder)
        self.browse.setVisible(True)
        self.size_edit.setEnabled(spec.startswith("builtin:"))

    # --- loading ------------------------------------------------------------
    def _on_values_changed(self, *_) -> None:
        self._sync_source()
        key = _dataset_key(self.binder.values)
        if self.binder.space is None:
            return  # unreadable spec: the binder already says why
        if key != self._wanted:
            self._wanted = key
            self._debounce.start()

    def reload(self) -> None:
        """Load the dataset the settings name now (also when it is already loaded)."""
        self._wanted = _dataset_key(self.binder.values)
        self.summary = None
        self.dataset = None
        self._load_wanted()

    def _load_wanted(self) -> None:
        key = self._wanted
        if key is None or (self.summary is not None and self.summary.key == key):
            return
        if self._busy:
            return  # started again when the running load ends
        spec, size, image_size, channels = key
        self._loading_key = key
        self._started = time.perf_counter()

        def load(progress):
            from studio.data.dataset import load_dataset

            started = time.perf_counter()
            # A folder reader reports skipped files as warnings; the log panel shows them.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                dataset = load_dataset(spec, image_size, channels, size, progress)
            summary = summarise_dataset(dataset, key, time.perf_counter() - started)
            summary.warnings = [str(w.message) for w in caught]
            return dataset, summary

        self._worker = CallWorker(load)
        self._worker.progress.connect(self._on_progress)
        self._worker.returned.connect(self._on_loaded)
        self._worker.errored.connect(self._on_failed)
        self._worker.finished.connect(self._on_load_finished)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.status.setText(f"Loading {spec}…")
        self._tick.start()
        self._busy = True
        self._threads = [t for t in self._threads if thread_running(t)]
        self._threads.append(start_worker(self._worker))

    def _on_progress(self, message: str, fraction: float) -> None:
        elapsed = time.perf_counter() - self._started
        if 0.0 < fraction < 1.0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(fraction * 1000))
            eta = elapsed / fraction * (1 - fraction)
            self.status.setText(f"{message} — about {eta:.0f} s left")
        else:
            self.status.setText(message)
        self._status_message = message

    def _update_elapsed(self) -> None:
        if self.progress.maximum() == 0:
            elapsed = time.perf_counter() - self._started
            base = getattr(self, "_status_message", "Loading")
            self.status.setText(f"{base} — {elapsed:.0f} s")

    def _on_loaded(self, result) -> None:
        dataset, summary = result
        if summary.key != self._loading_key:
            return
        self.dataset = dataset
        self.summary = summary
        self._show_summary(summary)
        spec, size, image_size, _ = summary.key
        self.binder.set_dataset_length(spec, size, image_size, summary.count)
        self.status.setText(f"Loaded in {summary.seconds:.1f} s")
        self.message.emit(f"Dataset {spec}: {summary.count:,} images at {summary.image_size} px loaded in "
                          f"{summary.seconds:.1f} s")
        for text in summary.warnings:
            self.warning.emit(text)
        self.datasetLoaded.emit(summary)

    def _on_failed(self, exc: Exception) -> None:
        from studio.errors import StudioError

        text = str(exc) if isinstance(exc, StudioError) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, OSError) and exc.filename:
            text = f"{exc.filename}: {exc.strerror or exc}"
        self.dataset = None
        self.summary = None
        self.preview.clear()
        self.counts.set_counts([])
        self.counts_box.hide()
        self.summary_label.setText("No dataset loaded")
        self.status.setText(f"Could not load: {text}")
        self.datasetFailed.emit(text)

    def _on_load_finished(self) -> None:
        self._tick.stop()
        self.progress.hide()
        self.progress.setRange(0, 100)
        self._worker = None
        self._busy = False
        if self._wanted is not None and self._wanted != self._loading_key:
            self._load_wanted()  # settings changed while loading: the newest choice wins

    def _show_summary(self, summary: DatasetSummary) -> None:
        self.summary_label.setText(
            f"<b>{summary.count:,}</b> images at {summary.image_size} px · condition: {summary.space_text}"
        )
        self.preview.clear()
        for img, caption in zip(summary.images, summary.captions):
            h, w = img.shape[:2]
            qimage = QImage(img.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
            pixmap = QPixmap.fromImage(qimage).scaled(
                PREVIEW_ICON, PREVIEW_ICON, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.FastTransformation if w < PREVIEW_ICON else Qt.TransformationMode.SmoothTransformation,
            )
            item = QListWidgetItem(QIcon(pixmap), caption)
            item.setToolTip(caption.replace("\n", ", ") or "unlabelled")
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            self.preview.addItem(item)
        lines = max((c.count("\n") + 1 for c in summary.captions if c), default=0)
        self.preview.setGridSize(QSize(PREVIEW_ICON + 58, PREVIEW_ICON + 10 + 15 * lines))
        self.counts.set_counts(summary.counts)
        self.counts_box.setVisible(bool(summary.counts))
        if len(summary.counts) > MAX_BARS:
            self.counts_box.setTitle(f"Images per class (first {MAX_BARS} of {len(summary.counts)})")
        else:
            self.counts_box.setTitle("Images per class or label")

    # --- for the trainer --------------------------------------------------
    def dataset_for(self, config):
        """The loaded dataset if it is exactly what ``config`` needs, else None."""
        key = (config.dataset, config.dataset_size, config.image_size, config.channels)
        if self.summary is not None and self.summary.key == key and self.dataset is not None:
            return self.dataset
        return None

    def is_loading(self) -> bool:
        return self._busy

    def will_load(self, config) -> bool:
        """True while the data ``config`` needs is being loaded or is about to be."""
        key = (config.dataset, config.dataset_size, config.image_size, config.channels)
        if self._busy and self._loading_key == key:
            return True
        return self._wanted == key and (self._busy or self._debounce.isActive())

    def shutdown(self) -> None:
        self._debounce.stop()
        self._wanted = None
        for thread in self._threads:
            join_thread(thread)
        self._threads.clear()

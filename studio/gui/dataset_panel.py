"""The dataset panel: pick a built-in set, an image folder, a torchvision set or a label
table, see real images and class counts.

Loading (and drawing + caching a built-in set the first time) runs in a
worker thread with a progress bar; the loaded :class:`ImageDataset` is kept
so that Train reuses it instead of loading again.  Folders and tables come
from the source combo, the Browse button or drag and drop; a torchvision set
is a folder picked for it (CelebA also takes the attributes that condition
the model).  Every choice ends as the one dataset spec string of the config.
"""

from __future__ import annotations

import threading
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
    QCheckBox,
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
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)
from superqt import QElidingLabel
from superqt.utils import signals_blocked

from studio.data.sources import join_options, split_options
from studio.data.torchvision_sets import CELEBA_ATTRIBUTES, TORCHVISION_SETS
from studio.gui.binding import ConfigBinder, make_editor
from studio.gui.scroll import fill_with_scroll
from studio.gui.worker import CallWorker, join_thread, start_worker, thread_running

__all__ = ["DatasetPanel", "DatasetSummary", "summarise_dataset", "BUILTIN_SOURCES", "TORCHVISION_SOURCES"]

BUILTIN_SOURCES = (
    ("builtin:faces", "Faces: hair × eye colour"),
    ("builtin:shapes", "Shapes: 1–3 of 24 objects"),
    ("builtin:digits", "Digits: 10 classes"),
)
FOLDER_SOURCE = "folder"
TABLE_SOURCE = "table"
TORCHVISION_SOURCES = (
    ("mnist", "MNIST…"),
    ("fashion-mnist", "Fashion-MNIST…"),
    ("cifar10", "CIFAR-10…"),
    ("svhn", "SVHN…"),
    ("celeba", "CelebA (choose attributes)…"),
)
TABLE_SUFFIXES = (".csv", ".tsv", ".json")
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


PICKED_SOURCES = (FOLDER_SOURCE, *TORCHVISION_SETS, TABLE_SOURCE)


def _spec_kind(spec: str) -> str:
    return spec.split(":", 1)[0] if ":" in spec else ""


def _spec_path(spec: str) -> str:
    """The folder or file a spec names, without its options."""
    rest = spec.split(":", 1)[1] if ":" in spec else ""
    return rest if spec.startswith("folder:") else split_options(rest)[0]


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


class _LoadStopped(Exception):
    """Raised inside a dataset load that was superseded or whose window is closing."""


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
        self._stop_load = threading.Event()  # set to end the running load at its next progress report
        self._threads: list = []
        self._worker = None
        self._busy = False
        self._started = 0.0

        self.source_combo = QComboBox()
        self.source_combo.setObjectName("datasetSourceCombo")
        for value, text in BUILTIN_SOURCES:
            self.source_combo.addItem(text, value)
        self.source_combo.addItem("Image folder…", FOLDER_SOURCE)
        self.source_combo.insertSeparator(self.source_combo.count())
        for value, text in TORCHVISION_SOURCES:
            self.source_combo.addItem(text, value)
            self.source_combo.setItemData(self.source_combo.count() - 1,
                                          f"{TORCHVISION_SETS[value].title} in torchvision's layout: "
                                          f"{TORCHVISION_SETS[value].layout}", Qt.ItemDataRole.ToolTipRole)
        self.source_combo.addItem("Label table (CSV / JSON)…", TABLE_SOURCE)
        self.source_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.source_combo.setMinimumContentsLength(18)
        self.source_combo.setToolTip(
            "Built-in sets are drawn on first use and cached; a folder holds one subfolder per class "
            "(a single subfolder is an unlabelled set for DCGAN); MNIST, Fashion-MNIST, CIFAR-10, SVHN and "
            "CelebA are read from the folder that holds them in torchvision's layout; a label table is a CSV "
            "(id,tags such as '0,blonde hair blue eyes') or JSON ({\"a.png\": [\"red cube\"]}) file beside "
            "its images. You can also drop a folder or a table on this panel."
        )
        self.folder_label = QElidingLabel()
        self.folder_label.setObjectName("datasetFolderLabel")
        self.folder_label.setElideMode(Qt.TextElideMode.ElideMiddle)
        # A long path elides instead of widening the panel past the Browse button.
        self.folder_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.browse = QPushButton("Browse…")
        self.browse.setObjectName("datasetBrowseButton")
        self.browse.setToolTip("Choose an image folder")
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_label, 1)
        folder_row.addWidget(self.browse)

        # CelebA: each checked attribute conditions the model (no/yes); none checked = unlabelled.
        self.attributes = QListWidget()
        self.attributes.setObjectName("datasetCelebaAttributes")
        self.attributes.setToolTip("CelebA attributes that condition the model, each no/yes. "
                                   "None checked: unlabelled faces for DCGAN.")
        for name in CELEBA_ATTRIBUTES:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.attributes.addItem(item)
        self.attributes.setMaximumHeight(140)
        self.download_check = QCheckBox("Download if missing")
        self.download_check.setObjectName("datasetDownloadCheck")
        self.download_check.setToolTip("Adds ?download=1 to the spec: torchvision fetches missing files into the "
                                       "chosen folder. Without it nothing is ever downloaded.")

        self.spec_edit = make_editor("dataset")
        self.size_edit = make_editor("dataset_size")
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Source", self.source_combo)
        form.addRow("Folder", folder_row)
        form.addRow("Attributes", self.attributes)
        form.addRow("", self.download_check)
        form.addRow("Spec", self.spec_edit)
        form.addRow("Images to draw", self.size_edit)
        self._form = form
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
        hint = QLabel("Tip: drop an image folder or a label table (CSV / JSON) anywhere on this panel.")
        hint.setProperty("hint", True)
        hint.setWordWrap(True)

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(source_box)
        layout.addWidget(preview_box)
        layout.addWidget(self.counts_box)
        layout.addWidget(hint)
        layout.addStretch(1)
        fill_with_scroll(self, content)

        binder.bind(self.spec_edit)
        binder.bind(self.size_edit)
        self.source_combo.activated.connect(self._on_source_activated)
        self.browse.clicked.connect(self._on_browse)
        self.attributes.itemChanged.connect(self._on_attributes_changed)
        self.download_check.toggled.connect(self._on_download_toggled)
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
    def _spec(self) -> str:
        return str(self.binder.values.get("dataset", ""))

    def _on_source_activated(self, index: int) -> None:
        value = self.source_combo.itemData(index)
        if value in PICKED_SOURCES:
            if not self._choose(value):
                self._sync_source()
            return
        self.binder.set_value("dataset", value)

    def _on_browse(self) -> None:
        kind = _spec_kind(self._spec())
        self._choose(kind if kind in PICKED_SOURCES else FOLDER_SOURCE)

    def _choose(self, kind: str) -> bool:
        if kind == TABLE_SOURCE:
            return self.choose_table()
        if kind in TORCHVISION_SETS:
            return self.choose_root(kind)
        return self.choose_folder()

    def choose_folder(self) -> bool:
        spec = self._spec()
        start = spec[len("folder:"):] if spec.startswith("folder:") else str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Choose an image folder (one subfolder per class)", start)
        if not path:
            return False
        self.set_folder(path)
        return True

    def choose_root(self, kind: str) -> bool:
        """Ask for the folder that holds a torchvision set (its files in torchvision's layout)."""
        spec = self._spec()
        start = _spec_path(spec) if _spec_kind(spec) in TORCHVISION_SETS else str(Path.home())
        info = TORCHVISION_SETS[kind]
        path = QFileDialog.getExistingDirectory(
            self, f"Choose the folder that holds {info.title} ({info.layout})", start)
        if not path:
            return False
        self.set_source(kind, path)
        return True

    def choose_table(self) -> bool:
        spec = self._spec()
        start = _spec_path(spec) if spec.startswith("table:") else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a label table (CSV id,tags or JSON file -> labels) beside its images", start,
            "Label tables (*.csv *.tsv *.json);;All files (*)")
        if not path:
            return False
        self.set_source(TABLE_SOURCE, path)
        return True

    def set_folder(self, path: str | Path) -> None:
        self.set_source(FOLDER_SOURCE, path)

    def set_source(self, kind: str, path: str | Path) -> None:
        """Point the spec at ``path`` for ``kind``; options of the same kind (CelebA's attributes) are kept."""
        spec = self._spec()
        same = _spec_kind(spec) == kind and kind != FOLDER_SOURCE
        options = split_options(spec.split(":", 1)[1])[1] if same else {}
        new = f"{kind}:{join_options(str(Path(path)), options)}"
        if new == spec:
            self.binder.refresh()  # the same source again: its contents may have changed
            self.reload()
            return
        self.binder.set_value("dataset", new)

    def _set_option(self, key: str, value: str) -> None:
        kind, _, rest = self._spec().partition(":")
        path, options = split_options(rest)
        options = {k: v for k, v in options.items() if k != key}
        if value:
            options[key] = value
        self.binder.set_value("dataset", f"{kind}:{join_options(path, options)}")

    def _on_attributes_changed(self, _item=None) -> None:
        chosen = [self.attributes.item(i).text() for i in range(self.attributes.count())
                  if self.attributes.item(i).checkState() == Qt.CheckState.Checked]
        self._set_option("attrs", ",".join(chosen))

    def _on_download_toggled(self, on: bool) -> None:
        self._set_option("download", "1" if on else "")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if self._dropped_source(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if self._dropped_source(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        dropped = self._dropped_source(event)
        if dropped is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.set_source(*dropped)

    @staticmethod
    def _dropped_source(event) -> tuple[str, Path] | None:
        mime = event.mimeData()
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile():
                path = Path(url.toLocalFile())
                if path.is_dir():
                    return FOLDER_SOURCE, path
                if path.is_file() and path.suffix.lower() in TABLE_SUFFIXES:
                    return TABLE_SOURCE, path
                if path.is_file():  # an image dropped from inside a class folder: take its dataset root
                    return FOLDER_SOURCE, path.parent.parent
        return None

    def _sync_source(self) -> None:
        spec = self._spec()
        kind = _spec_kind(spec)
        with signals_blocked(self.source_combo):
            index = self.source_combo.findData(spec)
            if index < 0 and kind in PICKED_SOURCES:
                index = self.source_combo.findData(kind)
            self.source_combo.setCurrentIndex(index)
        picked = kind in PICKED_SOURCES
        path = _spec_path(spec) if picked else ""
        self.folder_label.setText(path)
        self.folder_label.setToolTip(path)
        self.folder_label.setVisible(picked)
        self._folder_row_label.setText("Table" if kind == TABLE_SOURCE else "Folder")
        self.browse.setVisible(True)
        self.browse.setToolTip("Choose a label table" if kind == TABLE_SOURCE else
                               f"Choose the folder that holds {TORCHVISION_SETS[kind].title}"
                               if kind in TORCHVISION_SETS else "Choose an image folder")
        options = split_options(spec.split(":", 1)[1])[1] if picked else {}
        self._form.setRowVisible(self.attributes, kind == "celeba")
        if kind == "celeba":
            chosen = {a.strip() for a in options.get("attrs", "").split(",")}
            if chosen == {"all"}:
                chosen = set(CELEBA_ATTRIBUTES)
            with signals_blocked(self.attributes):
                for i in range(self.attributes.count()):
                    item = self.attributes.item(i)
                    item.setCheckState(Qt.CheckState.Checked if item.text() in chosen else Qt.CheckState.Unchecked)
        self._form.setRowVisible(self.download_check, kind in TORCHVISION_SETS)
        with signals_blocked(self.download_check):
            self.download_check.setChecked(options.get("download", "").lower() in ("1", "true", "yes", "on"))
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
            if key != self._loading_key:
                self._stop_load.set()  # the running load is no longer wanted: end it at its next report
            return  # started again when the running load ends
        spec, size, image_size, channels = key
        self._loading_key = key
        self._started = time.perf_counter()
        stop = self._stop_load = threading.Event()

        def load(progress):
            from studio.data.dataset import load_dataset

            def report(message: str, fraction: float) -> None:
                if stop.is_set():  # checked at every report: a folder reader reports every few images
                    raise _LoadStopped()
                progress(message, fraction)

            started = time.perf_counter()
            # A folder reader reports skipped files as warnings; the log panel shows them.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                dataset = load_dataset(spec, image_size, channels, size, report)
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

        if isinstance(exc, _LoadStopped):
            self.status.setText(f"Stopped loading {self._loading_key[0]}")
            return
        text = str(exc) if isinstance(exc, StudioError) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, OSError) and exc.filename:
            text = f"{exc.filename}: {exc.strerror or exc}"
        if self._wanted is not None and self._wanted != self._loading_key:
            # Another dataset was chosen while this one loaded: its failure is history, not the new choice's.
            self.warning.emit(f"{text} (another dataset was chosen meanwhile)")
            return
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
        """Stop a load under way (closing must not wait for a big folder to finish) and join its thread."""
        self._debounce.stop()
        self._wanted = None
        self._stop_load.set()
        for thread in self._threads:
            join_thread(thread)
        self._threads.clear()

"""The dataset panel: the source chosen, the dataset loaded in a worker, kept for Train.

The widgets are built in :mod:`.widgets`; the load is :func:`.summary.load_summary`,
one call in one :class:`Worker`.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QWidget
from superqt.utils import signals_blocked

from studio.data.sources import join_options, split_options
from studio.data.torchvision_sets import CELEBA_ATTRIBUTES, TORCHVISION_SETS
from studio.gui.binding import ConfigBinder
from studio.gui.dataset_panel import widgets
from studio.gui.dataset_panel.sources import (
    FOLDER_SOURCE,
    PICKED_SOURCES,
    TABLE_SOURCE,
    TABLE_SUFFIXES,
    dataset_key,
    spec_kind,
    spec_path,
)
from studio.gui.dataset_panel.summary import DatasetSummary, LoadStopped, load_summary
from studio.gui.worker import Worker, join_thread, thread_running

__all__ = ["DatasetPanel"]


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
        self._threads: list = []  # the QThreads of loads not yet joined
        self._worker: Worker | None = None  # the running load; cancel() ends it at its next progress report
        self._busy = False
        self._started = 0.0
        widgets.build(self)
        self._connect(binder)
        self._sync_source()

    def _connect(self, binder: ConfigBinder) -> None:
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
        kind = spec_kind(self._spec())
        self._choose(kind if kind in PICKED_SOURCES else FOLDER_SOURCE)

    def _choose(self, kind: str) -> bool:
        if kind == TABLE_SOURCE:
            return self.choose_table()
        if kind in TORCHVISION_SETS:
            return self.choose_root(kind)
        return self.choose_folder()

    def choose_folder(self) -> bool:
        spec = self._spec()
        start = spec[len("folder:") :] if spec.startswith("folder:") else str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Choose an image folder (one subfolder per class)", start)
        if not path:
            return False
        self.set_folder(path)
        return True

    def choose_root(self, kind: str) -> bool:
        """Ask for the folder that holds a torchvision set (its files in torchvision's layout)."""
        spec = self._spec()
        start = spec_path(spec) if spec_kind(spec) in TORCHVISION_SETS else str(Path.home())
        info = TORCHVISION_SETS[kind]
        path = QFileDialog.getExistingDirectory(
            self, f"Choose the folder that holds {info.title} ({info.layout})", start
        )
        if not path:
            return False
        self.set_source(kind, path)
        return True

    def choose_table(self) -> bool:
        spec = self._spec()
        start = spec_path(spec) if spec.startswith("table:") else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Choose a label table (CSV id,tags or JSON file -> labels) beside its images",
            start,
            "Label tables (*.csv *.tsv *.json);;All files (*)",
        )
        if not path:
            return False
        self.set_source(TABLE_SOURCE, path)
        return True

    def set_folder(self, path: str | Path) -> None:
        self.set_source(FOLDER_SOURCE, path)

    def set_source(self, kind: str, path: str | Path) -> None:
        """Point the spec at ``path`` for ``kind``; options of the same kind (CelebA's attributes) are kept."""
        spec = self._spec()
        same = spec_kind(spec) == kind and kind != FOLDER_SOURCE
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
        chosen = [
            self.attributes.item(i).text()
            for i in range(self.attributes.count())
            if self.attributes.item(i).checkState() == Qt.CheckState.Checked
        ]
        self._set_option("attrs", ",".join(chosen))

    def _on_download_toggled(self, on: bool) -> None:
        self._set_option("download", "1" if on else "")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_source(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if self._dropped_source(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
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
        kind = spec_kind(spec)
        with signals_blocked(self.source_combo):
            index = self.source_combo.findData(spec)
            if index < 0 and kind in PICKED_SOURCES:
                index = self.source_combo.findData(kind)
            self.source_combo.setCurrentIndex(index)
        picked = kind in PICKED_SOURCES
        path = spec_path(spec) if picked else ""
        self.folder_label.setText(path)
        self.folder_label.setToolTip(path)
        self.folder_label.setVisible(picked)
        self._folder_row_label.setText("Table" if kind == TABLE_SOURCE else "Folder")
        self.browse.setVisible(True)
        # A built-in set has no folder: no "Folder: Browse…" row (choose "Image folder" as the source, or drop one).
        self._form.setRowVisible(self._folder_row, picked)
        self.browse.setToolTip(
            "Choose a label table"
            if kind == TABLE_SOURCE
            else f"Choose the folder that holds {TORCHVISION_SETS[kind].title}"
            if kind in TORCHVISION_SETS
            else "Choose an image folder"
        )
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
        key = dataset_key(self.binder.values)
        if self.binder.space is None:
            return  # unreadable spec: the binder already says why
        if key != self._wanted:
            self._wanted = key
            self._debounce.start()

    def reload(self) -> None:
        """Load the dataset the settings name now (also when it is already loaded)."""
        self._wanted = dataset_key(self.binder.values)
        self.summary = None
        self.dataset = None
        self._load_wanted()

    def _load_wanted(self) -> None:
        key = self._wanted
        if key is None or (self.summary is not None and self.summary.key == key):
            return
        if self._busy:
            if key != self._loading_key:
                self._worker.cancel()  # the running load is no longer wanted: end it at its next report
            return  # started again when the running load ends
        spec = key[0]
        self._loading_key = key
        self._started = time.perf_counter()
        self._worker = Worker(load_summary, key)
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
        self._threads.append(self._worker.start())

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
        self.message.emit(
            f"Dataset {spec}: {summary.count:,} images at {summary.image_size} px loaded in {summary.seconds:.1f} s"
        )
        for text in summary.warnings:
            self.warning.emit(text)
        self.datasetLoaded.emit(summary)

    def _on_failed(self, exc: Exception) -> None:
        from studio.errors import StudioError

        if isinstance(exc, LoadStopped):
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

    def _on_load_finished(self, _value=None) -> None:
        self._tick.stop()
        self.progress.hide()
        self.progress.setRange(0, 100)
        self._worker = None
        self._busy = False
        if self._wanted is not None and self._wanted != self._loading_key:
            self._load_wanted()  # settings changed while loading: the newest choice wins

    def _show_summary(self, summary: DatasetSummary) -> None:
        widgets.show_summary(self, summary)

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
        if self._worker is not None:
            self._worker.cancel()
        for thread in self._threads:
            join_thread(thread)
        self._threads.clear()

"""The dataset panel: built-in sets and folders, preview, counts, drag and drop, loading off the GUI thread."""

from __future__ import annotations

from gui_helpers import editor, make_folder_dataset, set_field, shrink, wait_dataset
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QComboBox, QFileDialog, QLabel, QListWidget, QWidget


def test_builtin_preview_and_counts(make_window, example, qtbot):
    window = make_window(example)
    set_field(window, "dataset_size", 64)
    wait_dataset(qtbot, window)
    preview = window.findChild(QListWidget, "datasetPreview")
    assert preview.count() == 32
    assert "hair" in preview.item(0).text() and "eyes" in preview.item(0).text()
    counts = window.dataset_panel.counts
    assert len(counts.names) == 22 and "orange hair" in counts.names and "blue eyes" in counts.names
    assert sum(counts.values) == 2 * 64  # each image counts once per attribute
    assert "64" in window.findChild(QLabel, "datasetSummary").text()


def test_folder_dataset_changes_the_condition_space(make_window, example, qtbot, tmp_path, monkeypatch):
    window = make_window(example)
    set_field(window, "dataset_size", 64)
    folder = make_folder_dataset(tmp_path / "pets", classes=("cats", "dogs", "owls"), per_class=10)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    combo = window.findChild(QComboBox, "datasetSourceCombo")
    combo.activated.emit(combo.findData("folder"))
    assert window.project.config.dataset == f"folder:{folder}"
    qtbot.waitUntil(
        lambda: window.dataset_panel.summary is not None and window.dataset_panel.summary.key[0] == f"folder:{folder}",
        timeout=20_000,
    )
    assert window.dataset_panel.counts.names == ["cats", "dogs", "owls"]
    assert window.dataset_panel.counts.values == [10, 10, 10]
    assert window.findChild(QListWidget, "datasetPreview").count() == 30
    condition = window.findChild(QLabel, "conditionLabel")
    assert "one of 3 classes (cats, dogs, owls)" in condition.text()  # plain words first ...
    assert "categorical(3)" in condition.toolTip()  # ... the exact form in the tooltip
    assert not editor(window, "dataset_size").isEnabled()

    combo.setCurrentIndex(combo.findData("builtin:digits"))
    combo.activated.emit(combo.findData("builtin:digits"))
    assert window.project.config.dataset == "builtin:digits"
    assert "categorical(10)" in window.findChild(QLabel, "conditionLabel").toolTip()


def test_drop_a_folder(make_window, example, qtbot, tmp_path):
    window = make_window(example)
    set_field(window, "dataset_size", 64)
    folder = make_folder_dataset(tmp_path / "drop", classes=("a", "b"), per_class=8)
    panel = window.dataset_panel
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    # QApplication only routes drop events during a real drag, so the handlers are called as Qt would.
    args = (QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(QPointF(10, 10), *args[1:])
    panel.dragEnterEvent(enter)
    assert enter.isAccepted()
    text = QMimeData()
    text.setText("not a folder")
    refused = QDragEnterEvent(
        QPointF(10, 10), Qt.DropAction.CopyAction, text, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    panel.dragEnterEvent(refused)
    assert not refused.isAccepted()
    panel.dropEvent(QDropEvent(*args))
    assert window.project.config.dataset == f"folder:{folder}"


def test_unreadable_folder_is_named(make_window, example, tmp_path):
    window = make_window(example)
    set_field(window, "dataset_size", 64)
    missing = tmp_path / "nowhere"
    set_field(window, "dataset", f"folder:{missing}")
    assert str(missing) in window.binder.error
    assert window.binder.is_refused("dataset")
    assert window.project.config.dataset == "builtin:faces"


def test_loading_runs_off_the_gui_thread(make_window, example, qtbot, monkeypatch):
    import threading

    import studio.data.dataset as dataset_module

    seen = []
    original = dataset_module.load_dataset

    def spy(*args, **kwargs):
        seen.append(threading.current_thread() is threading.main_thread())
        return original(*args, **kwargs)

    monkeypatch.setattr(dataset_module, "load_dataset", spy)
    window = make_window(example)
    set_field(window, "dataset_size", 64)
    wait_dataset(qtbot, window)
    assert seen and not any(seen)


def test_damaged_image_in_a_folder_is_reported_in_the_log(make_window, example, qtbot, tmp_path):
    window = make_window(example)
    set_field(window, "dataset_size", 64)
    folder = make_folder_dataset(tmp_path / "pets", classes=("cats", "dogs"), per_class=10)
    (folder / "cats" / "broken.png").write_bytes(b"not a png at all")
    set_field(window, "family", "cgan-concat")
    window.dataset_panel.set_folder(folder)
    qtbot.waitUntil(
        lambda: window.dataset_panel.summary is not None and window.dataset_panel.summary.key[0] == f"folder:{folder}",
        timeout=20_000,
    )
    assert window.dataset_panel.summary.count == 20
    assert "broken.png" in window.findChild(QWidget, "logView").toPlainText()


def test_a_superseded_load_that_fails_does_not_cancel_training_the_new_choice(
    make_window, example, qtbot, tmp_path, monkeypatch
):
    import threading

    import studio.data.dataset as dataset_module
    from studio.errors import StudioError

    folder = make_folder_dataset(tmp_path / "share", per_class=4)
    release = threading.Event()
    original = dataset_module.load_dataset

    def flaky(spec, *args, **kwargs):
        if spec.startswith("folder:"):
            release.wait(20)
            raise StudioError(f"{spec}: the network share dropped")
        return original(spec, *args, **kwargs)

    monkeypatch.setattr(dataset_module, "load_dataset", flaky)
    window = make_window(example)
    shrink(window, epochs=1)
    wait_dataset(qtbot, window)
    panel = window.dataset_panel
    panel.set_folder(folder)
    qtbot.waitUntil(panel.is_loading, timeout=10_000)
    set_field(window, "dataset", "builtin:digits")  # changed their mind, and press Train at once
    assert window.start_training()
    assert window._pending is not None  # waiting for the data
    release.set()
    qtbot.waitUntil(lambda: "New run" in window.log_view.toPlainText(), timeout=60_000)
    # The superseded load reports from its own worker, before or after the new run starts.
    qtbot.waitUntil(lambda: "network share dropped" in window.log_view.toPlainText(), timeout=20_000)
    assert window.findChild(QWidget, "errorDialog") is None
    assert window.binder.config.dataset == "builtin:digits" and window.project.runs()
    window.stop_training()
    qtbot.waitUntil(lambda: not window.training, timeout=30_000)


def test_closing_stops_a_folder_load_instead_of_waiting_for_every_image(
    make_window, example, qtbot, tmp_path, monkeypatch
):
    import threading
    import time

    import studio.data.folder as folder_module

    folder = make_folder_dataset(tmp_path / "big", per_class=300, size=8)
    decoded = []
    lock = threading.Lock()
    original = folder_module._load

    def slow(*args):  # a slow disk: 600 images take seconds
        time.sleep(0.02)
        with lock:
            decoded.append(1)
        return original(*args)

    monkeypatch.setattr(folder_module, "_load", slow)
    window = make_window(example)
    wait_dataset(qtbot, window)
    panel = window.dataset_panel
    panel.set_folder(folder)
    qtbot.waitUntil(lambda: len(decoded) > 10, timeout=30_000)
    threads = list(panel._threads)
    panel.shutdown()  # what closing the window does: it returns once the load has ended
    assert not any(t.isRunning() for t in threads)
    assert len(decoded) < 600  # the images not yet read were dropped, not waited for
    assert panel.summary is None or not panel.summary.key[0].startswith("folder:")

"""The dataset panel's real-data sources: a label table, a torchvision folder, CelebA's attributes."""

from __future__ import annotations

import numpy as np
from gui_helpers import set_field
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QCheckBox, QComboBox, QFileDialog, QLabel, QListWidget, QWidget

from studio.data.torchvision_sets import CELEBA_ATTRIBUTES


def _small(window) -> None:
    set_field(window, "dataset_size", 64)  # before the example's 4,000 faces start drawing
    set_field(window, "batch_size", 4)


def _loaded(qtbot, window, spec: str) -> None:
    qtbot.waitUntil(
        lambda: window.dataset_panel.summary is not None and window.dataset_panel.summary.key[0] == spec, timeout=20_000
    )


def _table(root) -> str:
    colours = {"red": (220, 30, 30), "blue": (30, 30, 220)}
    (root / "images").mkdir(parents=True)
    rows = []
    for i in range(8):
        hair, eyes = ("red", "blue")[i % 2], ("blue", "red")[i // 4]
        Image.new("RGB", (24, 24), colours[hair]).save(root / "images" / f"{i}.png")
        rows.append(f"{i},{hair} hair {eyes} eyes")
    rows.append("99,red hair red eyes")  # no image 99: skipped and reported
    (root / "tags.csv").write_text("\n".join(rows) + "\n")
    return str(root / "tags.csv")


def test_choosing_a_label_table(make_window, example, qtbot, tmp_path, monkeypatch):
    window = make_window(example)
    _small(window)
    table = _table(tmp_path)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (table, "Label tables (*.csv *.tsv *.json)"))
    combo = window.findChild(QComboBox, "datasetSourceCombo")
    combo.activated.emit(combo.findData("table"))
    spec = f"table:{table}"
    assert window.project.config.dataset == spec
    assert combo.currentData() == "table"
    assert "hair(2) x eyes(2)" in window.findChild(QLabel, "conditionLabel").toolTip()  # plain words in the text
    _loaded(qtbot, window, spec)
    panel = window.dataset_panel
    assert panel.summary.count == 8
    assert panel.counts.names == ["blue hair", "red hair", "blue eyes", "red eyes"]
    assert panel.counts.values == [4, 4, 4, 4]
    assert window.findChild(QListWidget, "datasetPreview").count() == 8
    assert panel.folder_label.text() == table
    # The row without an image is named by line in the log.
    qtbot.waitUntil(lambda: "line 9" in window.findChild(QWidget, "logView").toPlainText(), timeout=5_000)
    # CelebA's attribute list and the download switch belong to other sources.
    assert not panel.attributes.isVisibleTo(panel) and not panel.download_check.isVisibleTo(panel)


def test_dropping_a_table_file(make_window, example, tmp_path):
    window = make_window(example)
    _small(window)
    table = _table(tmp_path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(table)])
    window.dataset_panel.dropEvent(
        QDropEvent(
            QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        )
    )
    assert window.project.config.dataset == f"table:{table}"


def test_a_torchvision_folder_without_the_files_names_them(make_window, example, tmp_path, monkeypatch):
    window = make_window(example)
    _small(window)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    combo = window.findChild(QComboBox, "datasetSourceCombo")
    combo.activated.emit(combo.findData("mnist"))
    # Refused at the field, naming the file and where it belongs; the last good dataset stays.
    assert f"{tmp_path}/MNIST/raw/train-images-idx3-ubyte is missing" in window.binder.error
    assert window.binder.is_refused("dataset")
    assert window.project.config.dataset == "builtin:faces"
    assert combo.currentData() == "mnist"
    download = window.findChild(QCheckBox, "datasetDownloadCheck")
    assert download.isVisibleTo(window.dataset_panel) and not download.isChecked()


def _celeba(root, n: int = 4) -> None:
    """A tiny CelebA in torchvision's layout (all images in the train split)."""
    base = root / "celeba"
    (base / "img_align_celeba").mkdir(parents=True)
    rng = np.random.default_rng(0)
    attrs = rng.choice([-1, 1], size=(n, len(CELEBA_ATTRIBUTES)))
    names = [f"{i + 1:06d}.jpg" for i in range(n)]
    for i, name in enumerate(names):
        Image.new("RGB", (18, 22), (40 * i, 120, 90)).save(base / "img_align_celeba" / name)

    def rows(values, header=None):
        head = [str(n), header] if header else []
        return "\n".join(head + [f"{nm} " + " ".join(map(str, v)) for nm, v in zip(names, values)]) + "\n"

    (base / "list_attr_celeba.txt").write_text(rows(attrs, " ".join(CELEBA_ATTRIBUTES)))
    (base / "identity_CelebA.txt").write_text(rows([[i] for i in range(n)]))
    (base / "list_bbox_celeba.txt").write_text(rows([[0, 0, 18, 22]] * n, "image_id x_1 y_1 width height"))
    (base / "list_landmarks_align_celeba.txt").write_text(rows([[1] * 10] * n, " ".join(["x", "y"] * 5)))
    (base / "list_eval_partition.txt").write_text(rows([[0]] * n))


def test_celeba_attributes_are_chosen_in_the_panel(make_window, example, qtbot, tmp_path, monkeypatch):
    window = make_window(example)
    _small(window)
    _celeba(tmp_path)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    combo = window.findChild(QComboBox, "datasetSourceCombo")
    combo.activated.emit(combo.findData("celeba"))
    panel = window.dataset_panel
    # No attribute yet: unlabelled faces, which the example's ACGAN refuses.
    assert "needs a labelled dataset" in window.binder.error
    attributes = window.findChild(QListWidget, "datasetCelebaAttributes")
    assert attributes.isVisibleTo(panel) and attributes.count() == 40
    for name in ("Smiling", "Male"):
        attributes.item(CELEBA_ATTRIBUTES.index(name)).setCheckState(Qt.CheckState.Checked)
    spec = f"celeba:{tmp_path}?attrs=Male,Smiling"
    assert window.project.config.dataset == spec and not window.binder.error
    assert "Male(2) x Smiling(2)" in window.findChild(QLabel, "conditionLabel").toolTip()
    _loaded(qtbot, window, spec)
    assert panel.summary.count == 4
    assert panel.counts.names == ["no Male", "yes Male", "no Smiling", "yes Smiling"]
    # Picking the folder again keeps the chosen attributes.
    combo.activated.emit(combo.findData("celeba"))
    assert window.project.config.dataset == spec

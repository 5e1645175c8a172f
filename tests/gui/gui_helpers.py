"""Helpers for the window tests: change settings through their editors, wait for things."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtWidgets import QAbstractButton, QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox, QWidget

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "projects" / "hair-eyes-demo"

# Small enough for seconds per run on two cores, big enough to exercise every part.
TINY = dict(
    dataset_size=64,
    image_size=32,
    nz=8,
    ngf=4,
    ndf=4,
    batch_size=16,
    log_every=1,
    device="cpu",
    precision="float32",
    ema=False,
)


def editor(window: QWidget, key: str) -> QWidget:
    found = window.findChildren(QWidget, key)
    assert len(found) == 1, f"expected one editor named {key!r}, found {len(found)}"
    return found[0]


def set_field(window: QWidget, key: str, value) -> None:
    """Change one setting through its editor, as a user would."""
    w = editor(window, key)
    if isinstance(w, (QSpinBox, QDoubleSpinBox)):
        w.setValue(value)
    elif isinstance(w, QComboBox):
        index = w.findData(value)
        assert index >= 0, f"{key}: no choice {value!r}"
        w.setCurrentIndex(index)
    elif isinstance(w, QCheckBox):
        w.setChecked(bool(value))
    elif isinstance(w, QLineEdit):
        w.setText(str(value))
        w.editingFinished.emit()
    elif hasattr(w, "set_value"):
        w.set_value(value)
        w.edited.emit()
    else:  # pragma: no cover
        raise TypeError(f"{key}: unknown editor {type(w).__name__}")


def shrink(window: QWidget, **changes) -> None:
    for key, value in {**TINY, **changes}.items():
        set_field(window, key, value)


def button(window: QWidget, name: str) -> QAbstractButton:
    return window.findChild(QAbstractButton, name)


def wait_dataset(qtbot, window, timeout: int = 60_000) -> None:
    qtbot.waitUntil(lambda: window.dataset_panel.dataset_for(window.binder.config) is not None, timeout=timeout)


def make_folder_dataset(root: Path, classes=("cats", "dogs"), per_class: int = 12, size: int = 40) -> Path:
    rng = np.random.default_rng(0)
    for c, name in enumerate(classes):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            pixels[..., c % 3] = 220
            Image.fromarray(pixels).save(folder / f"{i:03d}.png")
    return root

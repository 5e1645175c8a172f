"""Small widget builders the panels share: each makes one widget with its objectName and tooltip."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

__all__ = ["make_button", "make_combo", "make_line", "make_note", "make_progress", "make_spin", "side_by_side"]


def make_combo(name: str, tip: str) -> QComboBox:
    combo = QComboBox()
    combo.setObjectName(name)
    combo.setToolTip(tip)
    return combo


def make_spin(name: str, low: int, high: int, value: int, tip: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setObjectName(name)
    spin.setRange(low, high)
    spin.setValue(value)
    spin.setToolTip(tip)
    return spin


def make_button(text: str, name: str, tip: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.setToolTip(tip)
    return button


def make_line(name: str, tip: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(name)
    edit.setToolTip(tip)
    return edit


def make_note(name: str, tip: str, hint: bool = True, selectable: bool = False) -> QLabel:
    """A word-wrapped label for a status or an explanation; ``hint`` styles it as one."""
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    if hint:
        label.setProperty("hint", True)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setToolTip(tip)
    return label


def make_progress(name: str, tip: str) -> QProgressBar:
    bar = QProgressBar()
    bar.setObjectName(name)
    bar.setRange(0, 100)
    bar.setValue(0)
    bar.setToolTip(tip)
    return bar


def side_by_side(panel: QWidget, name: str, left: QWidget, right: QWidget, sizes: tuple[int, int]) -> QSplitter:
    """Lay ``panel`` out as its controls (``left``, kept at their width) beside what they show (``right``,
    which takes the room a larger window gives), in a splitter named ``name`` that neither side collapses."""
    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.setObjectName(name)
    splitter.addWidget(left)
    splitter.addWidget(right)
    splitter.setStretchFactor(0, 0)
    splitter.setStretchFactor(1, 1)
    splitter.setSizes(list(sizes))
    splitter.setChildrenCollapsible(False)
    layout = QVBoxLayout(panel)
    layout.setContentsMargins(6, 4, 6, 4)
    layout.addWidget(splitter)
    return splitter

"""Panels whose controls scroll vertically when the window is small."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QVBoxLayout, QWidget


def vertical_scroll(content: QWidget, name: str = "", frame: bool = True) -> QScrollArea:
    """``content`` in a scroll area that resizes it to its width and scrolls only up and down."""
    scroll = QScrollArea()
    if name:
        scroll.setObjectName(name)
    scroll.setWidget(content)
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    if not frame:
        scroll.setFrameShape(QFrame.Shape.NoFrame)
    return scroll


def fill_with_scroll(panel: QWidget, content: QWidget) -> QScrollArea:
    """Make ``content``, scrolling, the whole of ``panel``."""
    scroll = vertical_scroll(content)
    outer = QVBoxLayout(panel)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(scroll)
    return scroll

"""Small widget builders the panels share: each makes one widget with its objectName and tooltip."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
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

__all__ = [
    "WheelGuard",
    "install_wheel_guard",
    "make_button",
    "make_combo",
    "make_line",
    "make_note",
    "make_progress",
    "make_spin",
    "side_by_side",
]


class WheelGuard(QObject):
    """Spin boxes and combo boxes take the mouse wheel only when they have the keyboard focus.

    Without it, scrolling a long settings panel changes whichever field passes under the
    pointer (a batch size of 64 becomes 40 unnoticed). The wheel event is passed on to
    the scroll area instead, so the panel scrolls as the user meant.
    """

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.Wheel, QEvent.Type.Polish):
            return False
        if not isinstance(watched, (QAbstractSpinBox, QComboBox)):
            return False
        if kind == QEvent.Type.Polish:
            if watched.focusPolicy() == Qt.FocusPolicy.WheelFocus:
                watched.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a wheel turn must not give it the focus
            return False
        if watched.hasFocus():
            return False
        area = watched.parentWidget()
        while area is not None and not isinstance(area, QAbstractScrollArea):
            area = area.parentWidget()
        if area is not None:
            QApplication.sendEvent(area.viewport(), event)  # the panel scrolls, as the user meant
        return True


_guard: WheelGuard | None = None


def install_wheel_guard(app: QApplication) -> WheelGuard:
    """Install one :class:`WheelGuard` on ``app`` (every widget of the studio); safe to call twice."""
    global _guard
    if _guard is None:
        _guard = WheelGuard()
    app.removeEventFilter(_guard)
    app.installEventFilter(_guard)
    return _guard


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

"""A system notification when something long ends while the user looks at another window."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QSystemTrayIcon, QWidget

__all__ = ["notify", "should_notify"]

_tray: QSystemTrayIcon | None = None


def should_notify(window: QWidget) -> bool:
    """Only when the window is not the active one: a user watching it sees the status bar."""
    return not window.isActiveWindow() or window.isMinimized()


def notify(window: QWidget, title: str, text: str) -> bool:
    """Show ``text`` as a system notification when ``window`` is in the background and the desktop has a tray.

    Returns whether a notification was shown.
    """
    global _tray
    if not should_notify(window) or not QSystemTrayIcon.isSystemTrayAvailable():
        return False
    if not QSystemTrayIcon.supportsMessages():
        return False
    if _tray is None:
        app = QApplication.instance()
        _tray = QSystemTrayIcon(app.windowIcon() if app is not None else window.windowIcon(), app)
        _tray.setToolTip("GAN Studio")
    _tray.show()
    _tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, 10000)
    return True

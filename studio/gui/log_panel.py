"""The log panel: what happened, newest last; errors in red with their details."""

from __future__ import annotations

import html
import time

from PySide6.QtGui import QFontDatabase, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QWidget

__all__ = ["LogView"]

_COLOURS = {"info": "#222", "warning": "#9a6700", "error": "#b00020"}


class LogView(QPlainTextEdit):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("logView")
        self.setReadOnly(True)
        self.setMaximumBlockCount(5000)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(max(8.0, font.pointSizeF() - 1))
        self.setFont(font)
        self.setPlaceholderText("Messages from projects, datasets and runs appear here.")

    def log(self, text: str, level: str = "info", details: str = "") -> None:
        stamp = time.strftime("%H:%M:%S")
        colour = _COLOURS.get(level, _COLOURS["info"])
        body = html.escape(text)
        if level != "info":
            body = f"<b>{level}:</b> {body}"
        line = f'<span style="color:#888">{stamp}</span> <span style="color:{colour}">{body}</span>'
        if details:
            line += f'<pre style="color:#555">{html.escape(details.rstrip())}</pre>'
        self.appendHtml(line)
        self.moveCursor(QTextCursor.MoveOperation.End)
        self.ensureCursorVisible()

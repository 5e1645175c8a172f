"""File choices shared by the panels: a name from a save dialog, with the suffix its format needs."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

__all__ = ["with_suffix"]


def with_suffix(parent: QWidget, chosen: str, suffix: str) -> tuple[Path | None, bool]:
    """(path with ``suffix``, whether replacing it was confirmed); None when the user declined.

    The file dialog itself asks before replacing the name it returns; a
    suffix added here needs its own question.
    """
    path = Path(chosen)
    if path.suffix.lower() == suffix:
        return path, path.exists()
    path = path.with_name(path.name + suffix)
    if not path.exists():
        return path, False
    answer = QMessageBox.question(
        parent,
        "Replace file?",
        f"{path} exists. Replace it?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return (path, True) if answer == QMessageBox.StandardButton.Yes else (None, False)

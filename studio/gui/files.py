"""File choices shared by the panels: a name from a save dialog, with the suffix its format needs."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

__all__ = ["with_suffix", "confirm_replace", "export_folder", "remember_export_folder"]

_EXPORT_FOLDER = "export/folder"


def export_folder(fallback: str | Path) -> Path:
    """The folder the last export went to (remembered between sessions), or ``fallback`` when none is known."""
    from studio.gui.settings import settings

    value = settings().value(_EXPORT_FOLDER, "")
    folder = Path(str(value)) if value else None
    return folder if folder is not None and folder.is_dir() else Path(fallback)


def remember_export_folder(path: str | Path) -> None:
    """Remember the folder of ``path`` (a file just exported) for the next export dialog."""
    from studio.gui.settings import settings

    s = settings()
    s.setValue(_EXPORT_FOLDER, str(Path(path).parent))
    s.sync()


def confirm_replace(parent: QWidget, text: str, title: str = "Replace file?") -> bool:
    """Ask ``text`` (Yes / Cancel, Cancel by default); True when the user said Yes."""
    answer = QMessageBox.question(
        parent,
        title,
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Yes


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
    return (path, True) if confirm_replace(parent, f"{path} exists. Replace it?") else (None, False)

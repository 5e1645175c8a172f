"""What the main window's parts share: the title, the example project, how an error reads."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QStandardPaths

from studio.core.atomic import atomic_write_bytes
from studio.gui.resources import projects_dir
from studio.project import PROJECT_FILE

APP_TITLE = "GAN Studio"
EXAMPLE_PROJECT = "hair-eyes-demo"


def example_project_path(name: str = EXAMPLE_PROJECT) -> Path | None:
    """The example project, copied to the user's data folder when the install is read-only.

    Runs are written inside the project folder, so it must be writable.
    """
    source = projects_dir() / name
    if not (source / PROJECT_FILE).is_file():
        return None
    if os.access(source, os.W_OK):
        return source
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    target = Path(base or Path.home() / ".gan-studio") / "projects" / name
    if not (target / PROJECT_FILE).is_file():
        atomic_write_bytes(target / PROJECT_FILE, (source / PROJECT_FILE).read_bytes(), overwrite=False)
    return target


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        name = f"{exc.filename}: " if exc.filename else ""
        return f"{name}{exc.strerror or exc}"
    return str(exc)

"""What the window remembers between sessions (QSettings): geometry and recent projects.

Always the INI format in the user scope, so tests can point it at a
temporary folder with ``QSettings.setPath(IniFormat, UserScope, tmp)``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

__all__ = [
    "ORGANISATION",
    "APPLICATION",
    "settings",
    "recent_projects",
    "add_recent_project",
    "remove_recent_project",
    "MAX_RECENT",
]

ORGANISATION = "GAN Studio"
APPLICATION = "GAN Studio"
MAX_RECENT = 10
_RECENT = "projects/recent"


def settings() -> QSettings:
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION)


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value if v]


def recent_projects() -> list[str]:
    return _as_list(settings().value(_RECENT, []))


def add_recent_project(folder: str | Path) -> list[str]:
    folder = str(Path(folder).resolve())
    recent = [p for p in recent_projects() if p != folder]
    recent.insert(0, folder)
    recent = recent[:MAX_RECENT]
    s = settings()
    s.setValue(_RECENT, recent)
    s.sync()
    return recent


def remove_recent_project(folder: str | Path) -> list[str]:
    folder = str(Path(folder).resolve())
    recent = [p for p in recent_projects() if p != folder]
    s = settings()
    s.setValue(_RECENT, recent)
    s.sync()
    return recent

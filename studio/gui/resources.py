"""Bundled icons and the style sheet (resources/); nothing is fetched at run time."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

__all__ = ["RESOURCES", "icon", "style_sheet", "projects_dir"]

RESOURCES = Path(__file__).resolve().parents[2] / "resources"


def projects_dir() -> Path:
    """The example projects shipped with the studio."""
    return Path(__file__).resolve().parents[2] / "projects"


@cache
def _icon_path(name: str) -> Path | None:
    for suffix in (".svg", ".png"):
        path = RESOURCES / "icons" / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


def icon(name: str, fallback: QIcon | None = None) -> QIcon:
    path = _icon_path(name)
    if path is not None:
        result = QIcon(str(path))
        if not result.isNull():
            return result
    return fallback if fallback is not None else QIcon()


def style_sheet() -> str:
    path = RESOURCES / "style.qss"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""

"""Runs never go inside the install: a project opened from the install's projects/ folder (the examples)
is saved into the user's own projects folder on its first Train, and the window says where."""

from __future__ import annotations

import os
from pathlib import Path

from studio.gui.resources import projects_dir
from studio.project import PROJECT_FILE

__all__ = ["user_projects_dir", "inside_install", "user_copy_folder", "move_out_of_install"]


def user_projects_dir() -> Path:
    """Where the studio keeps the user's projects: ``~/GAN Studio/projects`` (``GAN_STUDIO_HOME`` moves it)."""
    home = os.environ.get("GAN_STUDIO_HOME")
    return (Path(home).expanduser() if home else Path.home() / "GAN Studio") / "projects"


def inside_install(folder: str | Path) -> bool:
    """Whether ``folder`` lies in the install's projects/ folder (which may be read-only, and goes with updates)."""
    try:
        Path(folder).resolve().relative_to(projects_dir().resolve())
    except (ValueError, OSError):
        return False
    return True


def user_copy_folder(folder: str | Path) -> Path:
    """A new folder in :func:`user_projects_dir` named after ``folder`` (``name-2``, ``name-3`` ... when taken)."""
    base = user_projects_dir()
    name = Path(folder).name
    target, n = base / name, 1
    while target.exists():
        n += 1
        target = base / f"{name}-{n}"
    return target


def move_out_of_install(window) -> bool:
    """Before the first run of an install project: save it (with the settings shown) into the user's folder.

    Returns False when the copy failed (said in an error box); True when there was nothing to do or it worked.
    """
    project = window.project
    if project is None or not inside_install(project.folder):
        return True
    from studio.gui.main_window.common import _error_text
    from studio.gui.settings import add_recent_project

    source = project.folder
    target = user_copy_folder(source)
    try:
        target.mkdir(parents=True, exist_ok=False)
        project.save(target)
    except Exception as exc:  # noqa: BLE001 - any failure leaves the project where it was
        project.folder = source
        window.show_error("Cannot copy the example project", f"{target}: {_error_text(exc)}")
        return False
    window._set_dirty(False)
    add_recent_project(target)
    window.log_view.log(
        f"The example project was copied to {target / PROJECT_FILE}: its runs are saved there, "
        f"not in the studio's own folder {source.parent}"
    )
    window.statusBar().showMessage(f"Project copied to {target}; runs are saved there", 15000)
    window._update_title()
    window.refresh_runs()
    return True

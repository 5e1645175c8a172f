"""Application start-up: QApplication, the main window, the event loop.

``create_main_window(project_path)`` builds the window (opening the project,
or on first start the example project) without starting the event loop, so
tests and scripts drive it; ``run_app(argv)`` is what ``python main.py`` runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

from PySide6.QtWidgets import QApplication

__all__ = ["create_main_window", "run_app", "ensure_app"]

_styled_app = None


def ensure_app(argv: list[str] | None = None) -> QApplication:
    from studio.gui.resources import icon, style_sheet
    from studio.gui.settings import APPLICATION, ORGANISATION

    app = QApplication.instance()
    if app is None:
        app = QApplication(list(argv) if argv else sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    global _styled_app
    if _styled_app is not app:
        from studio.gui.builders import install_wheel_guard

        install_wheel_guard(app)
        app.setStyleSheet(app.styleSheet() + style_sheet())
        app.setWindowIcon(icon("app"))
        _styled_app = app
    return app


def create_main_window(project_path: str | os.PathLike | None = None):
    """The studio window with ``project_path`` open (the last or the example project when None)."""
    ensure_app()
    from studio.core.threads import reserve_cores
    from studio.gui.main_window import MainWindow, example_project_path

    reserve_cores(1)  # the GUI thread's core: training in this process leaves it free
    from studio.gui.settings import recent_projects, remove_recent_project

    window = MainWindow()
    if project_path is not None:
        window.open_project(project_path, confirm=False)
        return window
    for recent in recent_projects()[:1]:
        if (Path(recent) / "project.json").is_file():
            if window.open_project(recent, confirm=False):
                return window
        else:
            remove_recent_project(recent)
            window.log_view.log(f"The last project {recent} is gone; opening the example instead", "warning")
    example = example_project_path()
    if example is not None:
        window.open_project(example, confirm=False)
    return window


def run_app(argv: list[str]) -> int:
    app = ensure_app()
    window = create_main_window(argv[0] if argv else None)
    window.show()
    return app.exec()

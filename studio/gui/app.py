"""Application start-up: QApplication, the main window, the event loop."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication, QLabel, QMainWindow


def create_main_window(project_path: str | None = None) -> QMainWindow:
    window = QMainWindow()
    window.setObjectName("mainWindow")
    window.setWindowTitle("GAN Studio")
    text = "GAN Studio\n\nTrain from the command line for now:\n  python -m studio new demo --preset tiny-demo\n"
    text += "  python -m studio train demo"
    if project_path:
        text += f"\n\nProject: {project_path}"
    label = QLabel(text)
    label.setMargin(24)
    window.setCentralWidget(label)
    window.resize(640, 400)
    return window


def run_app(argv: list[str]) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = create_main_window(argv[0] if argv else None)
    window.show()
    return app.exec()

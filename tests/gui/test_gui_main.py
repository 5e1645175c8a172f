"""``python main.py [PROJECT]``: the window opens on the example, or on the project named."""

from __future__ import annotations

import importlib.util

import pytest
from gui_helpers import EXAMPLE, REPO
from PySide6.QtWidgets import QApplication


@pytest.fixture
def main_module():
    spec = importlib.util.spec_from_file_location("gan_studio_main", REPO / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def shown(monkeypatch, qapp):
    """Stands in for the event loop: records the window run_app showed, then closes it."""
    seen = {}

    def exec_(self=None):
        windows = [w for w in QApplication.topLevelWidgets() if w.objectName() == "mainWindow" and w.isVisible()]
        assert len(windows) == 1
        window = windows[0]
        seen["project"] = window.project.folder if window.project else None
        seen["title"] = window.windowTitle()
        window.setWindowModified(False)
        window.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", exec_)
    return seen


def test_main_opens_the_example_on_first_start(main_module, shown):
    assert main_module.main([]) == 0
    assert shown["project"].resolve() == EXAMPLE.resolve()
    assert "Hair and eyes demo" in shown["title"]


def test_main_opens_the_project_given(main_module, shown, example):
    assert main_module.main([str(example)]) == 0
    assert shown["project"] == example

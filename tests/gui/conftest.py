"""Fixtures for the window tests: private settings, no stray threads, no blocking dialogs.

The window is driven by objectName, the way a user's automation would; the
example project is copied to a temporary folder first, so nothing is ever
written into the repository's projects/.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import shiboken6
from gui_helpers import EXAMPLE
from PySide6.QtCore import QSettings, QThread
from PySide6.QtWidgets import QFileDialog, QMessageBox


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """The test models are tiny: a second intra-op thread only adds waiting, and on a
    busy two-core machine OpenMP's spinning makes a step a hundred times slower."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(autouse=True)
def _fresh_settings(tmp_path_factory):
    """QSettings of each test live in a folder of their own (napari's _fresh_settings)."""
    folder = tmp_path_factory.mktemp("settings")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    yield folder


@pytest.fixture(autouse=True)
def _user_projects_home(tmp_path_factory, monkeypatch):
    """Projects the window copies out of the install (before their first run) go to a temporary home."""
    monkeypatch.setenv("GAN_STUDIO_HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture(autouse=True)
def _dangling_qthreads(monkeypatch):
    """Fail a test that leaves a QThread running (napari's _dangling_qthreads)."""
    started: list[QThread] = []
    original = QThread.start

    def start(self, *args):
        started.append(self)
        return original(self, *args)

    monkeypatch.setattr(QThread, "start", start)
    yield
    running = [t for t in started if shiboken6.isValid(t) and t.isRunning() and not t.wait(3000)]
    assert not running, f"QThread(s) still running after the test: {[t.objectName() for t in running]}"


class Answers:
    """What the patched QMessageBox.question answers; tests may set ``next``."""

    def __init__(self):
        self.asked: list[str] = []
        self.next: list = []

    def __call__(self, parent, title, text, buttons=None, default=None):
        self.asked.append(text)
        if self.next:
            return self.next.pop(0)
        sb = QMessageBox.StandardButton
        for choice in (sb.Yes, sb.Discard):
            if buttons is not None and buttons & choice:
                return choice
        return default


@pytest.fixture(autouse=True)
def answers(monkeypatch) -> Answers:
    """Modal questions and file dialogs never block a test."""
    answers = Answers()
    monkeypatch.setattr(QMessageBox, "question", answers)

    def no_dialog(*args, **kwargs):
        raise AssertionError("a file dialog opened that the test did not expect")

    for name in ("getExistingDirectory", "getSaveFileName", "getOpenFileName"):
        monkeypatch.setattr(QFileDialog, name, no_dialog)
    return answers


@pytest.fixture
def example(tmp_path) -> Path:
    """A copy of the example project that tests may train in."""
    target = tmp_path / "hair-eyes-demo"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("runs"))
    return target


@pytest.fixture
def make_window(qtbot):
    from studio.gui import create_main_window

    windows = []

    def make(path=None, show: bool = True):
        window = create_main_window(path)
        qtbot.addWidget(window)
        if show:
            window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        if shiboken6.isValid(window):
            window.shutdown()

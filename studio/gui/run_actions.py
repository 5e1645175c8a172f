"""What the runs list offers beyond show and resume: a run's notes, and continuing it for N more epochs.

* :class:`RunNotesDialog` edits a run's name, tags and note
  (:mod:`studio.app.run_notes`, the same rules as ``note RUN`` on the command line).
* :func:`continue_run` asks how many more epochs and resumes the run from its
  latest checkpoint with that many added to its plan
  (:func:`studio.app.training.resume_run_request` with ``more``, as ``resume RUN --more N``).
* :func:`install_run_menu` gives the runs list a right-click menu with both.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from studio.app.run_notes import MAX_NAME, read_notes, write_notes
from studio.core.rundir import RunDirectory
from studio.errors import StudioError

__all__ = ["RunNotesDialog", "edit_run_notes", "ask_more_epochs", "continue_run", "install_run_menu"]


class RunNotesDialog(QDialog):
    """Name, tags (comma-separated) and a free-text note of one run; OK writes notes.json atomically."""

    def __init__(self, run: RunDirectory, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("runNotesDialog")
        self.setWindowTitle(f"Notes of run {run.run_id}")
        self.run = run
        notes = read_notes(run)
        self.name_edit = QLineEdit(notes.name)
        self.name_edit.setObjectName("runNameEdit")
        self.name_edit.setMaxLength(MAX_NAME)
        self.name_edit.setPlaceholderText("e.g. baseline, lr 1e-4")
        self.name_edit.setToolTip(f"A short name shown in the runs list (one line, at most {MAX_NAME} characters)")
        self.tags_edit = QLineEdit(", ".join(notes.tags))
        self.tags_edit.setObjectName("runTagsEdit")
        self.tags_edit.setPlaceholderText("e.g. baseline, collapsed, keep")
        self.tags_edit.setToolTip("Comma-separated tags: letters, digits and - _ . + : / (at most 40 characters each)")
        self.note_edit = QPlainTextEdit(notes.note)
        self.note_edit.setObjectName("runNoteEdit")
        self.note_edit.setPlaceholderText("What this run tried, what you saw")
        self.error = QLabel()
        self.error.setObjectName("runNotesError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c0392b")
        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("Tags", self.tags_edit)
        form.addRow("Note", self.note_edit)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.resize(460, 320)

    def save(self) -> bool:
        """Write the notes; on a refusal (a bad tag) the dialog stays open and says why."""
        try:
            write_notes(self.run, self.name_edit.text(), self.tags_edit.text(), self.note_edit.toPlainText())
        except (StudioError, OSError) as exc:
            self.error.setText(str(exc))
            return False
        self.accept()
        return True


def edit_run_notes(window, run: RunDirectory) -> bool:
    """Open the notes dialog of ``run`` over ``window``; refresh the runs list when saved."""
    try:
        dialog = RunNotesDialog(run, window)
    except (StudioError, OSError) as exc:
        window.show_error("Run notes", str(exc))
        return False
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return False
    window.refresh_runs()
    return True


def ask_more_epochs(parent: QWidget, run: RunDirectory) -> int | None:
    """How many more epochs to train ``run`` for; None when cancelled."""
    n, ok = QInputDialog.getInt(
        parent,
        "Continue run",
        f"Continue run {run.run_id} from its latest checkpoint for how many more epochs?",
        10,
        1,
        100_000,
    )
    return n if ok else None


def continue_run(window, run: RunDirectory | None = None, more: int | None = None) -> bool:
    """Resume ``run`` (default: the one selected) for ``more`` epochs beyond those done (asked when None)."""
    from studio.app.training import resume_run_request

    if window.training or window.project is None:
        return False
    run = run or window.runs_panel.selected_run()
    if run is None:
        return False
    more = more if more is not None else ask_more_epochs(window, run)
    if more is None:
        return False
    try:
        request = resume_run_request(run, device=window.binder.config.device, more=more)
    except (StudioError, OSError) as exc:
        window.show_error("Cannot continue the run", str(exc))
        return False
    done = request.config.epochs - more
    window.log_view.log(
        f"Continuing {run.path} from {request.resume_from}: {more} more epochs ({done} to {done + more})"
    )
    return window._launch(request)


def install_run_menu(panel, window) -> None:
    """A right-click menu on the runs list: show, resume, continue N more epochs, edit notes."""
    tree = panel.tree

    def menu(pos) -> None:
        item = tree.itemAt(pos)
        if item is None:
            return
        tree.setCurrentItem(item)
        run = item.data(0, Qt.ItemDataRole.UserRole)
        m = QMenu(tree)
        m.addAction("Show run", lambda: window.show_run(run))
        m.addAction("Resume run", lambda: window.resume_training(run))
        more = m.addAction("Continue N more epochs…", lambda: continue_run(window, run))
        more.setEnabled(not window.training)
        m.addSeparator()
        m.addAction("Name, tags and note…", lambda: edit_run_notes(window, run))
        m.popup(tree.viewport().mapToGlobal(pos))

    tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    tree.customContextMenuRequested.connect(menu)

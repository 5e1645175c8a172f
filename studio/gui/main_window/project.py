"""New, open, save and recent projects: a mixin of :class:`~studio.gui.main_window.MainWindow`.

A project is loaded completely with ``Project.load`` before it replaces the
current one, so a damaged file changes nothing.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from studio.errors import StudioError
from studio.gui.main_window.common import APP_TITLE, _error_text
from studio.gui.settings import add_recent_project, recent_projects, remove_recent_project
from studio.project import PROJECT_FILE, Project


class ProjectMixin:
    """The project's file: new, open, save, save as, the recent list."""

    def _confirm_discard(self) -> bool:
        """True when there are no unsaved changes, or the user saved or dropped them."""
        if self.project is None or not self.dirty:
            return True
        answer = self._ask(
            "Unsaved changes",
            f"The settings of {self.project.name} have changed. Save them first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save_project()
        return answer == QMessageBox.StandardButton.Discard

    def _refuse_while_training(self, what: str) -> bool:
        self.stop_following()  # a run another process trains goes on without this window
        if self.training:
            self.show_error(APP_TITLE, f"A run is in progress; stop it before you {what}.")
            return True
        return False

    def open_project(self, path: str | Path, confirm: bool = True) -> bool:
        if self._refuse_while_training("open another project"):
            return False
        if confirm and not self._confirm_discard():
            return False
        try:
            project = Project.load(path)
        except (StudioError, OSError) as exc:
            self.show_error("Cannot open the project", _error_text(exc))
            return False
        self._set_project(project)
        return True

    def _set_project(self, project: Project) -> None:
        self.project = project
        self.setup_tabs.setEnabled(True)
        # Status lines of the project before say nothing about this one.
        for panel in (self.checkpoint_lab, self.evaluation_panel, self.condition_explorer):
            status = getattr(panel, "status", None)
            if status is not None and hasattr(status, "clear"):
                status.clear()
        self.status_rate.clear()
        self.status_eta.clear()
        self.binder.load(project.config)
        self.model_panel.show_preset(project.preset)
        self._set_dirty(False)
        try:
            add_recent_project(project.folder)
        except Exception:  # noqa: BLE001 - settings are a convenience
            pass
        self.log_view.log(f"Opened project {project.folder}")
        self.statusBar().showMessage(f"Project {project.folder}", 5000)
        self.refresh_runs()
        self.queue_panel.set_project(project.folder)
        latest = project.latest_run()
        if latest is not None:
            self.show_run(latest)
        else:
            self.dashboard.show_empty(f"Project {project.name}: no runs yet. Press Train to start one.")
        self._update_train_reason()

    def open_project_dialog(self) -> None:
        start = str(self.project.folder.parent) if self.project else str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Open a project folder", start)
        if path:
            self.open_project(path)

    def new_project(self, folder: str | Path, preset_name: str, confirm: bool = True) -> bool:
        """``confirm``: ask about unsaved settings first (the New Project dialog asked before its form)."""
        from studio.app.training import new_project

        if self._refuse_while_training("create a project"):
            return False
        if confirm and not self._confirm_discard():
            return False
        try:
            project = new_project(folder, preset_name)
        except (StudioError, OSError) as exc:
            self.show_error("Cannot create the project", _error_text(exc))
            return False
        self.log_view.log(f"Created {project.file} from preset {preset_name}")
        self._set_project(project)
        return True

    def new_project_dialog(self) -> None:
        from studio.gui.dialogs import NewProjectDialog
        from studio.presets import list_presets

        try:
            presets = list_presets()
        except StudioError as exc:
            self.show_error("Presets", str(exc))
            return
        # Unsaved settings are asked about before the form, not after the user has filled it in.
        if self._refuse_while_training("create a project") or not self._confirm_discard():
            return
        dialog = NewProjectDialog(presets, self.project.preset if self.project else "tiny-demo", self)
        if dialog.exec():
            self.new_project(dialog.folder(), dialog.preset_name(), confirm=False)

    def save_project(self) -> bool:
        if self.project is None:
            return False
        try:
            self.project.save()
        except (StudioError, OSError) as exc:
            self.show_error("Cannot save the project", _error_text(exc))
            return False
        self._set_dirty(False)
        add_recent_project(self.project.folder)
        self.log_view.log(f"Saved {self.project.file}")
        self.statusBar().showMessage(f"Saved {self.project.file}", 4000)
        return True

    def save_project_as(self, folder: str | Path) -> bool:
        if self.project is None:
            return False
        folder = Path(folder)
        if (folder / PROJECT_FILE).exists() and folder.resolve() != self.project.folder.resolve():
            answer = self._ask(
                "Replace project?",
                f"{folder / PROJECT_FILE} exists. Replace its settings?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
        old = self.project.folder
        try:
            self.project.save(folder)
        except (StudioError, OSError) as exc:
            self.project.folder = old
            self.show_error("Cannot save the project", _error_text(exc))
            return False
        self._set_dirty(False)
        add_recent_project(folder)
        self.log_view.log(f"Saved the settings as {self.project.file}; runs made so far stay in {old / 'runs'}")
        self.refresh_runs()
        return True

    def save_project_as_dialog(self) -> None:
        if self.project is None:
            return
        path = QFileDialog.getExistingDirectory(self, "Save the project into folder", str(self.project.folder.parent))
        if path:
            self.save_project_as(path)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = recent_projects()
        if not recent:
            a = self.recent_menu.addAction("(none)")
            a.setEnabled(False)
            return
        for path in recent:
            a = self.recent_menu.addAction(path)
            a.triggered.connect(lambda checked=False, p=path: self._open_recent(p))
        self.recent_menu.addSeparator()
        clear = self.recent_menu.addAction("Clear list")
        clear.triggered.connect(lambda: [remove_recent_project(p) for p in recent_projects()])

    def _open_recent(self, path: str) -> None:
        if not (Path(path) / PROJECT_FILE).is_file():
            remove_recent_project(path)
        self.open_project(path)

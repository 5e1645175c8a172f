"""The studio's main window: projects, the setup panels, the training dashboard, the log.

    left dock "Setup"   Dataset (dataset_panel.py) | Model (model_panel.py) | Runs (runs_panel.py)
    centre tabs         Training: TrainingDashboard (dashboard.py): controls, plots.py, timeline.py
                        Checkpoint lab (checkpoint_lab.py), Condition explorer (explorer.py),
                        Evaluation (evaluation.py): all follow the run selected in the Runs tab
    bottom dock "Log"   LogView (log_panel.py)

The window does what ``studio.cli`` does for a run -- a RunDirectory in the
project's runs folder, the dataset, a Trainer -- but the trainer runs in a
QThread (worker.py).  A project is loaded completely with ``Project.load``
before it replaces the current one, so a damaged file changes nothing.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from PySide6.QtCore import QByteArray, QStandardPaths, Qt
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QStyle,
    QTabWidget,
    QWidget,
)

from studio.app.runs import create_run, plan_resume, tidy_run
from studio.core.atomic import atomic_write_bytes
from studio.core.device import resolve_device
from studio.core.events import (
    CheckpointSaved,
    EpochEnd,
    RunError,
    RunFinished,
    RunPaused,
    RunResumed,
    RunStarted,
)
from studio.core.rundir import RunDirectory
from studio.errors import StudioError, StudioWarning
from studio.gui.binding import ConfigBinder
from studio.gui.checkpoint_lab import CheckpointLab
from studio.gui.dashboard import TrainingDashboard, read_run_files
from studio.gui.dataset_panel import DatasetPanel
from studio.gui.evaluation import EvaluationPanel
from studio.gui.explorer import ConditionExplorer
from studio.gui.log_panel import LogView
from studio.gui.model_panel import ModelPanel
from studio.gui.resources import icon, projects_dir
from studio.gui.runs_panel import RunsPanel, describe_run
from studio.gui.settings import add_recent_project, recent_projects, remove_recent_project, settings
from studio.gui.timeline import export_gif, export_png
from studio.gui.worker import (
    BackgroundJob,
    TrainingJob,
    TrainingWorker,
    join_thread,
    start_worker,
    thread_running,
)
from studio.project import PROJECT_FILE, Project

__all__ = ["MainWindow", "EXAMPLE_PROJECT", "example_project_path"]

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


class MainWindow(QMainWindow):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle(APP_TITLE)
        self.setDockNestingEnabled(True)
        self.project: Project | None = None
        self.last_error = ""
        self._worker: TrainingWorker | None = None
        self._pending: tuple | None = None  # a run waiting for the dataset panel's load
        self._thread = None
        self._live_run: str | None = None
        self._session_states: dict[str, str] = {}
        self._presets = []
        self._gif_job = BackgroundJob(self)  # the timeline's GIF export: many frames, off the GUI thread
        self._gif_progress: QProgressDialog | None = None

        self.binder = ConfigBinder(self)
        self.dataset_panel = DatasetPanel(self.binder)
        self.model_panel = ModelPanel(self.binder)
        self.runs_panel = RunsPanel()
        self.dashboard = TrainingDashboard()
        self.controls = self.dashboard.controls
        self.log_view = LogView()
        self.checkpoint_lab = CheckpointLab()
        self.condition_explorer = ConditionExplorer()
        self.evaluation_panel = EvaluationPanel()

        self.setup_tabs = QTabWidget()
        self.setup_tabs.setObjectName("setupTabs")
        self.setup_tabs.addTab(self.dataset_panel, "Dataset")
        self.setup_tabs.addTab(self.model_panel, "Model")
        self.setup_tabs.addTab(self.runs_panel, "Runs")
        self.setup_tabs.setMinimumWidth(340)
        self.setup_dock = QDockWidget("Setup", self)
        self.setup_dock.setObjectName("setupDock")
        self.setup_dock.setWidget(self.setup_tabs)
        self.setup_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                                    | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.setup_dock)
        self.log_dock = QDockWidget("Log", self)
        self.log_dock.setObjectName("logDock")
        self.log_dock.setWidget(self.log_view)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.log_dock)
        self.main_tabs = QTabWidget()
        self.main_tabs.setObjectName("mainTabs")
        self.main_tabs.addTab(self.dashboard, "Training")
        self.main_tabs.addTab(self.checkpoint_lab, "Checkpoint lab")
        self.main_tabs.addTab(self.condition_explorer, "Condition explorer")
        self.main_tabs.addTab(self.evaluation_panel, "Evaluation")
        self.main_tabs.setTabToolTip(0, "Train, and watch the curves and the sample grid of each epoch")
        self.main_tabs.setTabToolTip(1, "The selected run's checkpoints: average, compare with the EMA, export G")
        self.main_tabs.setTabToolTip(2, "Any generator of the selected run: fix and vary conditions, noise, truncation")
        self.main_tabs.setTabToolTip(3, "Score the selected run's generators: conditional accuracy, FID, KID, IS")
        self.setCentralWidget(self.main_tabs)
        self.resizeDocks([self.setup_dock], [420], Qt.Orientation.Horizontal)
        self.resizeDocks([self.log_dock], [130], Qt.Orientation.Vertical)

        self.status_rate = QLabel()
        self.status_rate.setObjectName("statusRate")
        self.status_eta = QLabel()
        self.status_eta.setObjectName("statusEta")
        self.statusBar().addPermanentWidget(self.status_rate)
        self.statusBar().addPermanentWidget(self.status_eta)

        self._make_actions()
        self._connect()
        self._restore_geometry()
        self._update_title()
        self._update_train_reason()
        self.setup_tabs.setEnabled(False)

    # --- building -------------------------------------------------------------
    def _action(self, name: str, text: str, slot, shortcut=None, icon_name: str = "", fallback=None,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if icon_name:
            action.setIcon(icon(icon_name, self.style().standardIcon(fallback) if fallback is not None else None))
        if shortcut is not None:
            action.setShortcut(shortcut)
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(lambda checked=False: slot())
        self.addAction(action)
        return action

    def _make_actions(self) -> None:
        sp = QStyle.StandardPixmap
        ks = QKeySequence.StandardKey
        self.action_new = self._action("actionNewProject", "&New Project…", self.new_project_dialog, ks.New,
                                       "new", sp.SP_FileIcon, "Create a project folder from a preset")
        self.action_open = self._action("actionOpenProject", "&Open Project…", self.open_project_dialog, ks.Open,
                                        "open", sp.SP_DialogOpenButton, "Open a project folder")
        self.action_save = self._action("actionSaveProject", "&Save Project", self.save_project, ks.Save,
                                        "save", sp.SP_DialogSaveButton, "Write project.json")
        self.action_save_as = self._action("actionSaveProjectAs", "Save Project &As…", self.save_project_as_dialog,
                                           ks.SaveAs, tip="Write the settings to another project folder")
        self.action_export = self._action("actionExportGrid", "&Export Grid as PNG…", self.export_grid_dialog,
                                          QKeySequence("Ctrl+E"), "export", sp.SP_DialogSaveButton,
                                          "Save the sample grid shown as a PNG")
        self.action_export_gif = self._action("actionExportGif", "Export Timeline as &GIF…", self.export_gif_dialog,
                                              tip="Save every epoch's grid as an animated GIF")
        self.action_quit = self._action("actionQuit", "&Quit", self.close, ks.Quit)
        self.action_train = self._action("actionTrain", "&Train", lambda: self.start_training(), QKeySequence("F5"),
                                         "train", sp.SP_MediaPlay, "Start a new run")
        self.action_pause = self._action("actionPause", "&Pause / Continue", self.toggle_pause,
                                         QKeySequence("F6"), "pause", sp.SP_MediaPause)
        self.action_stop = self._action("actionStop", "&Stop", self.stop_training, QKeySequence("Shift+F5"),
                                        "stop", sp.SP_MediaStop, "Write a checkpoint and end the run")
        self.action_resume = self._action("actionResumeRun", "&Resume Run…", self.resume_training,
                                          icon_name="resume", fallback=sp.SP_MediaSeekForward,
                                          tip="Continue a run from its latest checkpoint")

        menu = self.menuBar().addMenu("&File")
        menu.addAction(self.action_new)
        menu.addAction(self.action_open)
        self.recent_menu = menu.addMenu("Open &Recent")
        self.recent_menu.setObjectName("recentMenu")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        menu.addSeparator()
        menu.addAction(self.action_save)
        menu.addAction(self.action_save_as)
        menu.addSeparator()
        menu.addAction(self.action_export)
        menu.addAction(self.action_export_gif)
        menu.addSeparator()
        menu.addAction(self.action_quit)
        run_menu = self.menuBar().addMenu("&Run")
        for a in (self.action_train, self.action_pause, self.action_stop, self.action_resume):
            run_menu.addAction(a)
        view = self.menuBar().addMenu("&View")
        view.addAction(self.setup_dock.toggleViewAction())
        view.addAction(self.log_dock.toggleViewAction())

        toolbar = self.addToolBar("Project")
        toolbar.setObjectName("projectToolBar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for a in (self.action_new, self.action_open, self.action_save):
            toolbar.addAction(a)
        toolbar.addSeparator()
        toolbar.addAction(self.action_export)

    def _connect(self) -> None:
        self.binder.configChanged.connect(self._on_config_changed)
        self.binder.configEdited.connect(self._on_config_edited)
        self.binder.validityChanged.connect(lambda _: self._update_train_reason())
        self.model_panel.presetChosen.connect(self._on_preset_chosen)
        self.model_panel.confirm_preset = self._confirm_preset
        self.dataset_panel.message.connect(lambda text: self.log_view.log(text))
        self.dataset_panel.warning.connect(lambda text: self.log_view.log(text, "warning"))
        self.dataset_panel.datasetFailed.connect(lambda text: self.log_view.log(f"dataset: {text}", "error"))
        self.dataset_panel.datasetLoaded.connect(self._on_dataset_loaded)
        self.dataset_panel.datasetFailed.connect(self._on_dataset_failed)
        self.controls.trainRequested.connect(lambda: self.start_training())
        self.controls.pauseRequested.connect(self.pause_training)
        self.controls.continueRequested.connect(self.continue_training)
        self.controls.stopRequested.connect(self.stop_training)
        self.controls.resumeRequested.connect(self.resume_training)
        self.runs_panel.openRequested.connect(self.show_run)
        self.runs_panel.resumeRequested.connect(lambda run: self.resume_training(run))
        self.runs_panel.refresh_button.clicked.connect(self.reread_runs)
        self.dashboard.timeline.exportPngRequested.connect(self.export_grid_dialog)
        self.dashboard.timeline.exportGifRequested.connect(self.export_gif_dialog)
        self.dashboard.timeline.frameShown.connect(lambda _: self._update_actions())
        self.dashboard.statusChanged.connect(self._on_status)
        self.runs_panel.tree.itemSelectionChanged.connect(self._on_run_selected)
        for panel in (self.checkpoint_lab, self.condition_explorer, self.evaluation_panel):
            panel.message.connect(self.log_view.log)
            panel.errorOccurred.connect(self.show_error)
        self.checkpoint_lab.averageSaved.connect(lambda _path: self.condition_explorer.refresh())
        self.checkpoint_lab.averageSaved.connect(lambda _path: self.evaluation_panel.refresh())

    def _restore_geometry(self) -> None:
        s = settings()
        geometry = s.value("window/geometry")
        restored = isinstance(geometry, QByteArray) and self.restoreGeometry(geometry)
        if not restored:
            screen = QGuiApplication.primaryScreen()
            avail = screen.availableGeometry() if screen is not None else None
            w, h = 1440, 900
            if avail is not None and avail.width() > 200:
                w, h = min(w, avail.width() - 40), min(h, avail.height() - 40)
            self.resize(w, h)
        state = s.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def _save_geometry(self) -> None:
        s = settings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.sync()

    # --- messages -------------------------------------------------------------
    def show_error(self, title: str, text: str, details: str = "") -> QMessageBox:
        """Log the error and show it in a window-modal box that does not block the caller."""
        self.last_error = text
        self.log_view.log(text, "error", details)
        box = QMessageBox(QMessageBox.Icon.Critical, title, text, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("errorDialog")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if details:
            box.setDetailedText(details)
        box.open()
        return box

    def _ask(self, title: str, text: str, buttons, default) -> QMessageBox.StandardButton:
        return QMessageBox.question(self, title, text, buttons, default)

    # --- project state ----------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return self.isWindowModified()

    def _set_dirty(self, dirty: bool) -> None:
        self.setWindowModified(dirty)
        self._update_title()

    def _update_title(self) -> None:
        if self.project is None:
            self.setWindowTitle(APP_TITLE)
        else:
            name = self.project.name or self.project.folder.name
            self.setWindowTitle(f"{name}[*] — {APP_TITLE}")
        self._update_actions()

    def _update_actions(self) -> None:
        has_project = self.project is not None
        self.action_save.setEnabled(has_project)
        self.action_save_as.setEnabled(has_project)
        has_grid = self.dashboard.timeline.count() > 0
        self.action_export.setEnabled(has_grid)
        self.action_export_gif.setEnabled(has_grid)

    def _on_config_changed(self, config) -> None:
        if self.project is not None:
            self.project.config = config
        self._update_train_reason()

    def _on_config_edited(self, config) -> None:
        if self.project is not None:
            self.project.config = config
            self._set_dirty(True)

    def _confirm_preset(self, name: str) -> bool:
        """A preset replaces every setting: unsaved ones only when the user says so."""
        if not self.dirty:
            return True  # the project file still holds what the panel shows
        sb = QMessageBox.StandardButton
        answer = self._ask("Load preset",
                           f"Preset {name} replaces every setting, including the changes you have not saved. "
                           "Load it?", sb.Yes | sb.Cancel, sb.Cancel)
        return answer == sb.Yes

    def _on_preset_chosen(self, name: str) -> None:
        if self.project is not None:
            self.project.preset = name
            self._set_dirty(True)
            self.log_view.log(f"Settings of preset {name} loaded (the project file changes when you save)")

    def _update_train_reason(self) -> None:
        if self.project is None:
            reason = "open or create a project first"
        else:
            reason = self.binder.error
        self.controls.set_train_blocked(reason)
        self.action_train.setEnabled(not reason and not self.training)

    @property
    def training(self) -> bool:
        """A run is in progress (or waits for its dataset)."""
        return self._worker is not None or self._pending is not None

    # --- projects -------------------------------------------------------------
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

    def new_project(self, folder: str | Path, preset_name: str) -> bool:
        from studio.data.dataset import dataset_space
        from studio.presets import load_preset

        if self._refuse_while_training("create a project"):
            return False
        if not self._confirm_discard():
            return False
        try:
            preset = load_preset(preset_name)
            preset.config.check_against(dataset_space(preset.config.dataset), source=f"preset {preset_name}")
            project = Project.create(folder, preset.config, preset=preset_name)
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
        dialog = NewProjectDialog(presets, self.project.preset if self.project else "tiny-demo", self)
        if dialog.exec():
            self.new_project(dialog.folder(), dialog.preset_name())

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
            answer = self._ask("Replace project?", f"{folder / PROJECT_FILE} exists. Replace its settings?",
                               QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                               QMessageBox.StandardButton.Cancel)
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

    # --- runs -------------------------------------------------------------------
    def refresh_runs(self) -> None:
        if self.project is None:
            self.runs_panel.set_runs([])
            return
        if not self._presets:
            from studio.presets import list_presets

            try:
                self._presets = list_presets()
            except StudioError:
                self._presets = []
        infos = []
        for run in self.project.runs():
            path = str(run.path)
            live = None
            if path == self._live_run:
                live = {"paused": "paused", "stopping": "stopping"}.get(self.controls.state, "running")
            infos.append(describe_run(run, self._presets, live, self._session_states.get(path)))
        self.runs_panel.set_runs(infos)

    def reread_runs(self) -> None:
        """The Refresh button: list the runs again, and have the panels re-read the selected run's files
        (another process, a headless train or evaluate, may have written them)."""
        self.refresh_runs()
        self._on_run_selected()

    def _on_run_selected(self) -> None:
        """The checkpoint lab, the condition explorer and the evaluation panel follow the Runs tab's selection.

        When the run is no longer listed (another project, a run deleted) they let
        go of it, so they never act on another project's files.
        """
        run = self.runs_panel.selected_run()
        if run is None:
            shown = self.checkpoint_lab.run
            listed = {Path(info.run.path) for info in self.runs_panel.infos}
            if shown is not None and Path(shown.path) in listed:
                return  # a click beside the rows: the run is still there to work on
        self.checkpoint_lab.set_run(run)
        self.condition_explorer.set_run(run)
        self.evaluation_panel.set_run(run)

    def show_run(self, run: RunDirectory) -> None:
        if self.training:
            self.statusBar().showMessage("The dashboard shows the run in progress; stop it to look at others.", 5000)
            return
        try:
            tidy_run(run)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", StudioWarning)
                files = read_run_files(run)
        except (StudioError, OSError) as exc:
            self.show_error("Cannot show the run", _error_text(exc))
            return
        for warning in caught:  # a damaged metrics line, skipped: said in the log, once
            self.log_view.log(str(warning.message), "warning")
        c = files.config
        self.dashboard.show_run(run, files, f"Run <b>{run.run_id}</b> — {c.family} on {c.dataset}, "
                                            f"{len(files.frames)} of {c.epochs} epochs")
        self.runs_panel.select_run(run.path)
        self._update_actions()

    # --- training ---------------------------------------------------------------
    def start_training(self, max_steps: int | None = None) -> bool:
        """A new run of the settings shown; ``max_steps`` ends it early (benchmarks, tests)."""
        if self.training or self.project is None:
            return False
        if self.binder.error:
            self.show_error("Cannot train", self.binder.error)
            return False
        return self._launch(self.binder.config, None, None, max_steps)

    def resume_training(self, run: RunDirectory | None = None, checkpoint: str | Path | None = None) -> bool:
        if self.training or self.project is None:
            return False
        if run is None and checkpoint is None:
            run = self.runs_panel.selected_run()
        if run is None and checkpoint is None:
            start = str(self.project.runs_dir if self.project.runs_dir.is_dir() else self.project.folder)
            path, _ = QFileDialog.getOpenFileName(self, "Resume from checkpoint", start, "Checkpoints (*.pt)")
            if not path:
                return False
            checkpoint = path
        try:
            saved_epochs = (run.read_config().epochs if checkpoint is None else
                            RunDirectory(Path(checkpoint).parent.parent).read_config().epochs)
            # Go on to the run's own epoch count, or further when the panel asks for more.
            epochs = max(saved_epochs, self.binder.config.epochs)
            plan = plan_resume(checkpoint if checkpoint is not None else run, epochs, self.binder.config.device)
        except (StudioError, OSError) as exc:
            self.show_error("Cannot resume", _error_text(exc))
            return False
        run, checkpoint, config = plan.run, plan.checkpoint, plan.config
        if plan.rewinds:
            sb = QMessageBox.StandardButton
            answer = self._ask("Rewind the run?",
                               f"{Path(checkpoint).name} is not the run's latest checkpoint. Resuming from it "
                               f"rewinds the run: training overwrites its {len(plan.later)} later checkpoint(s), up "
                               f"to {plan.later[-1].path.name}, as it reaches their epochs. Resume from it?",
                               sb.Yes | sb.Cancel, sb.Cancel)
            if answer != sb.Yes:
                return False
        self.log_view.log(f"Resuming {run.path} from {checkpoint}")
        return self._launch(config, run, str(checkpoint), None)

    def _launch(self, config, run: RunDirectory | None, resume_from: str | None, max_steps: int | None) -> bool:
        """Start now, or as soon as the dataset panel has loaded the data this run needs.

        Pressing Train while the preview is still loading must not draw the same
        dataset twice at once on the same cores.
        """
        dataset = self.dataset_panel.dataset_for(config)
        if dataset is None and self.dataset_panel.will_load(config):
            self._pending = (config, run, resume_from, max_steps)
            self.controls.set_state("starting")
            self.controls.state_label.setText("Waiting for the dataset to load…")
            self._update_train_reason()
            return True
        return self._launch_now(config, run, resume_from, max_steps, dataset)

    def _launch_now(self, config, run, resume_from, max_steps, dataset) -> bool:
        self._pending = None
        if run is None:
            try:
                if dataset is not None:
                    run = create_run(self.project.runs_dir, config, dataset)
                else:  # the worker loads the data: check what can be checked without it
                    config.validate("settings")
                    resolve_device(config.device)
                    run = RunDirectory.create(self.project.runs_dir, config)
            except (StudioError, OSError) as exc:
                self.controls.set_state("idle")
                self._update_train_reason()
                self.show_error("Cannot start the run", _error_text(exc))
                return False
            self.log_view.log(f"New run {run.path}")
        job = TrainingJob(config, run, dataset=dataset, resume_from=resume_from, max_steps=max_steps)
        resumed = " (resumed)" if resume_from else ""
        self._start(job, f"Run <b>{run.run_id}</b>{resumed} — {config.family} on {config.dataset}")
        return True

    def _on_dataset_loaded(self, summary) -> None:
        if self._pending is None:
            return
        config = self._pending[0]
        dataset = self.dataset_panel.dataset_for(config)
        if dataset is not None:
            self._launch_now(*self._pending, dataset)
        elif not self.dataset_panel.will_load(config):
            self._launch_now(*self._pending, None)  # the settings moved on: the worker loads its own

    def _on_dataset_failed(self, text: str) -> None:
        if self._pending is not None:
            self._pending = None
            self.controls.set_state("idle")
            self._update_train_reason()
            self.show_error("Cannot train", f"The dataset did not load: {text}")

    def _start(self, job: TrainingJob, title: str) -> None:
        self._live_run = str(job.run.path)
        self._session_states.pop(self._live_run, None)
        self.dashboard.begin_live(self._live_run, title)
        worker = TrainingWorker(job)
        worker.event.connect(self._on_train_event)
        worker.datasetProgress.connect(self._on_train_dataset_progress)
        worker.finished.connect(self._on_worker_finished)
        self._worker = worker
        self.controls.set_state("starting")
        self._update_train_reason()
        self._thread = start_worker(worker)
        self.refresh_runs()
        self.runs_panel.select_run(job.run.path)

    def pause_training(self) -> None:
        if self._worker is not None and self.controls.state == "running":
            self._worker.request_pause()
            self.controls.set_state("pausing")

    def continue_training(self) -> None:
        if self._worker is not None and self.controls.state in ("paused", "pausing"):
            self._worker.request_resume()
            self.controls.set_state("running")

    def toggle_pause(self) -> None:
        if self.controls.state == "paused":
            self.continue_training()
        else:
            self.pause_training()

    def stop_training(self) -> None:
        if self._pending is not None:
            self._pending = None
            self.controls.set_state("idle")
            self._update_train_reason()
            self.log_view.log("Train cancelled before the run started")
            return
        if self._worker is not None:
            self._worker.request_stop()
            self.controls.set_state("stopping")
            self.log_view.log("Stopping: the trainer finishes its step and writes a checkpoint")

    def _on_train_dataset_progress(self, message: str, fraction: float) -> None:
        self.statusBar().showMessage(message, 0 if fraction < 1 else 4000)

    def _on_train_event(self, event) -> None:
        self.dashboard.on_event(event)
        if isinstance(event, RunStarted):
            self.controls.set_state("paused" if self.controls.state == "pausing" else
                                    "stopping" if self.controls.state == "stopping" else "running")
            self.log_view.log(
                f"Training on {event.device} ({event.precision}): G {event.g_parameters:,} / "
                f"D {event.d_parameters:,} parameters, {event.steps_per_epoch} steps of {event.batch_size} per epoch"
                + (f", from epoch {event.start_epoch} step {event.start_step}" if event.start_step else "")
            )
            self.statusBar().clearMessage()
            self.refresh_runs()
        elif isinstance(event, EpochEnd):
            m = event.means

            def f(key: str, fmt: str = ".3f") -> str:
                v = m.get(key)
                return "–" if v is None else format(v, fmt)

            line = (f"epoch {event.epoch}: D {f('d_loss')}  G {f('g_loss')}  D(x) {f('d_x', '.2f')}  "
                    f"D(G(z)) {f('d_g_z1', '.2f')}/{f('d_g_z2', '.2f')}")
            if m.get("aux_acc_real") is not None:
                line += f"  aux acc {f('aux_acc_real', '.2f')}/{f('aux_acc_fake', '.2f')}"
            line += f"  {event.images_per_second:.0f} img/s  {event.seconds:.1f} s"
            self.log_view.log(line)
            self._update_actions()
        elif isinstance(event, CheckpointSaved):
            self.log_view.log(f"checkpoint {event.path}")
            self.refresh_runs()
            self.checkpoint_lab.on_checkpoint_saved(event.path)
            self.condition_explorer.on_checkpoint_saved(event.path)
            self.evaluation_panel.on_checkpoint_saved(event.path)  # may start 'evaluate every K' in a thread
        elif isinstance(event, RunPaused):
            if self.controls.state != "stopping":
                self.controls.set_state("paused")
            self.log_view.log(f"paused at step {event.step}")
            self.refresh_runs()
        elif isinstance(event, RunResumed):
            if self.controls.state != "stopping":
                self.controls.set_state("running")
            self.log_view.log(f"continuing from step {event.step}")
            self.refresh_runs()
        elif isinstance(event, RunError):
            if self._live_run:
                self._session_states[self._live_run] = "error"
            self.show_error("Training stopped", f"Training stopped: {event.message}", event.details)
        elif isinstance(event, RunFinished):
            if event.reason != "error":
                self.log_view.log(f"run {event.reason} at epoch {event.epoch}, step {event.step}")
            if event.reason == "stopped" and self._live_run:
                self._session_states.pop(self._live_run, None)

    def _on_worker_finished(self, result) -> None:
        self._worker = None
        self.controls.set_state("idle")
        self.dashboard.live = False
        live = self._live_run
        self._live_run = None
        self._update_train_reason()
        self.refresh_runs()
        if live:
            self.runs_panel.select_run(live)

    def _on_status(self, rate: str, eta: str) -> None:
        self.status_rate.setText(rate)
        self.status_eta.setText(eta)

    def join_training(self, timeout_ms: int | None = None) -> bool:
        return join_thread(self._thread, timeout_ms)

    # --- export ----------------------------------------------------------------
    def _export_start(self, suffix: str) -> str:
        current = self.dashboard.timeline.current()
        run_id = Path(self.dashboard.run_path).name if self.dashboard.run_path else "grid"
        epoch = current[1].epoch if current else 0
        name = f"{run_id}_epoch_{epoch:04d}.{suffix}" if suffix == "png" else f"{run_id}_timeline.{suffix}"
        base = self.project.folder if self.project else Path.home()
        return str(base / name)

    def _confirm_suffixed(self, path: str, suffix: str) -> Path | None:
        """``path`` with ``suffix``; asks before overwriting when the suffix was added here."""
        out = Path(path)
        if out.suffix.lower() != f".{suffix}":
            out = out.with_name(out.name + f".{suffix}")
            if out.exists():
                answer = self._ask("Replace file?", f"{out} exists. Replace it?",
                                   QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                                   QMessageBox.StandardButton.Cancel)
                if answer != QMessageBox.StandardButton.Yes:
                    return None
        return out

    def export_grid(self, path: str | Path, scale: int | None = None, captions: bool | None = None):
        """Write the grid shown to ``path`` (PNG); returns the image size, or None on failure."""
        timeline = self.dashboard.timeline
        current = timeline.current()
        if current is None:
            self.show_error("Export", "There is no sample grid to export yet.")
            return None
        scale = timeline.export_scale.value() if scale is None else int(scale)
        captions = timeline.export_captions.isChecked() if captions is None else bool(captions)
        grid, frame = current
        try:
            size = export_png(path, grid, frame, scale, captions)
        except (StudioError, OSError) as exc:
            self.show_error("Cannot export the grid", _error_text(exc))
            return None
        self.log_view.log(f"Exported epoch {frame.epoch} to {path} ({size[0]}x{size[1]} px)")
        return size

    def export_grid_dialog(self) -> None:
        if self.dashboard.timeline.current() is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export grid", self._export_start("png"), "PNG image (*.png)")
        out = self._confirm_suffixed(path, "png") if path else None
        if out is not None:
            self.export_grid(out)

    def export_timeline(self, path: str | Path, scale: int | None = None, captions: bool | None = None) -> bool:
        """Write the timeline as a GIF in the background, with progress and Cancel; False when one is running.

        A long run at a large scale takes seconds of drawing and encoding, which
        must not freeze the window (or the training beside it).
        """
        timeline = self.dashboard.timeline
        scale = timeline.export_scale.value() if scale is None else int(scale)
        captions = timeline.export_captions.isChecked() if captions is None else bool(captions)
        if self._gif_job.busy:
            self.statusBar().showMessage("A timeline export is still running.", 5000)
            return False
        frames = timeline.timeline.snapshot()  # training may add frames meanwhile
        path = Path(path)

        def work(progress, stopped):
            return path, export_gif(path, frames, scale, captions, progress=progress, should_stop=stopped)

        dialog = QProgressDialog(f"Exporting {len(frames)} epochs to {path.name}…", "Cancel", 0, 100, self)
        dialog.setObjectName("timelineExportProgress")
        dialog.setWindowTitle("Export timeline")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(400)  # a short export never flashes a dialog
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.canceled.connect(self._gif_job.cancel)
        self._gif_progress = dialog
        return self._gif_job.start(work, self._on_gif_progress, self._on_gif_written, self._on_gif_failed,
                                   self._on_gif_finished)

    @property
    def exporting_timeline(self) -> bool:
        return self._gif_job.busy

    def _on_gif_progress(self, text: str, fraction: float) -> None:
        if self._gif_progress is not None:
            self._gif_progress.setLabelText(text)
            self._gif_progress.setValue(round(100 * fraction))

    def _on_gif_written(self, value) -> None:
        path, count = value
        if count is None:
            self.log_view.log(f"Timeline export to {path} cancelled; nothing written")
        else:
            self.log_view.log(f"Exported {count} epochs to {path}")
            self.statusBar().showMessage(f"Exported {count} epochs to {path}", 5000)

    def _on_gif_failed(self, exc: BaseException) -> None:
        text = _error_text(exc) if isinstance(exc, (StudioError, OSError)) else f"{type(exc).__name__}: {exc}"
        self.show_error("Cannot export the timeline", text, getattr(exc, "details", ""))

    def _on_gif_finished(self) -> None:
        if self._gif_progress is not None:
            self._gif_progress.close()
            self._gif_progress.deleteLater()
            self._gif_progress = None

    def export_gif_dialog(self) -> None:
        if not self.dashboard.timeline.count():
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export timeline", self._export_start("gif"),
                                              "Animated GIF (*.gif)")
        out = self._confirm_suffixed(path, "gif") if path else None
        if out is not None:
            self.export_timeline(out)

    # --- closing -------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.training:
            answer = self._ask("Stop training?",
                               "A run is in progress. Stop it (a checkpoint is written first) and close?",
                               QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                               QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        if not self._confirm_discard():
            event.ignore()
            return
        self.shutdown()
        self._save_geometry()
        event.accept()

    def shutdown(self) -> None:
        """Stop the run (it writes its checkpoint) and join every thread; safe to call twice."""
        self._pending = None
        if self._worker is not None:
            self._worker.request_stop()
            self._worker.request_resume()
        if thread_running(self._thread):
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                join_thread(self._thread)
            finally:
                QApplication.restoreOverrideCursor()
        self._gif_job.shutdown()
        self.checkpoint_lab.shutdown()
        self.condition_explorer.shutdown()
        self.evaluation_panel.shutdown()
        self.dataset_panel.shutdown()
        self.dashboard.timer.stop()
        self.dashboard.plots.timer.stop()

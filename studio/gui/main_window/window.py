"""The :class:`MainWindow` itself: its panels, docks and tabs, its state, messages and closing.

What it does with projects, runs, training and exports lives in the mixins beside
this module (project.py, runs.py, training.py, export.py); actions.py builds its
menus and toolbar.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QCloseEvent, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QTabWidget,
    QWidget,
)

from studio.app.training import TrainRequest
from studio.gui.binding import ConfigBinder
from studio.gui.checkpoint_lab import CheckpointLab
from studio.gui.dashboard import TrainingDashboard
from studio.gui.dataset_panel import DatasetPanel
from studio.gui.evaluation import EvaluationPanel
from studio.gui.explorer import ConditionExplorer
from studio.gui.log_panel import LogView
from studio.gui.main_window.actions import ActionsMixin
from studio.gui.main_window.common import APP_TITLE
from studio.gui.main_window.compare import CompareMixin
from studio.gui.main_window.export import ExportMixin
from studio.gui.main_window.follow import FollowMixin
from studio.gui.main_window.project import ProjectMixin
from studio.gui.main_window.queue import QueueMixin
from studio.gui.main_window.runs import RunsMixin
from studio.gui.main_window.training import TrainingMixin
from studio.gui.model_panel import ModelPanel
from studio.gui.queue_panel import QueuePanel
from studio.gui.runs_panel import RunsPanel
from studio.gui.settings import settings
from studio.gui.worker import TrainingWorker, Worker, join_thread, thread_running
from studio.project import Project


class MainWindow(
    ActionsMixin,
    ProjectMixin,
    RunsMixin,
    CompareMixin,
    TrainingMixin,
    FollowMixin,
    ExportMixin,
    QueueMixin,
    QMainWindow,
):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle(APP_TITLE)
        self.setDockNestingEnabled(True)
        self._init_state()
        self._build_panels()
        self._build_docks()
        self._build_tabs()
        self._build_status_bar()
        self._make_actions()
        self._connect()
        self._restore_geometry()
        self._update_title()
        self._update_train_reason()
        self.setup_tabs.setEnabled(False)

    # --- building -------------------------------------------------------------
    def _init_state(self) -> None:
        self.project: Project | None = None
        self.last_error = ""
        self._worker: TrainingWorker | None = None
        self._pending: TrainRequest | None = None  # a run waiting for the dataset panel's load
        self._thread = None
        self._live_run: str | None = None
        self._session_states: dict[str, str] = {}
        self._init_follow()  # a run trained by another process, followed through its files
        self._presets = []
        self._gif_worker: Worker | None = None  # the timeline's GIF export: many frames, off the GUI thread
        self._gif_thread = None
        self._gif_progress: QProgressDialog | None = None

    def _build_panels(self) -> None:
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
        self.queue_panel = QueuePanel()
        self._build_runs_table()

    def _build_docks(self) -> None:
        self.setup_tabs = QTabWidget()
        self.setup_tabs.setObjectName("setupTabs")
        self.setup_tabs.addTab(self.dataset_panel, "Dataset")
        self.setup_tabs.addTab(self.model_panel, "Model")
        self.setup_tabs.addTab(self.runs_panel, "Runs")
        self.setup_tabs.setMinimumWidth(340)
        self.setup_dock = QDockWidget("Setup", self)
        self.setup_dock.setObjectName("setupDock")
        self.setup_dock.setWidget(self.setup_tabs)
        self.setup_dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.setup_dock)
        self.log_dock = QDockWidget("Log", self)
        self.log_dock.setObjectName("logDock")
        self.log_dock.setWidget(self.log_view)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.log_dock)

    def _build_tabs(self) -> None:
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
        self.main_tabs.insertTab(1, self.runs_table, "Runs table")
        self.main_tabs.setTabToolTip(
            1, "Every run of the project: sort, filter by tag, select several to compare their curves and grids"
        )
        queue_tab = self.main_tabs.addTab(self.queue_panel, "Queue")
        self.main_tabs.setTabToolTip(queue_tab, "Runs trained one after another, sweeps, and their results table")
        self.setCentralWidget(self.main_tabs)
        self.resizeDocks([self.setup_dock], [420], Qt.Orientation.Horizontal)
        self.resizeDocks([self.log_dock], [130], Qt.Orientation.Vertical)

    def _build_status_bar(self) -> None:
        self.status_rate = QLabel()
        self.status_rate.setObjectName("statusRate")
        self.status_eta = QLabel()
        self.status_eta.setObjectName("statusEta")
        self.statusBar().addPermanentWidget(self.status_rate)
        self.statusBar().addPermanentWidget(self.status_eta)

    def _connect(self) -> None:
        self.binder.configChanged.connect(self._on_config_changed)
        self._connect_queue()
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
        self.controls.sampleRequested.connect(self.sample_now)
        self.dashboard.liveSamples.connect(self._on_live_samples)
        self.runs_panel.openRequested.connect(self.show_run)
        self.runs_panel.resumeRequested.connect(lambda run: self.resume_training(run))
        from studio.gui.run_actions import continue_run, edit_run_notes, install_run_menu

        self.runs_panel.continueRequested.connect(lambda run: continue_run(self, run))
        self.runs_panel.notesRequested.connect(lambda run: edit_run_notes(self, run))
        install_run_menu(self.runs_panel, self)
        self.runs_panel.refresh_button.clicked.connect(self.reread_runs)
        self.dashboard.timeline.exportPngRequested.connect(self.export_grid_dialog)
        self.dashboard.timeline.exportGifRequested.connect(self.export_gif_dialog)
        self.dashboard.timeline.frameShown.connect(lambda _: self._update_actions())
        self.dashboard.statusChanged.connect(self._on_status)
        self.runs_panel.tree.itemSelectionChanged.connect(self._on_run_selected)
        self._connect_runs_table()
        for panel in (self.checkpoint_lab, self.condition_explorer, self.evaluation_panel):
            panel.message.connect(self.log_view.log)
            panel.errorOccurred.connect(self.show_error)
        self.checkpoint_lab.averageSaved.connect(lambda _path: self.condition_explorer.refresh())
        self.checkpoint_lab.averageSaved.connect(lambda _path: self.evaluation_panel.refresh())
        self.evaluation_panel.resultsChanged.connect(self.checkpoint_lab.refresh)  # the lab's Metrics column

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
        self.evaluation_panel.set_project_config(config if self.project is not None else None)
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
        answer = self._ask(
            "Load preset",
            f"Preset {name} replaces every setting, including the changes you have not saved. Load it?",
            sb.Yes | sb.Cancel,
            sb.Cancel,
        )
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
        return self._worker is not None or self._pending is not None or self.following

    # --- closing -------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if self.training and not self.following_foreign_run:  # a followed run of another process goes on
            answer = self._ask(
                "Stop training?",
                "A run is in progress. Stop it (a checkpoint is written first) and close?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
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
        self._shutdown_follow()
        if self._worker is not None:
            self._worker.request_stop()
            self._worker.request_resume()
        if thread_running(self._thread):
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                join_thread(self._thread)
            finally:
                QApplication.restoreOverrideCursor()
        if self._gif_worker is not None:
            self._gif_worker.cancel()
        join_thread(self._gif_thread)
        self.checkpoint_lab.shutdown()
        self.condition_explorer.shutdown()
        self.evaluation_panel.shutdown()
        self.queue_panel.shutdown()
        self.dataset_panel.shutdown()
        self.dashboard.timer.stop()
        self.dashboard.plots.timer.stop()

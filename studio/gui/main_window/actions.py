"""The window's actions, its menus and its toolbar: a mixin of :class:`~studio.gui.main_window.MainWindow`."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QStyle

from studio.gui.resources import icon


class ActionsMixin:
    """Builds ``action_*``, the File / Run / View menus and the project toolbar."""

    def _action(
        self, name: str, text: str, slot, shortcut=None, icon_name: str = "", fallback=None, tip: str = ""
    ) -> QAction:
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
        self.action_new = self._action(
            "actionNewProject",
            "&New Project…",
            self.new_project_dialog,
            ks.New,
            "new",
            sp.SP_FileIcon,
            "Create a project folder from a preset",
        )
        self.action_open = self._action(
            "actionOpenProject",
            "&Open Project…",
            self.open_project_dialog,
            ks.Open,
            "open",
            sp.SP_DialogOpenButton,
            "Open a project folder",
        )
        self.action_save = self._action(
            "actionSaveProject",
            "&Save Project",
            self.save_project,
            ks.Save,
            "save",
            sp.SP_DialogSaveButton,
            "Write project.json",
        )
        self.action_save_as = self._action(
            "actionSaveProjectAs",
            "Save Project &As…",
            self.save_project_as_dialog,
            ks.SaveAs,
            tip="Write the settings to another project folder",
        )
        self.action_export = self._action(
            "actionExportGrid",
            "&Export Grid as PNG…",
            self.export_grid_dialog,
            QKeySequence("Ctrl+E"),
            "export",
            sp.SP_DialogSaveButton,
            "Save the sample grid shown as a PNG",
        )
        self.action_export_gif = self._action(
            "actionExportGif",
            "Export Timeline as &GIF…",
            self.export_gif_dialog,
            tip="Save every epoch's grid as an animated GIF",
        )
        self.action_quit = self._action("actionQuit", "&Quit", self.close, ks.Quit)
        self.action_train = self._action(
            "actionTrain",
            "&Train",
            lambda: self.start_training(),
            QKeySequence("F5"),
            "train",
            sp.SP_MediaPlay,
            "Start a new run",
        )
        self.action_pause = self._action(
            "actionPause", "&Pause / Continue", self.toggle_pause, QKeySequence("F6"), "pause", sp.SP_MediaPause
        )
        self.action_stop = self._action(
            "actionStop",
            "&Stop",
            self.stop_training,
            QKeySequence("Shift+F5"),
            "stop",
            sp.SP_MediaStop,
            "Write a checkpoint and end the run",
        )
        self.action_resume = self._action(
            "actionResumeRun",
            "&Resume Run…",
            self.resume_training,
            icon_name="resume",
            fallback=sp.SP_MediaSeekForward,
            tip="Continue a run from its latest checkpoint",
        )
        self._build_menus()
        self._build_toolbar()

    def _build_menus(self) -> None:
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
        setup = self.setup_dock.toggleViewAction()
        setup.setObjectName("actionToggleSetup")
        setup.setText("&Setup Panel (Dataset, Model, Runs)")
        setup.setShortcut(QKeySequence("F9"))
        setup.setStatusTip("Hide the setup panel to give the plots and images room; F9 shows it again")
        self.addAction(setup)  # the shortcut works while the panel is hidden
        view.addAction(setup)
        view.addAction(self.log_dock.toggleViewAction())

    def _build_toolbar(self) -> None:
        toolbar = self.addToolBar("Project")
        toolbar.setObjectName("projectToolBar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for a in (self.action_new, self.action_open, self.action_save):
            toolbar.addAction(a)
        toolbar.addSeparator()
        toolbar.addAction(self.action_export)

"""The runs of a project: preset, dataset, epochs done and state, read from the run folders.

Everything shown comes from the files a run leaves behind (config.json,
samples, checkpoints) and from the lock its trainer holds, read by the same
rules as the command line's listing (:func:`studio.app.checkpoints.list_runs`),
so runs trained headless appear exactly like runs trained in the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import signals_blocked

from studio.app.checkpoints import RunState
from studio.core.diskuse import human_bytes
from studio.core.rundir import RunDirectory
from studio.errors import StudioError

__all__ = ["RunInfo", "describe_run", "closest_preset", "RunsPanel"]

COLUMNS = ("Run", "Preset", "Dataset", "Epochs", "State", "Disk", "Name")


@dataclass
class RunInfo:
    run: RunDirectory
    preset: str
    preset_note: str
    dataset: str
    family: str
    epochs_done: int
    epochs_total: int
    state: str  # running | paused | stopping | completed | stopped | error | failed | unreadable
    note: str = ""
    name: str = ""  # the user's name, tags and note of the run (notes.json)
    tags: tuple = ()
    run_note: str = ""
    disk_bytes: int = 0


def closest_preset(config, presets) -> tuple[str, list[str]]:
    """The preset a config most likely came from, and the settings that differ from it."""
    if config is None or not presets:
        return "", []
    data = config.to_dict()
    best, best_diff = "", None
    for preset in presets:
        other = preset.config.to_dict()
        diff = [k for k in data if data[k] != other.get(k)]
        if best_diff is None or len(diff) < len(best_diff):
            best, best_diff = preset.name, diff
    if best_diff is not None and len(best_diff) > len(data) // 2:
        return "", []
    return best, best_diff or []


def describe_run(run: RunDirectory, presets=(), live_state: str | None = None, session_state: str | None = None):
    """What the runs list shows of ``run``.

    ``live_state`` (the run this window trains) and ``session_state`` (how it ended here) come
    first. Otherwise the state is the application's (:class:`~studio.app.checkpoints.RunState`):
    a run whose lock another process holds is running; one without a checkpoint that nobody
    trains failed, or was killed, before it wrote one; one with a checkpoint has completed its
    epochs, or was stopped before.
    """
    try:
        config = run.read_config()
    except StudioError as exc:
        return RunInfo(run, "", "", "?", "?", 0, 0, "unreadable", str(exc))
    found = RunState.of(run)
    done = found.epochs_done
    preset, diff = closest_preset(config, presets)
    note = f"changed: {', '.join(diff)}" if diff else ""
    status = ""
    if live_state:
        state = live_state
    elif session_state:
        state = session_state
    elif found.state == "ready":
        state = "completed" if done >= config.epochs else "stopped"
    else:  # running (another process) or failed
        state, status = found.state, found.note()
    info = RunInfo(run, preset, note, config.dataset, config.family, done, config.epochs, state, status)
    _add_notes_and_disk(info)
    return info


def _add_notes_and_disk(info: RunInfo) -> None:
    """The run's name, tags, note and disk use into ``info`` (a damaged notes.json: said in the Name tooltip)."""
    from studio.app.retention import disk_use
    from studio.app.run_notes import read_notes

    try:
        notes = read_notes(info.run)
        info.name, info.tags, info.run_note = notes.name, tuple(notes.tags), notes.note
    except StudioError as exc:
        info.run_note = str(exc)
    try:
        info.disk_bytes = disk_use(info.run)["total"]
    except (StudioError, OSError):
        info.disk_bytes = 0


class RunsPanel(QWidget):
    openRequested = Signal(object)  # RunDirectory
    resumeRequested = Signal(object)  # RunDirectory
    continueRequested = Signal(object)  # RunDirectory: resume for N more epochs
    notesRequested = Signal(object)  # RunDirectory: edit its name, tags and note

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("runsPanel")
        self.infos: list[RunInfo] = []
        self.tree = QTreeWidget()
        self.tree.setObjectName("runsList")
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for i in range(1, len(COLUMNS)):
            header.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemDoubleClicked.connect(lambda *_: self._emit(self.openRequested))
        self.tree.itemActivated.connect(lambda *_: self._emit(self.openRequested))

        self.open_button = QPushButton("Show run")
        self.open_button.setObjectName("openRunButton")
        self.open_button.setToolTip("Show the selected run's curves and sample timeline from its files")
        self.resume_button = QPushButton("Resume run")
        self.resume_button.setObjectName("resumeRunButton")
        self.resume_button.setToolTip("Continue the selected run from its latest checkpoint")
        self.continue_button = QPushButton("Continue…")
        self.continue_button.setObjectName("continueRunButton")
        self.continue_button.setToolTip("Train the selected run N more epochs from its latest checkpoint")
        self.notes_button = QPushButton("Notes…")
        self.notes_button.setObjectName("runNotesButton")
        self.notes_button.setToolTip("Name, tags and a note for the selected run (kept in its notes.json)")
        self.continue_button.clicked.connect(lambda: self._emit(self.continueRequested))
        self.notes_button.clicked.connect(lambda: self._emit(self.notesRequested))
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setObjectName("refreshRunsButton")
        self.open_button.clicked.connect(lambda: self._emit(self.openRequested))
        self.resume_button.clicked.connect(lambda: self._emit(self.resumeRequested))
        self.empty = QLabel("No runs yet: press Train.")
        self.empty.setProperty("hint", True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.resume_button)
        buttons.addWidget(self.continue_button)
        buttons.addWidget(self.notes_button)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.empty)
        layout.addLayout(buttons)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self._update_buttons()

    def _emit(self, signal) -> None:
        run = self.selected_run()
        if run is not None:
            signal.emit(run)

    def selected_run(self) -> RunDirectory | None:
        items = self.tree.selectedItems()
        if not items:
            return None
        return items[0].data(0, Qt.ItemDataRole.UserRole)

    def select_run(self, path: str | Path) -> None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            run = item.data(0, Qt.ItemDataRole.UserRole)
            if Path(run.path) == Path(path):
                self.tree.setCurrentItem(item)
                return

    def set_runs(self, infos: list[RunInfo]) -> None:
        """Show ``infos``, keeping the selected run; ``itemSelectionChanged`` fires only when that run is gone.

        Rebuilding with signals live would move the selection row by row through
        the other runs, and every panel following it would switch runs and back,
        losing what the user had chosen there. New checkpoints of the selected
        run reach the panels through the trainer's events, not through this list.
        """
        selected = self.selected_run()
        self.infos = infos
        with signals_blocked(self.tree, self.tree.selectionModel()):
            self._fill(infos)
            if selected is not None:
                self.select_run(selected.path)
        self.empty.setVisible(not infos)
        now = self.selected_run()
        if (selected is None) != (now is None) or (now is not None and Path(now.path) != Path(selected.path)):
            self.tree.itemSelectionChanged.emit()  # followers let go of a run that is no longer listed
        self._update_buttons()

    def _fill(self, infos: list[RunInfo]) -> None:
        self.tree.clear()
        for info in infos:
            planned = max(info.epochs_done, info.epochs_total)  # a run continued further (studio.app.epochs)
            epochs = f"{info.epochs_done} of {planned}" if info.epochs_total else "?"
            preset = info.preset + ("*" if info.preset_note else "") if info.preset else "custom"
            disk = human_bytes(info.disk_bytes) if info.disk_bytes else ""
            name = info.name + (f" [{', '.join(info.tags)}]" if info.tags else "")
            item = QTreeWidgetItem([info.run.run_id, preset, info.dataset, epochs, info.state, disk, name])
            item.setToolTip(5, "Disk used by the run: checkpoints, generator snapshots, sample grids, metrics")
            item.setToolTip(6, info.run_note or "Right-click or Notes… to name, tag and annotate the run")
            item.setTextAlignment(5, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setData(0, Qt.ItemDataRole.UserRole, info.run)
            item.setToolTip(0, str(info.run.path))
            item.setToolTip(1, info.preset_note or ("settings of the preset" if info.preset else "no matching preset"))
            item.setToolTip(2, f"{info.family} on {info.dataset}")
            item.setToolTip(4, info.note or info.state)
            item.setTextAlignment(3, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.tree.addTopLevelItem(item)

    def _update_buttons(self) -> None:
        has = self.selected_run() is not None
        self.open_button.setEnabled(has)
        self.resume_button.setEnabled(has)
        self.continue_button.setEnabled(has)
        self.notes_button.setEnabled(has)

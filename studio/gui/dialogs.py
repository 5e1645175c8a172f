"""Small dialogs: a new project from a preset."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

__all__ = ["NewProjectDialog", "default_projects_location"]


def default_projects_location() -> Path:
    documents = Path.home() / "Documents"
    return (documents if documents.is_dir() else Path.home()) / "GAN Studio"


class NewProjectDialog(QDialog):
    """Preset, name and location of a new project folder."""

    def __init__(self, presets, current: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("newProjectDialog")
        self.setWindowTitle("New project")
        self.preset_combo = QComboBox()
        self.preset_combo.setObjectName("newProjectPreset")
        self._presets = {p.name: p for p in presets}
        for p in presets:
            self.preset_combo.addItem(p.title, p.name)
        if current:
            self.preset_combo.setCurrentIndex(max(0, self.preset_combo.findData(current)))
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setProperty("hint", True)
        self.description.setMinimumWidth(420)
        self.name_edit = QLineEdit("my-gan")
        self.name_edit.setObjectName("newProjectName")
        self.location_edit = QLineEdit(str(default_projects_location()))
        self.location_edit.setObjectName("newProjectLocation")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        location = QHBoxLayout()
        location.addWidget(self.location_edit, 1)
        location.addWidget(browse)
        self.folder_label = QLabel()
        self.folder_label.setProperty("hint", True)

        # The description wraps to several lines: it lies between two forms, where its height is its own,
        # rather than in a form row, which gave it one line and drew the rest over the Name field.
        top = QFormLayout()
        top.addRow("Preset", self.preset_combo)
        self.description.setObjectName("newProjectDescription")
        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("Location", location)
        form.addRow("Folder", self.folder_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.description)
        layout.addLayout(form)
        layout.addWidget(buttons)

        self.preset_combo.currentIndexChanged.connect(self._update)
        self.name_edit.textChanged.connect(self._update)
        self.location_edit.textChanged.connect(self._update)
        self._update()

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Where to create the project", self.location_edit.text())
        if path:
            self.location_edit.setText(path)

    def folder(self) -> Path:
        return Path(self.location_edit.text().strip()).expanduser() / self.name_edit.text().strip()

    def preset_name(self) -> str:
        index = self.preset_combo.currentIndex()
        return self.preset_combo.itemData(index) if index >= 0 else ""

    def _update(self, *_) -> None:
        preset = self._presets.get(self.preset_name())
        plain, _, details = (preset.description if preset else "").partition(" Details: ")
        self.description.setText(plain)  # one plain sentence; the recipe's details in the tooltip
        self.description.setToolTip(details)
        name = self.name_edit.text().strip()
        problem = ""
        if not name:
            problem = "give the project a name"
        elif any(c in name for c in "/\\:"):
            problem = "the name becomes a folder: leave out / \\ :"
        elif (self.folder() / "project.json").exists():
            problem = "a project already exists there"
        self.folder_label.setText(f"{self.folder()}" if not problem else f"Cannot create: {problem}")
        self.ok_button.setEnabled(not problem and preset is not None)

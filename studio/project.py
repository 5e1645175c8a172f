"""The project file: a folder with a versioned project.json and its runs.

    <project>/project.json   what the user set (written atomically)
    <project>/runs/<run-id>/ one folder per training run (see studio.core.rundir)

Loading validates everything before returning, so a damaged or newer file
gives one clear ProjectError and nothing half-loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from studio.core import jsonio
from studio.core.atomic import atomic_write_json
from studio.core.config import TrainConfig
from studio.core.rundir import RunDirectory
from studio.errors import ConfigError, ProjectError

__all__ = ["Project", "PROJECT_FILE", "PROJECT_VERSION"]

PROJECT_FILE = "project.json"
PROJECT_FORMAT = "gan-studio/project"
PROJECT_VERSION = 1


def _migrate(data: dict, path: Path) -> dict:
    """Bring an older project file up to PROJECT_VERSION (one function per step)."""
    version = data.get("version")
    if not isinstance(version, int):
        raise ProjectError(f"{path}: no valid 'version' field; is this a GAN Studio project?")
    if version > PROJECT_VERSION:
        raise ProjectError(
            f"{path}: written by a newer GAN Studio (project version {version}, this one reads up to "
            f"{PROJECT_VERSION}); please upgrade"
        )
    # Version 1 is the first; later versions add steps here.
    return data


@dataclass
class Project:
    folder: Path
    config: TrainConfig
    name: str = ""
    preset: str = ""
    notes: str = ""
    extra: dict = field(default_factory=dict)  # sections written by newer panels, kept as they are

    @property
    def file(self) -> Path:
        return self.folder / PROJECT_FILE

    @property
    def runs_dir(self) -> Path:
        return self.folder / "runs"

    def runs(self) -> list[RunDirectory]:
        if not self.runs_dir.is_dir():
            return []
        found = [RunDirectory(p) for p in sorted(self.runs_dir.iterdir()) if p.is_dir()]
        return [r for r in found if r.exists()]

    def latest_run(self) -> RunDirectory | None:
        runs = self.runs()
        return runs[-1] if runs else None

    # --- files -----------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format": PROJECT_FORMAT,
            "version": PROJECT_VERSION,
            "name": self.name or self.folder.name,
            "preset": self.preset,
            "notes": self.notes,
            "config": self.config.to_dict(),
            **self.extra,
        }

    def save(self, folder: str | Path | None = None) -> None:
        """Write project.json atomically (to ``folder`` for Save As)."""
        if folder is not None:
            self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.file, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> Project:
        path = Path(path).expanduser()
        file = path if path.name == PROJECT_FILE or path.is_file() else path / PROJECT_FILE
        if not file.is_file():
            raise ProjectError(f"{file}: no project file here")
        data = jsonio.read_json(file, ProjectError, "project file")
        if not isinstance(data, dict) or data.get("format") != PROJECT_FORMAT:
            raise ProjectError(f"{file}: not a GAN Studio project file")
        data = _migrate(data, file)
        try:
            config = TrainConfig.from_dict(data.get("config"), source=str(file))
        except ConfigError as exc:
            raise ProjectError(str(exc)) from None
        known = {"format", "version", "name", "preset", "notes", "config"}
        return cls(
            folder=file.parent,
            config=config,
            name=str(data.get("name", "")),
            preset=str(data.get("preset", "")),
            notes=str(data.get("notes", "")),
            extra={k: v for k, v in data.items() if k not in known},
        )

    @classmethod
    def create(cls, folder: str | Path, config: TrainConfig, preset: str = "", name: str = "") -> Project:
        """A new project folder; refuses to overwrite an existing project."""
        folder = Path(folder).expanduser()
        if (folder / PROJECT_FILE).exists():
            raise ProjectError(f"{folder / PROJECT_FILE}: a project already exists here; not overwriting it")
        project = cls(folder=folder, config=config, name=name or folder.name, preset=preset)
        project.save()
        return project

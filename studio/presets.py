"""Presets: saved configs for the recipes users bring (resources/presets/*.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from studio.core.config import TrainConfig
from studio.errors import ConfigError, StudioError

__all__ = ["Preset", "presets_dir", "list_presets", "load_preset"]

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def presets_dir() -> Path:
    return RESOURCES / "presets"


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    description: str
    recipe: str
    config: TrainConfig


def _read(path: Path) -> Preset:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        config = TrainConfig.from_dict(data["config"], source=str(path))
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ConfigError) as exc:
        raise StudioError(f"{path}: not a valid preset ({exc})") from None
    return Preset(path.stem, data.get("title", path.stem), data.get("description", ""), data.get("recipe", ""), config)


def list_presets() -> list[Preset]:
    return [_read(p) for p in sorted(presets_dir().glob("*.json"))]


def load_preset(name: str) -> Preset:
    path = presets_dir() / f"{name}.json"
    if not path.is_file():
        names = ", ".join(p.stem for p in sorted(presets_dir().glob("*.json")))
        raise StudioError(f"no preset '{name}'; choose one of {names}")
    return _read(path)

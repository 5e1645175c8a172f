"""Checkpoints: one plain state-dict bundle per file, loadable with weights_only=True.

A checkpoint holds G, D, both optimisers and schedulers, the EMA of G, the
AMP scaler, every RNG state, the position in training and the config and
condition space as plain data -- nothing that unpickles to code.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from studio.core.atomic import atomic_torch_save
from studio.core.conditions import ConditionSpace, space_from_dict
from studio.core.config import TrainConfig
from studio.errors import CheckpointError, ConfigError

__all__ = [
    "FORMAT",
    "VERSION",
    "KIND_AVERAGE",
    "save_checkpoint",
    "load_checkpoint",
    "generator_from_checkpoint",
    "is_training_checkpoint",
    "load_weights_only",
]

FORMAT = "gan-studio/checkpoint"
VERSION = 1
REQUIRED = ("epoch", "step", "config", "space", "g")
# An averaged generator is stored as a checkpoint too (so every loader accepts
# it) but holds G alone: no D, optimisers or RNG states to resume from.
KIND_AVERAGE = "average"


def load_weights_only(path: Path, error: type[Exception] = CheckpointError, kind: str = "PyTorch checkpoint",
                      mmap: bool = False):
    """``torch.load`` that never runs code; a refused or damaged file raises ``error`` naming it.

    ``kind`` names what the file should have been, in the damaged-file message.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as exc:
        if not zipfile.is_zipfile(path):  # an old-style or foreign pickle: not ours either way
            raise error(f"{path}: damaged or not a {kind} (not a zip archive)") from None
        # weights_only refuses anything that would run code on load.
        first = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else "unsafe content"
        raise error(f"{path}: refused to load, it holds more than weights ({first})") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as exc:
        raise error(f"{path}: damaged or not a {kind} ({type(exc).__name__})") from None
    except Exception:
        # torch's reader of the pre-zip format (still valid for weights files such as Inception's) fails on
        # foreign bytes with KeyError, IndexError...: such a file is named, never a traceback.
        if Path(path).is_file() and not zipfile.is_zipfile(path):
            raise error(f"{path}: damaged or not a {kind} (not a zip archive)") from None
        raise


def save_checkpoint(path: str | Path, state: dict, overwrite: bool = True) -> Path:
    state = {"format": FORMAT, "version": VERSION, **state}
    atomic_torch_save(state, path, overwrite=overwrite)
    return Path(path)


def load_checkpoint(path: str | Path, mmap: bool = False) -> dict:
    """Load and check a checkpoint; any problem becomes a CheckpointError naming the file.

    ``mmap`` maps the file instead of reading it, so a caller that needs only
    G (averaging many checkpoints) never reads D and the optimiser states.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    state = load_weights_only(path, mmap=mmap)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a GAN Studio checkpoint")
    if state.get("version", 0) > VERSION:
        raise CheckpointError(
            f"{path}: written by a newer GAN Studio (checkpoint version {state.get('version')}); please upgrade"
        )
    missing = [k for k in REQUIRED if k not in state]
    if missing:
        raise CheckpointError(f"{path}: incomplete checkpoint, missing {', '.join(missing)}")
    return state


def is_training_checkpoint(state: dict) -> bool:
    """Whether training can resume from this checkpoint (an averaged generator cannot)."""
    return state.get("kind", "training") != KIND_AVERAGE and "d" in state


def checkpoint_config(state: dict, path: str | Path = "checkpoint") -> tuple[TrainConfig, ConditionSpace]:
    try:
        return TrainConfig.from_dict(state["config"], source=str(path)), space_from_dict(state["space"])
    except (ConfigError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: its stored settings are invalid ({exc})") from None


def generator_from_checkpoint(path: str | Path, which: str = "g", device: str = "cpu"):
    """(G in eval mode, condition space, config) from a checkpoint; ``which`` is 'g' or 'ema'."""
    from studio.core.models import Generator

    state = load_checkpoint(path)
    config, space = checkpoint_config(state, path)
    g = Generator(config, space)
    weights = state["g"]
    if which == "ema":
        if not state.get("ema"):
            if state.get("kind") == KIND_AVERAGE:
                raise CheckpointError(f"{path}: an averaged generator has no EMA of its own; leave out --ema")
            raise CheckpointError(f"{path}: this run kept no EMA of G")
        weights = {k[len("module.") :]: v for k, v in state["ema"].items() if k.startswith("module.")}
    try:
        g.load_state_dict(weights)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: the weights do not fit the stored architecture ({str(exc)[:200]})") from None
    return g.to(device).eval(), space, config

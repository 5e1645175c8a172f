"""Slim generator snapshots: what a run keeps of every epoch once its full checkpoints are pruned.

A snapshot is a checkpoint file (same format, checksums and loaders, see
:mod:`studio.core.checkpoint`) holding G's weights and BatchNorm statistics,
its EMA when the run keeps one, the settings and the condition space, the
epoch and step -- and none of D, the optimisers or the random states. Its G
and EMA are the very tensors of the full checkpoint of the same epoch, so
averaging, sampling, export and evaluation give the same results from
either; training cannot resume from it.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from torch import nn

from studio.core.checkpoint import GENERATOR_SECTIONS, KIND_SNAPSHOT, load_checkpoint, save_checkpoint

__all__ = [
    "snapshot_state",
    "save_snapshot",
    "snapshot_of_checkpoint",
    "write_snapshot_from_checkpoint",
    "is_snapshot",
    "generator_file_key",
]


def snapshot_state(epoch: int, step: int, config: dict, space: dict, g: nn.Module, ema: nn.Module | None) -> dict:
    """The bundle of one epoch's generator: ``config`` and ``space`` as plain data, G and its EMA as state dicts."""
    return {
        "kind": KIND_SNAPSHOT,
        "epoch": epoch,
        "step": step,
        "epoch_step": 0,
        "config": config,
        "space": space,
        "g": g.state_dict(),
        "ema": ema.state_dict() if ema is not None else None,
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def save_snapshot(path: str | Path, epoch: int, step: int, config, space, g: nn.Module, ema=None) -> Path:
    """Write the snapshot of ``g`` (and ``ema``) at ``epoch`` atomically, with the checksums of a checkpoint."""
    return save_checkpoint(path, snapshot_state(epoch, step, config.to_dict(), space.to_dict(), g, ema))


def snapshot_of_checkpoint(state: dict) -> dict:
    """The snapshot part of a full checkpoint's state: the same G and EMA tensors, nothing else."""
    slim = {k: state[k] for k in ("epoch", "step", "config", "space", "g") if k in state}
    slim.update(kind=KIND_SNAPSHOT, epoch_step=0, ema=state.get("ema"), saved_at=state.get("saved_at", ""))
    return slim


def write_snapshot_from_checkpoint(checkpoint: str | Path, path: str | Path) -> Path:
    """Extract the snapshot of a full checkpoint (a run written before snapshots existed) into ``path``."""
    state = load_checkpoint(checkpoint, mmap=True, sections=GENERATOR_SECTIONS)
    return save_checkpoint(path, snapshot_of_checkpoint(state))


def is_snapshot(state: dict) -> bool:
    return state.get("kind") == KIND_SNAPSHOT


def generator_file_key(path: str | Path) -> Path:
    """One key for an epoch's full checkpoint and its snapshot (the same G and EMA): RUN/epoch_NNNN.pt.

    Any other file is its own resolved path.
    """
    path = Path(path).resolve()
    if path.parent.name in ("checkpoints", "snapshots") and re.fullmatch(r"epoch_\d{4,}\.pt", path.name):
        return path.parent.parent / path.name
    return path

"""Checkpoints: one plain state-dict bundle per file, loadable with weights_only=True.

A checkpoint holds G, D, both optimisers and schedulers, the EMA of G, the
AMP scaler, every RNG state, the position in training and the config and
condition space as plain data -- nothing that unpickles to code.
"""

from __future__ import annotations

import pickle
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import torch

from studio.core.atomic import atomic_torch_save
from studio.core.conditions import ConditionSpace, space_from_dict
from studio.core.config import TrainConfig
from studio.errors import CheckpointError, ConfigError, one_line

__all__ = [
    "FORMAT",
    "VERSION",
    "KIND_AVERAGE",
    "KIND_SNAPSHOT",
    "save_checkpoint",
    "load_checkpoint",
    "generator_from_checkpoint",
    "generator_from_state",
    "is_training_checkpoint",
    "load_weights_only",
    "resume_refusal",
]

FORMAT = "gan-studio/checkpoint"
VERSION = 1
REQUIRED = ("epoch", "step", "config", "space", "g")
# An averaged generator is stored as a checkpoint too (so every loader accepts
# it) but holds G alone: no D, optimisers or RNG states to resume from.
KIND_AVERAGE = "average"
# A slim generator snapshot (studio/core/snapshot.py): G, its EMA and the settings of one epoch, no training state.
KIND_SNAPSHOT = "snapshot"
# What each field of a checkpoint must be; a crafted or damaged file is refused by name, never with a traceback.
_INT_FIELDS = ("epoch", "step", "epoch_step")
_DICT_FIELDS = ("config", "space", "opt_g", "opt_d", "sched_g", "sched_d", "rng")
_WEIGHT_FIELDS = ("g", "d", "ema")  # flat {name: tensor} state dicts (ema may be None)
# Sections the loaders of a generator read: the rest is verified when training resumes from the file.
GENERATOR_SECTIONS = ("g", "ema", "config", "space")


def load_weights_only(
    path: Path, error: type[Exception] = CheckpointError, kind: str = "PyTorch checkpoint", mmap: bool = False
):
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


def _tensors(obj, prefix: str) -> Iterator[tuple[str, torch.Tensor]]:
    """Every tensor inside ``obj`` (nested dicts and lists), with a path such as ``g/main.0.weight``."""
    if isinstance(obj, torch.Tensor):
        yield prefix, obj
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _tensors(value, f"{prefix}/{key}")
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            yield from _tensors(value, f"{prefix}/{i}")


def _crc32(tensor: torch.Tensor) -> int:
    data = tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy()
    return zlib.crc32(memoryview(data))


def _payload(state: dict, sections: tuple[str, ...] | None = None) -> Iterator[tuple[str, str, torch.Tensor]]:
    """(field, path, tensor) of every checksummed tensor, in ``sections`` only when given."""
    for key, value in state.items():
        if key in ("checksums", "format", "version") or (sections is not None and key not in sections):
            continue
        for name, tensor in _tensors(value, key):
            yield key, name, tensor


def tensor_checksums(state: dict) -> dict[str, int]:
    """CRC-32 of every tensor payload, by path: a flipped byte anywhere in the weights is found on load."""
    return {name: _crc32(t) for _, name, t in _payload(state)}


def _on_cpu(obj):
    """``obj`` with every tensor inside it (nested dicts, lists, tuples) on the CPU; CPU tensors are not copied."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {key: _on_cpu(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_on_cpu(value) for value in obj)
    return obj


def save_checkpoint(path: str | Path, state: dict, overwrite: bool = True) -> Path:
    # One copy of a GPU state to the host, which both the checksums and torch.save read (each would copy it).
    state = _on_cpu({"format": FORMAT, "version": VERSION, **state})
    state["checksums"] = {"crc32": tensor_checksums(state)}
    atomic_torch_save(state, path, overwrite=overwrite)
    return Path(path)


def _check_structure(state: dict, path: Path) -> None:
    """Refuse fields of the wrong type, naming the field, before any loader trusts them."""

    def refuse(key: str, expected: str) -> None:
        raise CheckpointError(
            f"{path}: damaged checkpoint: '{key}' should be {expected}, found {type(state[key]).__name__}"
        )

    for key in _INT_FIELDS:
        if key in state and (not isinstance(state[key], int) or isinstance(state[key], bool) or state[key] < 0):
            refuse(key, "a whole number of at least 0")
    for key in _DICT_FIELDS:
        if key in state and state[key] is not None and not isinstance(state[key], dict):
            refuse(key, "a table of values")
    for key in _WEIGHT_FIELDS:
        if key not in state or (key == "ema" and state[key] is None):
            continue
        value = state[key]
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items()
        ):
            refuse(key, "a table of named tensors")
    checksums = state.get("checksums")
    if checksums is not None and not (isinstance(checksums, dict) and isinstance(checksums.get("crc32"), dict)):
        refuse("checksums", "a table of CRC-32 values")


def _verify(state: dict, path: Path, sections: tuple[str, ...] | None) -> None:
    """Checksums (files written before they existed have none) and finite weights, naming the tensor."""
    stored = (state.get("checksums") or {}).get("crc32")
    for key, name, tensor in _payload(state, sections):
        if stored is not None:
            expected = stored.get(name)
            if expected is None or expected != _crc32(tensor):
                what = "has no checksum" if expected is None else "does not match its checksum"
                raise CheckpointError(
                    f"{path}: damaged checkpoint: tensor {name} {what} (the file changed after it was written)"
                )
        if key in _WEIGHT_FIELDS and tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{path}: tensor {name} holds NaN or infinite values; refusing these weights")


def resume_refusal(state: dict, path: str | Path) -> str | None:
    """Why training cannot resume from this checkpoint, or None when it can."""
    if state.get("kind") == KIND_AVERAGE:
        return (
            f"{path}: an averaged generator holds no training state (no discriminator, optimisers or random "
            "states); resume from one of the run's epoch_NNNN.pt checkpoints"
        )
    if state.get("kind") == KIND_SNAPSHOT:
        return (
            f"{path}: a generator snapshot holds no training state (no discriminator, optimisers or random "
            "states); resume from one of the run's full checkpoints in checkpoints/ (epoch_NNNN.pt)"
        )
    missing = [k for k in ("d", "opt_g", "opt_d", "rng") if k not in state]
    if missing:
        return f"{path}: holds no {', '.join(missing)}, so training cannot resume from it (damaged or incomplete)"
    return None


def load_checkpoint(path: str | Path, mmap: bool = False, sections: tuple[str, ...] | None = None) -> dict:
    """Load and check a checkpoint; any problem becomes a CheckpointError naming the file.

    ``mmap`` maps the file instead of reading it, so a caller that needs only
    G (averaging many checkpoints) never reads D and the optimiser states.
    ``sections`` limits the checksum and finiteness checks to those fields:
    by default every field, or only G, its EMA and the settings with ``mmap``.
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
    _check_structure(state, path)
    _verify(state, path, sections if sections is not None else (GENERATOR_SECTIONS if mmap else None))
    return state


def is_training_checkpoint(state: dict) -> bool:
    """Whether training can resume from this checkpoint (an averaged generator cannot)."""
    return state.get("kind", "training") not in (KIND_AVERAGE, KIND_SNAPSHOT) and "d" in state


def checkpoint_config(state: dict, path: str | Path = "checkpoint") -> tuple[TrainConfig, ConditionSpace]:
    try:
        return TrainConfig.from_dict(state["config"], source=str(path)), space_from_dict(state["space"])
    except (ConfigError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"{path}: its stored settings are invalid ({one_line(exc)})") from None


def generator_from_checkpoint(path: str | Path, which: str = "g", device: str = "cpu"):
    """(G in eval mode, condition space, config) from a checkpoint; ``which`` is 'g' or 'ema'."""
    return generator_from_state(load_checkpoint(path, sections=GENERATOR_SECTIONS), path, which, device)


def generator_from_state(state: dict, path: str | Path, which: str = "g", device: str = "cpu"):
    """:func:`generator_from_checkpoint` of a state already loaded (and checked) from ``path``."""
    from studio.core.models import Generator

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
        raise CheckpointError(f"{path}: the weights do not fit the stored architecture ({one_line(exc)})") from None
    return g.to(device).eval(), space, config

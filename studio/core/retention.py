"""Checkpoint retention: the last K full checkpoints and the pinned ones stay, older ones go.

Every epoch the trainer writes a slim generator snapshot (snapshots/), which
is all averaging, sampling, export and evaluation need; full checkpoints (G,
D, optimisers, random states: what a resume needs) are large, so only the
last ``keep_checkpoints`` of them are kept, plus any the user pinned.

* A full checkpoint is deleted only after a newer one is on disk (the
  trainer calls :func:`apply_retention` once its atomic write has finished).
* A pinned checkpoint is never deleted; pins live in ``<run>/pins.json`` and
  are read again right before each deletion, so a pin made while a run trains
  holds. A pins file that cannot be read stops all deletion.
* A run written before snapshots existed loses nothing: before an epoch's full
  checkpoint goes, its snapshot is extracted from it.
* Checkpoints after the one just written (a resume that rewound the run) are
  left alone: training overwrites them as it reaches their epochs.
"""

from __future__ import annotations

import errno
import os
import re
import warnings
from pathlib import Path

from studio.core import jsonio
from studio.core.atomic import atomic_write_json
from studio.core.rundir import RunDirectory
from studio.errors import StudioError, StudioWarning

__all__ = [
    "PINS_FILE",
    "pins_path",
    "read_pins",
    "resolve_checkpoint",
    "pin",
    "unpin",
    "apply_retention",
    "disk_full_note",
]

PINS_FILE = "pins.json"


def pins_path(run: RunDirectory) -> Path:
    return run.path / PINS_FILE


def read_pins(run: RunDirectory) -> list[str]:
    """Names of the pinned full checkpoints (in checkpoints/); a damaged file raises StudioError naming it."""
    path = pins_path(run)
    if not path.exists():
        return []
    data = jsonio.read_json(path, what="pins file")
    pinned = data.get("pinned") if isinstance(data, dict) else None
    if not isinstance(pinned, list) or not all(isinstance(n, str) for n in pinned):
        raise StudioError(f'{path}: damaged pins file (expected {{"pinned": [file names]}})')
    return pinned


def _write_pins(run: RunDirectory, names: list[str]) -> None:
    atomic_write_json(pins_path(run), {"pinned": sorted(set(names))})


def resolve_checkpoint(run: RunDirectory, which: str | int | Path) -> Path:
    """A full checkpoint of ``run`` given as an epoch number, a file name in checkpoints/ or a path."""
    text = str(which).strip()
    if re.fullmatch(r"\d+", text):
        path = run.checkpoint_path(int(text))
    else:
        path = Path(text).expanduser()
        if not path.is_file() or path.parent.resolve() != run.checkpoints_dir.resolve():
            path = run.checkpoints_dir / Path(text).name
    names = {c.path.name for c in run.checkpoints()}
    if path.name in names:
        return run.checkpoints_dir / path.name
    epoch = re.fullmatch(r"epoch_(\d{4,})\.pt", path.name)
    if epoch and run.snapshot_path(int(epoch.group(1))).is_file():
        raise StudioError(
            f"{path}: this full checkpoint is no longer kept (the run keeps its last few); "
            f"its generator is kept in {run.snapshot_path(int(epoch.group(1)))}, which is never deleted"
        )
    have = ", ".join(sorted(names)) or "none"
    raise StudioError(f"{path}: no such full checkpoint in {run.checkpoints_dir} (it has: {have})")


def pin(run: RunDirectory, which: str | int | Path) -> Path:
    """Pin a full checkpoint: retention never deletes it. Returns its path."""
    path = resolve_checkpoint(run, which)
    _write_pins(run, [*read_pins(run), path.name])
    if not path.is_file():  # pruned by the trainer in the instant before the pin was written
        _write_pins(run, [n for n in read_pins(run) if n != path.name])
        raise StudioError(f"{path}: was removed by the running trainer just before the pin; pin a newer one")
    return path


def unpin(run: RunDirectory, which: str | int | Path) -> Path:
    """Remove a pin; the checkpoint goes at the next retention pass if it is no longer among the last K."""
    pinned = read_pins(run)
    text = str(which).strip()
    name = run.checkpoint_path(int(text)).name if re.fullmatch(r"\d+", text) else Path(text).name
    if name not in pinned:
        have = ", ".join(pinned) or "none"
        raise StudioError(f"{run.path}: {name} is not pinned (pinned: {have})")
    _write_pins(run, [n for n in pinned if n != name])
    return run.checkpoints_dir / name


def _pinned_now(run: RunDirectory) -> set[str] | None:
    """The pins as they are on disk now, or None when the pins file cannot be read (then nothing is deleted)."""
    try:
        return set(read_pins(run))
    except StudioError as exc:
        warnings.warn(f"{exc}; no checkpoint is deleted until it is fixed", StudioWarning, stacklevel=3)
        return None


def apply_retention(run: RunDirectory, keep: int, newest: str | Path) -> list[Path]:
    """Delete the full checkpoints up to ``newest`` beyond the last ``keep`` (0: keep all) and not pinned.

    Call only once ``newest`` is completely on disk. Returns the files deleted;
    a file that cannot be deleted (or whose snapshot cannot be extracted) stays.
    """
    if keep <= 0:
        return []
    from studio.core.snapshot import write_snapshot_from_checkpoint

    found = run.checkpoints()
    names = [c.path.name for c in found]
    newest_name = Path(newest).name
    if newest_name not in names:
        return []
    candidates = found[: names.index(newest_name) + 1][:-keep]
    if candidates:
        _sync_folder(run.checkpoints_dir)  # the new file's name is durable before an old file goes
    removed: list[Path] = []
    for c in candidates:
        pinned = _pinned_now(run)
        if pinned is None:
            break
        if c.path.name in pinned:
            continue
        snapshot = run.snapshot_path(c.epoch)
        if c.complete_epoch and not snapshot.is_file():
            try:
                write_snapshot_from_checkpoint(c.path, snapshot)
            except (StudioError, OSError) as exc:
                warnings.warn(
                    f"{c.path}: kept, its generator snapshot could not be written ({exc})", StudioWarning, stacklevel=2
                )
                continue
            pinned = _pinned_now(run)  # extracting took a moment: a pin may have come meanwhile
            if pinned is None or c.path.name in pinned:
                continue
        try:
            c.path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            warnings.warn(f"{c.path}: could not delete it ({exc.strerror or exc})", StudioWarning, stacklevel=2)
            continue
        removed.append(c.path)
    return removed


def _sync_folder(folder: Path) -> None:
    """fsync a folder, so a rename into it survives a power cut (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def disk_full_note(exc: OSError, run: RunDirectory | None) -> str:
    """What a run stopped by a full disk kept: '; training stopped, epoch_0002.pt is intact'."""
    if exc.errno != errno.ENOSPC or run is None:
        return ""
    latest = run.latest_checkpoint()
    kept = f"the previous checkpoint {latest.path} is intact" if latest else "no checkpoint had been written yet"
    return f". Training stopped; {kept}. Free some space (or lower keep_checkpoints) and resume"

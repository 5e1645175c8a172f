"""How much disk a run uses, which disk a folder is on, and sizes as people read them.

Plain file-system walks: nothing here loads a checkpoint.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "tree_bytes",
    "run_disk_use",
    "mount_point",
    "free_bytes",
    "describe_disk",
    "human_bytes",
    "DiskProjection",
    "project_disk_use",
]


def tree_bytes(path: str | os.PathLike) -> int:
    """Bytes of the files under ``path`` (a file: its size); links are not followed, vanished files skipped."""
    path = Path(path)
    try:
        if path.is_file():
            return path.stat().st_size
    except OSError:
        return 0
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue  # removed meanwhile (a checkpoint pruned by a running trainer)
    return total


def run_disk_use(run) -> dict[str, int]:
    """Bytes a run uses: 'checkpoints' (full ones and saved averages), 'snapshots', 'samples', 'other', 'total'."""
    parts = {
        "checkpoints": tree_bytes(run.checkpoints_dir),
        "snapshots": tree_bytes(run.snapshots_dir),
        "samples": tree_bytes(run.samples_dir),
    }
    parts["other"] = max(tree_bytes(run.path) - sum(parts.values()), 0)
    parts["total"] = sum(parts.values())
    return parts


def mount_point(path: str | os.PathLike) -> Path:
    """The mount point of the file system holding ``path`` (or of its nearest existing parent)."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


def free_bytes(path: str | os.PathLike) -> int | None:
    """Bytes free on the disk holding ``path``, or None when that cannot be read."""
    try:
        return shutil.disk_usage(mount_point(path)).free
    except OSError:
        return None


def describe_disk(path: str | os.PathLike) -> str:
    """'mounted at /data, 1.2 GB free': the disk holding ``path``, for messages about a full disk."""
    mount = mount_point(path)
    free = free_bytes(path)
    return f"mounted at {mount}" + (f", {human_bytes(free)} free" if free is not None else "")


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KB'; decimal units, as disks are sold and file managers show them."""
    n = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


# --- what a run will use ------------------------------------------------------------------


@dataclass
class DiskProjection:
    """Bytes a run of ``epochs`` is expected to leave on disk, from sizes measured on its own models."""

    epochs: int
    snapshot: int  # one epoch's generator snapshot (G, EMA), serialised
    checkpoint: int  # one full checkpoint: G, D, EMA, both optimisers' moments
    grid: int  # one epoch's sample grid (PNG of real images in its layout; raw pixels without data)
    metrics: int  # one epoch's rows of metrics.jsonl
    full_kept: int  # full checkpoints left at the end (the last K, or every one with K = 0)

    @property
    def per_epoch(self) -> int:
        return self.snapshot + self.grid + self.metrics

    @property
    def total(self) -> int:
        return self.epochs * self.per_epoch + self.full_kept * self.checkpoint

    @property
    def peak(self) -> int:
        """While the newest full checkpoint is written, the oldest kept one is still there."""
        return self.total + (self.checkpoint if self.full_kept < self.epochs else 0)

    def describe(self) -> str:
        return (
            f"{human_bytes(self.total)}: {self.epochs} epochs x {human_bytes(self.per_epoch)} "
            f"(snapshot {human_bytes(self.snapshot)}, grid {human_bytes(self.grid)}, metrics "
            f"{human_bytes(self.metrics)}) + {self.full_kept} full checkpoints x {human_bytes(self.checkpoint)}"
        )


def _tensor_bytes(state) -> int:
    from studio.core.checkpoint import _tensors

    return sum(t.numel() * t.element_size() for _, t in _tensors(state, ""))


def _serialised_bytes(state: dict) -> int:
    import io

    import torch

    from studio.core.checkpoint import FORMAT, VERSION, tensor_checksums

    bundle = {"format": FORMAT, "version": VERSION, **state}
    bundle["checksums"] = {"crc32": tensor_checksums(bundle)}
    buffer = io.BytesIO()
    torch.save(bundle, buffer)
    return buffer.tell()


def _grid_bytes(config, space, images=None) -> int:
    """PNG bytes of one sample grid: the layout filled with real images when given (what a trained G
    draws compresses about as well), else the raw pixels, an upper bound."""
    grid = space.default_grid(config.sample_grid_max)
    rows, cols, size, pad = grid.rows, grid.cols, config.image_size, 2
    raw = (rows * (size + pad) + pad) * (cols * (size + pad) + pad) * 3
    if images is None or len(images) == 0:
        return raw
    import io

    import torch
    from PIL import Image

    from studio.core.sampling import to_uint8_grid

    n = rows * cols
    picked = images[torch.arange(n) % len(images)].float().div(127.5).sub(1.0)
    buffer = io.BytesIO()
    Image.fromarray(to_uint8_grid(picked, cols, pad)).save(buffer, format="PNG")
    return buffer.tell()


def _metrics_bytes(config, images_per_epoch: int) -> int:
    from studio.core import jsonio
    from studio.core.events import METRIC_NAMES

    steps = max(images_per_epoch // config.batch_size, 1)
    figures = {k: 0.123456789012345 for k in METRIC_NAMES}
    lrs = {"g_lr": 0.0002, "d_lr": 0.0002}
    step_row = {"kind": "step", "epoch": 100, "step": 100_000, **figures, **lrs, "images_per_second": 1234.56789}
    step_row["time"] = 1_700_000_000.123
    epoch_row = {"kind": "epoch", "epoch": 100, "step": 100_000, **figures, **lrs, "seconds": 12.3456789}
    epoch_row["images_per_second"] = 1234.56789
    rows = -(-steps // config.log_every)
    return rows * (len(jsonio.dumps(step_row, indent=None)) + 1) + len(jsonio.dumps(epoch_row, indent=None)) + 1


def project_disk_use(config, space, images_per_epoch: int, images=None) -> DiskProjection:
    """What a run of ``config`` will write, measured by building its models (on the CPU, untrained).

    ``images``: some of the dataset's uint8 images, for the size of a sample grid.
    """
    from torch.optim.swa_utils import AveragedModel

    from studio.core.conditions import NoCondition
    from studio.core.models import build_models
    from studio.core.snapshot import snapshot_state

    if not config.conditional:
        space = NoCondition()
    g, d = build_models(config, space)
    ema = AveragedModel(g, use_buffers=True) if config.ema else None
    snapshot = _serialised_bytes(snapshot_state(config.epochs, 0, config.to_dict(), space.to_dict(), g, ema))
    # Adam keeps two moments per weight, as large as the weights, and a step count per tensor.
    moments = sum(2 * p.numel() * p.element_size() + 4 for m in (g, d) for p in m.parameters())
    checkpoint = snapshot + _tensor_bytes(d.state_dict()) + moments + 64 * 1024  # + random states and settings
    written = -(-config.epochs // config.checkpoint_every)
    kept = written if config.keep_checkpoints == 0 else min(config.keep_checkpoints, written)
    return DiskProjection(
        config.epochs,
        snapshot,
        checkpoint,
        _grid_bytes(config, space, images),
        _metrics_bytes(config, images_per_epoch),
        kept,
    )

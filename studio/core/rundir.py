"""The run directory: everything a run leaves behind, readable without the trainer.

    <run>/config.json               frozen settings
    <run>/metrics.jsonl             one JSON object per reported step and per epoch
    <run>/samples/epoch_0001.png    fixed-noise grid per epoch
    <run>/checkpoints/epoch_0001.pt state bundle per epoch (epoch_0003_step_000120.pt when stopped mid-epoch)
    <run>/checkpoints/average_epochs_0021-0030.pt   averaged generators (any other .pt there)
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from studio.core.atomic import atomic_write_json, atomic_write_text
from studio.core.config import TrainConfig
from studio.errors import StudioError

__all__ = ["RunDirectory", "CheckpointInfo", "new_run_id"]

_CKPT = re.compile(r"^epoch_(\d{4,})(?:_step_(\d+))?\.pt$")


@dataclass(frozen=True, order=True)
class CheckpointInfo:
    epoch: int
    step_in_epoch: int  # 0 for a checkpoint written at the end of an epoch
    path: Path

    @property
    def complete_epoch(self) -> bool:
        return self.step_in_epoch == 0


def new_run_id(runs_root: Path) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_id, n = stamp, 1
    while (runs_root / run_id).exists():
        n += 1
        run_id = f"{stamp}-{n}"
    return run_id


class RunDirectory:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    # --- layout -------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def samples_dir(self) -> Path:
        return self.path / "samples"

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / "checkpoints"

    def sample_path(self, epoch: int) -> Path:
        return self.samples_dir / f"epoch_{epoch:04d}.png"

    def checkpoint_path(self, epoch: int, step_in_epoch: int = 0) -> Path:
        if step_in_epoch:
            return self.checkpoints_dir / f"epoch_{epoch:04d}_step_{step_in_epoch:06d}.pt"
        return self.checkpoints_dir / f"epoch_{epoch:04d}.pt"

    @property
    def run_id(self) -> str:
        return self.path.name

    # --- creation -----------------------------------------------------------
    @classmethod
    def create(cls, runs_root: str | Path, config: TrainConfig, run_id: str | None = None) -> "RunDirectory":
        runs_root = Path(runs_root)
        run = cls(runs_root / (run_id or new_run_id(runs_root)))
        run.path.mkdir(parents=True, exist_ok=False)
        run.samples_dir.mkdir()
        run.checkpoints_dir.mkdir()
        atomic_write_json(run.config_path, config.to_dict())
        return run

    def exists(self) -> bool:
        return self.config_path.is_file()

    def read_config(self) -> TrainConfig:
        try:
            data = json.loads(self.config_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise StudioError(f"{self.config_path}: missing; {self.path} is not a run directory") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise StudioError(f"{self.config_path}: damaged ({exc})") from None
        return TrainConfig.from_dict(data, source=str(self.config_path))

    # --- checkpoints and samples ----------------------------------------------
    def checkpoints(self) -> list[CheckpointInfo]:
        found = []
        if self.checkpoints_dir.is_dir():
            for p in self.checkpoints_dir.iterdir():
                m = _CKPT.match(p.name)
                if m:
                    found.append(CheckpointInfo(int(m.group(1)), int(m.group(2) or 0), p))
        # A mid-epoch checkpoint of epoch N sorts after every complete epoch < N.
        return sorted(found, key=lambda c: (c.epoch - (1 if c.step_in_epoch else 0), c.step_in_epoch))

    def averages(self) -> list[Path]:
        """Averaged generators saved in the run: every .pt in checkpoints/ that is not a training checkpoint.

        :meth:`checkpoints` never lists them, so resume and the runs listing
        only ever see what the trainer wrote.
        """
        if not self.checkpoints_dir.is_dir():
            return []
        return sorted(p for p in self.checkpoints_dir.glob("*.pt") if p.is_file() and not _CKPT.match(p.name))

    def average_path(self, name: str) -> Path:
        return self.checkpoints_dir / name

    def latest_checkpoint(self) -> CheckpointInfo | None:
        found = self.checkpoints()
        return found[-1] if found else None

    def checkpoints_after(self, path: str | Path) -> list[CheckpointInfo]:
        """The training checkpoints written after ``path``: resuming from it rewinds the run past them,
        and training overwrites them as it reaches their epochs."""
        found = self.checkpoints()
        names = [c.path.name for c in found]
        name = Path(path).name
        return found[names.index(name) + 1 :] if name in names else []

    def samples(self) -> list[tuple[int, Path]]:
        if not self.samples_dir.is_dir():
            return []
        out = []
        for p in sorted(self.samples_dir.glob("epoch_*.png")):
            try:
                out.append((int(p.stem.split("_")[1]), p))
            except (IndexError, ValueError):
                continue
        return out

    # --- metrics ------------------------------------------------------------
    def append_metrics(self, rows: list[dict]) -> None:
        """Append rows to the metrics log (one JSON object per line).

        The log only grows during a run; a torn last line from a crash is
        skipped by :meth:`read_metrics`, and a resume rewrites the log
        atomically to drop the rows after its checkpoint.
        """
        if not rows:
            return
        with open(self.metrics_path, "a", encoding="utf-8") as f:
            f.write("".join(json.dumps(r) + "\n" for r in rows))

    def read_metrics(self) -> list[dict]:
        if not self.metrics_path.is_file():
            return []
        rows = []
        for line in self.metrics_path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return rows

    def truncate_metrics(self, global_step: int) -> None:
        """Drop rows logged after ``global_step`` (a resume goes back to its checkpoint)."""
        rows = [r for r in self.read_metrics() if r.get("step", 0) <= global_step]
        atomic_write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in rows))

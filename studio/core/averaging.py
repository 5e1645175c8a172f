"""The checkpoint lab: a run's generators, weight averaging and BatchNorm re-estimation.

The digits and faces recipes averaged the generators of their last 10 epochs.
Averaging weights is what :class:`torch.optim.swa_utils.AveragedModel` does;
BatchNorm running statistics of an average are not the average of the
statistics, so by default they are measured again with
:func:`torch.optim.swa_utils.update_bn` on fresh noise and conditions.

Everything here is plain Python over files and tensors, with progress and
stop callbacks, so the window can run it in a worker thread and the CLI in
the foreground.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, update_bn

from studio.core.checkpoint import (
    KIND_AVERAGE,
    checkpoint_config,
    generator_from_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from studio.core.conditions import ConditionSpace
from studio.core.config import TrainConfig, architecture_keys
from studio.core.rundir import RunDirectory
from studio.errors import Cancelled, CheckpointError, ConfigError, StudioError

__all__ = [
    "GeneratorRef",
    "CheckpointEntry",
    "AverageResult",
    "GENERATOR_KEYS",
    "list_checkpoints",
    "select_checkpoints",
    "parse_epoch_range",
    "run_generators",
    "comparison_refs",
    "load_generator",
    "average_checkpoints",
    "reestimate_batchnorm",
    "save_average",
    "default_average_name",
    "describe_average",
    "is_average_file",
]

Progress = Callable[[str, float], None]

# The settings that shape G (of any family): two checkpoints can be averaged only if
# those of their family and the condition space agree.
GENERATOR_KEYS = architecture_keys(part="g")


@dataclass(frozen=True)
class GeneratorRef:
    """One generator a user can pick: a checkpoint's G, its EMA, or a saved average."""

    path: Path
    which: str = "g"  # 'g' or 'ema'
    label: str = ""
    kind: str = "checkpoint"  # 'checkpoint', 'ema' or 'average'
    epoch: int = 0

    def __str__(self) -> str:
        return self.label or f"{self.path.name}{' (EMA)' if self.which == 'ema' else ''}"


@dataclass(frozen=True)
class CheckpointEntry:
    """A training checkpoint as the lab lists it."""

    path: Path
    epoch: int
    step_in_epoch: int  # 0 for a checkpoint written at the end of an epoch
    saved: float  # file modification time (seconds since the epoch)
    metrics: dict = field(default_factory=dict, compare=False, hash=False)
    # The full, resumable checkpoint of this position when the run still keeps it (``path`` may be the
    # epoch's slim snapshot), and whether the user pinned it.
    full_path: Path | None = field(default=None, compare=False, hash=False)
    pinned: bool = field(default=False, compare=False, hash=False)

    @property
    def resumable(self) -> bool:
        return self.full_path is not None

    @property
    def complete_epoch(self) -> bool:
        return self.step_in_epoch == 0

    @property
    def saved_text(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved))


@dataclass
class AverageResult:
    """An averaged generator and a record of how it was made."""

    generator: nn.Module  # in eval mode
    config: TrainConfig
    space: ConditionSpace
    sources: list[Path]
    epochs: list[int]
    steps: list[int]
    which: str
    bn_mode: str  # 're-estimated', 'averaged' or 'none' (G has no BatchNorm)
    bn_batches: int = 0
    bn_batch_size: int = 0
    seed: int = 0

    @property
    def bn_reestimated(self) -> bool:
        return self.bn_mode == "re-estimated"

    def describe_bn(self) -> str:
        if self.bn_mode == "re-estimated":
            return (
                f"BatchNorm statistics re-estimated from {self.bn_batches} batches of {self.bn_batch_size} "
                f"fresh noise and conditions (seed {self.seed})"
            )
        if self.bn_mode == "averaged":
            return "BatchNorm statistics averaged from the checkpoints (not re-estimated)"
        return "G has no BatchNorm layers"

    def state(self) -> dict:
        """The checkpoint bundle: loadable by ``load_checkpoint`` and ``generator_from_checkpoint``."""
        return {
            "kind": KIND_AVERAGE,
            "epoch": max(self.epochs),
            "step": max(self.steps),
            "epoch_step": 0,
            "config": self.config.to_dict(),
            "space": self.space.to_dict(),
            "g": {k: v.detach().cpu().clone() for k, v in self.generator.state_dict().items()},
            "ema": None,
            "averaged": {
                "files": [p.name for p in self.sources],
                "epochs": list(self.epochs),
                "steps": list(self.steps),
                "which": self.which,
                "bn": self.bn_mode,
                "bn_batches": self.bn_batches,
                "bn_batch_size": self.bn_batch_size,
                "seed": self.seed,
            },
            "bn_reestimated": self.bn_reestimated,
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }


# --- listing ----------------------------------------------------------------------


def _epoch_metrics(run: RunDirectory) -> dict[int, dict]:
    """Per-epoch figures from metrics.jsonl: the trainer's epoch means and any evaluation rows."""
    by_epoch: dict[int, dict] = {}
    for row in run.read_metrics():
        kind = row.get("kind")
        if kind in ("step", "alarm") or not isinstance(row.get("epoch"), int):
            continue
        figures = {k: v for k, v in row.items() if k not in ("kind", "epoch", "step") and isinstance(v, (int, float))}
        by_epoch.setdefault(row["epoch"], {}).update(figures)
    return by_epoch


def _positions(run: RunDirectory):
    """(generator file, full checkpoint or None) of every epoch and mid-epoch checkpoint, oldest first."""
    full = {c.path.name: c for c in run.checkpoints()}
    found = [(c, full.get(c.path.name)) for c in run.epoch_generators()]
    found += [(c, c) for c in full.values() if not c.complete_epoch]
    return sorted(found, key=lambda pair: (pair[0].epoch - (1 if pair[0].step_in_epoch else 0), pair[0].step_in_epoch))


def list_checkpoints(run: RunDirectory | str | Path) -> list[CheckpointEntry]:
    """The run's generators per epoch (its snapshot, or its full checkpoint) and its mid-epoch checkpoints,
    oldest first, with the figures logged for their epoch, the full checkpoint still kept, and the pins."""
    from studio.core.retention import read_pins

    run = run if isinstance(run, RunDirectory) else RunDirectory(run)
    metrics = _epoch_metrics(run)
    try:
        pinned = set(read_pins(run))
    except StudioError:
        pinned = set()
    entries = []
    for info, full in _positions(run):
        try:
            saved = info.path.stat().st_mtime
        except OSError:
            continue
        figures = metrics.get(info.epoch, {}) if info.complete_epoch else {}
        full_path = full.path if full is not None else None
        entries.append(
            CheckpointEntry(
                info.path,
                info.epoch,
                info.step_in_epoch,
                saved,
                dict(figures),
                full_path,
                full_path is not None and full_path.name in pinned,
            )
        )
    return entries


def parse_epoch_range(text: str) -> tuple[int, int]:
    """'21-30' -> (21, 30); '7' -> (7, 7)."""
    m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", text)
    if not m:
        raise ConfigError(
            f"--epochs {text!r}: write a range as A-B, e.g. 21-30", code="average.range_unreadable", range=text
        )
    first, last = int(m.group(1)), int(m.group(2) or m.group(1))
    if first > last:
        raise ConfigError(
            f"--epochs {text!r}: the first epoch is after the last",
            code="average.range_reversed",
            range=text,
            first=first,
            last=last,
        )
    return first, last


def select_checkpoints(
    run: RunDirectory | str | Path,
    last: int | None = None,
    epochs: tuple[int, int] | None = None,
    files: list[str | Path] | None = None,
) -> list[Path]:
    """Checkpoints chosen by one of: the last N complete epochs, an epoch range, or explicit files.

    Files may be given as paths or as names inside the run's checkpoints/ (or snapshots/) folder. The
    last N and a range read each epoch's slim snapshot, or its full checkpoint in a run written before
    snapshots existed: the same generators either way.
    """
    run = run if isinstance(run, RunDirectory) else RunDirectory(run)
    if sum(x is not None for x in (last, epochs, files)) != 1:
        raise ConfigError("choose the checkpoints one way: the last N, an epoch range, or a list of files")
    if files is not None:
        chosen = []
        for f in files:
            path = Path(f)
            for folder in (run.checkpoints_dir, run.snapshots_dir):
                if not path.is_file() and (folder / path.name).is_file():
                    path = folder / path.name
            if not path.is_file():
                raise CheckpointError(f"{f}: no such checkpoint file (looked here and in {run.checkpoints_dir})")
            chosen.append(path)
        if len(set(p.resolve() for p in chosen)) != len(chosen):
            raise ConfigError("the same checkpoint is listed twice")
        return chosen
    complete = run.epoch_generators()
    if not complete:
        raise CheckpointError(f"{run.checkpoints_dir}: no end-of-epoch checkpoints to average")
    if last is not None:
        if last < 1:
            raise ConfigError("--last must be at least 1", code="average.last_too_few", last=last)
        if last > len(complete):
            raise CheckpointError(
                f"{run.checkpoints_dir}: asked for the last {last} epochs but only {len(complete)} "
                f"end-of-epoch checkpoints exist (epochs {complete[0].epoch}-{complete[-1].epoch})"
            )
        return [c.path for c in complete[-last:]]
    first, final = epochs  # type: ignore[misc]
    chosen = [c.path for c in complete if first <= c.epoch <= final]
    if not chosen:
        have = f"epochs {complete[0].epoch}-{complete[-1].epoch}"
        raise CheckpointError(f"{run.checkpoints_dir}: no checkpoints for epochs {first}-{final} (it has {have})")
    return chosen


def run_generators(run: RunDirectory | str | Path) -> list[GeneratorRef]:
    """Every generator of a run: each epoch's G (snapshot or checkpoint), the last one's EMA, and saved averages."""
    run = run if isinstance(run, RunDirectory) else RunDirectory(run)
    refs = []
    checkpoints = [info for info, _full in _positions(run)]
    for c in checkpoints:
        label = f"epoch {c.epoch}" if c.complete_epoch else f"epoch {c.epoch} (step {c.step_in_epoch})"
        refs.append(GeneratorRef(c.path, "g", label, "checkpoint", c.epoch))
    if checkpoints:
        last = checkpoints[-1]
        try:
            has_ema = run.read_config().ema
        except StudioError:
            has_ema = bool(load_checkpoint(last.path, mmap=True).get("ema"))
        if has_ema:
            refs.append(GeneratorRef(last.path, "ema", f"EMA at epoch {last.epoch}", "ema", last.epoch))
    for path in run.averages():
        refs.append(GeneratorRef(path, "g", _average_label(path), "average"))
    return refs


def _average_label(path: Path) -> str:
    name = path.stem
    m = re.fullmatch(r"average_epochs_(\d+)-(\d+)(_ema)?", name)
    if m:
        return f"average of epochs {int(m.group(1))}-{int(m.group(2))}{' (EMA)' if m.group(3) else ''}"
    return name.replace("_", " ")


def comparison_refs(run: RunDirectory | str | Path, averages: list[Path] | None = None) -> list[GeneratorRef]:
    """The generators worth comparing side by side: the last checkpoint, averages, and the EMA."""
    refs = run_generators(run)
    chosen = [r for r in refs if r.kind == "checkpoint"][-1:]
    wanted = {Path(p).resolve() for p in averages} if averages is not None else None
    chosen += [r for r in refs if r.kind == "average" and (wanted is None or r.path.resolve() in wanted)]
    chosen += [r for r in refs if r.kind == "ema"]
    return chosen


def load_generator(ref: GeneratorRef, device: str | torch.device = "cpu"):
    """(G in eval mode, condition space, config) for a :class:`GeneratorRef`."""
    return generator_from_checkpoint(ref.path, ref.which, device=str(device))


# --- averaging -------------------------------------------------------------------------


def _check_compatible(paths: list[Path], configs: list[TrainConfig], spaces: list[ConditionSpace]) -> None:
    first_path, first_cfg, first_space = paths[0], configs[0], spaces[0]
    for path, cfg, space in zip(paths[1:], configs[1:], spaces[1:]):
        if space != first_space:
            raise CheckpointError(
                f"cannot average {first_path} and {path}: their condition spaces differ "
                f"({first_space.describe()} vs {space.describe()})"
            )
        changed = [
            f"{k} {getattr(first_cfg, k)!r} vs {getattr(cfg, k)!r}"
            for k in architecture_keys(first_cfg.family, part="g")
            if getattr(first_cfg, k) != getattr(cfg, k)
        ]
        if changed:
            raise CheckpointError(
                f"cannot average {first_path} and {path}: their generators differ in {', '.join(changed)}"
            )


def _weights(state: dict, which: str, path: Path) -> dict:
    if which == "g":
        return state["g"]
    if which != "ema":
        raise ConfigError(f"which generator: 'g' or 'ema', not {which!r}")
    if not state.get("ema"):
        raise CheckpointError(f"{path}: this checkpoint holds no EMA of G")
    return {k[len("module.") :]: v for k, v in state["ema"].items() if k.startswith("module.")}


def _has_batchnorm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


class _NoiseAndCondition(nn.Module):
    """G behind one input tensor, [z | condition], the form ``update_bn`` feeds a model."""

    def __init__(self, generator: nn.Module, nz: int):
        super().__init__()
        self.generator = generator
        self.nz = nz

    def forward(self, packed: torch.Tensor) -> torch.Tensor:
        return self.generator(packed[:, : self.nz], packed[:, self.nz :])


def reestimate_batchnorm(
    generator: nn.Module,
    space: ConditionSpace,
    nz: int,
    batches: int = 32,
    batch_size: int = 64,
    seed: int = 0,
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """Measure G's BatchNorm running statistics anew over fresh noise and random valid conditions.

    Weights are left alone; only running_mean/running_var (a plain average over
    all ``batches``, as :func:`update_bn` computes it) change. Returns the
    number of BatchNorm layers. G is left in eval mode.
    """
    if batches < 1 or batch_size < 2:
        raise ConfigError("BatchNorm re-estimation needs at least 1 batch of at least 2 samples")
    device = next(generator.parameters()).device
    rng = torch.Generator().manual_seed(seed)

    def packed_batches():
        for _ in range(batches):
            if should_stop is not None and should_stop():
                raise Cancelled("averaging cancelled: stopped before BatchNorm re-estimation finished")
            z = torch.randn(batch_size, nz, generator=rng)
            labels = space.sample(batch_size, rng)
            cond = space.encode(labels).float() if space.is_conditional else torch.zeros(batch_size, 0)
            yield torch.cat([z, cond], dim=1)

    layers = sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in generator.modules())
    with torch.no_grad():
        update_bn(packed_batches(), _NoiseAndCondition(generator, nz), device=device)
    generator.eval()
    return layers


def average_checkpoints(
    paths: list[str | Path],
    which: str = "g",
    bn_reestimate: bool = True,
    bn_batches: int = 32,
    bn_batch_size: int = 64,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> AverageResult:
    """The equal-weight average of the generators in ``paths``.

    Refuses checkpoints whose generators or condition spaces differ, naming
    both files. With ``bn_reestimate`` the BatchNorm statistics come from
    forward passes over fresh noise; without it they are the average of the
    checkpoints' statistics.
    """
    from studio.core.models import Generator

    paths = [Path(p) for p in paths]
    if len(paths) < 2:
        raise ConfigError("averaging needs at least 2 checkpoints")
    report = progress or (lambda message, fraction: None)

    # Settings first (a cheap mmap read of each file), so a mismatch is found before any work.
    states, configs, spaces, epochs, steps = [], [], [], [], []
    for path in paths:
        state = load_checkpoint(path, mmap=True)
        config, space = checkpoint_config(state, path)
        states.append(state)
        configs.append(config)
        spaces.append(space)
        epochs.append(int(state["epoch"]))
        steps.append(int(state["step"]))
    _check_compatible(paths, configs, spaces)
    config, space = configs[-1], spaces[-1]

    g = Generator(config, space).to(device)
    has_bn = _has_batchnorm(g)
    # use_buffers averages the BatchNorm statistics too; with re-estimation they are overwritten anyway.
    averaged = AveragedModel(g, device=torch.device(device), use_buffers=has_bn and not bn_reestimate)
    for i, (path, state) in enumerate(zip(paths, states)):
        if should_stop is not None and should_stop():
            raise Cancelled("averaging cancelled: stopped before it finished")
        report(f"averaging {path.name} ({i + 1}/{len(paths)})", i / (len(paths) + 1))
        try:
            g.load_state_dict(_weights(state, which, path))
        except RuntimeError as exc:
            raise CheckpointError(
                f"{path}: the weights do not fit the stored architecture ({str(exc)[:200]})"
            ) from None
        averaged.update_parameters(g)
    states.clear()  # release the mapped files

    result_g = averaged.module
    bn_mode = "none"
    if has_bn:
        bn_mode = "re-estimated" if bn_reestimate else "averaged"
    if has_bn and bn_reestimate:
        report(
            f"re-estimating BatchNorm statistics ({bn_batches} batches of {bn_batch_size})",
            len(paths) / (len(paths) + 1),
        )
        reestimate_batchnorm(result_g, space, config.nz, bn_batches, bn_batch_size, seed, should_stop)
    result_g.eval()
    report("averaged", 1.0)
    return AverageResult(
        result_g,
        config,
        space,
        paths,
        epochs,
        steps,
        which,
        bn_mode,
        bn_batches if bn_mode == "re-estimated" else 0,
        bn_batch_size if bn_mode == "re-estimated" else 0,
        seed,
    )


def default_average_name(result: AverageResult) -> str:
    """average_epochs_0021-0030.pt for a contiguous range, average_5_epochs_0003-0030.pt otherwise."""
    epochs = sorted(result.epochs)
    contiguous = epochs == list(range(epochs[0], epochs[0] + len(epochs)))
    count = "" if contiguous else f"_{len(epochs)}"
    ema = "_ema" if result.which == "ema" else ""
    return f"average{count}_epochs_{epochs[0]:04d}-{epochs[-1]:04d}{ema}.pt"


def save_average(run: RunDirectory | str | Path, result: AverageResult, name: str | None = None) -> Path:
    """Write the average into the run's checkpoints/ folder, atomically and never over an existing file."""
    run = run if isinstance(run, RunDirectory) else RunDirectory(run)
    name = name or default_average_name(result)
    if Path(name).name != name or name in ("", ".", ".."):
        raise ConfigError(f"--out {name!r}: give a file name, it is written into {run.checkpoints_dir}")
    if not name.endswith(".pt"):
        name += ".pt"
    if re.match(r"^epoch_\d{4,}", name):
        raise ConfigError(f"--out {name!r}: names starting epoch_NNNN are kept for training checkpoints")
    path = run.average_path(name)
    if path.exists():
        raise StudioError(f"{path}: already exists; choose another name with --out")
    try:
        save_checkpoint(path, result.state(), overwrite=False)
    except FileExistsError:
        raise StudioError(f"{path}: already exists; choose another name with --out") from None
    return path


def describe_average(path: str | Path) -> str:
    """One line on what a saved average holds."""
    state = load_checkpoint(path, mmap=True)
    info = state.get("averaged") or {}
    epochs = info.get("epochs", [])
    span = f"epochs {min(epochs)}-{max(epochs)}" if epochs else "?"
    return f"{path}: average of {len(epochs)} generators ({span}), BatchNorm {info.get('bn', '?')}"


def is_average_file(path: str | Path) -> bool:
    """Whether ``path`` holds an averaged generator (which training cannot resume from)."""
    return load_checkpoint(path, mmap=True).get("kind") == KIND_AVERAGE

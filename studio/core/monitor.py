"""Run health: a collapse alarm measured every epoch, and the best generators kept by a measured score.

Three signs of a GAN gone wrong, each cheap enough to read every epoch:

* **diversity**: how much G's images of one condition differ from each other,
  as a share of how much real images of that condition do. A G that ignores
  z draws the same image for every z (share near 0). Distances are taken in
  a judge's feature space when the app lends one (:class:`Judging`), else on
  images shrunk to 16 x 16 pixels (cruder: it also counts colour and
  position changes).
* **D separation**: D(x) - D(G(z)) staying near 1 over many steps: D tells
  every fake from every real image and G no longer learns from it.
* **falling accuracy**: the judge's reading of G's images for their
  conditions falling well below its best (only with a judge). Readings are
  the median of the last three epochs: early in a run an ACGAN's accuracy
  swings by 0.2 from one epoch to the next (real CIFAR-10: 0.36, 0.60, 0.39,
  0.47), and a single high epoch must not become the best a run is held to.

Everything the trainer needs from the evaluation layer comes in through
:class:`Judging`, plain callables, so the core never imports it.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from studio.core import jsonio
from studio.core.atomic import atomic_write_json
from studio.core.checkpoint import save_checkpoint
from studio.core.events import RunAlarm
from studio.core.rundir import BEST_DIR
from studio.core.snapshot import snapshot_state
from studio.errors import CheckpointError, StudioError, one_line

__all__ = [
    "Judging",
    "ALARM_ACTIONS",
    "SCORE_DIRECTIONS",
    "pixel_features",
    "within_condition_diversity",
    "HealthProbe",
    "AlarmDetector",
    "BestKeeper",
    "best_index",
    "best_paths",
    "mark_generator",
    "RunWatch",
]

ALARM_ACTIONS = ("none", "stop", "stop-and-mark-best")
# +1: higher is better; -1: lower is better.
SCORE_DIRECTIONS = {"cond_acc": 1, "fid": -1}
PIXEL_SIDE = 16
# G's BatchNorm running statistics start at mean 0 and variance 1, so a fresh G in eval mode draws nearly the
# same image for every z; with momentum 0.1 they follow the batches within some 50 steps. No alarm before this.
SETTLE_STEPS = 100
# A diversity share below this means G draws the same image for every z, whatever it showed before.
DIVERSITY_FLOOR = 0.01
# The judge's accuracy is read as the median of this many epochs (a collapse still shows within two).
ACC_WINDOW = 3
BEST_INDEX = "index.json"


@dataclass
class Judging:
    """What the app layer lends the trainer to read its images; any part may be missing.

    ``features``: images in [-1, 1] -> (N, D) features (a judge's penultimate layer).
    ``accuracy``: (images, labels) -> the share drawn as asked, as the judge reads them.
    ``score``: a generator -> figures such as ``{"cond_acc": 0.91, "fid": 23.0}``.
    """

    name: str
    features: Callable[[torch.Tensor], torch.Tensor] | None = None
    accuracy: Callable[[torch.Tensor, torch.Tensor], float] | None = None
    score: Callable[[nn.Module], dict[str, float]] | None = None


# --- the measures ------------------------------------------------------------------------


def pixel_features(images: torch.Tensor) -> torch.Tensor:
    """Images shrunk to 16 x 16 (area average), flattened: the feature space when there is no judge."""
    small = F.adaptive_avg_pool2d(images.float(), PIXEL_SIDE)
    return small.flatten(1)


def within_condition_diversity(features: torch.Tensor, groups: torch.Tensor) -> float:
    """Mean distance between two features of the same group, averaged over groups of at least two.

    ``groups``: (N,) integer group of each row. 0.0 when every group is a
    single row; identical rows within each group give 0.0 too.
    """
    features = features.detach().float().cpu().flatten(1)
    groups = groups.cpu()
    means = []
    for g in torch.unique(groups):
        rows = features[groups == g]
        n = len(rows)
        if n < 2:
            continue
        distances = torch.cdist(rows, rows)
        means.append(float(distances.sum()) / (n * (n - 1)))
    return sum(means) / len(means) if means else 0.0


def _condition_groups(labels: torch.Tensor, conditional: bool, count: int) -> list[torch.Tensor]:
    """Index lists of the ``count`` most frequent conditions with two images or more (or all images as one)."""
    n = len(labels)
    if not conditional or n == 0:
        return [torch.arange(n)]
    flat = labels.reshape(n, -1)
    _, inverse, counts = torch.unique(flat, dim=0, return_inverse=True, return_counts=True)
    order = sorted(range(len(counts)), key=lambda i: (-int(counts[i]), i))
    return [torch.nonzero(inverse == i).flatten() for i in order[:count] if int(counts[i]) >= 2]


class HealthProbe:
    """Fixed noise and conditions that G draws every epoch, and the real images they are compared with.

    ``conditions`` conditions (the dataset's most frequent ones), ``per_condition``
    noise vectors each, the same every epoch; ``accuracy_n`` images with
    conditions drawn as the dataset's, for the judge's reading. All noise
    comes from its own seeded generator, so training's random stream is untouched.
    """

    def __init__(
        self,
        dataset,
        space,
        nz: int,
        judging: Judging | None = None,
        conditions: int = 8,
        per_condition: int = 8,
        real_per_condition: int = 16,
        accuracy_n: int = 256,
        seed: int = 0,
    ):
        self.space = space
        self.judging = judging
        self.features_name = "judge" if judging is not None and judging.features is not None else "pixels"
        self._features = judging.features if self.features_name == "judge" else pixel_features
        gen = torch.Generator().manual_seed(seed)
        conditional = space.is_conditional
        groups = _condition_groups(dataset.labels, conditional, conditions)
        self.basis = "per condition"
        if not groups:  # no condition repeats (multi-label sets): compare with the whole set's spread
            groups = [torch.arange(len(dataset))]
            self.basis = "whole set"
        real_idx, real_groups = [], []
        for i, idx in enumerate(groups):
            pick = idx[torch.randperm(len(idx), generator=gen)[:real_per_condition]]
            real_idx.append(pick)
            real_groups.append(torch.full((len(pick),), i))
        self.real_images = dataset.images[torch.cat(real_idx)]
        self.real_groups = torch.cat(real_groups)
        if conditional:
            firsts = torch.stack([dataset.labels[idx[0]] for idx in groups])
            self.labels = firsts.repeat_interleave(per_condition, dim=0)
        else:
            self.labels = torch.zeros(len(groups) * per_condition, 0)
        self.groups = torch.arange(len(groups)).repeat_interleave(per_condition)
        self.z = torch.randn(len(self.labels), nz, generator=gen)
        self.accuracy_labels = None
        if conditional and judging is not None and judging.accuracy is not None:
            picked = torch.randint(len(dataset), (accuracy_n,), generator=gen)
            self.accuracy_labels = dataset.labels[picked]
            self.accuracy_z = torch.randn(accuracy_n, nz, generator=gen)
        self._real_diversity: float | None = None

    @property
    def space_text(self) -> str:
        return "the judge's features" if self.features_name == "judge" else f"{PIXEL_SIDE}x{PIXEL_SIDE} pixels"

    def _real(self) -> float:
        if self._real_diversity is None:
            images = self.real_images.float().div(127.5).sub(1.0)
            self._real_diversity = within_condition_diversity(self._features(images), self.real_groups)
        return self._real_diversity

    @torch.no_grad()
    def _draw(self, g: nn.Module, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        device = next(g.parameters()).device
        cond = self.space.encode(labels).to(device) if self.space.is_conditional else torch.zeros(len(z), 0)
        out = []
        for i in range(0, len(z), 128):
            out.append(g(z[i : i + 128].to(device), cond[i : i + 128].to(device)).float())
        return torch.cat(out)

    @torch.no_grad()
    def measure(self, g: nn.Module) -> dict[str, float | None]:
        """``diversity`` (generated over real, within a condition) and ``judge_acc`` (None without a judge)."""
        was_training = g.training
        g.eval()
        try:
            fake = self._draw(g, self.z, self.labels)
            real = self._real()
            fake_div = within_condition_diversity(self._features(fake), self.groups)
            figures: dict[str, float | None] = {
                "diversity": fake_div / real if real > 0 else None,
                "judge_acc": None,
            }
            if self.accuracy_labels is not None:
                images = self._draw(g, self.accuracy_z, self.accuracy_labels)
                figures["judge_acc"] = float(self.judging.accuracy(images, self.accuracy_labels))
        finally:
            g.train(was_training)
        return figures


# --- the alarm --------------------------------------------------------------------------------


@dataclass
class _Streak:
    since_epoch: int | None = None
    since_step: int | None = None
    epochs: int = 0
    fired: bool = False

    def clear(self) -> None:
        self.since_epoch = self.since_step = None
        self.epochs = 0
        self.fired = False


@dataclass
class AlarmDetector:
    """Turns the per-epoch and per-report figures into alarms; pure bookkeeping, no tensors.

    Diversity is bad below ``diversity`` times the highest share the run has
    reached (capped at 1, real images' own), or below 1% of real whatever
    came before: early in a run G's images are alike because it has learnt
    little, not because it collapsed, so the alarm looks for a fall. Accuracy
    is bad ``acc_drop`` below its best. A per-epoch sign alarms once it has
    stayed bad for ``patience`` epochs in a row, from no earlier than epoch
    ``after`` (and step 100, see :data:`SETTLE_STEPS`); D's separation alarms once it has stayed above ``d_gap`` for
    ``d_steps`` steps. Each alarm fires once, and again only after the sign
    has recovered. A threshold of 0 turns its sign off.
    """

    diversity: float = 0.0
    d_gap: float = 0.0
    d_steps: int = 500
    acc_drop: float = 0.0
    patience: int = 1
    after: int = 1
    features_text: str = "pixels"
    _streaks: dict = field(default_factory=lambda: {k: _Streak() for k in ("diversity", "d_gap", "accuracy")})
    _best_acc: float | None = None
    _peak_div: float = 0.0
    _peak_div_epoch: int = 0
    _best_acc_epoch: int = 0
    _acc_window: list = field(default_factory=list)
    _best_acc_span: str = ""
    _last_step: int = 0

    @classmethod
    def from_config(cls, config, features_text: str = "pixels") -> AlarmDetector:
        return cls(
            diversity=config.alarm_diversity,
            d_gap=config.alarm_d_gap,
            d_steps=config.alarm_d_steps,
            acc_drop=config.alarm_acc_drop,
            patience=config.alarm_patience,
            after=config.alarm_after,
            features_text=features_text,
        )

    def _per_epoch(self, name: str, bad: bool, epoch: int, step: int) -> _Streak | None:
        streak = self._streaks[name]
        if not bad:
            streak.clear()
            return None
        if streak.since_epoch is None:
            streak.since_epoch, streak.since_step = epoch, step
        streak.epochs += 1
        if streak.epochs >= self.patience and not streak.fired:
            streak.fired = True
            return streak
        return None

    def epoch(self, epoch: int, step: int, figures: dict) -> list[RunAlarm]:
        """The alarms that the figures of a finished epoch raise."""
        alarms = []
        armed = epoch >= self.after and step >= SETTLE_STEPS
        div = figures.get("diversity")
        if div is not None:
            peak, peak_epoch = self._peak_div, self._peak_div_epoch
            if div > peak:
                self._peak_div, self._peak_div_epoch = div, epoch
        if self.diversity > 0 and div is not None:
            reference = min(1.0, peak)
            bad = armed and (div < self.diversity * reference or div < DIVERSITY_FLOOR)
            streak = self._per_epoch("diversity", bad, epoch, step)
            if streak is not None:
                alarms.append(
                    RunAlarm(
                        "diversity",
                        epoch,
                        step,
                        streak.since_epoch,
                        f"G's images of one condition differ {div:.2f} times as much as real ones, down from "
                        f"{peak:.2f} at epoch {peak_epoch} (alarm below {self.diversity:g} of that, in "
                        f"{self.features_text}) since epoch {streak.since_epoch}: G is ignoring z (mode collapse)",
                        {"diversity": div, "peak": peak, "peak_epoch": peak_epoch, "threshold": self.diversity},
                    )
                )
        reading = figures.get("judge_acc")
        if reading is not None:
            self._acc_window = [*self._acc_window, (epoch, reading)][-ACC_WINDOW:]
            acc = statistics.median(v for _, v in self._acc_window)
            span = self._span()
            if self._best_acc is None or acc > self._best_acc:
                self._best_acc, self._best_acc_epoch, self._best_acc_span = acc, epoch, span
            if self.acc_drop > 0:
                bad = armed and acc < self._best_acc - self.acc_drop
                streak = self._per_epoch("accuracy", bad, epoch, step)
                if streak is not None:
                    alarms.append(
                        RunAlarm(
                            "accuracy",
                            epoch,
                            step,
                            streak.since_epoch,
                            f"the judge reads {acc:.2f} of G's images as their condition ({span}), "
                            f"down from {self._best_acc:.2f} ({self._best_acc_span}; a fall of more "
                            f"than {self.acc_drop:g}) since epoch {streak.since_epoch}",
                            {
                                "judge_acc": acc,
                                "reading": reading,
                                "best": self._best_acc,
                                "best_epoch": self._best_acc_epoch,
                            },
                        )
                    )
        return alarms

    def _span(self) -> str:
        """How the current accuracy reading was taken: 'median of epochs 5-7' or 'epoch 1'."""
        first, last = self._acc_window[0][0], self._acc_window[-1][0]
        return f"epoch {last}" if first == last else f"median of epochs {first}-{last}"

    def step(self, epoch: int, step: int, d_x: float | None, d_g_z: float | None) -> list[RunAlarm]:
        """The alarm a step report raises: D's separation held above its threshold for long enough."""
        previous, self._last_step = self._last_step, step
        if self.d_gap <= 0 or d_x is None or d_g_z is None:
            return []
        streak = self._streaks["d_gap"]
        gap = d_x - d_g_z
        if gap <= self.d_gap or epoch < self.after or step < SETTLE_STEPS:
            streak.clear()
            return []
        if streak.since_step is None:
            streak.since_epoch, streak.since_step = epoch, max(previous, SETTLE_STEPS)
        held = step - streak.since_step
        if held >= self.d_steps and not streak.fired:
            streak.fired = True
            return [
                RunAlarm(
                    "d_gap",
                    epoch,
                    step,
                    streak.since_epoch,
                    f"D(x) - D(G(z)) has stayed above {self.d_gap:g} for {held} steps (now {d_x:.2f} - "
                    f"{d_g_z:.2f}) since epoch {streak.since_epoch}: D wins outright and G learns nothing from it",
                    {"d_x": d_x, "d_g_z": d_g_z, "steps": held},
                )
            ]
        return []

    def held_steps(self) -> int:
        """Steps D's separation has stayed above its threshold, up to the last report."""
        streak = self._streaks["d_gap"]
        return 0 if streak.since_step is None else self._last_step - streak.since_step

    def replay(self, rows: list[dict]) -> None:
        """Catch up with a run's metrics (a resume): the alarms it raised then are not raised again."""
        for row in rows:
            if row.get("kind") == "step":
                self.step(row.get("epoch", 0), row.get("step", 0), row.get("d_x"), row.get("d_g_z1"))
            elif row.get("kind") == "epoch":
                self.epoch(row.get("epoch", 0), row.get("step", 0), row)


# --- the best generators --------------------------------------------------------------------------


def best_index(checkpoints_dir: str | Path) -> dict:
    """``checkpoints/best/index.json``: {"best_by", "entries": [...best first], "marked"}; empty when absent."""
    path = Path(checkpoints_dir) / BEST_DIR / BEST_INDEX
    if not path.is_file():
        return {"best_by": None, "entries": [], "marked": None}
    data = jsonio.read_json(path, CheckpointError, "index of best generators")
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise CheckpointError(f"{path}: not an index of best generators")
    data.setdefault("marked", None)
    return data


def best_paths(checkpoints_dir: str | Path, n: int) -> list[Path]:
    """The files of the ``n`` best generators kept, best first; refused when fewer are kept."""
    folder = Path(checkpoints_dir) / BEST_DIR
    entries = best_index(checkpoints_dir)["entries"]
    if n < 1:
        raise StudioError("--best must be at least 1")
    if n > len(entries):
        kept = f"only {len(entries)} are kept" if entries else "none are kept (train with score_every > 0)"
        raise CheckpointError(f"{folder}: asked for the best {n} generators but {kept}")
    return [folder / e["file"] for e in entries[:n]]


class BestKeeper:
    """The ``keep`` best generators of a run by one score, as small files in ``checkpoints/best/``.

    Each file is a checkpoint (same format and checksums) holding one
    generator, its settings and its figures; ``index.json`` lists them best
    first. A file leaves only after the index without it is on disk.
    """

    def __init__(self, checkpoints_dir: str | Path, keep: int, best_by: str):
        self.folder = Path(checkpoints_dir) / BEST_DIR
        self.keep = keep
        self.best_by = best_by
        self.sign = SCORE_DIRECTIONS[best_by]
        index = best_index(checkpoints_dir)
        self.entries: list[dict] = [e for e in index["entries"] if self.best_by in e.get("scores", {})]
        self.entries.sort(key=self._rank)
        self.marked = index.get("marked")

    def _rank(self, entry: dict) -> tuple:
        return (-self.sign * entry["scores"][self.best_by], entry["step"])

    def forget_after(self, step: int) -> None:
        """Drop generators from after ``step`` (a run rewound to an earlier checkpoint)."""
        later = [e for e in self.entries if e["step"] > step]
        if later:
            self.entries = [e for e in self.entries if e["step"] <= step]
            self._write()
            self._remove(later)

    def offer(self, state: dict, which: str, scores: dict) -> bool:
        """Keep this generator if it is among the best; ``state`` is the checkpoint bundle to write."""
        value = scores.get(self.best_by)
        if value is None or self.keep < 1:
            return False
        entry = {
            "file": f"epoch_{state['epoch']:04d}_{which}.pt",
            "epoch": state["epoch"],
            "step": state["step"],
            "which": which,
            "scores": dict(scores),
        }
        ranked = sorted([e for e in self.entries if e["file"] != entry["file"]] + [entry], key=self._rank)
        if entry not in ranked[: self.keep]:
            return False
        self.folder.mkdir(parents=True, exist_ok=True)
        save_checkpoint(self.folder / entry["file"], {**state, "which": which, "scores": dict(scores)})
        dropped = ranked[self.keep :]
        self.entries = ranked[: self.keep]
        self._write()
        self._remove(dropped)
        return True

    def mark(self, reason: str) -> dict | None:
        """Mark the best generator kept as the one to use, with why; None when none is kept."""
        if not self.entries:
            return None
        self.marked = {**self.entries[0], "reason": reason, "marked_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        self._write()
        return self.marked

    def _write(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        index = {"best_by": self.best_by, "entries": self.entries, "marked": self.marked}
        atomic_write_json(self.folder / BEST_INDEX, jsonio.finite_or_none(index))

    def _remove(self, entries: list[dict]) -> None:
        kept = {e["file"] for e in self.entries} | ({self.marked["file"]} if self.marked else set())
        for e in entries:
            if e["file"] not in kept:
                (self.folder / e["file"]).unlink(missing_ok=True)


def mark_generator(checkpoints_dir: str | Path, path: str | Path, epoch: int, reason: str) -> dict:
    """Record ``path`` (a file of the run) as the generator to use in the index of best generators."""
    folder = Path(checkpoints_dir) / BEST_DIR
    index = best_index(checkpoints_dir)
    rel = Path(os.path.relpath(Path(path), folder)).as_posix()
    index["marked"] = {
        "file": rel,
        "epoch": epoch,
        "which": "g",
        "scores": {},
        "reason": reason,
        "marked_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / BEST_INDEX, jsonio.finite_or_none(index))
    return index["marked"]


# --- the trainer's side -----------------------------------------------------------------------------


class RunWatch:
    """The trainer's health checks and scoring, called at each step report and each epoch's end.

    ``trainer`` is the :class:`~studio.core.trainer.Trainer` being watched
    (its models, run folder, event callback and stop flag are used).
    Nothing here draws from the global random stream.
    """

    def __init__(self, trainer, judging: Judging | None = None):
        self.trainer = trainer
        cfg = trainer.config
        self.config = cfg
        self.judging = judging
        # Checked by the process that writes the run; an alarm's stop reaches the other ranks through
        # the trainer's agreed stop, so they need not repeat the probe.
        self.enabled = cfg.collapse_alarm and trainer.write_files
        self.probe = (
            HealthProbe(trainer.dataset, trainer.space, cfg.nz, judging, seed=cfg.seed) if self.enabled else None
        )
        self.detector = AlarmDetector.from_config(cfg, self.probe.space_text if self.probe else "pixels")
        # Scores are kept by the process that writes the run (rank 0 of a distributed one).
        self.scoring = cfg.score_every > 0 and judging is not None and judging.score is not None and trainer.write_files
        self.keeper = None
        self.alarms: list[RunAlarm] = []
        self._scored_epochs: list[int] = []
        self._figures: dict = {}
        if trainer.write_files:
            if self.scoring:
                self.keeper = BestKeeper(trainer.run_dir.checkpoints_dir, cfg.keep_best, cfg.best_by)
                self.keeper.forget_after(trainer.step)
            if trainer.step > 0 and self.enabled:
                self.detector.replay(trainer.run_dir.read_metrics(warn=False))

    # --- per report ---------------------------------------------------------------------------
    def step_report(self, epoch: int, values: dict) -> None:
        if not self.enabled:
            return
        for alarm in self.detector.step(epoch, self.trainer.step, values.get("d_x"), values.get("d_g_z1")):
            self._raise(alarm)

    # --- per epoch ------------------------------------------------------------------------------
    def epoch_figures(self) -> dict:
        """Health figures of the epoch just trained, for its metrics row (empty when the alarm is off)."""
        if not self.enabled:
            return {}
        try:
            with torch.random.fork_rng(devices=self._devices()):
                figures = self.probe.measure(self.trainer.g)
        except (StudioError, RuntimeError, ValueError) as exc:  # a judge that fails costs the check, not the run
            figures = {"health_error": one_line(exc)}
        figures["d_gap_steps"] = self.detector.held_steps()
        self._figures = figures
        return figures

    def epoch_end(self) -> None:
        """Score if due, then raise the alarms the epoch's figures call for and act on them."""
        t = self.trainer
        epoch = t.epoch
        figures, self._figures = self._figures, {}
        if self.scoring and (epoch % self.config.score_every == 0 or epoch >= self.config.epochs):
            self.score()
        if self.enabled:
            for alarm in self.detector.epoch(epoch, t.step, figures):
                self._raise(alarm, at_epoch_end=True)

    def finish(self) -> None:
        """At a stop the alarm asked for: score the last epoch if it has not been scored."""
        if self.scoring and (not self._scored_epochs or self._scored_epochs[-1] != self.trainer.epoch):
            self.score()

    def _devices(self) -> list:
        device = getattr(self.trainer, "device", torch.device("cpu"))
        return [device] if device.type == "cuda" else []

    def score(self) -> dict:
        """Score G (and its EMA) with the judge, log the figures, keep them among the best if they are."""
        t = self.trainer
        row: dict = {"kind": "score", "epoch": t.epoch, "step": t.step, "judge": self.judging.name}
        candidates = [("g", t.g)] + ([("ema", t.ema.module)] if t.ema is not None else [])
        started = time.perf_counter()
        for which, module in candidates:
            was_training = module.training
            try:
                with torch.random.fork_rng(devices=self._devices()):
                    scores = self.judging.score(module)
            except (StudioError, RuntimeError, ValueError) as exc:  # the run goes on unscored
                row[f"{which}_score_error"] = one_line(exc)
                continue
            finally:
                module.train(was_training)
            row.update({f"{which}_{k}": v for k, v in scores.items()})
            if self.keeper is not None:
                if self.keeper.offer(self._generator_state(which), which, scores):
                    row["kept"] = f"{row['kept']},{which}" if row.get("kept") else which  # text: not a figure
        row["score_time"] = f"{time.perf_counter() - started:.1f} s"  # text: the lab lists figures only
        self._scored_epochs.append(t.epoch)
        if t.write_files:
            t.run_dir.append_metrics([row])
        return row

    def _generator_state(self, which: str) -> dict:
        """One generator (G, or the EMA's weights as a G) in the snapshot format, without an EMA of its own."""
        t = self.trainer
        module = t.g if which == "g" else t.ema.module
        return snapshot_state(t.epoch, t.step, t.config.to_dict(), t.space.to_dict(), module, None)

    # --- alarms -----------------------------------------------------------------------------------
    def _raise(self, alarm: RunAlarm, at_epoch_end: bool = False) -> None:
        t = self.trainer
        alarm.action = self.config.on_alarm
        if alarm.action == "stop-and-mark-best":
            alarm.marked = self._mark_best(alarm, at_epoch_end)
        self.alarms.append(alarm)
        if t.write_files:
            row = {
                "kind": "alarm",
                "epoch": alarm.epoch,
                "step": alarm.step,
                "alarm": alarm.kind,
                "since_epoch": alarm.since_epoch,
                "message": alarm.message,
                "action": alarm.action,
                "marked": alarm.marked,
            }
            t.run_dir.append_metrics([row])
        t.on_event(alarm)
        if alarm.action != "none":
            t.request_stop()

    def _mark_best(self, alarm: RunAlarm, at_epoch_end: bool) -> str:
        """The generator to use after a collapse: the best by score, else the last epoch's before it began."""
        t = self.trainer
        if not t.write_files:
            return ""
        reason = f"{alarm.kind} alarm at epoch {alarm.epoch}"
        if self.keeper is not None:
            if at_epoch_end:  # mid-epoch, the generator is not that of a finished epoch: the kept ones decide
                self.finish()
            marked = self.keeper.mark(reason)
            if marked is not None:
                return str(self.keeper.folder / marked["file"])
        before = [c for c in t.run_dir.epoch_generators() if c.epoch < alarm.since_epoch]
        if not before:
            return ""
        chosen = before[-1]
        full = t.run_dir.checkpoint_path(chosen.epoch)
        if full.is_file():
            try:  # kept whatever the retention of full checkpoints says
                from studio.core.retention import pin

                pin(t.run_dir, full)
                chosen_path = full
            except StudioError:
                chosen_path = chosen.path
        else:
            chosen_path = chosen.path
        mark_generator(
            t.run_dir.checkpoints_dir, chosen_path, chosen.epoch, f"{reason}: the last epoch before it began"
        )
        return str(chosen_path)

"""The training loop shared by every GAN family, with no knowledge of Qt.

One step reads top to bottom like the PyTorch DCGAN example: D on real, D on
``fake.detach()``, then G.  The config selects small functions (the
adversarial loss, the condition space's auxiliary loss) instead of adding
branches to the loop.  The trainer reports :mod:`studio.core.events` to one
callback and polls stop/pause flags between steps, so any thread may control
it.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import torch
from torch.optim.swa_utils import AveragedModel

from studio.core.atomic import atomic_save_image
from studio.core.augment import BatchDraws, consistency_loss, diff_augment, policy_text, resolve_policy
from studio.core.checkpoint import checkpoint_config, load_checkpoint, resume_refusal, save_checkpoint
from studio.core.compiled import CompiledStep
from studio.core.conditions import ConditionSpace, NoCondition
from studio.core.config import TrainConfig, architecture_keys
from studio.core.d2dce import aux_criterion
from studio.core.device import Precision, resolve_device, resolve_precision
from studio.core.distributed import SINGLE
from studio.core.events import (
    METRIC_NAMES,
    CheckpointSaved,
    EpochEnd,
    Event,
    RunError,
    RunFinished,
    RunNotice,
    RunPaused,
    RunResumed,
    RunStarted,
    StepMetrics,
)
from studio.core.losses import adversarial_loss, d_targets, gradient_penalty, mode_seeking_loss, paired_labels
from studio.core.models import build_models, count_parameters
from studio.core.monitor import Judging, RunWatch
from studio.core.regularizers import LazyR1, LeCam
from studio.core.retention import apply_retention, disk_full_note
from studio.core.rundir import RunDirectory
from studio.core.runstatus import StatusReporter
from studio.core.sampling import GRID_PADDING, generate_grid, grid_noise, to_uint8_grid
from studio.core.snapshot import save_snapshot
from studio.core.threads import ThreadGovernor, reserved_cores
from studio.errors import CheckpointError, ConfigError, StudioError, TrainingError, one_line

__all__ = ["Trainer", "check_trainable"]

# Per-step figures accumulate on the device as one vector, read back once per report.
_D_FIGURES = ("d_loss", "d_x", "d_g_z1", "aux_acc_real", "aux_acc_fake")
_G_FIGURES = ("g_loss", "d_g_z2")
# The fixed grid noise is drawn from its own seed so it never depends on training.
_GRID_SEED_OFFSET = 1_000_003


def warmed_ema(decay: float):
    """EMA update whose decay warms up as min(decay, (1 + n) / (10 + n)) after n updates.

    With a fixed 0.999 the average still holds 0.999^n of G's random initial
    weights after n steps (10% after 2,300 steps), which is most of a short
    run: its samples were no better than chance at their conditions.
    """

    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], num_averaged) -> None:
        n = int(num_averaged)
        d = min(decay, (1.0 + n) / (10.0 + n))
        if torch.is_floating_point(averaged[0]):
            torch._foreach_lerp_(averaged, current, 1.0 - d)
        else:  # integer buffers such as BatchNorm's batch count
            for a, c in zip(averaged, current):
                a.copy_(c)

    return update


class _Figures:
    """Sums of the step figures on the device; one host read per report."""

    def __init__(self, device: torch.device):
        self.device = device
        self.reset()

    def reset(self) -> None:
        self.d = torch.zeros(len(_D_FIGURES), device=self.device)
        self.g = torch.zeros(len(_G_FIGURES), device=self.device)
        self.d_count = 0
        self.g_count = 0

    def add_d(self, values: torch.Tensor) -> None:
        self.d += values
        self.d_count += 1

    def add_g(self, values: torch.Tensor) -> None:
        self.g += values
        self.g_count += 1

    def means(self, has_aux: bool) -> dict[str, float | None]:
        d = (self.d / max(self.d_count, 1)).tolist()
        g = (self.g / max(self.g_count, 1)).tolist()
        values: dict[str, float | None] = dict(zip(_D_FIGURES, d))
        values.update(zip(_G_FIGURES, g) if self.g_count else {k: None for k in _G_FIGURES})
        if not has_aux:
            values["aux_acc_real"] = values["aux_acc_fake"] = None
        return {k: values[k] for k in METRIC_NAMES}


def check_trainable(config: TrainConfig, dataset, source: str = "config") -> None:
    """Refuse, before any run folder exists, what would fail as training starts: settings, device, data shape."""
    config.validate(source)
    config.check_against(dataset.space, source=source)
    resolve_device(config.device)
    if dataset.image_size != config.image_size or dataset.channels != config.channels:
        raise ConfigError(
            f"{dataset.spec}: images are {dataset.channels}x{dataset.image_size}px, "
            f"the model expects {config.channels}x{config.image_size}px"
        )
    if len(dataset) < config.batch_size:
        raise ConfigError(
            f"{dataset.spec}: {len(dataset)} images is fewer than one batch ({config.batch_size}); lower batch_size"
        )


class Trainer:
    """Trains one run; ``run()`` blocks until it completes, stops or fails.

    ``resume_from`` continues from a checkpoint of ``run``; ``max_steps`` ends
    the run early after that many steps in total (tests, benchmarks).
    """

    def __init__(
        self,
        config: TrainConfig,
        dataset,
        run: RunDirectory,
        on_event: Callable[[Event], None] | None = None,
        resume_from: str | Path | None = None,
        max_steps: int | None = None,
        write_files: bool = True,
        judging: Judging | None = None,
        distributed=None,
    ):
        check_trainable(config, dataset, source=str(run.config_path))
        self.config = config
        self.dataset = dataset
        self.run_dir = run
        self.on_event = on_event or (lambda event: None)
        self.resume_from = Path(resume_from) if resume_from else None
        self.max_steps = max_steps
        # One rank of a torch.distributed group (studio.core.distributed), or one process alone.
        self.dist = distributed or SINGLE
        self.dist.check(config, source=str(run.config_path))
        self.write_files = write_files and self.dist.is_main  # only rank 0 writes
        self.judging = judging  # the app's judge, lent for the health checks and scores (None: pixels, no scores)
        self.space: ConditionSpace = dataset.space if config.conditional else NoCondition()
        self._stop = threading.Event()
        self._pause = threading.Event()
        self.epoch = 0  # complete epochs
        self.step = 0  # global steps (D updates)
        self._saved_step: int | None = None  # global step of the last checkpoint written or resumed from
        self._lock = None

    # --- control from any thread ---------------------------------------------
    def request_stop(self) -> None:
        self._stop.set()

    def request_pause(self) -> None:
        self._pause.set()

    def request_resume(self) -> None:
        self._pause.clear()

    @property
    def paused(self) -> bool:
        return self._pause.is_set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    # --- setup ---------------------------------------------------------------
    def _setup(self) -> None:
        cfg = self.config
        self.device = resolve_device(cfg.device)
        self.precision: Precision = resolve_precision(cfg.precision, self.device)
        self.has_aux = cfg.family_spec.has_aux and self.space.is_conditional
        self.loss = adversarial_loss(cfg.loss)
        self.aux_loss, self.aux_accuracy = aux_criterion(cfg, self.space)  # ACGAN's ce or ReACGAN's d2d-ce
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True  # cuDNN convolutions use TF32 already

        self._threads_setup()
        torch.manual_seed(cfg.seed)
        self.data_rng = torch.Generator().manual_seed(cfg.seed)
        g, d = build_models(cfg, self.space)
        self.memory_format = torch.channels_last
        self.g = g.to(self.device, memory_format=self.memory_format)
        self.d = d.to(self.device, memory_format=self.memory_format)
        adam = {"fused": True} if self.device.type == "cuda" else {"foreach": True}
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=cfg.g_lr, betas=tuple(cfg.g_betas), **adam)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=cfg.d_lr, betas=tuple(cfg.d_betas), **adam)
        gamma = cfg.lr_gamma if cfg.lr_step_epochs else 1.0
        step_size = max(cfg.lr_step_epochs, 1)
        self.sched_g = torch.optim.lr_scheduler.StepLR(self.opt_g, step_size=step_size, gamma=gamma)
        self.sched_d = torch.optim.lr_scheduler.StepLR(self.opt_d, step_size=step_size, gamma=gamma)
        self.ema = AveragedModel(self.g, multi_avg_fn=warmed_ema(cfg.ema_decay), use_buffers=True) if cfg.ema else None
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision.needs_scaler)
        # Opt-in regularisers of D (core/regularizers.py); None when off, so the step does nothing extra.
        self.lecam = LeCam(cfg.lecam_weight, device=self.device) if cfg.lecam_weight > 0 else None
        self.r1 = LazyR1(cfg.r1_gamma, cfg.r1_every) if cfg.r1_gamma > 0 else None
        # DiffAugment's policy (core/augment.py), decided once from the set's size and conditions; () when off.
        self.augment = resolve_policy(cfg, len(self.dataset), self.space, source=str(self.run_dir.config_path))
        self.draws = BatchDraws(self.dist.share, self.dist.world)  # drawn for the whole batch, as _noise is

        self._place_data()
        self.steps_per_epoch = len(self.dataset) // cfg.batch_size
        self.grid = self.space.default_grid(cfg.sample_grid_max)
        self.grid_z = grid_noise(self.grid, cfg.nz, cfg.seed + _GRID_SEED_OFFSET)
        self.figures = _Figures(self.device)
        self.epoch_figures = _Figures(self.device)
        self.resume_epoch_step = 0
        self.epoch_rng_state = self.data_rng.get_state()
        if self.resume_from is not None:
            self._restore(self.resume_from)
        # What the steps call: DDP wrappers in a distributed run (G and D themselves in one process).
        unused_head = getattr(self.d, "aux_head", None) is not None and not self.has_aux
        self.g_net, self.d_net = self.dist.wrap(self.g, self.d, self.device, d_head_unused=unused_head)
        self.d_penalty_net = self.d_net  # penalties that differentiate twice (WGAN-GP, R1) need D uncompiled
        # compile on: the steps call compiled G and D, redone with the plain ones where compiling fails
        self.compiled = CompiledStep(self) if cfg.compile == "on" else None
        self.watch = RunWatch(self, self.judging)

    def _threads_setup(self) -> None:
        """CPU only: a fixed thread count (cpu_threads N), or a governor that follows the cores left free."""
        self._threads_before = torch.get_num_threads()
        self.governor = None
        if self.device.type != "cpu":
            return
        if self.config.cpu_threads:
            torch.set_num_threads(self.config.cpu_threads)
        else:
            limit = max(1, torch.get_num_threads() - reserved_cores())
            if limit != torch.get_num_threads():
                torch.set_num_threads(limit)
            self.governor = ThreadGovernor(limit)

    def _threads_poll(self) -> None:
        if self.governor is None:
            return
        threads = self.governor.poll()
        if threads is not None:
            why = "other programs busy on the CPU" if threads < self.governor.max_threads else "cores free again"
            self.on_event(RunNotice(f"{why}: training on {threads} of {self.governor.max_threads} threads", self.step))

    def _threads_restore(self) -> None:
        before = getattr(self, "_threads_before", None)
        if before is not None and torch.get_num_threads() != before:
            torch.set_num_threads(before)

    def _place_data(self) -> None:
        images, labels = self.dataset.images, self.dataset.labels
        if self.device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(self.device)
            if images.numel() < free // 3:  # leave room for the models
                images = images.to(self.device)
                labels = labels.to(self.device)
        self.images, self.labels = images, labels

    # --- checkpoints ----------------------------------------------------------
    def _state(self, epoch_step: int) -> dict:
        # Mid-epoch, the data order is rebuilt from the state at the epoch's start;
        # at an epoch's end, the next epoch draws from the current state.
        data_state = self.epoch_rng_state if epoch_step else self.data_rng.get_state()
        rng = {"torch": torch.get_rng_state(), "data": data_state}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return {
            "epoch": self.epoch,
            "step": self.step,
            "epoch_step": epoch_step,
            "config": self.config.to_dict(),
            "space": self.space.to_dict(),
            "g": self.g.state_dict(),
            "d": self.d.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "sched_g": self.sched_g.state_dict(),
            "sched_d": self.sched_d.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "lecam": self.lecam.state_dict() if self.lecam is not None else None,
            "rng": rng,
            "precision": self.precision.name,
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }

    def _save_checkpoint(self, epoch_step: int = 0) -> None:
        self.dist.average_(self.figures.d, self.figures.g)  # a non-finite loss on any rank stops every rank
        self.dist.check_consistency({"G": self.g, "D": self.d, "EMA": self.ema}, self.step)
        self._check_finite()
        if not self.write_files or self._saved_step == self.step:
            return  # a stop right after a checkpoint (or the one resumed from) has nothing new to save
        # A mid-epoch checkpoint is named after the epoch in progress.
        name_epoch = self.epoch + 1 if epoch_step else self.epoch
        path = self.run_dir.checkpoint_path(name_epoch, epoch_step)
        save_checkpoint(path, self._state(epoch_step))
        self._saved_step = self.step
        # Older full checkpoints go only now, with the newer one completely on disk.
        apply_retention(self.run_dir, self.config.keep_checkpoints, path)
        self.on_event(CheckpointSaved(str(path), self.epoch, self.step))

    def _restore(self, path: Path) -> None:
        state = load_checkpoint(path)
        refusal = resume_refusal(state, path)
        if refusal:
            raise CheckpointError(refusal)
        saved_config, saved_space = checkpoint_config(state, path)
        if saved_space != self.space:
            raise CheckpointError(
                f"{path}: trained on condition space {saved_space.describe()}, this run uses {self.space.describe()}"
            )
        arch_keys = architecture_keys(self.config.family)
        changed = [k for k in arch_keys if getattr(saved_config, k) != getattr(self.config, k)]
        if changed:
            raise CheckpointError(f"{path}: its model differs from this run's in {', '.join(changed)}")
        try:
            self.g.load_state_dict(state["g"])
            self.d.load_state_dict(state["d"])
            self.opt_g.load_state_dict(state["opt_g"])
            self.opt_d.load_state_dict(state["opt_d"])
            self.sched_g.load_state_dict(state["sched_g"])
            self.sched_d.load_state_dict(state["sched_d"])
            if self.ema is not None and state.get("ema"):
                self.ema.load_state_dict(state["ema"])
            if state.get("scaler") and self.scaler.is_enabled():
                self.scaler.load_state_dict(state["scaler"])
            if self.lecam is not None and state.get("lecam"):  # older checkpoints: fresh averages
                self.lecam.load_state_dict(state["lecam"])
            torch.set_rng_state(state["rng"]["torch"])
            if self.device.type == "cuda" and "cuda" in state["rng"]:
                torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)
            self.epoch_rng_state = state["rng"]["data"]
            self.data_rng.set_state(self.epoch_rng_state)
        except (KeyError, RuntimeError, ValueError, TypeError, AttributeError) as exc:
            raise CheckpointError(f"{path}: cannot resume from it ({one_line(exc)})") from None
        self.epoch, self.step = state["epoch"], state["step"]
        if "diffaugment" not in state["config"]:
            self.augment = ()  # trained before DiffAugment existed: it resumes as it was trained, unaugmented
        self.resume_epoch_step = state.get("epoch_step", 0)
        if self.resume_epoch_step >= self.steps_per_epoch:
            raise CheckpointError(
                f"{path}: written {self.resume_epoch_step} steps into an epoch of {self.steps_per_epoch}; "
                "the dataset or batch size changed since"
            )
        self._saved_step = self.step
        if self.write_files:
            self.run_dir.truncate_metrics(self.step)
            # Marked on the plots; "at" is text so per-epoch figure readers skip it.
            at = time.strftime("%Y-%m-%d %H:%M:%S")
            self.run_dir.append_metrics([{"kind": "resume", "epoch": self.epoch, "step": self.step, "at": at}])

    # --- one step ------------------------------------------------------------
    def _batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = self.images[index], self.labels[index]
        if images.device.type == "cpu" and self.device.type != "cpu":
            # a set too big for the GPU streams from pinned memory
            images = images.pin_memory().to(self.device, non_blocking=True)
            labels = labels.to(self.device, non_blocking=True)
        real = images.float().div_(127.5).sub_(1.0).contiguous(memory_format=self.memory_format)
        return real, labels

    def _noise(self, n: int) -> torch.Tensor:
        # Drawn for the whole batch on every rank; each keeps its share (all of it in one process).
        return self.dist.share(torch.randn(self.dist.world * n, self.config.nz, device=self.device))

    def _aux(self, logits: torch.Tensor | None, labels: torch.Tensor) -> torch.Tensor:
        if not self.has_aux:
            return torch.zeros((), device=self.device)
        return self.config.aux_weight * self.aux_loss(logits, labels)

    def _aux_acc(self, logits: torch.Tensor | None, labels: torch.Tensor) -> torch.Tensor:
        if not self.has_aux:
            return torch.zeros((), device=self.device)
        return self.aux_accuracy(logits.detach().float(), labels)

    def _fake_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """Conditions of a step's fakes: the real batch's, paired up when the mode-seeking term needs pairs."""
        return paired_labels(labels) if self.config.mode_seeking > 0 else labels

    def _d_step(
        self, real: torch.Tensor, labels: torch.Tensor, fake_labels: torch.Tensor, keep_fake: bool
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Update D once; with ``keep_fake`` return the fakes (with G's graph) and their noise for the G step.

        Reusing the D step's fakes in the next G step, as the DCGAN example does,
        saves one G forward pass per iteration.
        """
        cond = self.space.encode(labels)
        fake_cond = cond if fake_labels is labels else self.space.encode(fake_labels)
        n = real.shape[0]
        real_t, fake_t = map(self.dist.share, d_targets(self.config, self.dist.world * n, self.device))
        z = self._noise(n)
        with self.precision.autocast():
            with torch.set_grad_enabled(keep_fake):
                fake = self.g_net(z, fake_cond)
            # DiffAugment: real and fake reach D (and its aux head) through the same random transformations,
            # each image its own; with the policy off diff_augment returns its input.
            real_in = diff_augment(real, self.augment, self.draws)
            fake_in = diff_augment(fake.detach(), self.augment, self.draws)
            real_logit, real_aux = self.d_net(real_in, cond)
            fake_logit, fake_aux = self.d_net(fake_in, fake_cond)
            loss = self.loss.d(real_logit, fake_logit, real_t, fake_t)
            loss = loss + self._aux(real_aux, labels)
            if self.config.aux_on_fake:
                loss = loss + self._aux(fake_aux, fake_labels)
            if self.config.cr_weight > 0:  # bCR: D's answer should not change when its images shift
                consistency = consistency_loss(self.d_net, real_in, cond, real_logit, self.draws)
                consistency = consistency + consistency_loss(self.d_net, fake_in, fake_cond, fake_logit, self.draws)
                loss = loss + self.config.cr_weight * consistency
        # The gradient penalty reads the images before augmentation.
        if self.loss.penalised:
            alpha = self.dist.share(torch.rand(self.dist.world * n, 1, 1, 1, device=self.device))
            loss = loss + self.config.gp_weight * gradient_penalty(self.d_penalty_net, real, fake.detach(), cond, alpha)
        if self.lecam is not None:  # the ranks' mean logits are averaged so every rank keeps the same averages
            loss = loss + self.lecam(real_logit, fake_logit, self.dist.average_)
        if self.r1 is not None and self.r1.due(self.step):  # at the real images D saw (augmented, where on)
            loss = loss + self.r1(self.d_penalty_net, real_in, cond)
        self.opt_d.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.opt_d)
        self.scaler.update()
        figures = torch.stack(
            [
                loss.detach().float(),
                torch.sigmoid(real_logit.detach().float()).mean(),
                torch.sigmoid(fake_logit.detach().float()).mean(),
                self._aux_acc(real_aux, labels),
                self._aux_acc(fake_aux, fake_labels),
            ]
        )
        self.figures.add_d(figures)
        self.epoch_figures.add_d(figures)
        return (fake, z) if keep_fake else None

    def _g_step(self, labels: torch.Tensor, kept: tuple[torch.Tensor, torch.Tensor] | None = None) -> None:
        """Update G once on ``labels``, with the D step's fakes and noise when ``kept``, else fresh ones."""
        cond = self.space.encode(labels)
        # G's update needs gradients through D, not of D's weights: freezing D
        # skips its weight-gradient convolutions (about a tenth of a step).
        self.d.requires_grad_(False)
        try:
            with self.precision.autocast():
                if kept is None:
                    z = self._noise(labels.shape[0])
                    fake = self.g_net(z, cond)
                else:
                    fake, z = kept
                with self.dist.no_sync(self.d_net):  # frozen D: no gradients of its own to average
                    logit, aux = self.d_net(diff_augment(fake, self.augment, self.draws), cond)
                loss = self.loss.g(logit) + self._aux(aux, labels)
                if self.config.mode_seeking > 0:
                    loss = loss + self.config.mode_seeking * mode_seeking_loss(fake, z)
            self.opt_g.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
        finally:
            self.d.requires_grad_(True)
        self.scaler.step(self.opt_g)
        self.scaler.update()
        if self.ema is not None:
            self.ema.update_parameters(self.g)
        figures = torch.stack([loss.detach().float(), torch.sigmoid(logit.detach().float()).mean()])
        self.figures.add_g(figures)
        self.epoch_figures.add_g(figures)

    def _iteration(self, real: torch.Tensor, labels: torch.Tensor, g_turn: bool) -> None:
        """One D step, then G's where it is G's turn: all that a step changes happens in here (core/compiled.py)."""
        fake_labels = self._fake_labels(labels)
        kept = self._d_step(real, labels, fake_labels, keep_fake=g_turn)
        if g_turn:
            self._g_step(fake_labels, kept)
            for _ in range(self.config.g_steps - 1):
                self._g_step(fake_labels)

    # --- reporting -----------------------------------------------------------
    def _lrs(self) -> dict[str, float]:
        return {"g_lr": self.opt_g.param_groups[0]["lr"], "d_lr": self.opt_d.param_groups[0]["lr"]}

    def _check_finite(self) -> None:
        """Stop before a non-finite loss reaches a checkpoint."""
        if self.figures.d_count == 0 and self.figures.g_count == 0:
            return
        losses = torch.stack([self.figures.d[0], self.figures.g[0]])
        if not bool(torch.isfinite(losses).all()):
            latest = self.run_dir.latest_checkpoint() if self.write_files else None
            kept = f"the last checkpoint, {latest.path.name}, was kept" if latest else "no checkpoint had been written"
            raise TrainingError(
                f"the loss became non-finite (NaN or infinity) near step {self.step}, epoch {self.epoch + 1}; "
                f"training stopped and {kept}. Try a lower learning rate, precision float32, or spectral norm in D"
            )

    def _report(self, epoch: int, epoch_step: int, rate: float) -> None:
        self.dist.average_(self.figures.d, self.figures.g)  # the whole batch's figures, over all ranks
        self._check_finite()
        values = self.figures.means(self.has_aux)
        self.figures.reset()
        lrs = self._lrs()
        if self.write_files:
            row = {"kind": "step", "epoch": epoch, "step": self.step, **values, **lrs, "images_per_second": rate}
            row["time"] = round(time.time(), 3)  # wall clock, for plots against training time
            self.run_dir.append_metrics([row])
        self.on_event(StepMetrics(epoch, self.step, epoch_step, self.steps_per_epoch, values, rate, lrs))
        self.watch.step_report(epoch, values)

    def _end_epoch(self, seconds: float, images: int) -> None:
        epoch = self.epoch
        self.dist.average_(self.epoch_figures.d, self.epoch_figures.g)
        means = self.epoch_figures.means(self.has_aux)
        self.epoch_figures.reset()
        means.update(self.watch.epoch_figures())  # diversity, judge_acc, d_gap_steps: see core/monitor.py
        lrs = self._lrs()
        self.g.eval()
        with torch.no_grad():
            mosaic = to_uint8_grid(generate_grid(self.g, self.space, self.grid, self.grid_z), self.grid.cols)
        self.g.train()
        path = self.run_dir.sample_path(epoch)
        rate = images / max(seconds, 1e-9)
        if self.write_files:
            from PIL import Image

            atomic_save_image(Image.fromarray(mosaic), path)
            snapshot = self.run_dir.snapshot_path(epoch)
            save_snapshot(snapshot, epoch, self.step, self.config, self.space, self.g, self.ema)
            row = {"kind": "epoch", "epoch": epoch, "step": self.step, **means, **lrs}
            row.update(seconds=seconds, images_per_second=rate)
            self.run_dir.append_metrics([row])
        self.on_event(
            EpochEnd(
                epoch=epoch,
                step=self.step,
                grid=mosaic,
                rows=self.grid.rows,
                cols=self.grid.cols,
                row_captions=list(self.grid.row_captions),
                col_captions=list(self.grid.col_captions),
                cell_size=self.config.image_size,
                padding=GRID_PADDING,
                means=means,
                seconds=seconds,
                images_per_second=rate,
                lrs=lrs,
                sample_path=str(path),
            )
        )
        self.sched_g.step()
        self.sched_d.step()

    # --- the loop --------------------------------------------------------------
    def _wait_while_paused(self) -> float:
        """Block while paused; returns the seconds spent paused."""
        # In a distributed run every rank pauses, resumes and stops at the same step (dist.control).
        stopping, pausing = self.dist.control(self._stop, self._pause)
        if not pausing:
            return 0.0
        started = time.perf_counter()
        self.on_event(RunPaused(self.step))
        while pausing and not stopping:
            self._stop.wait(0.05)
            stopping, pausing = self.dist.control(self._stop, self._pause)
        self.on_event(RunResumed(self.step))
        return time.perf_counter() - started

    def _should_stop(self) -> bool:
        stopping, _ = self.dist.control(self._stop, self._pause)
        return stopping or (self.max_steps is not None and self.step >= self.max_steps)

    def _train_epoch(self) -> bool:
        """One pass over the data; False when a stop or max_steps ended it early."""
        cfg = self.config
        epoch = self.epoch + 1
        if self.resume_epoch_step == 0 and self._should_stop():
            # At an epoch boundary: checkpoint the end of the last epoch (once) before the next epoch draws its
            # data order, so a resume repeats a straight run exactly.
            self._save_checkpoint()
            return False
        self.epoch_rng_state = self.data_rng.get_state()
        order = torch.randperm(len(self.dataset), generator=self.data_rng).to(self.images.device)
        first = self.resume_epoch_step
        self.resume_epoch_step = 0
        started = report_started = time.perf_counter()
        report_images = 0
        epoch_images = 0
        for i in range(first, self.steps_per_epoch):
            paused = self._wait_while_paused()
            started += paused
            report_started += paused
            if self._should_stop():
                self._save_checkpoint(epoch_step=i)
                return False
            self._threads_poll()
            real, labels = self._batch(self.dist.share(order[i * cfg.batch_size : (i + 1) * cfg.batch_size]))
            g_turn = (i + 1) % cfg.d_steps == 0
            if self.compiled is None:
                self._iteration(real, labels, g_turn)
            else:
                self.compiled(self._iteration, real, labels, g_turn)
            self.step += 1
            report_images += cfg.batch_size  # the whole batch, over all ranks
            epoch_images += cfg.batch_size
            if self.step % cfg.log_every == 0 or i + 1 == self.steps_per_epoch:
                now = time.perf_counter()
                self._report(epoch, i + 1, report_images / max(now - report_started, 1e-9))
                report_started, report_images = now, 0
        self.epoch = epoch
        self._end_epoch(time.perf_counter() - started, epoch_images)
        if epoch % cfg.checkpoint_every == 0 or epoch == cfg.epochs:
            self._save_checkpoint()
        self.watch.epoch_end()
        return True

    def run(self) -> RunFinished:
        """Train until the configured epochs are done, a stop is requested, or an error."""
        status = None
        try:
            if self.write_files:
                self._lock = self.run_dir.lock()
                # status.json for windows that follow the run from its files; control.json for their requests
                self.on_event = status = StatusReporter(self.run_dir, self.on_event, self).start()
            self._setup()
            self.on_event(
                RunStarted(
                    run_dir=str(self.run_dir.path),
                    device=str(self.device),
                    precision=self.precision.name,
                    start_epoch=self.epoch,
                    start_step=self.step,
                    epochs=self.config.epochs,
                    steps_per_epoch=self.steps_per_epoch,
                    batch_size=self.config.batch_size,
                    g_parameters=count_parameters(self.g),
                    d_parameters=count_parameters(self.d),
                    has_aux=self.has_aux,
                    augment=policy_text(self.augment),
                )
            )
            while self.epoch < self.config.epochs:
                if not self._train_epoch():
                    return self._finish("stopped")
            return self._finish("completed")
        except StudioError as exc:
            return self._fail(str(exc), "")
        except torch.OutOfMemoryError:
            return self._fail(
                f"out of memory on {self.config.device} at batch size {self.config.batch_size}; "
                "lower batch_size, ngf/ndf or image_size",
                traceback.format_exc(),
            )
        except OSError as exc:  # a full disk, a folder made read-only: the file and the problem
            where = f"{exc.filename}: " if exc.filename else ""
            kept = disk_full_note(exc, self.run_dir if self.write_files else None)
            return self._fail(f"{where}{exc.strerror or exc}{kept}", traceback.format_exc())
        except Exception as exc:  # noqa: BLE001 - a bug, reported rather than killing the caller's thread
            return self._fail(f"{type(exc).__name__}: {exc}", traceback.format_exc())
        finally:
            self._threads_restore()
            if status is not None:
                status.close()
                self.on_event = status.forward
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def _finish(self, reason: str) -> RunFinished:
        event = RunFinished(reason, self.epoch, self.step)
        self.on_event(event)
        return event

    def _fail(self, message: str, details: str) -> RunFinished:
        self.on_event(RunError(message, details))
        event = RunFinished("error", self.epoch, self.step, message)
        self.on_event(event)
        return event

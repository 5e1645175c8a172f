"""Training as one rank of a ``torch.distributed`` group started by ``torchrun``.

The trainer talks to a :class:`Distributed` object for everything that
differs between one process and many; the single-process object does
nothing, so the loop has no branches for it.  In a group of ``world``
processes (nccl on CUDA, gloo on the CPU):

* ``batch_size`` stays the global batch.  Every rank draws the same data
  order, noise, targets and penalty mixes from the same seeds, for the whole
  batch, and keeps its own contiguous share (:meth:`Distributed.share`), so
  an iteration of the group computes what one process computes on the whole
  batch, BatchNorm statistics aside (each rank normalises its own share unless
  SyncBatchNorm is on).  A batch size that the world size does not divide is
  refused, rather than giving one rank a smaller share that would weigh its
  images more in the averaged gradient.
* G and D are each wrapped in DistributedDataParallel with
  ``broadcast_buffers=False`` (a buffer broadcast inside D(real), D(fake)
  breaks the backward of BatchNorm); D runs under ``no_sync`` in G's step,
  where its weights are frozen; ``find_unused_parameters`` only where D has a
  head no loss reaches.
* Stop and pause requests are agreed on by all ranks (one small all-reduce on
  a CPU group per step, overlapped with the next step), so every rank stops at
  the same step and the checkpoint rank 0 then writes is complete.
* Before each checkpoint the ranks compare their weights; a difference stops
  the run with a message, before anything is written.

Only rank 0 writes files; checkpoints hold the unwrapped models' state, so a
checkpoint resumes at any world size.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

from studio.errors import ConfigError, StudioError, TrainingError

__all__ = [
    "Distributed",
    "ProcessGroup",
    "SINGLE",
    "launched_by_torchrun",
    "init_from_env",
    "timeout_seconds",
    "is_communication_error",
    "DEFAULT_TIMEOUT_S",
]

# How long a rank waits in one collective before giving up: long enough for rank 0 to write a
# checkpoint and a sample grid to a slow network drive while the others wait, short enough that a
# rank lost without a trace (a machine switched off) ends the run rather than leaving it hanging.
# A rank that is merely killed closes its sockets: the others notice within seconds.
DEFAULT_TIMEOUT_S = 600
TIMEOUT_ENV = "STUDIO_DIST_TIMEOUT"
_TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
# Largest difference between two ranks' weights that still counts as equal: the ranks apply the same
# averaged gradients with the same arithmetic, so in practice they agree bit for bit; a rank that
# missed one update differs by about a learning rate (1e-4).
CONSISTENCY_TOLERANCE = 1e-6


def launched_by_torchrun(environ=None) -> bool:
    """Whether this process is one rank of a group started by torchrun (its environment variables are set)."""
    environ = os.environ if environ is None else environ
    return all(key in environ for key in _TORCHRUN_ENV)


def timeout_seconds(environ=None) -> float:
    environ = os.environ if environ is None else environ
    text = environ.get(TIMEOUT_ENV)
    if not text:
        return float(DEFAULT_TIMEOUT_S)
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ConfigError(f"{TIMEOUT_ENV}={text!r}: give the seconds a rank waits for the others, e.g. 600")
    return value


_COMMUNICATION_HINTS = (
    "connection closed by peer",
    "connection reset by peer",
    "broken pipe",
    "gloo",
    "nccl",
    "distbackenderror",
    "timed out",
    "timeout",
)


def is_communication_error(message: str) -> bool:
    """Whether a rank's failure is only the echo of another rank's: a collective that lost its peer."""
    text = message.lower()
    return any(hint in text for hint in _COMMUNICATION_HINTS)


class Distributed:
    """One process training alone: every method is the identity or does nothing."""

    rank = 0
    local_rank = 0
    world = 1
    is_main = True
    distributed = False
    backend = ""
    sync_batchnorm = False

    def describe(self) -> str:
        return "one process"

    # --- the batch ------------------------------------------------------------------
    def check(self, config, source: str = "config") -> None:
        """Refuse settings this group cannot train."""

    def share(self, tensor: torch.Tensor) -> torch.Tensor:
        """This rank's rows of a tensor drawn for the whole batch (all of it in one process)."""
        return tensor

    # --- the models -----------------------------------------------------------------
    def wrap(self, g: nn.Module, d: nn.Module, device: torch.device, d_head_unused: bool = False):
        """The modules the steps call: G and D themselves in one process."""
        return g, d

    def no_sync(self, module: nn.Module):
        """A context in which ``module``'s backward does not average gradients across ranks."""
        return contextlib.nullcontext()

    # --- agreement --------------------------------------------------------------------
    def control(self, stop, pause) -> tuple[bool, bool]:
        """(stop, pause) as every rank acts on them now; ``stop`` and ``pause`` are this process's requests."""
        return stop.is_set(), pause.is_set()

    def average_(self, *tensors: torch.Tensor) -> None:
        """Replace each tensor by its mean over the ranks, in place."""

    def check_consistency(self, modules: dict, step: int) -> None:
        """Stop the run when the ranks' weights differ."""

    def from_main(self, make: Callable, encode: Callable = lambda x: x, decode: Callable = lambda x: x):
        """``make()`` on rank 0, its result sent to every rank (encoded to plain data and back).

        An error raised on rank 0 is raised on every rank, with its message.
        """
        return make()

    def close(self, clean: bool = True) -> None:
        """Leave the group; ``clean`` False after an error, when other ranks may be gone."""


SINGLE = Distributed()


class ProcessGroup(Distributed):
    """One rank of a torch.distributed group (see the module's notes)."""

    distributed = True

    def __init__(self, rank: int, world: int, local_rank: int, backend: str, control_group, sync_batchnorm: bool):
        self.rank = rank
        self.world = world
        self.local_rank = local_rank
        self.is_main = rank == 0
        self.backend = backend
        self.sync_batchnorm = sync_batchnorm
        self._control_group = control_group
        self._posted: tuple | None = None

    def describe(self) -> str:
        kind = "GPU" if self.backend == "nccl" else "CPU"
        return f"rank {self.rank} of {self.world} {kind} processes ({self.backend})"

    def check(self, config, source: str = "config") -> None:
        if config.batch_size % self.world:
            raise ConfigError(
                f"{source}: batch_size {config.batch_size} does not divide among {self.world} processes; "
                f"use a multiple of {self.world} (batch_size is the global batch, shared by the processes)"
            )
        if self.sync_batchnorm and self.backend != "nccl":
            raise ConfigError(
                "SyncBatchNorm needs CUDA GPUs (PyTorch implements it only for nccl); on the CPU each process "
                "normalises its own share of the batch"
            )

    def share(self, tensor: torch.Tensor) -> torch.Tensor:
        n = tensor.shape[0] // self.world
        return tensor[self.rank * n : (self.rank + 1) * n]

    def wrap(self, g: nn.Module, d: nn.Module, device: torch.device, d_head_unused: bool = False):
        from torch.nn.parallel import DistributedDataParallel as DDP

        if self.sync_batchnorm:
            # In place: the parameters (and so the optimisers and the EMA) stay the same tensors.
            for module in (g, d):
                for name, child in list(module.named_children()):
                    setattr(module, name, nn.SyncBatchNorm.convert_sync_batchnorm(child))
        ids = [device.index] if device.type == "cuda" else None
        # broadcast_buffers=False: each rank keeps its own BatchNorm statistics (rank 0's are saved); a
        # broadcast at every forward would also modify D's buffers between D(real) and D(fake).
        with warnings.catch_warnings():
            # PyTorch suggests forward_sync_buffers, which still syncs buffers at init; the same advice says
            # to keep broadcast_buffers=False for rank-local buffers such as these.
            warnings.filterwarnings("ignore", message=".*broadcast_buffers.*", category=FutureWarning)
            g_net = DDP(g, device_ids=ids, broadcast_buffers=False)
            d_net = DDP(d, device_ids=ids, broadcast_buffers=False, find_unused_parameters=d_head_unused)
        return g_net, d_net

    def no_sync(self, module: nn.Module):
        return module.no_sync() if hasattr(module, "no_sync") else contextlib.nullcontext()

    def control(self, stop, pause) -> tuple[bool, bool]:
        # Any rank may ask to stop (a signal reaches every rank); rank 0 alone pauses and resumes (the
        # window and the control file talk to it). The answer is the agreement posted at the last call,
        # so the all-reduce overlaps a step; every rank makes the same calls, so all act alike.
        mine = torch.tensor([float(stop.is_set()), float(self.is_main and pause.is_set())])
        if self._posted is None:
            dist.all_reduce(mine, op=dist.ReduceOp.MAX, group=self._control_group)
            agreed = mine
        else:
            work, agreed = self._posted
            work.wait()
        fresh = torch.tensor([float(stop.is_set()), float(self.is_main and pause.is_set())])
        self._posted = (dist.all_reduce(fresh, op=dist.ReduceOp.MAX, group=self._control_group, async_op=True), fresh)
        stopping, pausing = bool(agreed[0] > 0), bool(agreed[1] > 0)
        if stopping:
            stop.set()
        return stopping, pausing

    def average_(self, *tensors: torch.Tensor) -> None:
        if not tensors:
            return
        flat = torch.cat([t.reshape(-1) for t in tensors])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat /= self.world
        offset = 0
        for t in tensors:
            t.copy_(flat[offset : offset + t.numel()].view_as(t))
            offset += t.numel()

    def check_consistency(self, modules: dict, step: int) -> None:
        """Compare every rank's parameters with rank 0's (buffers differ by design: per-rank BatchNorm stats)."""
        names, gaps = [], []
        for label, module in modules.items():
            if module is None:
                continue
            for name, param in module.named_parameters():
                mine = torch.nan_to_num(param.detach().float().reshape(-1))
                theirs = mine.clone()
                dist.broadcast(theirs, src=0)
                names.append(f"{label} {name}")
                gaps.append((mine - theirs).abs().max() if mine.numel() else mine.new_zeros(()))
        if not gaps:
            return
        table = torch.zeros(self.world, len(gaps), device=gaps[0].device)
        table[self.rank] = torch.stack(gaps)
        dist.all_reduce(table, op=dist.ReduceOp.SUM)
        worst = float(table.max())
        if worst > CONSISTENCY_TOLERANCE:
            rank, index = divmod(int(table.argmax()), len(gaps))
            raise TrainingError(
                f"the processes' weights differ at step {step} (rank {rank}'s {names[index]} by up to {worst:.3g} "
                "from rank 0's): a process fell out of step; training stopped before writing a checkpoint, and "
                "the last checkpoint was kept"
            )

    def from_main(self, make: Callable, encode: Callable = lambda x: x, decode: Callable = lambda x: x):
        box: list = [None]
        if self.is_main:
            try:
                box[0] = {"value": encode(make())}
            except StudioError as exc:
                box[0] = {"error": str(exc)}
            except Exception as exc:  # noqa: BLE001 - the others must hear of it, or they wait for ever
                box[0] = {"error": f"{type(exc).__name__}: {exc}"}
        dist.broadcast_object_list(box, src=0, group=self._control_group)
        if "error" in box[0]:
            raise StudioError(box[0]["error"])
        return decode(box[0]["value"])

    def close(self, clean: bool = True) -> None:
        if not dist.is_initialized():
            return
        if clean and self._posted is not None:
            self._posted[0].wait()
        self._posted = None
        if clean:
            dist.destroy_process_group()


def init_from_env(device: str = "auto", sync_batchnorm: bool = False, environ=None) -> ProcessGroup:
    """Join the group torchrun started this process in: nccl with one GPU per rank, or gloo on the CPU.

    ``device``: 'auto' (CUDA when present), 'cuda' or 'cpu'; a distributed run
    gives each rank the GPU of its LOCAL_RANK, so 'cuda:N' is refused.
    """
    environ = os.environ if environ is None else environ
    try:
        rank, world = int(environ["RANK"]), int(environ["WORLD_SIZE"])
        local_rank = int(environ.get("LOCAL_RANK", rank))
        if not 0 <= rank < world:
            raise ValueError(f"RANK {rank} with WORLD_SIZE {world}")
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"torchrun's environment is incomplete or malformed ({exc})") from None
    if device.startswith("cuda:"):
        raise ConfigError(
            f"device {device!r}: in a distributed run each process uses the GPU of its LOCAL_RANK; "
            "give --device cuda (or choose GPUs with CUDA_VISIBLE_DEVICES)"
        )
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("device 'cuda': this PyTorch sees no CUDA GPU; use --processes N --device cpu")
        if local_rank >= torch.cuda.device_count():
            raise ConfigError(
                f"this machine has {torch.cuda.device_count()} CUDA device(s) but torchrun started a process with "
                f"LOCAL_RANK {local_rank}; start at most {torch.cuda.device_count()} processes per machine"
            )
        torch.cuda.set_device(local_rank)
        backend = "nccl"
    elif device == "cpu":
        if sync_batchnorm:
            raise ConfigError(
                "SyncBatchNorm needs CUDA GPUs (PyTorch implements it only for nccl); on the CPU each process "
                "normalises its own share of the batch"
            )
        backend = "gloo"
    else:
        raise ConfigError(f"device {device!r}: use auto, cpu or cuda")
    timeout = timedelta(seconds=timeout_seconds(environ))
    if not dist.is_initialized():
        options = {"device_id": torch.device("cuda", local_rank)} if backend == "nccl" else {}
        dist.init_process_group(backend, timeout=timeout, **options)
    # Stop/pause agreement and small objects travel on a CPU group of their own, never waiting for the
    # GPU's queue nor queued behind DDP's gradient averaging.
    control = dist.new_group(backend="gloo", timeout=timeout)
    return ProcessGroup(dist.get_rank(), dist.get_world_size(), local_rank, backend, control, sync_batchnorm)

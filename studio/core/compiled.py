"""The compiled training step (the ``compile`` setting): ``torch.compile`` of the networks the steps call.

Only the calls of the training steps go through the compiled networks
(``trainer.g_net`` and ``trainer.d_net``).  Checkpoints, snapshots, the EMA,
sample grids, averaging and exports keep using the plain modules
(``trainer.g`` and ``trainer.d``), so every file holds plain state dicts.

``torch.compile`` compiles lazily: a failure (no C++ compiler, a layer the
compiler cannot handle, a backward it does not support) shows at the first
call, in the middle of an iteration, possibly after one optimiser has already
stepped.  So while new graphs are still being compiled (the first iterations),
each iteration starts from a copy of everything it changes: weights and
buffers, optimiser, EMA and loss-scaler states, the random generators and the
running figures.  When a compiled iteration fails, that copy is restored, the
run reports one line (:class:`~studio.core.events.RunNotice`) and the same
iteration is done again with the plain networks, so the run goes on exactly as
an uncompiled one would have.  Once every kind of iteration has run without
compiling anything new, the copies stop and the compiler may no longer compile
(``torch.compiler.set_stance("eager_on_recompile")``): an unforeseen variant
runs uncompiled rather than compiling, or failing, in the middle of the run.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable
from pathlib import Path

import torch

from studio.core.events import RunNotice
from studio.errors import StudioError, one_line

__all__ = ["CompiledStep", "compile_cache_dir", "use_compile_cache"]

_CACHE_ENV = "TORCHINDUCTOR_CACHE_DIR"
# Trainer attributes, besides the networks, optimisers, EMA and scaler, whose state a step changes.
_EXTRA_STATE = ("lecam",)


def compile_cache_dir() -> Path:
    """The studio's folder for compiled code: ``torch-compile`` in its cache ($GAN_STUDIO_CACHE, else the user's)."""
    # The same root as the built-in datasets' cache (studio.data.dataset.cache_dir), which core may not import.
    root = os.environ.get("GAN_STUDIO_CACHE")
    if root:
        return Path(root) / "torch-compile"
    base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
    return Path(base) / "gan-studio" / "torch-compile"


def use_compile_cache() -> str:
    """Point the compiler's caches at :func:`compile_cache_dir`, unless TORCHINDUCTOR_CACHE_DIR is set already.

    PyTorch's default is a folder under the system's temporary directory, which
    a reboot may empty; the studio's cache keeps a second run's start fast.
    Returns the folder in use.
    """
    current = os.environ.get(_CACHE_ENV)
    if not current or _is_torch_default(current):
        os.environ[_CACHE_ENV] = str(compile_cache_dir())
    return os.environ[_CACHE_ENV]


def _is_torch_default(folder: str) -> bool:
    """Whether ``folder`` is PyTorch's own default, which importing torch's compiler writes into the environment."""
    try:
        from torch._inductor.runtime.cache_dir_utils import default_cache_dir

        return os.path.abspath(folder) == os.path.abspath(default_cache_dir())
    except Exception:  # noqa: BLE001 - a private helper: without it, a value set is taken as the user's
        return False


def _graphs_compiled() -> int | None:
    """Graphs compiled so far in this process (None where PyTorch does not count them)."""
    try:
        from torch._dynamo.utils import counters

        return int(counters["stats"]["unique_graphs"])
    except Exception:  # noqa: BLE001 - a private counter: without it the warm-up lasts a fixed number of iterations
        return None


class CompiledStep:
    """Calls a trainer's iteration through compiled networks, with an exact fallback to the plain ones.

    Construct it after ``trainer.g_net``/``trainer.d_net`` exist: it replaces
    them by their compiled forms.  Call it as the iteration itself:
    ``step(iterate, *args)``.
    """

    def __init__(self, trainer, compile_fn: Callable | None = None):
        self.trainer = trainer
        self.plain = (trainer.g_net, trainer.d_net)
        self.cache = use_compile_cache()
        self.active = True
        self.warm = False  # True once every kind of iteration has run without compiling anything new
        self.iterations = 0  # guarded iterations done
        self.seconds = 0.0  # spent in the guarded iterations (mostly compiling)
        self._pending: list[RunNotice] | None = []
        compile_fn = compile_fn or torch.compile
        try:
            # dynamic=False: the trainer drops the ragged last batch, so every step has the same shapes.
            trainer.g_net, trainer.d_net = (compile_fn(net, dynamic=False) for net in self.plain)
        except Exception as exc:  # noqa: BLE001 - e.g. a Python version torch.compile does not support
            self._fall_back(exc)

    # --- the iteration ---------------------------------------------------------------------------
    def __call__(self, iterate: Callable, *args):
        if self._pending is not None:  # the lines of the set-up, now that the run's start has been reported
            for notice in self._pending:
                self.trainer.on_event(notice)
            self._pending = None
        if not self.active:
            return iterate(*args)
        if self.warm:
            with torch.compiler.set_stance("eager_on_recompile"):
                return iterate(*args)
        return self._guarded(iterate, *args)

    def _guarded(self, iterate: Callable, *args):
        t = self.trainer
        if self.iterations == 0:
            self._notify(
                f"compiling the training step (torch.compile on {t.device.type}): a new model's first steps take "
                f"about a minute, later runs read the cache in {self.cache}"
            )
        saved = self._save()
        graphs = _graphs_compiled()
        started = time.perf_counter()
        try:
            result = iterate(*args)
        except StudioError:
            raise  # the user's to fix, compiled or not
        except Exception as exc:  # noqa: BLE001 - whatever the compiled code raised, the plain step decides
            self._restore(saved)
            self._fall_back(exc)
            return iterate(*args)  # an error of the plain step itself is the run's error, as without compile
        self.seconds += time.perf_counter() - started
        self.iterations += 1
        compiled_nothing = graphs is not None and _graphs_compiled() == graphs
        # Every kind of iteration has been seen once a whole cycle of D steps (and its G turn) is done.
        enough = self.iterations > t.config.d_steps and (compiled_nothing or graphs is None)
        if enough:
            self.warm = True
            self._notify(f"compiled training step ready ({self.seconds:.0f} s for the first {self.iterations} steps)")
        return result

    # --- fallback ----------------------------------------------------------------------------------
    def _fall_back(self, exc: BaseException) -> None:
        self.active = False
        self.trainer.g_net, self.trainer.d_net = self.plain
        reason = one_line(exc, 200).split(" Set TORCHDYNAMO_VERBOSE")[0]
        self._notify(
            f"compile: the compiled step failed ({type(exc).__name__}: {reason}); "
            "training goes on uncompiled from the same state",
            level="warning",
        )

    def _notify(self, message: str, level: str = "info") -> None:
        notice = RunNotice(message, self.trainer.step, level)
        if self._pending is not None:  # in the set-up: held until the first iteration follows the run's start
            self._pending.append(notice)
        else:
            self.trainer.on_event(notice)

    # --- what an iteration changes ----------------------------------------------------------------
    def _save(self) -> dict:
        t = self.trainer

        def clone(state: dict) -> dict:
            return {k: v.clone() for k, v in state.items()}

        saved = {
            "g": clone(t.g.state_dict()),
            "d": clone(t.d.state_dict()),
            "opt_g": copy.deepcopy(t.opt_g.state_dict()),
            "opt_d": copy.deepcopy(t.opt_d.state_dict()),
            "ema": copy.deepcopy(t.ema.state_dict()) if t.ema is not None else None,
            "extra": {  # the step's other running state (LeCam's averages), where on
                name: copy.deepcopy(getattr(t, name).state_dict())
                for name in _EXTRA_STATE
                if getattr(t, name, None) is not None
            },
            "scaler": t.scaler.state_dict() if t.scaler.is_enabled() else None,
            "rng": torch.get_rng_state(),
            "figures": [(f.d.clone(), f.g.clone(), f.d_count, f.g_count) for f in (t.figures, t.epoch_figures)],
        }
        if t.device.type == "cuda":
            saved["cuda_rng"] = torch.cuda.get_rng_state(t.device)
        return saved

    def _restore(self, saved: dict) -> None:
        t = self.trainer
        t.d.requires_grad_(True)
        t.g.load_state_dict(saved["g"])
        t.d.load_state_dict(saved["d"])
        t.opt_g.load_state_dict(saved["opt_g"])
        t.opt_d.load_state_dict(saved["opt_d"])
        t.opt_g.zero_grad(set_to_none=True)
        t.opt_d.zero_grad(set_to_none=True)
        if saved["ema"] is not None:
            t.ema.load_state_dict(saved["ema"])
        for name, state in saved["extra"].items():
            getattr(t, name).load_state_dict(state)
        if saved["scaler"] is not None:
            t.scaler.load_state_dict(saved["scaler"])
        torch.set_rng_state(saved["rng"])
        if "cuda_rng" in saved:
            torch.cuda.set_rng_state(saved["cuda_rng"], t.device)
        for f, (d, g, d_count, g_count) in zip((t.figures, t.epoch_figures), saved["figures"]):
            f.d, f.g, f.d_count, f.g_count = d, g, d_count, g_count

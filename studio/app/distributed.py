"""Training on several GPUs or processes: launching torchrun, and being one of its ranks.

``launch`` starts ``python -m torch.distributed.run --standalone
--nproc-per-node N -m studio <the same command>`` and waits for it: Ctrl-C or
SIGTERM is passed on once (torchrun passes it to every rank, which stop
together after a checkpoint), and when a rank fails the command ends with
that rank's own message rather than the echoes of the others. torchrun's
own log lines are kept out of the terminal and shown only when no rank
explained a failure.

A process that torchrun started (``torchrun ... -m studio train PROJECT``,
by ``launch`` or by hand on several machines) is a rank: :func:`join`
enters the group, only rank 0 talks on the terminal, and rank 0 alone plans
the run (which folder, which checkpoint) and tells the others.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from studio.errors import ConfigError

__all__ = [
    "REPORTS_ENV",
    "Launch",
    "check_launch",
    "torchrun_command",
    "launch",
    "root_cause",
    "RankSession",
    "join",
    "current_session",
    "share_request",
]

# Failures of several ranks this close in time are taken for one.
_SAME_FAILURE_S = 2.0
# The folder where the ranks of a launched run leave a note when they fail (one JSON file each).
REPORTS_ENV = "STUDIO_DIST_REPORTS"
_SYNC_BN_CPU = (
    "--sync-batchnorm needs CUDA GPUs (PyTorch implements SyncBatchNorm only for nccl); on the CPU each "
    "process normalises its own share of the batch"
)


@dataclass
class Launch:
    argv: list[str]  # the command line after 'python -m studio', given to every rank unchanged
    processes: int  # per machine
    device: str  # 'cuda' (one GPU per process) or 'cpu'
    sync_batchnorm: bool = False


def check_launch(launch: Launch) -> None:
    """Refuse, in one line and before any process starts, what this machine cannot run."""
    import torch

    if launch.device == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                f"--gpus {launch.processes}: this PyTorch sees no CUDA GPU; "
                f"use --processes {launch.processes} --device cpu for CPU processes"
            )
        count = torch.cuda.device_count()
        if count < launch.processes:
            raise ConfigError(f"--gpus {launch.processes}: this machine has only {count} CUDA device(s)")
    elif launch.sync_batchnorm:
        raise ConfigError(_SYNC_BN_CPU)


def torchrun_command(launch: Launch) -> list[str]:
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={launch.processes}",
        "-m",
        "studio",
        *launch.argv,
    ]


def _rank_environment(launch: Launch, reports: str) -> dict[str, str]:
    env = dict(os.environ)
    env[REPORTS_ENV] = reports
    # torchrun sets 1 (with a warning) when unset; CPU processes share the cores instead.
    cores = os.cpu_count() or 1
    env.setdefault("OMP_NUM_THREADS", str(max(1, cores // launch.processes) if launch.device == "cpu" else 1))
    return env


def root_cause(reports: list[dict]) -> dict | None:
    """The failure that explains the others: the earliest that is not a lost connection, else the earliest.

    Failures within a few seconds of the earliest are one failure seen by several ranks (a non-finite loss
    is averaged over all of them): then rank 0's, which knows the run's files, is told.
    """
    from studio.core.distributed import is_communication_error

    if not reports:
        return None
    own = [r for r in reports if not is_communication_error(r.get("message", ""))] or reports
    first = min(r.get("time", 0.0) for r in own)
    together = [r for r in own if r.get("time", 0.0) - first < _SAME_FAILURE_S]
    return min(together, key=lambda r: (r.get("rank", 0), r.get("time", 0.0)))


def _read_reports(folder: Path) -> list[dict]:
    reports = []
    for path in sorted(folder.glob("rank*.json")):
        try:
            reports.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return reports


def _torchrun_summary(lines) -> str:
    """What torchrun's log says of a failure no rank reported (a rank killed, an import error)."""
    text = [line.strip() for line in lines if line.strip()]
    root = next((i for i, line in enumerate(text) if line.startswith("Root Cause")), None)
    if root is not None:
        fields = dict(line.split(":", 1) for line in text[root + 1 :] if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        rank = fields.get("rank", "?").split(" ")[0]
        how = fields.get("traceback", "")
        if how.startswith("Signal"):  # 'Signal 9 (SIGKILL) received by PID 123'
            return f"process {rank} was killed ({how.split(' received')[0]})"
        return f"process {rank} ended with exit code {fields.get('exitcode', '?').split(' ')[0]}"
    for line in reversed(text):
        if "Error" in line or "error" in line:
            return line[-300:]
    return text[-1][-300:] if text else "no message"


def launch(launch: Launch, say=print) -> int:
    """Run the command as ``launch.processes`` ranks under torchrun; the command's exit status."""
    from studio.core.distributed import is_communication_error

    check_launch(launch)
    with tempfile.TemporaryDirectory(prefix="studio-ranks-") as reports:
        process = subprocess.Popen(
            torchrun_command(launch),
            env=_rank_environment(launch, reports),
            stderr=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C reaches torchrun once, from here, not twice
        )
        log: deque[str] = deque(maxlen=60)

        def keep_log() -> None:
            for raw in process.stderr:
                log.append(raw.decode("utf-8", "replace"))

        reader = threading.Thread(target=keep_log, daemon=True)
        reader.start()
        signals: list[int] = []

        def on_signal(signum, frame) -> None:
            signals.append(signum)
            if len(signals) == 1:
                what = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
                print(
                    f"\n{what}: every process stops after its step and rank 0 writes a checkpoint "
                    "(Ctrl-C again to abort)",
                    file=sys.stderr,
                    flush=True,
                )
            try:
                os.kill(process.pid, signum if len(signals) == 1 else signal.SIGTERM)
            except ProcessLookupError:
                pass

        stop_signals = [s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)) if s is not None]
        previous = {}
        if threading.current_thread() is threading.main_thread():
            previous = {s: signal.signal(s, on_signal) for s in stop_signals}
        try:
            status = process.wait()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        reader.join(timeout=5)
        cause = root_cause(_read_reports(Path(reports)))
    if signals and (cause is None or is_communication_error(cause["message"])):
        return 128 + int(signals[0])  # stopped as asked (a stop before training started ends the ranks bluntly)
    if cause is not None and is_communication_error(cause["message"]):
        # Every report is an echo: the process that failed left none (killed, or it crashed hard).
        print(
            f"error: {_torchrun_summary(log)}; the other processes lost contact with it and stopped",
            file=sys.stderr,
            flush=True,
        )
        return 2
    if cause is not None:
        where = f" (process {cause['rank']} of {cause['world']})" if cause.get("world", 1) > 1 else ""
        print(f"error: {cause['message']}{where}", file=sys.stderr, flush=True)
        return 2
    if status != 0:
        print(f"error: the distributed run failed: {_torchrun_summary(log)}", file=sys.stderr, flush=True)
        return 2
    return 0


# --- one rank -----------------------------------------------------------------------------------------


class RankSession:
    """This process's place in a torchrun group, for the command line."""

    def __init__(self, group, reports: str | None):
        self.group = group  # studio.core.distributed.ProcessGroup
        self.reports = reports

    @property
    def is_main(self) -> bool:
        return self.group.is_main

    def failed(self, message: str) -> str | None:
        """Record a failure for the launcher; the line this rank prints, or None when the launcher will."""
        if self.reports:
            report = {"rank": self.group.rank, "world": self.group.world, "message": message, "time": time.time()}
            path = Path(self.reports) / f"rank{self.group.rank}.json"
            try:
                path.write_text(json.dumps(report), encoding="utf-8")
                return None
            except OSError:
                pass
        return f"[rank {self.group.rank} of {self.group.world}] {message}"

    def close(self, clean: bool) -> None:
        self.group.close(clean)


_session: RankSession | None = None


def current_session() -> RankSession | None:
    return _session


def join(device: str, sync_batchnorm: bool = False) -> RankSession:
    """Enter the group torchrun started this process in; only rank 0 keeps the terminal."""
    global _session
    from studio.core.distributed import init_from_env

    reports = os.environ.get(REPORTS_ENV) or None
    group = init_from_env(device, sync_batchnorm)
    if reports and group.is_main:
        # The launcher keeps torchrun's stderr to itself; rank 0's progress goes to the terminal.
        os.dup2(sys.stdout.fileno(), sys.stderr.fileno())
    if not group.is_main:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    if group.is_main:
        kind = "GPU" if group.backend == "nccl" else "CPU"
        sync = ", SyncBatchNorm" if group.sync_batchnorm else ""
        print(
            f"{group.world} {kind} processes ({group.backend}{sync}); each trains on 1/{group.world} of every batch",
            flush=True,
        )
    _session = RankSession(group, reports)
    return _session


def share_request(session: RankSession, build):
    """``build()`` (a TrainRequest) made on rank 0 and sent to every rank: one plan, one run folder."""
    from studio.app.training import TrainRequest
    from studio.core.config import TrainConfig
    from studio.core.rundir import RunDirectory

    def encode(request) -> dict:
        return {
            "config": request.config.to_dict(),
            "runs_dir": str(request.runs_dir) if request.runs_dir is not None else None,
            "run": str(request.run.path) if request.run is not None else None,
            "resume_from": str(request.resume_from) if request.resume_from is not None else None,
            "max_steps": request.max_steps,
            "minutes": request.minutes,
        }

    def decode(data: dict):
        return TrainRequest(
            TrainConfig.from_dict(data["config"]),
            runs_dir=Path(data["runs_dir"]) if data["runs_dir"] else None,
            run=RunDirectory(data["run"]) if data["run"] else None,
            resume_from=Path(data["resume_from"]) if data["resume_from"] else None,
            max_steps=data["max_steps"],
            minutes=data["minutes"],
        )

    # Every rank builds from the same plain data, rank 0 included: the same request everywhere.
    return decode(session.group.from_main(build, encode))

"""The command line's part in distributed training: ``--gpus N``, ``--processes N``, and running as a rank.

``train``/``resume`` with ``--gpus N`` or ``--processes N`` start torchrun
(:func:`studio.app.distributed.launch`) with the same command line; a
process torchrun started (by this launcher or by hand, on one machine or
several) sees torchrun's environment variables and trains as one rank.
"""

from __future__ import annotations

from studio.argtypes import integer
from studio.errors import ConfigError

__all__ = ["add_arguments", "launch_or_join", "build_request", "failure_line"]


def add_arguments(p) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--gpus",
        type=integer(1, 1024),
        metavar="N",
        help="train on N CUDA GPUs of this machine, one process each (torchrun); batch_size stays the whole batch",
    )
    group.add_argument(
        "--processes",
        type=integer(1, 256),
        metavar="N",
        help="train as N CPU processes (torchrun, gloo), e.g. for a CPU cluster or a test of a multi-GPU set-up",
    )
    p.add_argument(
        "--sync-batchnorm",
        action="store_true",
        help="with --gpus: BatchNorm statistics over the whole batch instead of each GPU's share (slower)",
    )


def _device(args) -> str:
    if args.processes:
        if args.device not in (None, "cpu"):
            raise ConfigError(f"--processes runs CPU processes; for --device {args.device} use --gpus N")
        return "cpu"
    if args.gpus:
        if args.device not in (None, "cuda", "auto"):
            raise ConfigError(f"--gpus gives each process its own GPU; leave out --device {args.device}")
        return "cuda"
    return args.device or "auto"


def launch_or_join(args):
    """(exit status, None) when this command launched torchrun and is done; (None, session) in a rank;
    (None, None) for a run in this process alone."""
    from studio.core.distributed import launched_by_torchrun

    if launched_by_torchrun():
        from studio.app.distributed import join

        session = join(_device(args), args.sync_batchnorm)
        args.device = "cuda" if session.group.backend == "nccl" else "cpu"
        if not session.is_main:
            args.quiet = True
        return None, session
    if args.gpus or args.processes:
        from studio.app.distributed import Launch, launch

        device = _device(args)
        return launch(Launch(args.argv, args.gpus or args.processes, device, args.sync_batchnorm)), None
    if args.sync_batchnorm:
        raise ConfigError("--sync-batchnorm is for runs on several GPUs: add --gpus N")
    return None, None


def build_request(session, build):
    """``build()`` here, or on rank 0 and shared with every rank."""
    if session is None:
        return build()
    from studio.app.distributed import share_request

    return share_request(session, build)


def failure_line(message: str) -> str | None:
    """The error line to print: the message, or in a rank the launcher's business (None) or the rank's."""
    from studio.app.distributed import current_session

    session = current_session()
    return message if session is None else session.failed(message)

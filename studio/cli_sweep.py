"""The ``sweep`` and ``queue`` commands of the command line.

    sweep PROJECT --set d_lr=1e-4,2e-4 --set aux_weight=1,6 [--epochs N] [--dry-run] [--queue-only]
    queue PROJECT [list|run|results|retry|remove|clear]

A sweep checks every value before anything is queued, adds one entry per
combination to the project's queue (PROJECT/queue.json, which the window's
Queue tab shows too), trains them one after another and prints the results
table, also written to PROJECT/sweeps/<id>/results.csv. Ctrl-C stops the run
in progress with a checkpoint and leaves the rest queued (``queue PROJECT run``
goes on with them).
"""

from __future__ import annotations

import signal
import sys
import time

from studio.argtypes import integer
from studio.errors import StudioError

__all__ = ["add_parsers", "COMMANDS"]

_ACTIONS = ("list", "run", "results", "retry", "remove", "clear")


def add_parsers(sub) -> None:
    """Add the ``sweep`` and ``queue`` subcommands to the main parser's subparsers."""
    p = sub.add_parser("sweep", help="train one run per combination of settings and tabulate the results")
    p.add_argument("project", help="project folder")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        required=True,
        metavar="KEY=A,B",
        help="a setting and its values, e.g. d_lr=1e-4,2e-4 (repeat for more settings; every combination runs)",
    )
    p.add_argument("--epochs", type=integer(1, 100_000), help="epochs of every run (default: the project's)")
    p.add_argument("--device", help="auto, cpu, cuda or cuda:N for every run")
    p.add_argument("--dry-run", action="store_true", help="check the values and list the runs; queue nothing")
    p.add_argument("--queue-only", action="store_true", help="queue the runs without training them")
    _add_run_options(p)

    q = sub.add_parser("queue", help="list, run or tidy the project's queue of runs")
    q.add_argument("project", help="project folder")
    q.add_argument(
        "action",
        nargs="?",
        default="list",
        choices=_ACTIONS,
        help="list (default): the entries; run: train the queued ones; results: the table (and CSV) of a sweep "
        "or the whole queue; retry: queue failed/stopped entries again; remove: entries by --entry; "
        "clear: remove finished entries (--all: queued ones too)",
    )
    q.add_argument("--entry", action="append", default=[], metavar="ID", help="the entry (run, retry, remove)")
    q.add_argument("--sweep", metavar="ID", help="results: of this sweep (default: the latest sweep)")
    q.add_argument("--all", action="store_true", help="results: every entry; clear: also the queued entries")
    _add_run_options(q)


def _add_run_options(p) -> None:
    p.add_argument(
        "--parallel-gpus",
        type=integer(0, 1024),
        metavar="N",
        help="train up to N runs at once, one per GPU, each in a child process (default: all GPUs when the "
        "settings train on CUDA and there are several; 1: one at a time)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar, only a line per epoch")


# --- training one entry, with Ctrl-C --------------------------------------------------------------------


class _Trainer:
    """Trains a request in the foreground for the queue: the train command's progress and Ctrl-C handling."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.interrupted = 0
        self.signum = signal.SIGINT

    def __call__(self, request):
        from studio.app.training import Training
        from studio.cli import _STOP_SIGNALS, _Interrupted, _progress_reporter

        reporter = _progress_reporter(self.quiet)

        def data_progress(message: str, fraction: float) -> None:
            if fraction in (0.0, 1.0):
                print(message, flush=True)

        training = Training(request, on_event=reporter, progress=data_progress)

        def on_signal(signum, frame) -> None:
            if not training.training:
                raise _Interrupted(signum)
            self.interrupted += 1
            if self.interrupted == 1:
                self.signum = signum
                print(
                    "\nstopping this run after its step and writing a checkpoint; the rest stay queued "
                    "(Ctrl-C again to abort)",
                    file=sys.stderr,
                )
                training.request_stop()
            else:
                raise KeyboardInterrupt

        previous = {sig: signal.signal(sig, on_signal) for sig in _STOP_SIGNALS}
        try:
            return training.run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            reporter.close()


def _announcer(total: int):
    """on_change for the queue: '[2/4] d_lr=0.0002, aux_weight=1' as each starts, its state as it ends."""
    state = {"n": 0, "started": time.monotonic()}

    def on_change(entry, what: str) -> None:
        if what == "running":
            state["n"] += 1
            left = ""
            if state["n"] > 1:
                per_run = (time.monotonic() - state["started"]) / (state["n"] - 1)
                left = f" (about {_duration(per_run * (total - state['n'] + 1))} left for the queue)"
            where = f" on GPU {entry.gpu}" if entry.gpu is not None else ""
            print(f"[{state['n']}/{total}] {entry.id}: {entry.label}{where}{left}", flush=True)
        else:
            message = f": {entry.message}" if entry.message else ""
            run = f" (run {entry.run})" if entry.run else ""
            print(f"{entry.id}: {what}{run}{message}", flush=True)

    return on_change


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _train_entries(project, ids: list[str] | None, args, gpus: list[str] | None = None) -> int:
    """Train the queued entries (of ``ids``): one at a time, or one per GPU; the exit status."""
    from studio.app.run_queue import gpu_slots, load_queue, run_parallel, run_queue

    queue = load_queue(project.folder)
    todo = [e for e in queue.entries if e.state == "queued" and (ids is None or e.id in ids)]
    if not todo:
        print("nothing queued")
        return 0
    on_change = _announcer(len(todo))
    if gpus is None:
        gpus = gpu_slots(todo[0].config.device, args.parallel_gpus)
    if gpus:
        print(f"training up to {len(gpus)} runs at once, one per GPU ({', '.join(gpus)}); logs in sweeps/logs/")
        stop = {"asked": False}

        def on_signal(signum, frame) -> None:
            stop["asked"] = True  # the children got the signal too: each stops with a checkpoint
            print("\nno new runs start; the runs in progress stop after writing a checkpoint", file=sys.stderr)

        from studio.cli import _STOP_SIGNALS

        previous = {sig: signal.signal(sig, on_signal) for sig in _STOP_SIGNALS}
        try:
            run_parallel(project.folder, gpus, ids, on_change=on_change, should_stop=lambda: stop["asked"])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 130 if stop["asked"] else 0
    trainer = _Trainer(args.quiet)
    run_queue(project, trainer, ids, on_change=on_change)
    return 128 + int(trainer.signum) if trainer.interrupted else 0


def _print_results(project, sweep_id: str | None) -> None:
    from studio.app.sweep import format_table, results_path, sweep_results, write_results

    table = sweep_results(project, sweep_id)
    print(format_table(table))
    counts = {s: sum(r["state"] == s for r in table.rows) for s in ("done", "failed", "stopped", "queued")}
    print(", ".join(f"{n} {s}" for s, n in counts.items() if n))
    print(f"wrote {write_results(table, results_path(project.folder, sweep_id))}")


# --- commands ---------------------------------------------------------------------------------------------


def cmd_sweep(args) -> int:
    from studio.app.run_queue import add_entries
    from studio.app.sweep import new_sweep_id, parse_sets, plan_sweep
    from studio.project import Project

    project = Project.load(args.project)
    extra = {k: v for k, v in (("epochs", args.epochs), ("device", args.device)) if v is not None}
    plan = plan_sweep(project.config, parse_sets(args.set), extra)
    from studio.app.run_queue import gpu_slots

    gpus = [] if args.queue_only else gpu_slots(plan.configs[0].device, args.parallel_gpus)  # refused before queuing
    if args.dry_run:
        print(f"{len(plan)} runs (nothing queued):")
        print("\n".join(plan.lines()))
        return 0
    sweep_id = new_sweep_id(project.folder)
    (project.folder / "sweeps" / sweep_id).mkdir(parents=True)
    entries = add_entries(project.folder, list(zip(plan.configs, plan.changes)), sweep=sweep_id)
    print(f"sweep {sweep_id}: {len(entries)} runs queued ({entries[0].id} to {entries[-1].id})")
    if args.queue_only:
        print(f"train them with: python -m studio queue {project.folder} run")
        return 0
    status = _train_entries(project, [e.id for e in entries], args, gpus)
    _print_results(project, sweep_id)
    return status


def cmd_queue(args) -> int:
    from studio.app import run_queue as rq
    from studio.project import Project

    project = Project.load(args.project)
    folder = project.folder
    if args.action in ("retry", "remove") and not args.entry:
        raise StudioError(f"queue {args.action}: name the entries with --entry ID (see 'queue {folder} list')")
    if args.action == "run":
        if args.entry and len(args.entry) == 1:
            return _run_one(project, args.entry[0], args)
        return _train_entries(project, args.entry or None, args)
    if args.action == "results":
        queue = rq.load_queue(folder)
        sweeps = queue.sweeps()
        sweep_id = None if args.all else (args.sweep or (sweeps[-1] if sweeps else None))
        if args.sweep and args.sweep not in sweeps:
            raise StudioError(f"{folder}: no sweep {args.sweep!r} in its queue (sweeps: {', '.join(sweeps) or 'none'})")
        _print_results(project, sweep_id)
        return 0
    if args.action == "retry":
        print(f"{rq.requeue(folder, args.entry)} entries queued again")
        return 0
    if args.action == "remove":
        print(f"removed {rq.remove_entries(folder, args.entry)} entries (their runs stay in runs/)")
        return 0
    if args.action == "clear":
        print(f"removed {rq.clear_queue(folder, args.all)} entries (their runs stay in runs/)")
        return 0
    queue = rq.load_queue(folder)
    if not queue.entries:
        print(f"{folder}: the queue is empty")
        return 0
    for e in queue.entries:
        sweep = f" [{e.sweep}]" if e.sweep else ""
        run = f" run {e.run}" if e.run else ""
        message = f": {e.message}" if e.message else ""
        print(f"{e.id}  {e.state:8s} {e.label}{sweep}{run}{message}")
    counts = queue.counts()
    print(", ".join(f"{n} {s}" for s, n in counts.items() if n))
    return 0


def _run_one(project, entry_id: str, args) -> int:
    from studio.app.run_queue import run_entry

    trainer = _Trainer(args.quiet)
    state = run_entry(project, entry_id, trainer, on_change=_announcer(1))
    if trainer.interrupted:
        return 128 + int(trainer.signum)
    return 0 if state == "done" else 2


COMMANDS = {"sweep": cmd_sweep, "queue": cmd_queue}

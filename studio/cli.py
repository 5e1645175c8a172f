"""Headless GAN Studio: ``python -m studio COMMAND ...`` (also the ``gan-studio`` script).

    new PROJECT --preset NAME [--dataset SPEC]   a project folder from a preset
    train PROJECT [--epochs N] [--minutes M]     a new run, with a progress line
    resume PATH [--epochs N]                     continue a project's latest run (or a run / checkpoint)
    train|resume ... --gpus N | --processes N    the same on N GPUs or CPU processes (torchrun; cli_distributed.py)
    sample CHECKPOINT --out PNG                  a grid of samples for chosen conditions
    average RUN (--last N | --best N | --epochs A-B | --files F...)   average generators into a new checkpoint
    export CHECKPOINT --format F --out PATH      the generator alone: state_dict, torchscript or onnx
    info PATH                                    what a project, run or checkpoint holds
    resume RUN --more N                          continue a run for N more epochs (its plan grows by N)
    note RUN --name T --tag A --text T           a run's name, tags and note (cli_runs.py)
    pin RUN [EPOCH] / unpin RUN EPOCH            keep full checkpoints beyond the last keep_checkpoints
    presets                                      the presets and what they are for
    sweep PROJECT --set KEY=A,B ...              one run per combination, then a results table (cli_sweep.py)
    queue PROJECT [list|run|results|clear]       the project's queue of runs, shared with the window

Every error caused by input prints one line naming the file and the problem
and exits non-zero; Ctrl-C during training finishes the step, writes a
checkpoint and exits cleanly.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
import time
import warnings

from studio.app.common import MAX_SEED
from studio.app.sampling import MAX_SAMPLES, MAX_SCALE
from studio.argtypes import integer, real
from studio.cli_distributed import add_arguments as add_distributed_arguments
from studio.errors import StudioError, one_line

__all__ = ["main", "build_parser"]

EXIT_ERROR = 2
_STOP_SIGNALS = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)) if s is not None)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument on one line, like every other error."""

    def error(self, message: str):
        self.exit(EXIT_ERROR, f"error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gan-studio",
        description="Train and explore DCGAN, conditional GAN and ACGAN models without the window.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    _add_new(sub)
    _add_train_and_resume(sub)
    _add_sample(sub)
    _add_average(sub)
    _add_export(sub)
    _add_info_and_presets(sub)

    from studio.cli_eval import add_parsers as add_eval_parsers

    add_eval_parsers(sub)
    from studio.cli_sweep import add_parsers as add_sweep_parsers

    add_sweep_parsers(sub)
    from studio.cli_runs import add_parsers as add_runs_parsers

    add_runs_parsers(sub)
    return parser


def _add_new(sub) -> None:
    p = sub.add_parser("new", help="create a project folder from a preset")
    p.add_argument("project", help="folder to create")
    p.add_argument("--preset", default="tiny-demo", help="preset name (see 'presets'); default tiny-demo")
    p.add_argument(
        "--dataset",
        help="dataset spec overriding the preset's, e.g. builtin:shapes, folder:PATH, "
        "mnist:ROOT, celeba:ROOT?attrs=Smiling,Male or table:PATH/tags.csv (see README)",
    )
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one setting")


def _add_train_and_resume(sub) -> None:
    for name, text in (("train", "start a new run of a project"), ("resume", "continue an interrupted run")):
        p = sub.add_parser(name, help=text)
        p.add_argument("project", help="project folder" + (", run folder or checkpoint" if name == "resume" else ""))
        p.add_argument("--epochs", type=integer(1, 100_000), help="train until this many epochs in total")
        p.add_argument("--device", help="auto, cpu, cuda or cuda:N")
        p.add_argument(
            "--minutes",
            type=_positive_minutes,
            help="stop after this many minutes of training (a time budget); the step in progress "
            "finishes and a checkpoint is written",
        )
        p.add_argument("--max-steps", type=integer(0), help=argparse.SUPPRESS)
        p.add_argument("--quiet", action="store_true", help="no progress bar, only a line per epoch")
        add_distributed_arguments(p)  # --gpus N, --processes N, --sync-batchnorm
        if name == "train":
            p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one setting")
        else:
            p.add_argument(
                "--more",
                type=integer(1, 100_000),
                metavar="N",
                help="train N epochs beyond those done (the run's config.json records the new total)",
            )
            p.add_argument(
                "--rewind",
                action="store_true",
                help="resume from a checkpoint older than the run's latest, overwriting the later "
                "checkpoints as training reaches their epochs",
            )


def _add_sample(sub) -> None:
    p = sub.add_parser("sample", help="write a grid of samples from a checkpoint")
    p.add_argument("checkpoint", help="a checkpoint file (.pt)")
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument("--ema", action="store_true", help="use the EMA generator stored in the checkpoint")
    p.add_argument(
        "--condition",
        action="append",
        default=[],
        metavar="TEXT",
        help="one row per condition, e.g. 'red hair, blue eyes', '3', or 'red cube, gray sphere'",
    )
    p.add_argument("--rows", help="multi-attribute: attribute down the rows (default: the first)")
    p.add_argument("--cols", help="multi-attribute: attribute across the columns (default: the second)")
    p.add_argument(
        "--fix",
        action="append",
        default=[],
        metavar="VALUE ATTRIBUTE",
        help="multi-attribute: fix one attribute, e.g. --fix 'blue eyes', and vary --cols",
    )
    p.add_argument(
        "--n", type=integer(1, MAX_SAMPLES), default=8, help=f"samples per condition (default 8, at most {MAX_SAMPLES})"
    )
    p.add_argument("--seed", type=integer(0, MAX_SEED), default=0, help="noise seed (default 0)")
    p.add_argument(
        "--scale", type=integer(1, MAX_SCALE), default=1, help=f"enlarge the grid this many times (1-{MAX_SCALE})"
    )
    p.add_argument("--no-captions", action="store_true", help="leave out row and column captions")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.add_argument(
        "--random",
        type=integer(0, MAX_SAMPLES),
        default=0,
        metavar="N",
        help=f"add N rows of random valid conditions (at most {MAX_SAMPLES})",
    )
    p.add_argument(
        "--truncation",
        type=real(0.0, 100.0, low_open=True),
        metavar="T",
        help="truncate the noise at T (e.g. 0.7); default off",
    )
    p.add_argument(
        "--truncation-mode",
        choices=("clamp", "rescale"),
        default="clamp",
        help="clamp: each entry of z to [-T, T]; rescale: shrink z to norm T*sqrt(nz), keeping its direction",
    )
    p.add_argument(
        "--interpolate",
        choices=("noise", "condition"),
        help="noise: each row one condition, z walking between two vectors; "
        "condition: from the first --condition to the second at fixed noise",
    )
    p.add_argument(
        "--steps", type=integer(2, MAX_SAMPLES), default=8, help="interpolation steps, ends included (default 8)"
    )
    p.add_argument(
        "--path",
        choices=("linear", "slerp"),
        default="slerp",
        help="noise interpolation along a straight line or a great circle (default slerp)",
    )
    p.add_argument(
        "--sheet",
        action="store_true",
        help="one PNG with the same grid from the run's last checkpoint, its saved averages and the EMA",
    )


def _add_average(sub) -> None:
    p = sub.add_parser("average", help="average a run's generators into a new checkpoint (no selection: list them)")
    p.add_argument("run", help="run folder")
    pick = p.add_mutually_exclusive_group()
    pick.add_argument("--last", type=integer(1, 100_000), metavar="N", help="the last N end-of-epoch checkpoints")
    pick.add_argument("--epochs", metavar="A-B", help="the end-of-epoch checkpoints of epochs A to B")
    pick.add_argument("--files", nargs="+", metavar="F", help="these checkpoint files (names in the run or paths)")
    pick.add_argument(
        "--best",
        type=integer(1, 100_000),
        metavar="N",
        help="the N best generators the run kept by its measured score (train with score_every > 0)",
    )
    p.add_argument("--ema", action="store_true", help="average the checkpoints' EMA generators instead of G")
    p.add_argument(
        "--no-bn-reestimate",
        action="store_true",
        help="keep the average of the BatchNorm statistics instead of measuring them anew",
    )
    p.add_argument(
        "--bn-batches", type=integer(1, 10_000), default=32, help="batches of fresh noise for BatchNorm (default 32)"
    )
    p.add_argument(
        "--bn-batch-size", type=integer(2, 4096), default=64, help="samples per BatchNorm batch (default 64)"
    )
    p.add_argument("--seed", type=integer(0, MAX_SEED), default=0, help="seed of the BatchNorm noise (default 0)")
    p.add_argument("--out", metavar="NAME", help="file name in the run's checkpoints/ (default average_epochs_A-B.pt)")


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="export a checkpoint's generator for use outside the studio")
    p.add_argument("checkpoint", help="a checkpoint or saved average (.pt)")
    p.add_argument("--format", required=True, choices=("state_dict", "torchscript", "onnx"))
    p.add_argument("--out", required=True, help="file to write; a .json description is written beside it")
    p.add_argument("--ema", action="store_true", help="export the EMA generator stored in the checkpoint")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")


def _add_info_and_presets(sub) -> None:
    p = sub.add_parser("info", help="describe a project, run or checkpoint")
    p.add_argument("path")

    sub.add_parser("presets", help="list the presets")


# --- helpers -------------------------------------------------------------------


def _positive_minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of minutes") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} minutes: give a positive number")
    if not math.isfinite(value) or value > 10 * 365 * 24 * 60:
        raise argparse.ArgumentTypeError(f"{text} minutes: give a finite number, at most ten years")
    return value


def _fail(message: str) -> int:
    from studio.cli_distributed import failure_line

    line = failure_line(message)  # in one rank of a distributed run: the launcher may print it instead
    if line is not None:
        print(f"error: {line}", file=sys.stderr)
    return EXIT_ERROR


def _settings(assignments: list[str]) -> dict:
    """--set KEY=VALUE options as {key: value}, each value read as JSON when it is JSON."""
    import json

    from studio.errors import ConfigError

    changes = {}
    for item in assignments:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
        key, raw = item.split("=", 1)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        changes[key.strip()] = value
    return changes


def _progress_reporter(quiet: bool):
    """An event callback that draws a tqdm bar: epoch, step, images/s, ETA."""
    from tqdm import tqdm

    from studio.app.reporting import alarm_line, epoch_line, model_text
    from studio.core.events import (
        CheckpointSaved,
        EpochEnd,
        RunAlarm,
        RunError,
        RunNotice,
        RunPaused,
        RunStarted,
        StepMetrics,
    )

    state: dict = {"bar": None}

    def on_event(event) -> None:
        bar = state["bar"]
        if isinstance(event, RunStarted):
            total = event.epochs * event.steps_per_epoch
            state.update(planned=event.epochs, steps_per_epoch=event.steps_per_epoch)
            print(
                f"run {event.run_dir}\n  device {event.device}, precision {event.precision}, {model_text(event)}",
                flush=True,
            )
            if not quiet:
                state["bar"] = tqdm(
                    total=total,
                    initial=event.start_step,
                    unit="step",
                    dynamic_ncols=True,
                    smoothing=0.1,
                    file=sys.stderr,
                )
                state["epochs"] = event.epochs
        elif isinstance(event, StepMetrics) and bar is not None:
            bar.update(event.step - bar.n)
            v = event.values
            figures = f"D {v['d_loss']:.3f} G {v['g_loss']:.3f}" if v["g_loss"] is not None else ""
            done = event.epoch if event.epoch_step >= event.steps_per_epoch else event.epoch - 1
            bar.set_description(f"{done} of {state['epochs']} epochs done", refresh=False)
            bar.set_postfix_str(f"{figures} {event.images_per_second:.0f} img/s", refresh=True)
        elif isinstance(event, EpochEnd):
            (bar.write if bar is not None else print)(epoch_line(event, sample_path=True, missing="-"))
        elif isinstance(event, CheckpointSaved) and quiet:
            print(f"checkpoint {event.path}", flush=True)
        elif isinstance(event, RunAlarm):
            (bar.write if bar is not None else print)(alarm_line(event))
        elif isinstance(event, RunNotice):
            (bar.write if bar is not None else print)(event.message)
        elif isinstance(event, RunPaused) and bar is not None:
            bar.write("paused")
        elif isinstance(event, RunError):
            if bar is not None:
                bar.close()
                state["bar"] = None

    def close() -> None:
        if state["bar"] is not None:
            state["bar"].close()

    on_event.close = close  # type: ignore[attr-defined]
    on_event.state = state  # type: ignore[attr-defined]
    return on_event


def _train(request, args, session=None) -> int:
    """Train as ``request`` asks, in the foreground: a progress line, Ctrl-C or SIGTERM stops with a checkpoint."""
    from studio.app.epochs import counts_text
    from studio.app.training import Training

    def data_progress(message: str, fraction: float) -> None:
        if fraction == 0.0 or fraction == 1.0:
            print(message, flush=True)

    reporter = _progress_reporter(args.quiet)
    training = Training(request, on_event=reporter, progress=data_progress, distributed=session and session.group)
    interrupts = {"n": 0, "first": signal.SIGINT}

    def on_signal(signum, frame) -> None:
        if not training.training:
            raise _Interrupted(signum)  # the data is still loading: nothing to save, the command ends
        interrupts["n"] += 1
        if interrupts["n"] == 1:
            interrupts["first"] = signum
            what = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
            if session is None or (session.is_main and not session.reports):  # else the launcher says it
                print(
                    f"\n{what}: stopping after this step and writing a checkpoint (Ctrl-C again to abort)",
                    file=sys.stderr,
                )
            training.request_stop()
        else:
            raise KeyboardInterrupt

    # SIGTERM (docker stop, systemd, a batch scheduler) ends a run as Ctrl-C does: with a checkpoint.
    previous = {sig: signal.signal(sig, on_signal) for sig in _STOP_SIGNALS}
    try:
        outcome = training.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        reporter.close()
    result = outcome.finished
    if session is not None:
        session.close(clean=result.reason != "error")  # after an error other ranks may be gone: no farewells
    if result.reason == "error":
        return _fail(result.message)
    where = f"; latest checkpoint {outcome.latest}" if outcome.latest else ""
    if result.reason == "stopped":
        why = f" ({args.minutes:g} minutes of training)" if outcome.out_of_time and not interrupts["n"] else ""
        started = reporter.state
        counts = counts_text(
            result.epoch, started.get("planned", result.epoch), result.step, started.get("steps_per_epoch")
        )
        # 'stopped at epoch E, step S' (E complete epochs, S steps in all) stays first: scripts read it.
        print(f"stopped at epoch {result.epoch}, step {result.step} ({counts}){why}{where}")
        return _exit_status(interrupts["first"]) if interrupts["n"] else 0
    print(f"done: {result.epoch} epochs, {result.step} steps{where}")
    return 0


# --- commands ----------------------------------------------------------------------


def cmd_new(args) -> int:
    from studio.app.training import new_project

    project = new_project(args.project, args.preset, args.dataset, _settings(args.set))
    config = project.config
    print(f"created {project.file} from preset {args.preset} ({config.family} on {config.dataset})")
    return 0


def cmd_train(args) -> int:
    from studio.app.training import new_run_request
    from studio.cli_distributed import build_request, launch_or_join

    launched, session = launch_or_join(args)  # --gpus/--processes start torchrun; a torchrun rank joins its group
    if launched is not None:
        return launched
    changes = _settings(args.set)
    changes.update({k: v for k, v in (("epochs", args.epochs), ("device", args.device)) if v is not None})
    build = lambda: new_run_request(args.project, changes, max_steps=args.max_steps, minutes=args.minutes)  # noqa: E731
    return _train(build_request(session, build), args, session)


def cmd_resume(args) -> int:
    from studio.app.training import RewindNeeded, resume_run_request
    from studio.cli_distributed import build_request, launch_or_join

    launched, session = launch_or_join(args)  # --gpus/--processes start torchrun; a torchrun rank joins its group
    if launched is not None:
        return launched

    def build():
        try:
            if args.more is not None and args.epochs is not None:
                raise StudioError("--more N and --epochs N: give one (more epochs, or the total to reach)")
            return resume_run_request(
                args.project,
                args.epochs,
                args.device,
                rewind=args.rewind,
                max_steps=args.max_steps,
                minutes=args.minutes,
                more=args.more,
            )
        except RewindNeeded as exc:
            # Evaluations and averages name those files: replacing them is never silent.
            raise StudioError(
                f"{exc}; pass --rewind to resume from it anyway, or resume from the run's latest"
            ) from None

    request = build_request(session, build)  # in a distributed run: planned by rank 0 alone
    print(f"resuming from {request.resume_from}")
    return _train(request, args, session)


def cmd_sample(args) -> int:
    from studio.app.sampling import LayoutRequest, SampleRequest, sample_grid

    layout = LayoutRequest(
        "words",
        args.condition,
        args.rows,
        args.cols,
        args.fix,
        args.n,
        args.random,
        args.interpolate,
        args.steps,
        args.path,
        args.seed,
    )
    result = sample_grid(
        SampleRequest(
            args.checkpoint,
            args.out,
            layout,
            args.ema,
            args.seed,
            args.truncation,
            args.truncation_mode,
            args.scale,
            not args.no_captions,
            args.sheet,
            args.force,
        )
    )
    size = f"{result.size[0]}x{result.size[1]} px"
    if args.sheet:
        print(
            f"wrote {result.path} ({len(result.labels)} generators: {', '.join(result.labels)}; "
            f"{result.rows} x {result.cols} samples each, {size})"
        )
    else:
        print(f"wrote {result.path} ({result.rows} x {result.cols} samples, {size})")
    return 0


def cmd_average(args) -> int:
    from studio.app.checkpoints import AverageRequest, average, list_run
    from studio.app.reporting import checkpoint_lines

    request = AverageRequest(
        args.run,
        args.files,
        args.last,
        args.epochs,
        "ema" if args.ema else "g",
        not args.no_bn_reestimate,
        args.bn_batches,
        args.bn_batch_size,
        args.seed,
        args.out,
        best=args.best,
    )
    if not request.chosen:
        listing = list_run(args.run)
        print(f"run {listing.run.path}: choose --last N, --best N, --epochs A-B or --files to average")
        print("\n".join(checkpoint_lines(listing)))
        return 0
    outcome = average(request, log=lambda text: print(text, flush=True))
    print(outcome.describe_bn())
    print(f"wrote {outcome.path}")
    return 0


def cmd_export(args) -> int:
    from studio.app.exporting import ExportRequest, export

    result = export(ExportRequest(args.checkpoint, args.out, args.format, "ema" if args.ema else "g", args.force))
    print(f"wrote {result.path} ({result.format}) and {result.sidecar}")
    return 0


def cmd_info(args) -> int:
    from studio.app.checkpoints import CheckpointSummary, ProjectSummary, inspect
    from studio.app.reporting import checkpoint_lines

    found = inspect(args.path)
    if isinstance(found, CheckpointSummary):
        c = found.config
        print(f"checkpoint {found.path}")
        print(f"  epoch {found.epoch} (step {found.step}, {found.epoch_step} steps into the next)")
        print(f"  {c.family} on {c.dataset}, {c.image_size} px, condition {found.space.describe()}")
        print(f"  EMA of G: {'yes' if found.has_ema else 'no'}; saved {found.saved_at}")
        if found.average:
            print(f"  {found.average}")
        if getattr(found, "kind", "") == "snapshot":
            print("  a generator snapshot (G and its EMA): resume from a full checkpoint in the run's checkpoints/")
    elif isinstance(found, ProjectSummary):
        project, c = found.project, found.project.config
        print(f"project {project.folder} ({project.name}), preset {project.preset or '-'}")
        print(f"  {c.family} on {c.dataset}, {c.image_size} px, {c.epochs} epochs of batch {c.batch_size}")
        from studio.app.run_summary import run_summary
        from studio.core.diskuse import human_bytes

        for state in found.runs:
            note = f", {state.note()}" if state.note() else ""
            summary = run_summary(state.run)
            name = f" ({summary['name']})" if summary["name"] else ""
            disk = human_bytes(summary["disk_bytes"])
            print(f"  run {state.run.run_id}{name}: {state.epochs_checkpointed} epochs checkpointed, {disk}{note}")
    else:
        for removed in found.removed:
            print(f"  removed {removed.name}, left by a writer that was killed mid-write")
        print(f"run {found.run.path}: {found.config.family} on {found.config.dataset}")
        from studio.app.run_summary import run_summary
        from studio.cli_runs import disk_lines, notes_lines

        summary = run_summary(found.run)
        print("\n".join(notes_lines(summary) + disk_lines(summary)))
        print("\n".join(checkpoint_lines(found.listing)))
        print(f"  {found.samples} sample grids, {found.metric_rows} metric rows")
    return 0


def cmd_presets(args) -> int:
    from studio.presets import list_presets

    for preset in list_presets():
        c = preset.config
        print(f"{preset.name:26s} {c.family:16s} {c.dataset:16s} {c.image_size:3d}px  {preset.title}")
    return 0


def _eval_command(name: str, args) -> int:
    from studio.cli_eval import COMMANDS as EVAL_COMMANDS

    return EVAL_COMMANDS[name](args)


def _sweep_command(name: str, args) -> int:
    from studio.cli_sweep import COMMANDS as SWEEP_COMMANDS

    return SWEEP_COMMANDS[name](args)


def _runs_command(name: str, args) -> int:
    from studio.cli_runs import COMMANDS as RUNS_COMMANDS

    return RUNS_COMMANDS[name](args)


COMMANDS = {
    "judge": lambda args: _eval_command("judge", args),
    "evaluate": lambda args: _eval_command("evaluate", args),
    "new": cmd_new,
    "train": cmd_train,
    "resume": cmd_resume,
    "sample": cmd_sample,
    "average": cmd_average,
    "export": cmd_export,
    "info": cmd_info,
    "presets": cmd_presets,
    "sweep": lambda args: _sweep_command("sweep", args),
    "queue": lambda args: _sweep_command("queue", args),
    "note": lambda args: _runs_command("note", args),
    "pin": lambda args: _runs_command("pin", args),
    "unpin": lambda args: _runs_command("unpin", args),
}


class _Interrupted(KeyboardInterrupt):
    """A stop signal outside training: Ctrl-C, or SIGTERM from docker stop or systemd."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _exit_status(signum: int) -> int:
    """128 + the signal, as a shell reports a process its signal ended: 130 for Ctrl-C, 143 for SIGTERM."""
    return 128 + int(signum)


def _interrupt(signum, frame) -> None:
    raise _Interrupted(signum)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning on one line, as the errors are, without Python's source line; each text once per command."""
    text = f"warning: {one_line(message)}"
    if text not in _shown_warnings:
        _shown_warnings.add(text)
        print(text, file=sys.stderr, flush=True)


_shown_warnings: set[str] = set()


def main(argv: list[str] | None = None) -> int:
    # Before the heavy imports: a Ctrl-C or SIGTERM during them aborts at once, even where the shell that
    # started the command in the background had Ctrl-C ignored. Training installs its own handlers.
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, _interrupt) for sig in _STOP_SIGNALS}
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            _shown_warnings.clear()
            warnings.showwarning = _show_warning
            args = build_parser().parse_args(argv)
            args.argv = list(sys.argv[1:] if argv is None else argv)  # what a launch passes to each rank
            return COMMANDS[args.command](args)
    except StudioError as exc:
        return _fail(one_line(exc, 2000))
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        print(f"\naborted after {time.perf_counter() - started:.0f} s", file=sys.stderr)
        return _exit_status(signum)
    except OSError as exc:
        name = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{name}{exc.strerror or exc}")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

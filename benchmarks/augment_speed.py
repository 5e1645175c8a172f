"""What DiffAugment costs: ``python benchmarks/augment_speed.py [--batch 64] [--size 32] [--threads 1] [--steps 12]``.

Times each policy on a channels_last batch in [-1, 1] (best of 7 rounds), the
full policy's forward and backward, the same in bfloat16, and, for scale, the
training rate of a 32 px ACGAN with augmentation off and on (``--steps`` steps
each, random images). On a shared CPU use ``--threads 1``: with more threads,
other processes stall each small operation for milliseconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from studio.core.augment import POLICIES, diff_augment
from studio.core.conditions import Categorical
from studio.core.config import TrainConfig
from studio.core.rundir import RunDirectory
from studio.core.trainer import Trainer
from studio.data.dataset import ImageDataset


def best_ms(f, n: int = 50, rounds: int = 7) -> float:
    for _ in range(5):
        f()
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(n):
            f()
        best = min(best, (time.perf_counter() - started) / n)
    return best * 1e3


def training_rate(policy: str, batch: int, steps: int) -> float:
    space = Categorical([str(i) for i in range(10)])
    g = torch.Generator().manual_seed(0)
    n = batch * steps
    images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)
    dataset = ImageDataset(images, space.sample(n, g), space, "bench:random")
    cfg = TrainConfig(
        image_size=32, family="acgan", batch_size=batch, epochs=1, device="cpu", precision="float32",
        diffaugment=policy, collapse_alarm=False, log_every=1000,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        run = RunDirectory.create(folder, cfg, run_id="bench")
        trainer = Trainer(cfg, dataset, run, write_files=False, max_steps=steps)
        started = time.perf_counter()
        trainer.run()
        return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=12, help="training steps per rate (0 skips the rates)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = (torch.rand(args.batch, 3, args.size, args.size) * 2 - 1).contiguous(memory_format=torch.channels_last)
    print(f"batch {args.batch}x3x{args.size}x{args.size}, channels_last, {args.threads} thread(s), best of 7")
    for policy in [("color",), ("translation",), ("cutout",), ("translation", "cutout"), POLICIES]:
        print(f"  {','.join(policy):26s} {best_ms(lambda p=policy: diff_augment(x, p)):7.3f} ms")
    xb = x.bfloat16()
    print(f"  {'all, bfloat16':26s} {best_ms(lambda: diff_augment(xb, POLICIES)):7.3f} ms")
    xg = x.clone().requires_grad_(True)
    print(f"  {'all, forward + backward':26s} {best_ms(lambda: diff_augment(xg, POLICIES).sum().backward()):7.3f} ms")
    if args.steps:
        for policy in ("off", ",".join(POLICIES)):
            rate = training_rate(policy, args.batch, args.steps)
            print(f"training acgan 32px, diffaugment {policy:26s} {rate:6.0f} img/s ({args.steps} steps)")


if __name__ == "__main__":
    main()

"""Steady-state training speed of a preset: ``python benchmarks/throughput.py PRESET``.

Trains the preset's real models on its built-in dataset for a fixed number of
steps (nothing is written to disk), skips the warm-up steps, and prints
images per second. The last line ends in ``img/s``. ``--torch-dropout`` builds
D with ``torch.nn.Dropout`` in place of the studio's ``ByteDropout``, to show
what the cheaper CPU mask buys a preset with ``d_dropout``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from studio.core.events import RunStarted, StepMetrics
from studio.core.rundir import RunDirectory
from studio.core.trainer import Trainer
from studio.data.dataset import load_dataset
from studio.presets import load_preset


def measure(preset: str, steps: int, warmup: int, **overrides) -> tuple[float, str]:
    config = load_preset(preset).config
    overrides = {k: v for k, v in overrides.items() if v is not None}
    n_images = (steps + warmup + 1) * (overrides.get("batch_size") or config.batch_size)
    settings = {"log_every": 1, "epochs": 1, "dataset_size": max(n_images, 1000), **overrides}
    config = config.replace(**settings)
    dataset = load_dataset(config.dataset, config.image_size, config.channels, config.dataset_size)
    marks: list[tuple[int, float]] = []
    info: dict = {}

    def on_event(event) -> None:
        if isinstance(event, StepMetrics):
            marks.append((event.step, time.perf_counter()))
        elif isinstance(event, RunStarted):
            info["device"], info["precision"] = event.device, event.precision

    trainer = Trainer(
        config, dataset, RunDirectory("/nonexistent"), on_event, max_steps=warmup + steps, write_files=False
    )
    result = trainer.run()
    if result.reason == "error":
        raise SystemExit(f"error: {result.message}")
    (s0, t0), (s1, t1) = marks[warmup - 1], marks[-1]
    rate = (s1 - s0) * config.batch_size / (t1 - t0)
    return rate, f"{info['device']}, {info['precision']}, batch {config.batch_size}, {torch.get_num_threads()} threads"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset")
    parser.add_argument("--steps", type=int, default=40, help="timed steps after warm-up")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--device")
    parser.add_argument("--precision")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument(
        "--cpu-threads", type=int, help="the cpu_threads setting: 0 follows the free cores (the default), N fixes N"
    )
    parser.add_argument(
        "--torch-dropout",
        action="store_true",
        help="D's dropout as torch.nn.Dropout (a Bernoulli draw per element), for comparison",
    )
    args = parser.parse_args()
    if args.torch_dropout:
        import studio.core.models.discriminator as discriminator

        discriminator.ByteDropout = torch.nn.Dropout
    rate, where = measure(
        args.preset,
        args.steps,
        args.warmup,
        device=args.device,
        precision=args.precision,
        batch_size=args.batch_size,
        cpu_threads=args.cpu_threads,
    )
    dropout = "torch.nn.Dropout" if args.torch_dropout else "ByteDropout"
    print(f"{args.preset} ({where}, D dropout {dropout}): {args.steps} steps")
    print(f"{args.preset}: {rate:.1f} img/s")


if __name__ == "__main__":
    main()

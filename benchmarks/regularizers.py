"""What LeCam and lazy R1 cost per step: ``python benchmarks/regularizers.py [PRESET] [--steps 30] [--rounds 2]``.

Trains the preset (default acgan-cifar10, on its built-in set) with D's
BatchNorm off, which R1 needs, so every case has the same model, under each
setting: both off, LeCam, R1 every 16 D steps (StyleGAN2's lazy rhythm) and
R1 every step. The cases alternate within each round, so a change in the
machine's load hits all alike. Prints images/s per case (median over rounds)
and each one's share of the speed with both off.

``--flops`` counts instead the floating-point operations of one D step (one
where R1 is due) with the table of torch's FlopCounterMode: a figure that does not depend
on how busy the machine is. R1 every N steps costs 1/N of its step's extra.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from throughput import measure  # noqa: E402

CASES = {
    "both off": {},
    "lecam_weight 0.3": {"lecam_weight": 0.3},
    "r1_gamma 1, every 16": {"r1_gamma": 1.0, "r1_every": 16},
    "r1_gamma 1, every step": {"r1_gamma": 1.0, "r1_every": 1},
}


def step_flops(preset: str, settings: dict) -> int:
    """Floating-point operations of the first D step (R1 is due at step 0) of ``preset`` with ``settings``."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import flop_registry

    from studio.core.rundir import RunDirectory
    from studio.core.trainer import Trainer
    from studio.data.dataset import load_dataset
    from studio.presets import load_preset

    config = load_preset(preset).config.replace(d_batchnorm=False, device="cpu", precision="float32", **settings)
    dataset = load_dataset(config.dataset, config.image_size, config.channels, max(config.batch_size, 1000))
    trainer = Trainer(config, dataset, RunDirectory("/nonexistent"), write_files=False)
    trainer._setup()
    real, labels = trainer._batch(torch.arange(config.batch_size))

    class Counter(TorchDispatchMode):
        # FlopCounterMode's own module hooks refuse autograd.grad (R1), so count with its table directly.
        total = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            count = flop_registry.get(func._overloadpacket)
            if count is not None:
                self.total += count(*args, **(kwargs or {}), out_val=out)
            return out

    with Counter() as counter:
        trainer._d_step(real, labels, labels, keep_fake=False)
    return counter.total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", nargs="?", default="acgan-cifar10")
    parser.add_argument("--steps", type=int, default=30, help="timed steps after warm-up, per case and round")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--device")
    parser.add_argument("--precision")
    parser.add_argument("--flops", action="store_true", help="count one D step's operations instead of timing")
    args = parser.parse_args()
    if args.flops:
        base = step_flops(args.preset, CASES["both off"])
        print(f"{args.preset} with d_batchnorm off: floating-point operations of one D step (R1 due)")
        for name, settings in CASES.items():
            flops = step_flops(args.preset, settings)
            every = settings.get("r1_every", 1)
            mean = base + (flops - base) / every  # R1's extra on one D step in every r1_every
            print(
                f"  {name:24s} {flops / 1e9:8.3f} GFLOP this step, {mean / 1e9:8.3f} per D step on average "
                f"({mean / base:6.1%} of both off)"
            )
        return
    rates: dict[str, list[float]] = {name: [] for name in CASES}
    where = ""
    for round_ in range(args.rounds):
        for name, settings in CASES.items():
            rate, where = measure(
                args.preset,
                args.steps,
                args.warmup,
                device=args.device,
                precision=args.precision,
                d_batchnorm=False,
                **settings,
            )
            rates[name].append(rate)
            print(f"round {round_ + 1}: {name}: {rate:.1f} img/s", flush=True)
    print(f"{args.preset} with d_batchnorm off ({where}), {args.steps} steps x {args.rounds} rounds:")
    base = statistics.median(rates["both off"])
    for name, values in rates.items():
        rate = statistics.median(values)
        print(f"  {name:24s} {rate:8.1f} img/s  {rate / base:6.1%} of both off")


if __name__ == "__main__":
    main()

"""What checksums cost a checkpoint: ``python benchmarks/checkpoint_io.py [--preset NAME] [--reps N]``.

Builds the preset's G and D with Adam states (one step taken, so the moments
exist), then times computing every tensor's CRC-32, an atomic save (which
computes them), and a load that verifies them, and prints the file size.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from studio.core.checkpoint import load_checkpoint, save_checkpoint, tensor_checksums
from studio.core.models import build_models
from studio.data.dataset import dataset_space
from studio.presets import load_preset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--preset", default="acgan-hair-eyes", help="preset whose model to save (default acgan-hair-eyes)"
    )
    parser.add_argument("--reps", type=int, default=5, help="repetitions; the median is printed (default 5)")
    args = parser.parse_args()

    config = load_preset(args.preset).config
    space = dataset_space(config.dataset)
    g, d = build_models(config, space)
    optimisers = [torch.optim.Adam(m.parameters()) for m in (g, d)]
    for model, opt in zip((g, d), optimisers):
        for p in model.parameters():
            p.grad = torch.zeros_like(p)
        opt.step()
    state = {
        "epoch": 1,
        "step": 1,
        "config": config.to_dict(),
        "space": space.to_dict(),
        "g": g.state_dict(),
        "d": d.state_dict(),
        "opt_g": optimisers[0].state_dict(),
        "opt_d": optimisers[1].state_dict(),
    }
    times: dict[str, list[float]] = {"checksums": [], "save": [], "verified load": []}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "epoch_0001.pt"
        for _ in range(args.reps):
            for name, call in (
                ("checksums", lambda: tensor_checksums(state)),
                ("save", lambda: save_checkpoint(path, state)),
                ("verified load", lambda: load_checkpoint(path)),
            ):
                started = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - started)
        size = os.path.getsize(path)
    print(f"{args.preset}: checkpoint of {size / 1e6:.0f} MB, median of {args.reps}")
    for name, values in times.items():
        print(f"  {name:14s} {statistics.median(values):.3f} s")


if __name__ == "__main__":
    main()

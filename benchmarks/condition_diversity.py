"""How much a generator's images vary within one condition, against real images of that condition:
``python benchmarks/condition_diversity.py RUN/checkpoints/epoch_0020.pt [more checkpoints]``.

A conditional GAN can meet its conditions with one image per condition,
ignoring z (mode collapse within the condition); conditional accuracy cannot
see that, and FID sees it only mixed with everything else. This takes the
conditions that occur most often among the dataset's real images (exact label
vectors shared by at least two images), and for each measures the mean L1
distance between pairs of images of that condition (pixels in [-1, 1]): up to
``--per`` real images, and ``--per`` generated ones with fresh noise. It
prints the real spread, then for each checkpoint (its G and, when kept, its
EMA) the generated spread and its ratio to the real one: about 1 varies as
much as the data, near 0 means G ignores z. A second figure measures the
spread once each image's mean colour is taken away: a G that varies only the
overall brightness or tint of one scene scores high on the first and low on
the second, where real scenes that differ in layout score on both.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from studio.core.checkpoint import generator_from_checkpoint, load_checkpoint
from studio.data.dataset import load_dataset


def pair_spread(images: torch.Tensor, centred: bool = False) -> float:
    """Mean L1 distance over all pairs of ``images`` (N, C, H, W); ``centred``: each image less its mean colour."""
    if centred:
        images = images - images.mean(dim=(2, 3), keepdim=True)
    pairs = list(itertools.combinations(range(len(images)), 2))
    return float(torch.stack([(images[i] - images[j]).abs().mean() for i, j in pairs]).mean())


def spreads(batches: list[torch.Tensor]) -> tuple[float, float]:
    """(spread, centred spread), each the mean over the conditions' batches."""
    return (
        sum(pair_spread(b) for b in batches) / len(batches),
        sum(pair_spread(b, centred=True) for b in batches) / len(batches),
    )


def common_conditions(labels: torch.Tensor, count: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(label vector, indices of the real images with exactly it) for the ``count`` commonest, each held twice+."""
    flat = labels.reshape(len(labels), -1).float()
    values, inverse, counts = torch.unique(flat, dim=0, return_inverse=True, return_counts=True)
    order = torch.argsort(counts, descending=True)
    return [
        (labels[(inverse == k).nonzero()[0, 0]], (inverse == k).nonzero()[:, 0])
        for k in order[:count].tolist()
        if counts[k] >= 2
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--conditions", type=int, default=24, help="commonest conditions to measure (default 24)")
    parser.add_argument("--per", type=int, default=16, help="images per condition (default 16)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_grad_enabled(False)

    _, space, config = generator_from_checkpoint(args.checkpoints[0], "g")
    dataset = load_dataset(config.dataset, config.image_size, config.channels, config.dataset_size)
    chosen = common_conditions(dataset.labels, args.conditions)
    real = spreads([dataset.images[idx[: args.per]].float().div(127.5).sub(1.0) for _, idx in chosen])
    print(f"{config.dataset}: {len(chosen)} conditions, up to {args.per} images each")
    print(f"{'':36s} {'spread':>8s} {'ratio':>6s}   {'less mean colour':>16s} {'ratio':>6s}")
    print(f"{'real images':36s} {real[0]:8.4f} {1:6.2f}   {real[1]:16.4f} {1:6.2f}")
    for path in args.checkpoints:
        kept_ema = bool(load_checkpoint(path, mmap=True).get("ema"))
        for which in ("g", "ema") if kept_ema else ("g",):
            g, g_space, g_config = generator_from_checkpoint(path, which)
            if g_space != space:
                sys.exit(f"{path}: draws {g_space.describe()}, unlike {args.checkpoints[0]}")
            noise = torch.Generator().manual_seed(args.seed)
            batches = []
            for label, _ in chosen:
                z = torch.randn(args.per, g_config.nz, generator=noise)
                cond = space.encode(label.unsqueeze(0).repeat(args.per, *[1] * label.dim()))
                batches.append(g(z, cond).float())
            raw, centred = spreads(batches)
            name = f"{path.parent.parent.name}/{path.name}" + (" (EMA)" if which == "ema" else "")
            print(f"{name:36s} {raw:8.4f} {raw / real[0]:6.2f}   {centred:16.4f} {centred / real[1]:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

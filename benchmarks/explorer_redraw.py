"""How fast the condition explorer redraws: ``python benchmarks/explorer_redraw.py``.

Builds the acgan-hair-eyes preset's generator (64 px, random weights) on the
CPU and renders its 12 hair x 10 eye table, the grid the explorer panel shows,
timing what a user's controls cause:

* a full redraw (new seed: every cell through G), per precision and memory format;
* the first strip of rows a caller can show while the rest render;
* resampling one row (only that row's 10 cells through G);
* going back to an earlier setting (every cell from the cache).

Each figure is the median of ``--reps`` redraws after one warm-up. The target
is 200 ms for the full redraw.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from studio.core.device import cpu_has_fast_bf16
from studio.core.explore import Explorer, NoiseSettings, attribute_table
from studio.core.models import build_models
from studio.data.dataset import dataset_space
from studio.presets import load_preset


def median_ms(samples: list[float]) -> float:
    return 1000 * statistics.median(samples)


def full_redraws(explorer: Explorer, reps: int, seed0: int) -> tuple[list[float], list[float]]:
    """Seconds per full redraw and to the first strip of rows, each with a seed never drawn before."""
    totals, firsts = [], []
    for i in range(reps + 1):
        explorer.set_seed(seed0 + i)
        started = time.perf_counter()
        first: list[float] = []
        explorer.render(
            on_rows=lambda a, b, strip, first=first: first.append(time.perf_counter()) if not first else None
        )
        if i:  # the first redraw warms up the kernels
            totals.append(time.perf_counter() - started)
            firsts.append(first[0] - started)
    return totals, firsts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="acgan-hair-eyes")
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    config = load_preset(args.preset).config
    space = dataset_space(config.dataset)
    torch.manual_seed(0)
    g, _ = build_models(config, space)
    g = g.to(args.device).eval()
    layout = attribute_table(space, "hair", "eyes")
    print(
        f"{args.preset}: {config.image_size} px, ngf {config.ngf}, {layout.rows} x {layout.cols} grid "
        f"({layout.rows * layout.cols} images) on {args.device}, {torch.get_num_threads()} threads, "
        f"CPU bf16 dot products: {'yes' if cpu_has_fast_bf16() else 'no'}"
    )

    results = {}
    for precision in ("float32", "bfloat16"):
        for channels_last in (False, True):
            for chunk in (40, 120):
                explorer = Explorer(
                    g,
                    space,
                    config.nz,
                    layout,
                    NoiseSettings(seed=0),
                    precision=precision,
                    channels_last=channels_last,
                    chunk_cells=chunk,
                )
                g.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
                totals, firsts = full_redraws(explorer, args.reps, seed0=1000 * len(results))
                results[(precision, channels_last, chunk)] = median_ms(totals)
                print(
                    f"full redraw  {precision:8s} channels_last={'on ' if channels_last else 'off'} "
                    f"chunk {chunk:3d} cells: {median_ms(totals):7.1f} ms   first rows after "
                    f"{median_ms(firsts):6.1f} ms"
                )

    g.to(memory_format=torch.contiguous_format)
    explorer = Explorer(g, space, config.nz, layout, NoiseSettings(seed=0), precision="auto")
    conv = next(p for p in g.parameters() if p.dim() == 4)
    channels_last = conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    print(
        f"explorer default: precision {explorer.precision.name}, channels_last {'on' if channels_last else 'off'}, "
        f"chunk {explorer.chunk_cells}"
    )
    full_redraws(explorer, 1, seed0=99)
    row_times, cached_times = [], []
    for i in range(args.reps):
        explorer.resample_row(i % layout.rows)
        started = time.perf_counter()
        result = explorer.render()
        row_times.append(time.perf_counter() - started)
        assert result.rendered == layout.cols
    for i in range(args.reps):
        explorer.set_truncation(0.7 if i % 2 else None)
        started = time.perf_counter()
        explorer.render()
        if i >= 2:  # both settings seen once: from here on every cell is cached
            cached_times.append(time.perf_counter() - started)
    print(f"resample one row ({layout.cols} images):      {median_ms(row_times):7.1f} ms")
    print(f"back to an earlier setting (all cached): {median_ms(cached_times):7.1f} ms")
    best = min(results, key=results.get)
    print(
        f"fastest full redraw: {results[best]:.1f} ms ({best[0]}, channels_last {'on' if best[1] else 'off'}, "
        f"chunk {best[2]}); target 200 ms"
    )


if __name__ == "__main__":
    main()

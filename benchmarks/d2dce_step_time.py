"""What D2D-CE costs per training step against ACGAN's softmax head: ``python benchmarks/d2dce_step_time.py``.

Builds two trainers of one preset (default acgan-digits; its model, batch and
precision) that differ only in ``aux_loss``, and times their full iteration
(D step, G step) on one fixed batch, alternating between them round after
round so that a busy machine slows both alike.  Prints the median
milliseconds per iteration of each and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from studio.core.rundir import RunDirectory  # noqa: E402
from studio.core.trainer import Trainer  # noqa: E402
from studio.data.dataset import load_dataset  # noqa: E402
from studio.presets import load_preset  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="acgan-digits")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--iterations", type=int, default=5, help="iterations timed per round (default 5)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    config = load_preset(args.preset).config.replace(device="cpu", collapse_alarm=False)
    dataset = load_dataset(config.dataset, config.image_size, config.channels, max(1000, config.batch_size))
    trainers = {}
    for aux_loss in ("ce", "d2d-ce"):
        trainer = Trainer(
            config.replace(aux_loss=aux_loss), dataset, RunDirectory(Path(tempfile.mkdtemp())), write_files=False
        )
        trainer._setup()
        trainers[aux_loss] = trainer
    index = torch.arange(config.batch_size)
    times: dict[str, list[float]] = {k: [] for k in trainers}
    for round_ in range(args.rounds + 1):
        for name, trainer in trainers.items():
            real, labels = trainer._batch(index)
            started = time.perf_counter()
            for _ in range(args.iterations):
                trainer._iteration(real, labels, g_turn=True)
            if round_:  # the first round warms up
                times[name].append((time.perf_counter() - started) / args.iterations * 1000)
    medians = {k: statistics.median(v) for k, v in times.items()}
    print(f"preset {args.preset}: batch {config.batch_size}, {config.image_size} px, ndf {config.ndf}, ", end="")
    print(f"precision {trainers['ce'].precision.name}, {torch.get_num_threads()} threads")
    for name, ms in medians.items():
        print(f"  aux_loss {name:7s} {ms:8.1f} ms per iteration (median of {args.rounds} rounds)")
    print(f"  d2d-ce / ce: {medians['d2d-ce'] / medians['ce']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

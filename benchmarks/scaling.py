"""Training speed against the number of processes: ``python benchmarks/scaling.py PRESET --processes 1,2``.

``--processes 1,2`` runs the preset as that many CPU processes (gloo);
``--gpus 1,2,4`` as that many GPUs (nccl), one process each. Each size is a
fresh ``torchrun --standalone`` launch that trains the preset's models on its
built-in data for a fixed number of steps (nothing written to disk); rank 0
times the steps after the warm-up. ``batch_size`` is the global batch, so the
same work is shared by more processes (strong scaling). A first line measures
one process without DDP, the base of the efficiency column:

    efficiency(N) = images/s with N / (N x images/s of one process without DDP)

so the 1-process DDP row shows what DDP itself costs. Several processes on
one GPU are no substitute for several GPUs: give ``--gpus`` no more than the
machine has.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LOG_EVERY = 5


def _config(preset: str, steps: int, warmup: int, batch_size: int | None, device: str):
    from studio.presets import load_preset

    config = load_preset(preset).config
    batch = batch_size or config.batch_size
    n_images = (steps + warmup + 1) * batch
    settings = dict(batch_size=batch, log_every=LOG_EVERY, epochs=1, dataset_size=max(n_images, 1000), device=device)
    # Health checks and scores at epoch ends are not training speed.
    settings.update({k: v for k, v in (("collapse_alarm", False), ("score_every", 0)) if hasattr(config, k)})
    return config.replace(**settings)


def measure(preset: str, steps: int, warmup: int, batch_size: int | None, device: str, distributed=None) -> dict:
    """Images/s of the preset's training in this process (one rank of ``distributed``, or alone)."""
    import torch

    from studio.core.events import RunStarted, StepMetrics
    from studio.core.rundir import RunDirectory
    from studio.core.trainer import Trainer
    from studio.data.dataset import load_dataset

    config = _config(preset, steps, warmup, batch_size, device)
    dataset = load_dataset(config.dataset, config.image_size, config.channels, config.dataset_size)
    marks: list[tuple[int, float]] = []
    info: dict = {}

    def on_event(event) -> None:
        if isinstance(event, StepMetrics):
            marks.append((event.step, time.perf_counter()))
        elif isinstance(event, RunStarted):
            info.update(device=event.device, precision=event.precision)

    trainer = Trainer(
        config,
        dataset,
        RunDirectory("/nonexistent"),
        on_event,
        max_steps=warmup + steps,
        write_files=False,
        distributed=distributed,
    )
    result = trainer.run()
    if result.reason == "error":
        raise SystemExit(f"error: {result.message}")
    start = next(i for i, (step, _) in enumerate(marks) if step >= warmup)
    (s0, t0), (s1, t1) = marks[start], marks[-1]
    return {
        "rate": (s1 - s0) * config.batch_size / (t1 - t0),
        "batch": config.batch_size,
        "device": info["device"],
        "precision": info["precision"],
        "threads": torch.get_num_threads(),
    }


def _worker(args) -> None:
    """One rank of a launch: measure, and rank 0 leaves the figures in --out."""
    from studio.core.distributed import init_from_env

    group = init_from_env(args.device)
    figures = measure(args.preset, args.steps, args.warmup, args.batch_size, args.device, group)
    if group.is_main:
        Path(args.out).write_text(json.dumps(figures))
    group.close()


def _launch(args, world: int, device: str, threads: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc-per-node={world}",
            str(Path(__file__).resolve()),
            "--worker",
            args.preset,
            "--device",
            device,
            "--steps",
            str(args.steps),
            "--warmup",
            str(args.warmup),
            "--out",
            str(out),
        ]
        if args.batch_size:
            command += ["--batch-size", str(args.batch_size)]
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), LOGLEVEL="ERROR")
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0 or not out.is_file():
            tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
            raise SystemExit(f"error: the {world}-process launch failed:\n" + "\n".join(tail))
        return json.loads(out.read_text())


def _alone(args, device: str, threads: int) -> dict:
    """One process without DDP, in a fresh interpreter with the same thread count as the launches use."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); from scaling import measure; "
        "print(json.dumps(measure(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), "
        "int(sys.argv[5]) or None, sys.argv[6])))"
    )
    command = [sys.executable, "-c", code, str(Path(__file__).resolve().parent), args.preset]
    command += [str(args.steps), str(args.warmup), str(args.batch_size or 0), device]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"error: the single process failed:\n{done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give process counts such as 1,2,4") from None
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give process counts such as 1,2,4")
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset")
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--processes", type=_sizes, help="CPU process counts, e.g. 1,2")
    sizes.add_argument("--gpus", type=_sizes, help="GPU counts, e.g. 1,2,4,8")
    parser.add_argument("--steps", type=int, default=40, help="timed steps after the warm-up (default 40)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first (default 10)")
    parser.add_argument("--batch-size", type=int, help="global batch (default: the preset's)")
    parser.add_argument("--threads", type=int, help="CPU threads of each process (default: cores / largest count)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.warmup = max(LOG_EVERY, args.warmup // LOG_EVERY * LOG_EVERY)
    args.steps = max(LOG_EVERY, args.steps // LOG_EVERY * LOG_EVERY)
    if args.worker:
        _worker(args)
        return
    device = "cuda" if args.gpus else "cpu"
    worlds = args.gpus or args.processes or [1, 2]
    if device == "cuda":
        import torch

        have = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if have < worlds[-1]:
            raise SystemExit(f"error: --gpus {worlds[-1]}: this machine has {have} CUDA device(s)")
    cores = os.cpu_count() or 1
    # Every row gives each process the same CPU threads (the cores over the largest count; --threads), as each
    # GPU is its own: the rows then differ in the number of processes alone.
    per_process = args.threads or (max(1, cores // worlds[-1]) if device == "cpu" else 1)

    def threads(world: int) -> int:
        return per_process

    base = _alone(args, device, threads(1))
    print(
        f"{args.preset}: global batch {base['batch']}, {base['device']}, {base['precision']}, "
        f"{cores} CPU cores, {args.steps} timed steps after {args.warmup}"
    )
    print(f"{'processes':>9}  {'DDP':>3}  {'threads':>7}  {'img/s':>9}  {'per process':>11}  {'efficiency':>10}")
    print(f"{1:>9}  {'no':>3}  {base['threads']:>7}  {base['rate']:>9.0f}  {base['rate']:>11.0f}  {1.0:>10.0%}")
    for world in worlds:
        figures = _launch(args, world, device, threads(world))
        efficiency = figures["rate"] / (world * base["rate"])
        per = figures["rate"] / world
        row = f"{world:>9}  {'yes':>3}  {figures['threads']:>7}  {figures['rate']:>9.0f}  {per:>11.0f}"
        print(f"{row}  {efficiency:>10.0%}")


if __name__ == "__main__":
    main()

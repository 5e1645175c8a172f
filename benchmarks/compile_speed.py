"""Eager against compiled training steps: ``python benchmarks/compile_speed.py [PRESET ...]``.

For each preset (default: acgan-digits at 32 px and dcgan-faces at 64 px) it
trains the preset's models on its built-in set with ``compile`` off and on,
alternately (A B A B ..., ``--pairs`` pairs), each run in a fresh process as a
user's run would be, nothing written to disk.  It prints the CPU's flags, the
precision used, images per second of the timed steps (after ``--warmup``
steps), the seconds to the first step (the compile time, cold in the first
compiled run, which starts from an empty compile cache, and from the cache in
the later ones), each pair's ratio and the median.  The last line ends in
``x``: the median ratio over all pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PRESETS = ("acgan-digits", "dcgan-faces")
FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")


def cpu_flags() -> tuple[str, list[str]]:
    """The CPU's model name and which of :data:`FLAGS` it has (from /proc/cpuinfo; unknown elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="ignore")
    except OSError:
        return "unknown CPU", []
    name, flags = "unknown CPU", set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and name == "unknown CPU":
            name = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = set(value.split())
    return name, [f for f in FLAGS if f in flags]


def child(args) -> dict:
    """One run in this process: images/s of the timed steps, seconds to the first step, the notices."""
    import torch

    from studio.core.events import RunNotice, RunStarted, StepMetrics
    from studio.core.rundir import RunDirectory
    from studio.core.trainer import Trainer
    from studio.data.dataset import load_dataset
    from studio.presets import load_preset

    preset, steps, warmup = args.presets[0], args.steps, args.warmup
    if args.threads:
        torch.set_num_threads(args.threads)
    config = load_preset(preset).config
    n_images = (steps + warmup + 1) * config.batch_size
    settings = {"log_every": 1, "epochs": 1, "dataset_size": max(n_images, 1000), "compile": args.child}
    settings["device"] = args.device
    if args.precision:
        settings["precision"] = args.precision
    config = config.replace(**settings)
    dataset = load_dataset(config.dataset, config.image_size, config.channels, config.dataset_size)
    marks: list[float] = []
    info: dict = {"notices": []}

    def on_event(event) -> None:
        if isinstance(event, StepMetrics):
            marks.append(time.perf_counter())
        elif isinstance(event, RunStarted):
            info.update(device=event.device, precision=event.precision, started=time.perf_counter())
        elif isinstance(event, RunNotice):
            info["notices"].append(event.message)

    trainer = Trainer(
        config, dataset, RunDirectory("/nonexistent"), on_event, max_steps=warmup + steps, write_files=False
    )
    result = trainer.run()
    if result.reason == "error":
        raise SystemExit(f"error: {result.message}")
    rate = steps * config.batch_size / (marks[-1] - marks[warmup - 1])
    compiled = trainer.compiled is not None and trainer.compiled.active
    return {
        "rate": rate,
        "first_step": marks[0] - info["started"],
        "device": info["device"],
        "precision": info["precision"],
        "batch": config.batch_size,
        "image_size": config.image_size,
        "threads": torch.get_num_threads(),
        "compiled": compiled,
        "notices": info["notices"],
    }


def run_child(args, preset: str, compile_mode: str, cache: str) -> dict:
    command = [sys.executable, __file__, preset, "--child", compile_mode, "--steps", str(args.steps)]
    command += ["--warmup", str(args.warmup), "--device", args.device]
    if args.precision:
        command += ["--precision", args.precision]
    if args.threads:
        command += ["--threads", str(args.threads)]
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache}
    out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"{preset} compile {compile_mode}: failed\n{out.stderr[-2000:]}")
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("presets", nargs="*", default=list(PRESETS))
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30, help="timed steps after warm-up")
    parser.add_argument("--warmup", type=int, default=5, help="steps not timed (the compiled run compiles in them)")
    parser.add_argument("--precision", help="the presets' own (auto) unless given: float32, bfloat16")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, help="torch threads (default: PyTorch's, one per core)")
    parser.add_argument("--cache", help="compile cache folder (default: a fresh one, so the first run is cold)")
    parser.add_argument("--child", choices=("off", "on"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return
    name, flags = cpu_flags()
    print(f"CPU: {name}; {os.cpu_count()} logical CPUs; flags: {', '.join(flags) or 'none of ' + ', '.join(FLAGS)}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M')}; alternating eager (A) and compiled (B) runs, each a fresh process")
    cache = args.cache or tempfile.mkdtemp(prefix="compile-speed-cache-")
    print(f"compile cache: {cache}" + ("" if args.cache else " (fresh: the first compiled run compiles cold)"))
    try:
        compare(args, cache)
    finally:
        if not args.cache:
            shutil.rmtree(cache, ignore_errors=True)


def compare(args, cache: str) -> None:
    all_ratios = []
    for preset in args.presets:
        ratios = []
        for pair in range(args.pairs):
            a = run_child(args, preset, "off", cache)
            b = run_child(args, preset, "on", cache)
            if pair == 0:
                print(
                    f"{preset}: {a['image_size']} px, batch {a['batch']}, {a['device']}, precision {a['precision']}, "
                    f"{a['threads']} threads, {args.steps} timed steps after {args.warmup}"
                )
            if not b["compiled"]:
                print(f"  compiled run fell back to eager: {' | '.join(b['notices'])}")
            ratio = b["rate"] / a["rate"]
            ratios.append(ratio)
            print(
                f"  pair {pair + 1}: eager {a['rate']:.1f} img/s (first step {a['first_step']:.1f} s), "
                f"compiled {b['rate']:.1f} img/s (first step {b['first_step']:.1f} s), ratio {ratio:.2f}",
                flush=True,
            )
        all_ratios += ratios
        print(f"{preset}: median ratio compiled/eager {statistics.median(ratios):.2f}x")
    print(f"all presets: median ratio compiled/eager {statistics.median(all_ratios):.2f}x")


if __name__ == "__main__":
    main()

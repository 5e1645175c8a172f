"""Training speed on a CPU shared with another busy process, under each thread policy.

    python benchmarks/shared_cpu.py [--preset acgan-digits] [--steps 300] [--rounds 2]

For each policy (torch threads, OpenMP wait policy) the preset trains alone,
beside a CPU burner (one process spinning on one core), and beside a second
training of the same preset run with the studio's defaults. The runs
alternate policy by policy within each round, so a change in the machine's
load hits every policy alike. It prints images/s per case and what share of
its alone speed each policy keeps: losing one core of two should cost about
half, not 90%.

Each training is ``benchmarks/throughput.py`` in a fresh process, because
OpenMP reads its wait policy once, when the library loads.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# name -> (cpu_threads setting, environment). OMP_WAIT_POLICY is read by libgomp (PyTorch's OpenMP on Linux) when it
# loads; its default spins a while before sleeping.
POLICIES: dict[str, tuple[int, dict[str, str]]] = {
    "studio default (follows the free cores)": (0, {}),
    "2 threads fixed, OpenMP default wait": (2, {}),
    "2 threads fixed, passive wait": (2, {"OMP_WAIT_POLICY": "PASSIVE"}),
    "1 thread fixed": (1, {}),
}


def train_rate(preset: str, steps: int, threads: int, env: dict[str, str]) -> float:
    cmd = [sys.executable, str(HERE / "throughput.py"), preset, "--steps", str(steps), "--warmup", "10"]
    cmd += ["--cpu-threads", str(threads)]
    out = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True, check=False)
    match = re.search(r"([\d.]+) img/s\s*$", out.stdout)
    if out.returncode or not match:
        raise SystemExit(f"throughput.py failed ({out.returncode}):\n{out.stdout[-800:]}{out.stderr[-800:]}")
    return float(match.group(1))


def compete(preset: str) -> None:
    """The second training: the preset with the studio's defaults, over 2,000 images for as long as it is let run;
    prints 'ready' once it trains."""
    sys.path.insert(0, str(HERE.parent))
    from studio.core.events import StepMetrics
    from studio.core.rundir import RunDirectory
    from studio.core.trainer import Trainer
    from studio.data.dataset import load_dataset
    from studio.presets import load_preset

    config = load_preset(preset).config.replace(dataset_size=2000, epochs=100_000, log_every=1)
    dataset = load_dataset(config.dataset, config.image_size, config.channels, config.dataset_size)
    said = []

    def on_event(event) -> None:
        if isinstance(event, StepMetrics) and not said:
            said.append(print("ready", flush=True))

    result = Trainer(config, dataset, RunDirectory("/nonexistent"), on_event, write_files=False).run()
    if result.reason == "error":
        raise SystemExit(f"the competing training failed: {result.message}")


def start_competitor(kind: str, preset: str) -> subprocess.Popen | None:
    if kind == "alone":
        return None
    if kind == "burner":
        proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.5)
        return proc
    cmd = [sys.executable, __file__, "--compete", preset]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.stdout.readline().strip() != "ready":  # training, not still building its data
        proc.kill()
        raise SystemExit(f"the competing training did not start:\n{proc.stderr.read()[-800:]}")
    return proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="acgan-digits")
    parser.add_argument("--steps", type=int, default=300, help="timed steps per measurement")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cases", default="alone,burner,training")
    parser.add_argument("--compete", metavar="PRESET", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compete:
        return compete(args.compete)
    cases = args.cases.split(",")
    flags = set()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="ascii", errors="ignore").splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")
    print(f"{os.cpu_count()} logical CPUs; flags: " + ", ".join(f"{f} {'yes' if f in flags else 'no'}" for f in wanted))
    print(
        f"preset {args.preset}, {args.steps} timed steps per measurement, {args.rounds} rounds; {time.strftime('%F')}"
    )
    rates: dict[tuple[str, str], list[float]] = {}
    for round_ in range(1, args.rounds + 1):
        for case in cases:
            for name, (threads, env) in POLICIES.items():
                competitor = start_competitor(case, args.preset)
                try:
                    rate = train_rate(args.preset, args.steps, threads, env)
                finally:
                    if competitor is not None:
                        competitor.kill()
                        competitor.wait()
                rates.setdefault((name, case), []).append(rate)
                print(f"round {round_}, {case:8s} | {name:40s} | {rate:7.1f} img/s", flush=True)
    print()
    print(f"{'policy':40s} | " + " | ".join(f"{c:>15s}" for c in cases) + " | kept beside a busy process")
    for name in POLICIES:
        medians = {c: statistics.median(rates[(name, c)]) for c in cases}
        kept = ", ".join(
            f"{c} {medians[c] / medians['alone']:.0%}" for c in cases if c != "alone" and "alone" in medians
        )
        cells = " | ".join(f"{medians[c]:9.1f} img/s" for c in cases)
        print(f"{name:40s} | {cells} | {kept}")


if __name__ == "__main__":
    main()

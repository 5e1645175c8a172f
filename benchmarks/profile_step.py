"""Where a training step's time goes: ``python benchmarks/profile_step.py PRESET [--steps 20]``.

Trains the preset on its built-in data (nothing written) under
``torch.profiler`` and prints the operators by their own CPU time, then the
share of the step spent in arithmetic (convolutions, matrix products) against
everything else (element-wise work, optimiser, copies, Python between ops).

``--onednn`` instead runs a few steps with ``ONEDNN_VERBOSE=1`` in a fresh
process and tabulates the oneDNN primitives the convolutions reach: the
implementation (``brg:avx512_core_amx``, ``jit:avx2``, ``gemm:...``; a
``ref`` one would mean a slow reference kernel) and the memory layout of the
source (``acdb`` is channels-last NHWC; ``abcd`` plain NCHW would mean a
reorder before the kernel).
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Operators that are the model's arithmetic; everything else is overhead around it.
ARITHMETIC = ("conv", "mkldnn", "addmm", "mm", "bmm", "linear", "matmul", "onednn")


def run_steps(preset: str, steps: int, on_step=None, precision: str | None = None):
    from studio.core.events import StepMetrics
    from studio.core.rundir import RunDirectory
    from studio.core.trainer import Trainer
    from studio.data.dataset import load_dataset
    from studio.presets import load_preset

    config = load_preset(preset).config
    changes = {"log_every": 1, "epochs": 1, "dataset_size": max(1000, (steps + 2) * config.batch_size)}
    if precision:
        changes["precision"] = precision
    config = config.replace(**changes)
    dataset = load_dataset(config.dataset, config.image_size, config.channels, config.dataset_size)

    def on_event(event) -> None:
        if isinstance(event, StepMetrics) and on_step is not None:
            on_step()

    result = Trainer(config, dataset, RunDirectory("/nonexistent"), on_event, max_steps=steps, write_files=False).run()
    if result.reason == "error":
        raise SystemExit(f"error: {result.message}")


def profile(preset: str, steps: int, precision: str | None) -> None:
    from torch.profiler import ProfilerActivity, schedule
    from torch.profiler import profile as torch_profile

    warmup = 5
    with torch_profile(
        activities=[ProfilerActivity.CPU], schedule=schedule(wait=0, warmup=warmup, active=steps)
    ) as prof:
        run_steps(preset, warmup + steps + 1, prof.step, precision)
    averages = prof.key_averages()
    print(averages.table(sort_by="self_cpu_time_total", row_limit=25))
    total = sum(e.self_cpu_time_total for e in averages)
    arithmetic = sum(e.self_cpu_time_total for e in averages if any(k in e.key.lower() for k in ARITHMETIC))
    print(
        f"{preset}: {total / steps / 1000:.1f} ms of operator time per step; arithmetic (convolutions, matrix "
        f"products) {arithmetic / max(total, 1):.0%}, everything else {1 - arithmetic / max(total, 1):.0%}"
    )


def onednn(preset: str, steps: int, precision: str | None) -> None:
    env = {**os.environ, "ONEDNN_VERBOSE": "1"}
    cmd = [sys.executable, __file__, preset, "--steps", str(steps), "--child"]
    if precision:
        cmd += ["--precision", precision]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    counts: collections.Counter = collections.Counter()
    times: collections.Counter = collections.Counter()
    for line in out.stdout.splitlines():
        parts = line.split(",")
        # onednn_verbose,v1,primitive,exec,cpu,KIND,IMPLEMENTATION,PROP,MEMORY DESCRIPTORS,...,TIME (ms)
        if len(parts) < 9 or not parts[0].startswith("onednn_verbose") or parts[2:4] != ["primitive", "exec"]:
            continue
        kind, impl, descs = parts[5], parts[6], parts[8].split()
        layouts = {d.split(":")[0]: d.split(":")[3] for d in descs if d.count(":") >= 3}
        if kind == "reorder":
            layout = f"{layouts.get('src', '?')} -> {layouts.get('dst', '?')}"
        else:
            layout = layouts.get("src", layouts.get("diff_dst", "?"))
        counts[(kind, impl, layout)] += 1
        times[(kind, impl, layout)] += float(parts[-1])
    if not counts:
        print(out.stdout[-2000:], out.stderr[-2000:])
        raise SystemExit("no oneDNN primitives were reported (is this PyTorch built with oneDNN?)")
    total = sum(times.values())
    print(f"{'primitive':15s} {'implementation':55s} {'source layout':30s} {'calls':>6s} {'time':>6s}")
    for key, n in sorted(counts.items(), key=lambda kv: -times[kv[0]]):
        kind, impl, layout = key
        print(f"{kind:15s} {impl:55s} {layout:30s} {n:6d} {times[key] / total:6.1%}")
    reorder = sum(t for (kind, _, _), t in times.items() if kind == "reorder")
    print(f"oneDNN time in reorders (layout or precision conversions, not arithmetic): {reorder / total:.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--precision", help="override the preset's precision (auto, float32, bfloat16)")
    parser.add_argument("--onednn", action="store_true", help="tabulate the oneDNN kernels the step reaches")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_steps(args.preset, args.steps, precision=args.precision)
    elif args.onednn:
        onednn(args.preset, args.steps, args.precision)
    else:
        profile(args.preset, args.steps, args.precision)


if __name__ == "__main__":
    main()

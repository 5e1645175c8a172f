"""Side by side: our dcgan-faces preset against the PyTorch examples DCGAN, in alternating pairs.

    git clone https://github.com/pytorch/examples ../examples
    python benchmarks/compare_dcgan_example.py --example ../examples/dcgan/main.py [--pairs 3]

Both train the same images: the built-in faces, written once as a 64 px image
folder. The example reads it with its own ImageFolder loader and its default
settings (2 loader workers, float32, batch 64, no options but the data, seed
and output folder); ours reads the same folder through ``folder:PATH``. The
runs alternate, example then ours, ``--pairs`` times, so a change in the
machine's load hits both sides; the script prints each pair's ratio and their
median, the CPU's flags, the precision each side used, and how close ours
comes to the CPU's peak arithmetic rate (the FLOP bound).

The example's speed is taken from the times its per-iteration lines arrive,
after a warm-up; ours from the trainer's step reports, after the same warm-up.
The example is run as published, from the path given; nothing of it is part
of this project.

``--isa avx2`` runs both sides with oneDNN and ATen's kernels limited to AVX2
(``ONEDNN_MAX_CPU_ISA=AVX2``, ``ATEN_CPU_CAPABILITY=avx2``) and reckons the
FLOP bound for AVX2: the kernels an AVX2-only host would run, on this CPU's
cores, clock and caches. Use it with ``--precision float32``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from PIL import Image
from throughput import measure

from studio.data.builtin.faces import generate_faces
from studio.presets import load_preset

PRESET = "dcgan-faces"
BATCH = 64
# Flags that decide the CPU's arithmetic rate, in the order they are printed.
FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
# --isa: the environment that limits oneDNN's and ATen's kernels, and the flags the limit takes away.
ISA_LIMITS = {
    "avx2": (
        {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"},
        {"avx512f", "avx512_bf16", "amx_bf16", "amx_tile"},
    )
}


def cpu_info() -> tuple[str, set[str], float | None]:
    """The CPU's model name, its flags and its clock in GHz (None when the system does not say)."""
    name, flags, mhz = platform.processor() or "unknown CPU", set(), None
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="ignore")
    except OSError:
        return name, flags, mhz
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "model name":
            name = value
        elif key == "flags" and not flags:
            flags = set(value.split())
        elif key == "cpu MHz" and mhz is None:
            mhz = float(value)
    return name, flags, mhz / 1000 if mhz else None


def peak_gflops(flags: set[str], ghz: float, cores: int, precision: str) -> tuple[float, str]:
    """The CPU's peak rate for the precision's matrix arithmetic, and how it was reckoned.

    Two fused multiply-add units per core (Intel server cores, AMD Zen 4):
    float32 does 2 x 8 (AVX2) or 2 x 16 (AVX-512) multiply-adds a cycle;
    AVX512-BF16 doubles that for bfloat16; AMX does 1,024 bfloat16
    multiply-adds a cycle.
    """
    wide = 16 if "avx512f" in flags else 8 if "avx2" in flags else 4
    if precision == "bfloat16" and "amx_bf16" in flags:
        per_cycle, how = 2 * 1024, "AMX: 1,024 bf16 FMA/cycle/core"
    elif precision == "bfloat16" and "avx512_bf16" in flags:
        per_cycle, how = 2 * 2 * 2 * wide, f"AVX512-BF16: 2 units x {2 * wide} bf16 FMA/cycle/core"
    else:
        per_cycle, how = 2 * 2 * wide, f"2 FMA units x {wide} fp32 lanes/cycle/core"
    return per_cycle * ghz * cores, f"{how}, {cores} cores x {ghz:.2f} GHz"


def step_gflop_per_image() -> float:
    """Floating-point work of one training iteration of the preset, per image (D on real and fake, G), in GFLOP."""
    from torch.utils.flop_counter import FlopCounterMode

    from studio.core.conditions import NoCondition
    from studio.core.models import build_models

    config = load_preset(PRESET).config
    g, d = build_models(config, NoCondition())
    z = torch.randn(BATCH, config.nz)
    real = torch.randn(BATCH, config.channels, config.image_size, config.image_size)
    with FlopCounterMode(display=False) as counter:
        fake = g(z, None)
        real_logit, _ = d(real, None)
        fake_logit, _ = d(fake.detach(), None)
        (real_logit.mean() + fake_logit.mean()).backward()
        logit, _ = d(fake, None)
        logit.mean().backward()
    return counter.get_total_flops() / BATCH / 1e9


def write_folder(root: Path, n: int) -> None:
    images, _, _ = generate_faces(n, seed=0)
    (root / "faces").mkdir(parents=True)  # ImageFolder wants one subfolder per class
    for i, image in enumerate(images):
        Image.fromarray(image).save(root / "faces" / f"{i:05d}.png")


def example_rate(example: Path, root: Path, out: Path, steps: int, warmup: int) -> float:
    cmd = [sys.executable, "-u", str(example), "--dataset", "folder", "--dataroot", str(root)]
    cmd += ["--niter", "1", "--outf", str(out), "--manualSeed", "0"]
    stamps: list[float] = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        tail = []
        for line in proc.stdout:
            tail = (tail + [line])[-5:]
            if line.startswith("[0/1]["):
                stamps.append(time.perf_counter())
                if len(stamps) >= warmup + steps + 1:
                    proc.kill()
                    break
    if len(stamps) < warmup + steps + 1:
        raise SystemExit(f"the example printed only {len(stamps)} iterations; its last lines:\n{''.join(tail)}")
    return steps * BATCH / (stamps[-1] - stamps[warmup])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", required=True, type=Path, help="dcgan/main.py of a pytorch/examples checkout")
    parser.add_argument("--pairs", type=int, default=3, help="example/ours pairs, run alternately (at least 3)")
    parser.add_argument("--steps", type=int, default=40, help="timed iterations per run, after the warm-up")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--images", type=int, default=4000, help="images in the shared folder")
    parser.add_argument("--precision", default="auto", help="our precision setting (the example is float32)")
    parser.add_argument("--isa", choices=sorted(ISA_LIMITS), help="limit both sides' kernels to this instruction set")
    args = parser.parse_args()
    if args.isa:
        env, _ = ISA_LIMITS[args.isa]
        if any(os.environ.get(k) != v for k, v in env.items()):  # the limits must be set before torch starts
            os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **env})
    if not args.example.is_file():
        raise SystemExit(
            f"{args.example}: no such file; clone https://github.com/pytorch/examples and pass dcgan/main.py"
        )
    name, flags, ghz = cpu_info()
    cores = torch.get_num_threads()
    print(f"CPU: {name}; {os.cpu_count()} logical CPUs, torch threads {cores}; {platform.machine()}")
    print("flags: " + ", ".join(f"{f} {'yes' if f in flags else 'no'}" for f in FLAGS))
    if args.isa:
        env, taken = ISA_LIMITS[args.isa]
        flags = flags - taken
        print(
            f"kernels limited to {args.isa} on both sides ({', '.join(f'{k}={v}' for k, v in env.items())}); "
            f"the FLOP bound below is reckoned without {', '.join(sorted(taken))}"
        )
    print(f"torch {torch.__version__}; date {time.strftime('%Y-%m-%d')}")
    print(
        f"example: {args.example} as published: --dataset folder, its ImageFolder loader with 2 workers, "
        f"float32, batch {BATCH}, 64 px"
    )
    ratios, ours_rates = [], []
    precision = "?"
    with tempfile.TemporaryDirectory() as tmp:
        # The output folder must not sit inside the image root: ImageFolder would take it for an (empty) class.
        root, out = Path(tmp) / "images", Path(tmp) / "out"
        out.mkdir()
        write_folder(root, max(args.images, (args.warmup + args.steps + 2) * BATCH))  # one epoch covers a run
        for pair in range(1, args.pairs + 1):
            theirs = example_rate(args.example, root, out, args.steps, args.warmup)
            ours, where = measure(PRESET, args.steps, args.warmup, dataset=f"folder:{root}", precision=args.precision)
            precision = where.split(", ")[1]
            ratios.append(ours / theirs)
            ours_rates.append(ours)
            print(
                f"pair {pair}: example {theirs:7.1f} img/s | ours {ours:7.1f} img/s ({where}) "
                f"| ratio {ours / theirs:.2f}x",
                flush=True,
            )
    median = statistics.median(ratios)
    print(f"median ratio over {len(ratios)} pairs: {median:.2f}x (ours {precision}, example float32)")
    gflop = step_gflop_per_image()
    if ghz:
        rate = statistics.median(ours_rates)
        for kind in dict.fromkeys((precision, "float32")):  # the precision used, and float32's bound beside it
            peak, how = peak_gflops(flags, ghz, cores, kind)
            bound = peak / gflop
            print(
                f"FLOP bound ({kind}): {gflop:.2f} GFLOP per image per iteration; peak {peak:.0f} GFLOP/s ({how}) "
                f"-> {bound:.0f} img/s; "
                + (
                    f"ours ({precision}) reaches {rate / bound:.0%} of it"
                    + (
                        f" (above 100%: the cores run faster than the {ghz:.2f} GHz the system reports, so the "
                        "bound is an underestimate)"
                        if rate > bound
                        else ""
                    )
                    if kind == precision
                    else f"ours ran {precision}, not {kind}: use --precision {kind} for this fraction"
                )
            )
    else:
        print(f"FLOP bound: {gflop:.2f} GFLOP per image per iteration; the CPU's clock is unknown")


if __name__ == "__main__":
    main()

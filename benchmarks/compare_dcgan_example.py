"""Side-by-side speed: our dcgan-faces preset vs the PyTorch examples DCGAN.

    python benchmarks/compare_dcgan_example.py --example /path/to/pytorch-examples/dcgan/main.py

Both train the same images: the built-in faces, written once as a 64 px image
folder for the example's ImageFolder loader (our run reads the same folder
through ``folder:PATH``). The example prints one line per iteration; its
speed is taken from the times those lines arrive, after a warm-up, exactly as
ours is taken from the trainer's step events. The example is run as it is,
from the path given; nothing of it is part of this project.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image
from throughput import measure

from studio.data.builtin.faces import generate_faces


def write_folder(root: Path, n: int) -> None:
    images, _, _ = generate_faces(n, seed=0)
    (root / "faces").mkdir(parents=True)  # ImageFolder wants one subfolder per class
    for i, image in enumerate(images):
        Image.fromarray(image).save(root / "faces" / f"{i:05d}.png")


def example_rate(example: Path, root: Path, out: Path, steps: int, warmup: int, batch: int) -> float:
    cmd = [
        sys.executable,
        "-u",
        str(example),
        "--dataset",
        "folder",
        "--dataroot",
        str(root),
        "--batchSize",
        str(batch),
        "--imageSize",
        "64",
        "--niter",
        "1",
        "--outf",
        str(out),
        "--manualSeed",
        "0",
    ]
    stamps: list[float] = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        for line in proc.stdout:
            if line.startswith("[0/1]["):
                stamps.append(time.perf_counter())
                if len(stamps) >= warmup + steps + 1:
                    proc.kill()
                    break
    if len(stamps) < warmup + steps + 1:
        raise SystemExit(f"the example printed only {len(stamps)} iterations; need {warmup + steps + 1}")
    return steps * batch / (stamps[-1] - stamps[warmup])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", required=True, type=Path, help="pytorch/examples dcgan/main.py")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--images", type=int, default=4000)
    args = parser.parse_args()
    batch = 64
    with tempfile.TemporaryDirectory() as tmp:
        # The output folder must not sit inside the image root: ImageFolder
        # would take it for an (empty) class.
        root, out = Path(tmp) / "images", Path(tmp) / "out"
        out.mkdir()
        write_folder(root, args.images)
        theirs = example_rate(args.example, root, out, args.steps, args.warmup, batch)
        print(f"pytorch/examples dcgan: {theirs:.1f} img/s", flush=True)
        ours, where = measure("dcgan-faces", args.steps, args.warmup, dataset=f"folder:{root}")
        print(f"gan-studio dcgan-faces ({where}): {ours:.1f} img/s")
        print(f"ratio: {ours / theirs:.2f}x; ours {ours:.1f} img/s")


if __name__ == "__main__":
    main()

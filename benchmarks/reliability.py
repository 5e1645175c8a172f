"""Reliability probes replayed against the headless CLI: ``python benchmarks/reliability.py --quick``.

Each probe runs ``python -m studio ...`` in a subprocess on tiny CPU projects (320 images of 32 px, batch 32,
ngf = ndf = 16: 10 steps per epoch) and checks what a user would count on:

  kill       kill -9 a train/resume at a random moment, then ``resume``: it reaches the planned epochs, every
             epoch since has a loadable checkpoint, at most one epoch of work is lost, no .*.tmp file remains
  boundary   runs stopped by --max-steps at (20) and inside (15) an epoch, then resumed: each checkpoint is
             written once, and the epoch 3 and 4 generators equal a straight run's
  malformed  damaged project.json / config.json, out-of-range options, crafted checkpoints, outputs over a
             checkpoint: a one-line error (exit 2, no traceback, "error: ..." last on stderr) that leaves every
             saved file as it was; a damaged metrics.jsonl line: success with a warning naming file and line
  writers    a second ``resume`` of a run in training is refused naming the holder; SIGINT writes a
             checkpoint; after kill -9 of a holder its lock is taken over
  sigterm    SIGTERM stops train/resume with a checkpoint that ``resume`` continues; SIGINT during start-up
             ends the process promptly
  empty-run  a train refused for bad input leaves no run folder; ``resume`` skips a run killed before its
             first checkpoint

    python benchmarks/reliability.py --quick                 # a few cases of each kind: minutes on 2 CPU cores
    python benchmarks/reliability.py --kills 20 --seed 3     # everything, 20 kills
    python benchmarks/reliability.py --only kill --only writers --keep /tmp/rel   # keep the projects and logs

A failing case prints one line (``FAIL category: case: what was seen``); the end is a table of cases and how
many held per category and the line "N passed, M failed"; the exit status is 1 when any failed. Children run
with a timeout, QT_QPA_PLATFORM=offscreen, this checkout on PYTHONPATH, a private dataset cache
(GAN_STUDIO_CACHE) and, where ``prlimit`` exists, an 8 GiB address-space limit so that a memory bomb fails
fast instead of taking the machine. torch is imported only to craft and compare checkpoints.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CATEGORIES = ("kill", "boundary", "malformed", "writers", "sigterm", "empty-run")
TINY = ("dataset_size=320", "batch_size=32", "ngf=16", "ndf=16", "epochs=4", "device=cpu")
MEM_LIMIT = 8 << 30
CMD_TIMEOUT, TRAIN_TIMEOUT = 120, 400
STOP_CODES = (0, 130, 143)
_ids = itertools.count(1)


class SetupError(Exception):
    """A step a category needs failed: the category ends there, counted as one failed case."""


@dataclass
class Result:
    rc: int | None  # None: timed out (and killed)
    out: str
    err: str
    seconds: float

    def brief(self) -> str:
        """'exit 2: error: ...' -- the exit and the last line that says something."""
        if self.rc is None:
            return f"timed out after {self.seconds:.0f} s"
        lines = _lines(self.err) or _lines(self.out)
        tail = next((x for x in reversed(lines) if "Traceback" not in x), "")
        return short(f"exit {self.rc}" + (f": {tail}" if tail else ""))


def _lines(text: str) -> list[str]:
    return [x.strip() for x in re.split(r"[\r\n]+", text) if x.strip()]


def short(text: str, limit: int = 150) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def one_line_error(res: Result, rc: int | None = 2, names: tuple[str, ...] = ()) -> list[str]:
    """What is wrong with ``res`` as a one-line error; [] when it is one.

    Non-zero exit (``rc`` when given), no traceback, stderr holding "warning:" lines at most and then a single
    "error:" line, which contains each of ``names``.
    """
    if res.rc is None:
        return [res.brief()]
    if res.rc == 0:
        return [f"accepted (exit 0): {short(_lines(res.out)[-1] if _lines(res.out) else '', 90)}"]
    problems = [f"exit {res.rc}, expected {rc}"] if rc is not None and res.rc != rc else []
    lines = _lines(res.err)
    if "Traceback" in res.err:
        problems.append(f"traceback ({short(lines[-1] if lines else '', 90)})")
    body = [x for x in lines if not x.startswith("warning:")]
    if len(body) != 1 or not body[0].startswith("error:") or lines[-1] != body[0]:
        problems.append(f"stderr is not one 'error:' line: {short(' | '.join(body[-3:]), 110)}")
    else:
        problems += [f"message does not name {n!r}: {short(body[0], 100)}" for n in names if n not in body[0]]
    return problems


def hashes(root: Path) -> dict[str, str]:
    """sha256 of every saved file under root (hidden names -- locks, temporaries -- left out)."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            found[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def file_changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    changed = [k for k in before if after.get(k) != before[k]]
    created = [k for k in after if k not in before]
    return ([f"changed {', '.join(changed[:4])}"] if changed else []) + (
        [f"created {', '.join(created[:4])}"] if created else []
    )


def runs(project: Path) -> list[Path]:
    folder = project / "runs"
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def epoch_checkpoints(run: Path) -> dict[int, Path]:
    """{epoch: path} of the end-of-epoch checkpoints epoch_NNNN.pt."""
    found = {}
    for p in (run / "checkpoints").glob("epoch_*.pt"):
        m = re.fullmatch(r"epoch_(\d{4,})\.pt", p.name)
        if m:
            found[int(m[1])] = p
    return found


def load(path: Path):
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def unloadable(path: Path, epoch: int | None = None, step: int | None = None) -> str | None:
    """Why ``path`` is not a checkpoint of that epoch / step that loads with weights_only=True, or None."""
    try:
        state = load(path)
    except Exception as exc:  # noqa: BLE001 -- any failure to load is the finding
        return f"{path.name} does not load ({type(exc).__name__}: {short(exc, 60)})"
    if not isinstance(state, dict) or not isinstance(state.get("g"), dict):
        return f"{path.name} holds no G state dict"
    if epoch is not None and state.get("epoch") != epoch:
        return f"{path.name} says epoch {state.get('epoch')!r}"
    if step is not None and state.get("step") != step:
        return f"{path.name} says step {state.get('step')!r}, not {step}"
    return None


def g_difference(a: dict, b: dict) -> str | None:
    import torch

    if list(a) != list(b):
        return "different G tensor names"
    for key in a:
        if not torch.equal(a[key], b[key]):
            gap = (a[key].double() - b[key].double()).abs().max().item()
            return f"G {key} differs (max {gap:.3g})"
    return None


def metric_lines(run: Path | None) -> int:
    path = run / "metrics.jsonl" if run else None
    return len(path.read_bytes().splitlines()) if path and path.is_file() else 0


def run_from(out: str) -> Path | None:
    """The run folder a train/resume announced ('run PATH')."""
    m = re.search(r"^run (.+?)\s*$", out, re.M)
    return Path(m[1]) if m else None


def stopped_at(out: str) -> tuple[int, int, Path | None] | None:
    """(epoch, step, latest checkpoint) from 'stopped at epoch E, step S...; latest checkpoint PATH'."""
    m = re.search(r"^stopped at epoch (\d+), step (\d+).*?(?:latest checkpoint (\S+))?\s*$", out, re.M)
    return (int(m[1]), int(m[2]), Path(m[3]) if m[3] else None) if m else None


def set_raw_json(path: Path, keys: tuple[str, ...], raw: str) -> None:
    """Give a setting a value written by hand (NaN, Infinity, ...) in a JSON file."""
    data = json.loads(path.read_text())
    node = data
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = "@@RAW@@"
    path.write_text(json.dumps(data, indent=2).replace('"@@RAW@@"', raw))


def rewrite_zip(path: Path, items: list[tuple[zipfile.ZipInfo, bytes]]) -> None:
    """Write ``items`` as a new zip at ``path``, each payload 64-byte aligned as torch.save lays them out."""
    with zipfile.ZipFile(path, "w") as out:
        for info, data in items:
            entry = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            start = out.fp.tell() + 30 + len(info.filename.encode()) + 4
            pad = -start % 64
            entry.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
            out.writestr(entry, data)


def flip_tensor_bytes(path: Path, key: str) -> None:
    """Flip 8 bytes in the middle of G's ``key`` payload inside the checkpoint zip (CRC of the zip kept valid)."""
    import torch

    original = load(path)["g"][key]
    size = original.numel() * original.element_size()
    with zipfile.ZipFile(path) as z:
        items = [(info, z.read(info)) for info in z.infolist()]
    trial = path.with_name(path.name + ".craft")
    for index, (info, data) in enumerate(items):
        if "/data/" not in info.filename or len(data) != size:
            continue
        mid = len(data) // 2
        flipped = data[:mid] + bytes(b ^ 0xFF for b in data[mid : mid + 8]) + data[mid + 8 :]
        rewrite_zip(trial, [(i, flipped if j == index else d) for j, (i, d) in enumerate(items)])
        try:
            changed = not torch.equal(load(trial)["g"][key], original)
        except Exception:  # noqa: BLE001 -- not this entry
            changed = False
        if changed:
            os.replace(trial, path)
            return
    trial.unlink(missing_ok=True)
    raise SetupError(f"no payload of G {key} found in {path.name}")


def crc32_of(tensor) -> int:
    import torch

    return zlib.crc32(memoryview(tensor.detach().contiguous().reshape(-1).view(torch.uint8).numpy()))


class Bg:
    """A CLI process in the background, stdout and stderr going to files under the work folder."""

    def __init__(self, bench: Bench, args: list, name: str):
        base = bench.work / "logs" / f"{next(_ids):03d}-{name}"
        self.out_path, self.err_path = base.with_suffix(".out"), base.with_suffix(".err")
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                bench.argv(args),
                cwd=bench.work,
                env=bench.env,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.started = time.monotonic()
        self.wall_started = time.time()
        bench.live.append(self)

    def out(self) -> str:
        return self.out_path.read_text(errors="replace")

    def err(self) -> str:
        return self.err_path.read_text(errors="replace")

    def running(self) -> bool:
        return self.proc.poll() is None

    def wait_for(self, condition: Callable[[], object], timeout: float):
        """Poll ``condition`` until it holds, the process ends, or ``timeout``; its last value."""
        end = time.monotonic() + timeout
        while True:
            value = condition()
            if value or not self.running() or time.monotonic() > end:
                return value or condition()
            time.sleep(0.05)

    def wait(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def send(self, sig: int) -> None:
        if self.running():
            self.proc.send_signal(sig)

    def kill9(self) -> None:
        if self.running():
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def cleanup(self) -> None:
        if self.running():
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: only what this script started
            except ProcessLookupError:
                pass
            self.proc.wait()

    def result(self) -> Result:
        return Result(self.proc.returncode, self.out(), self.err(), time.monotonic() - self.started)


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path):
        self.work = work
        self.quick = args.quick
        self.verbose = args.verbose
        self.kills = args.kills if args.kills is not None else (3 if args.quick else 10)
        self.keep = args.keep is not None
        self.jobs = max(1, args.jobs)
        self.rng = random.Random(args.seed)
        self.live: list[Bg] = []
        self.lock = threading.Lock()
        self.counts = {c: [0, 0] for c in CATEGORIES}  # cases, held
        (work / "logs").mkdir(parents=True, exist_ok=True)
        self.env = dict(
            os.environ, QT_QPA_PLATFORM="offscreen", PYTHONUNBUFFERED="1", GAN_STUDIO_CACHE=str(work / "cache")
        )
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))
        self.env.setdefault("OMP_NUM_THREADS", "1")  # timings that hold up on a shared machine
        self.prlimit = shutil.which("prlimit")
        if self.prlimit and subprocess.run([self.prlimit, f"--as={MEM_LIMIT}", "--", "true"]).returncode != 0:
            self.prlimit = None

    # --- running the CLI -----------------------------------------------------------
    def argv(self, args: list) -> list[str]:
        command = [sys.executable, "-m", "studio", *map(str, args)]
        return [self.prlimit, f"--as={MEM_LIMIT}", "--", *command] if self.prlimit else command

    def cli(self, *args, timeout: float = CMD_TIMEOUT) -> Result:
        started = time.monotonic()
        proc = subprocess.Popen(
            self.argv(list(args)),
            cwd=self.work,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=timeout)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            rc = None
        return Result(rc, out.decode(errors="replace"), err.decode(errors="replace"), time.monotonic() - started)

    def new_project(self, path: Path, *settings: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        res = self.cli("new", path, "--preset", "tiny-demo", *(x for s in (*TINY, *settings) for x in ("--set", s)))
        if res.rc != 0:
            raise SetupError(f"new {path.name}: {res.brief()}")
        return path

    def train(self, *args) -> Result:
        res = self.cli(*args, "--quiet", timeout=TRAIN_TIMEOUT)
        if res.rc != 0:
            raise SetupError(f"{' '.join(str(a) for a in args[:2])}: {res.brief()}")
        return res

    def wait_training(self, bg: Bg, baseline: int = 0, timeout: float = 180) -> Path | None:
        """Wait until ``bg`` announced its run and logged a step past ``baseline`` metric lines; the run."""
        run = bg.wait_for(lambda: run_from(bg.out()), timeout)
        if run is None or not bg.wait_for(lambda: metric_lines(run) > baseline, timeout):
            return None
        return run

    def case(self, category: str, name: str, problems: list[str] | str | None, seen: str = "") -> bool:
        problems = [p for p in ([problems] if isinstance(problems, str) else problems or []) if p]
        with self.lock:
            self.counts[category][0] += 1
            if problems:
                print(short(f"FAIL {category}: {name}: {'; '.join(problems)}", 400), flush=True)
            else:
                self.counts[category][1] += 1
                if self.verbose:
                    print(short(f"ok {category}: {name}" + (f" ({seen})" if seen else ""), 400), flush=True)
        return not problems

    # --- 1. kill -9 at random moments ------------------------------------------------------
    def cat_kill(self) -> None:
        project = self.new_project(self.work / "kill" / "P")
        started = time.monotonic()
        self.train("train", project)
        one_run = time.monotonic() - started
        first_run = runs(project)[-1]
        print(f"   one run of 4 epochs takes {one_run:.1f} s", flush=True)
        for i in range(1, self.kills + 1):
            if i == 1:
                args, planned = ["train", project], 4
            else:
                planned = max(epoch_checkpoints(runs(project)[-1]), default=0) + 4
                args = ["resume", project, "--epochs", planned]
            delay = self.rng.uniform(1.0, max(1.2, one_run))
            bg = Bg(self, [*args, "--quiet"], f"kill{i}")
            bg.wait_for(lambda: False, delay)
            bg.kill9()
            out = bg.out()
            finished = "done:" in out
            run = run_from(out) or runs(project)[-1]
            if i == 1 and run != first_run and not epoch_checkpoints(run):
                # Killed before its first checkpoint: empty-run's business; go on with the first run.
                shutil.rmtree(run, ignore_errors=True)
                run = first_run
            if i == 1 and run == first_run:
                planned = 8  # the killed train left nothing to resume: the first run goes on instead
            if finished:
                planned += 1  # resume refuses a run that has all its epochs: ask for one more
                one_run = max(1.2, bg.out_path.stat().st_mtime - bg.wall_started)  # the machine got faster
            reached = max(
                [int(e) for e in re.findall(r"^epoch (\d+):", out, re.M)]
                + [
                    int(p.stem.split("_")[1])
                    for p in (run / "samples").glob("epoch_*.png")
                    if p.stat().st_mtime >= bg.wall_started - 0.5
                ],
                default=0,
            )
            have = epoch_checkpoints(run)
            latest = max(have, default=0)
            name = (
                f"#{i} {args[0]} killed at {delay:.1f} s{' (after it ended)' if finished else ''}"
                f", reached epoch {reached}, checkpoint {latest}"
            )
            res = self.cli("resume", project, "--epochs", planned, "--quiet", timeout=TRAIN_TIMEOUT)
            problems = []
            if res.rc != 0 or f"done: {planned} epochs" not in res.out:
                problems.append(f"resume to {planned} epochs: {res.brief()}")
            picked = re.search(r"^resuming from (.+?)\s*$", res.out, re.M)
            if picked and Path(picked[1]).parent.parent.resolve() != run.resolve():
                problems.append(f"resume picked {picked[1]}, not run {run.name}")
            if reached > latest + 1:
                problems.append(f"{reached - latest} epochs lost (reached {reached}, latest checkpoint {latest})")
            have = epoch_checkpoints(run)
            missing = [e for e in range(max(latest, 1), planned + 1) if e not in have]
            if missing:
                problems.append(f"no checkpoint for epoch(s) {missing[:5]}")
            problems += [unloadable(have[e], epoch=e) for e in range(max(latest, 1), planned + 1) if e in have]
            leftovers = sorted(p.name for p in (run / "checkpoints").glob(".*.tmp"))
            if leftovers:
                problems.append(f"temporary files left: {', '.join(leftovers[:3])}")
            self.case("kill", name, problems)

    # --- 2. exact resume at and between epoch boundaries -----------------------------------
    def cat_boundary(self) -> None:
        base = self.work / "boundary"
        straight = self.new_project(base / "straight")
        for steps in (20, 15):
            shutil.copytree(straight, base / f"stop{steps}")
        self.train("train", straight)
        reference = {e: load(p)["g"] for e, p in epoch_checkpoints(runs(straight)[-1]).items()}
        for steps, where, compared in ((20, "at the end of epoch 2", (3, 4)), (15, "inside epoch 2", (2, 3, 4))):
            project = base / f"stop{steps}"
            res = self.cli("train", project, "--max-steps", steps, "--quiet", timeout=TRAIN_TIMEOUT)
            problems = [] if res.rc == 0 and stopped_at(res.out) else [f"stopped run: {res.brief()}"]
            # --quiet prints 'checkpoint PATH' per file written (the 'stopped at' line names the latest again).
            written = re.findall(r"^checkpoint .*?([^/\\]+\.pt)\s*$", res.out, re.M)
            twice = sorted({n for n in written if written.count(n) > 1})
            if twice:
                problems.append(f"stdout names {', '.join(twice)} as written {written.count(twice[0])} times")
            if steps == 20 and "epoch_0002.pt" not in written:
                problems.append(f"no 'checkpoint .../epoch_0002.pt' line (saw {written})")
            self.case("boundary", f"--max-steps {steps} ({where}) writes each checkpoint once", problems)
            res = self.cli("resume", project, "--quiet", timeout=TRAIN_TIMEOUT)
            problems = [] if res.rc == 0 and "done: 4 epochs" in res.out else [f"resume: {res.brief()}"]
            have = epoch_checkpoints(runs(project)[-1]) if runs(project) else {}
            for epoch in compared:
                if epoch not in have or epoch not in reference:
                    problems.append(f"no epoch {epoch} checkpoint")
                    continue
                gap = g_difference(load(have[epoch])["g"], reference[epoch])
                if gap:
                    problems.append(f"epoch {epoch}: {gap}")
            self.case(
                "boundary",
                f"--max-steps {steps} + resume equals a straight run (epochs {', '.join(map(str, compared))})",
                problems,
            )

    # --- 3. malformed files, options and checkpoints --------------------------------------
    def cat_malformed(self) -> None:
        base = self.work / "malformed" / "base"
        project = self.new_project(base / "P", "epochs=2")
        self.train("train", project)
        run_rel = runs(project)[-1].relative_to(base)
        g_state = load(runs(project)[-1] / "checkpoints" / "epoch_0002.pt")["g"]
        g_key = max((k for k, t in g_state.items() if t.is_floating_point()), key=lambda k: g_state[k].numel())
        middle = len((runs(project)[-1] / "metrics.jsonl").read_bytes().splitlines()) // 2
        probes = self.malformed_probes(run_rel, g_key, middle)
        if self.quick:
            probes = [p for p in probes if p.quick]
        with ThreadPoolExecutor(self.jobs) as pool:
            for n, future in enumerate([pool.submit(self.run_probe, base, i, p) for i, p in enumerate(probes)]):
                try:
                    future.result()
                except Exception as exc:  # noqa: BLE001 -- a crash of one probe is that probe's failure
                    self.case("malformed", probes[n].name, f"probe crashed: {type(exc).__name__}: {exc}")

    def malformed_probes(self, run_rel: Path, g_key: str, middle: int) -> list[Probe]:
        bad_json = (  # (label, change(file, keys of the settings in that file))
            ("ema_decay NaN", lambda f, at: set_raw_json(f, (*at, "ema_decay"), "NaN")),
            ("g_lr Infinity", lambda f, at: set_raw_json(f, (*at, "g_lr"), "Infinity")),
            ('g_betas ["a","b"]', lambda f, at: set_raw_json(f, (*at, "g_betas"), '["a", "b"]')),
            ("d_betas [null, 0.9]", lambda f, at: set_raw_json(f, (*at, "d_betas"), "[null, 0.9]")),
            ("g_betas [[0.5], 0.9]", lambda f, at: set_raw_json(f, (*at, "g_betas"), "[[0.5], 0.9]")),
            ("nested 100,000 deep", lambda f, at: f.write_text('{"config": ' + "[" * 100_000 + "]" * 100_000 + "}")),
            (
                "invalid UTF-8",
                lambda f, at: f.write_bytes(f.read_bytes().replace(b'"builtin:faces"', b'"builtin:\xff\xfeaces"', 1)),
            ),
            ("top level a list", lambda f, at: f.write_text("[1, 2, 3]\n")),
        )
        probes = []
        for n, (label, change) in enumerate(bad_json):
            for k, command in enumerate((["info", "P"], ["train", "P", "--quiet"])):
                probes.append(
                    Probe(
                        f"project.json {label} / {command[0]}",
                        command,
                        names=("project.json",),
                        prep=lambda d, c=change: c(d / "P" / "project.json", ("config",)),
                        quick=(n + k) % 2 == 0,
                    )
                )
            for k, command in enumerate((["resume", "RUN", "--quiet"], ["info", "RUN"])):
                probes.append(
                    Probe(
                        f"config.json {label} / {command[0]}",
                        command,
                        names=("config.json",),
                        prep=lambda d, c=change: c(d / run_rel / "config.json", ()),
                        quick=(n + k) % 2 == 0,
                    )
                )
        for n, (label, line) in enumerate(
            (("invalid UTF-8 line", b'\xff\xfe{"kind": "step"}'), ("non-object line", b"[1, 2, 3]"))
        ):

            def prep(d: Path, line: bytes = line) -> None:
                path = d / run_rel / "metrics.jsonl"
                lines = path.read_bytes().splitlines(keepends=True)
                path.write_bytes(b"".join(lines[:middle] + [line + b"\n"] + lines[middle:]))

            for k, command in enumerate(
                (["info", "RUN"], ["average", "RUN"], ["resume", "RUN", "--epochs", 3, "--quiet"])
            ):
                probes.append(
                    Probe(
                        f"metrics.jsonl {label} / {command[0]}",
                        command,
                        prep=prep,
                        warning=("metrics.jsonl", middle + 1),
                        quick=(n + k) % 2 == 0,
                    )
                )
        ck = ["CK", "--out", "x.png"]
        for label, command in (  # (any file written -- Q/, x.png -- counts as a change)
            ("new --set ema_decay=NaN", ["new", "Q", "--set", "ema_decay=NaN"]),
            ("train --set g_lr=inf", ["train", "P", "--set", "g_lr=inf", "--quiet"]),
            ("sample --truncation nan", ["sample", *ck, "--truncation", "nan"]),
            ("sample --scale 1000", ["sample", *ck, "--scale", "1000"]),
            ("sample --random 100000", ["sample", *ck, "--random", "100000"]),
            ("sample --n 0", ["sample", *ck, "--n", "0"]),
            ("train --minutes nan", ["train", "P", "--minutes", "nan", "--quiet"]),
            ("train --minutes inf", ["train", "P", "--minutes", "inf", "--quiet"]),
        ):
            probes.append(Probe(label, command))

        def craft(change: Callable[[dict], None]) -> Callable[[Path], None]:
            def prep(d: Path) -> None:
                import torch

                path = d / run_rel / "checkpoints" / "epoch_0002.pt"
                state = load(path)
                change(state)
                torch.save(state, path)

            return prep

        def nan_g(state: dict) -> None:
            tensor = state["g"][g_key].clone()
            tensor[tuple(n // 2 for n in tensor.shape)] = float("nan")
            state["g"][g_key] = tensor
            sums = (state.get("checksums") or {}).get("crc32")
            if isinstance(sums, dict) and f"g/{g_key}" in sums:  # so that the NaN, not the checksum, is found
                sums[f"g/{g_key}"] = crc32_of(tensor)

        commands = {
            "info": ["info", "CK"],
            "sample": ["sample", "CK", "--out", "x.png"],
            "export": ["export", "CK", "--format", "state_dict", "--out", "x.pt"],
            "average": ["average", "RUN", "--files", "epoch_0001.pt", "CK"],
            "resume": ["resume", "CK", "--quiet"],
        }
        crafts = (  # label, prep, commands, those run with --quick
            ("string space", craft(lambda s: s.__setitem__("space", "hair x eyes")), commands, {"info", "sample"}),
            ("list g", craft(lambda s: s.__setitem__("g", list(s["g"].values()))), commands, {"sample", "export"}),
            ("text epoch", craft(lambda s: s.__setitem__("epoch", "two")), commands, {"info", "resume"}),
            (
                "list ema",
                craft(lambda s: s.__setitem__("ema", list(s["ema"].values()))),
                commands,
                {"sample", "average"},
            ),
            ("missing d", craft(lambda s: s.pop("d")), ["resume"], {"resume"}),
            (
                "8 flipped bytes in G",
                lambda d: flip_tensor_bytes(d / run_rel / "checkpoints" / "epoch_0002.pt", g_key),
                commands,
                {"sample", "average"},
            ),
            ("NaN in G", craft(nan_g), ["sample", "export", "average", "resume"], {"sample", "export"}),
        )
        for label, prep, names, quick in crafts:
            for name in names:
                command = list(commands[name])
                if label == "list ema" and name in ("sample", "export", "average"):
                    command.append("--ema")
                wanted = ("epoch_0002.pt", g_key) if (label == "NaN in G" and name == "sample") else ("epoch_0002.pt",)
                probes.append(
                    Probe(f"checkpoint with {label} / {name}", command, prep=prep, names=wanted, quick=name in quick)
                )
        other = "P/" + str(run_rel.relative_to("P") / "checkpoints" / "epoch_0001.pt")
        probes += [
            Probe(
                "export --out another checkpoint --force",
                names=("epoch_0001.pt",),
                command=["export", "CK", "--format", "state_dict", "--out", other, "--force"],
            ),
            Probe(
                "sample --out another checkpoint --force",
                ["sample", "CK", "--out", other, "--force"],
                names=("epoch_0001.pt",),
            ),
            Probe(
                "judge train --out FILE/sub",
                ["judge", "train", "builtin:digits", "--out", "afile/sub"],
                prep=lambda d: (d / "afile").write_text("a regular file\n"),
                names=("afile",),
                limit=30.0,
            ),
        ]
        for p in probes:
            p.run_rel = run_rel
        return probes

    def run_probe(self, base: Path, index: int, probe: Probe) -> None:
        folder = self.work / "malformed" / f"{index:03d}"
        shutil.copytree(base, folder)
        if probe.prep:
            probe.prep(folder)
        ck = folder / probe.run_rel / "checkpoints" / "epoch_0002.pt"
        names = {"P": folder / "P", "RUN": folder / probe.run_rel, "CK": ck}
        args = [names.get(str(a), a) for a in probe.command]
        args = [
            folder / a if isinstance(a, str) and (a.startswith("P/") or a in ("x.png", "x.pt", "Q", "afile/sub")) else a
            for a in args
        ]
        before, runs_before = hashes(folder), len(runs(folder / "P"))
        res = self.cli(*args, timeout=TRAIN_TIMEOUT if probe.warning else CMD_TIMEOUT)
        if probe.warning:
            problems = [] if res.rc == 0 else [f"did not succeed: {res.brief()}"]
            if "Traceback" in res.err:
                problems.append("traceback on stderr")
            file_name, line = probe.warning
            warned = [
                x
                for x in _lines(res.err)
                if x.startswith("warning:")
                and file_name in x
                and re.search(rf"\b{line}\b", re.sub(r"\S*" + re.escape(file_name), "", x))
            ]
            if not warned:
                seen = [x for x in _lines(res.err) if x.startswith("warning:")]
                problems.append(f"no 'warning:' naming {file_name} line {line} (saw {short(seen[:2], 100)})")
        else:
            problems = one_line_error(res, 2, probe.names)
            problems += file_changes(before, hashes(folder))
            if len(runs(folder / "P")) != runs_before:
                problems.append("a run folder was created")
            if probe.limit and res.seconds > probe.limit:
                problems.append(f"took {res.seconds:.0f} s (limit {probe.limit:.0f} s)")
        self.case("malformed", probe.name, problems, res.brief())
        if not self.keep:
            shutil.rmtree(folder, ignore_errors=True)

    # --- 4. two writers, SIGINT, stale locks -----------------------------------------------
    def cat_writers(self) -> None:
        project = self.new_project(self.work / "writers" / "P", "checkpoint_every=1000")
        self.train("train", project)
        run = runs(project)[-1]
        longer = 10_000  # each of these is stopped: by SIGINT, kill -9, or as it finishes the test
        holder = Bg(self, ["resume", project, "--epochs", longer, "--quiet"], "holder")
        if not self.wait_training(holder, metric_lines(run)):
            raise SetupError(f"the first resume never started training: {holder.result().brief()}")
        second = self.cli("resume", project, "--epochs", longer, "--quiet", timeout=60)
        problems = one_line_error(second, None, (str(holder.proc.pid),))
        if not any("process" in x for x in _lines(second.err)):
            problems.append("the message names no process")
        if second.seconds > 15:
            problems.append(f"took {second.seconds:.0f} s")
        if not holder.running():
            problems.append(f"the first resume ended meanwhile: {holder.result().brief()}")
        self.case("writers", "second resume of a run in training is refused, naming the holder", problems)

        before = set((run / "checkpoints").glob("*.pt"))
        holder.send(signal.SIGINT)
        rc = holder.wait(90)
        res = holder.result()
        problems = [] if rc in STOP_CODES else [f"after SIGINT: {res.brief() if rc is not None else 'still running'}"]
        if not set((run / "checkpoints").glob("*.pt")) - before:
            problems.append("no new checkpoint file")
        stop = stopped_at(res.out)
        if not stop or not stop[2]:
            problems.append(f"no 'stopped at ...; latest checkpoint' line ({short(_lines(res.out)[-1:], 80)})")
        else:
            problems.append(unloadable(stop[2], step=stop[1]))
        self.case("writers", "SIGINT stops the holder with a checkpoint", problems)
        holder.cleanup()

        stale = Bg(self, ["resume", project, "--epochs", longer, "--quiet"], "stale")
        problems = []
        if not self.wait_training(stale, metric_lines(run)):
            problems.append(f"the resume to kill never started training: {stale.result().brief()}")
        stale.kill9()
        target = (stop[0] if stop else max(epoch_checkpoints(run), default=4)) + 1
        res = self.cli("resume", project, "--epochs", target, "--quiet", timeout=TRAIN_TIMEOUT)
        if res.rc != 0 or f"done: {target} epochs" not in res.out:
            problems.append(f"resume after kill -9 of the holder: {res.brief()}")
        self.case("writers", "a lock left by a killed holder is taken over", problems)

    # --- 5. SIGTERM and an early SIGINT -----------------------------------------------------
    def cat_sigterm(self) -> None:
        project = self.new_project(self.work / "sigterm" / "P", "checkpoint_every=1000")
        self.train("train", project)
        rounds = 1 if self.quick else 2
        for n, command in enumerate(["train", "resume"] * rounds):
            run = runs(project)[-1]
            bg = Bg(self, [command, project, "--epochs", 10_000, "--quiet"], f"sigterm-{command}")
            run = self.wait_training(bg, 0 if command == "train" else metric_lines(run))
            name = f"SIGTERM during {command} #{n // 2 + 1}"
            if run is None:
                self.case("sigterm", name, f"never started training: {bg.result().brief()}")
                bg.cleanup()
                continue
            time.sleep(self.rng.uniform(0.0, 1.0))
            before = set((run / "checkpoints").glob("*.pt"))
            bg.send(signal.SIGTERM)
            rc = bg.wait(90)
            res = bg.result()
            bg.cleanup()
            problems = [] if rc in STOP_CODES else [f"exit {rc if rc is not None else 'none: still running'}"]
            stop = stopped_at(res.out)
            if not set((run / "checkpoints").glob("*.pt")) - before:
                problems.append("no new checkpoint file")
            if not stop or not stop[2]:
                problems.append(f"no 'stopped at ...; latest checkpoint' line ({short(_lines(res.out)[-1:], 80)})")
            else:
                problems.append(unloadable(stop[2], step=stop[1]))
                after = self.cli("resume", project, "--epochs", stop[0] + 1, "--quiet", timeout=TRAIN_TIMEOUT)
                picked = re.search(r"^resuming from (.+?)\s*$", after.out, re.M)
                if after.rc != 0 or f"done: {stop[0] + 1} epochs" not in after.out:
                    problems.append(f"resume: {after.brief()}")
                elif not picked or Path(picked[1]).resolve() != stop[2].resolve():
                    problems.append(f"resume started from {picked[1] if picked else '?'}, not {stop[2].name}")
            self.case("sigterm", name, problems)
        bg = Bg(self, ["train", project, "--epochs", 1000, "--quiet"], "sigint-early")
        delay = self.rng.uniform(0.1, 0.5)
        time.sleep(delay)
        bg.send(signal.SIGINT)
        rc = bg.wait(20)
        problems = [] if rc is not None else ["still running 20 s after SIGINT"]
        if "done:" in bg.out():
            problems.append("trained a full run")
        bg.cleanup()
        self.case("sigterm", f"SIGINT {delay:.2f} s after starting train (during imports)", problems)

    # --- 6. no empty runs ---------------------------------------------------------------------
    def cat_empty_run(self) -> None:
        project = self.new_project(self.work / "empty-run" / "P", "epochs=2")
        self.train("train", project)
        good = runs(project)[-1]
        for label, options in (
            ("batch_size=4000", ["--set", "batch_size=4000"]),
            ("--device cuda:7", ["--device", "cuda:7"]),
            ("a missing dataset folder", ["--set", "dataset=folder:/nonexistent-set"]),
        ):
            count = len(runs(project))
            res = self.cli("train", project, *options, "--quiet", timeout=TRAIN_TIMEOUT)
            problems = one_line_error(res, 2)
            if len(runs(project)) != count:
                problems.append(f"left a run folder ({runs(project)[-1].name})")
            self.case("empty-run", f"train refused for {label} creates no run", problems)
        bg = Bg(self, ["train", project, "--epochs", 1000, "--set", "checkpoint_every=1000", "--quiet"], "early-kill")
        run = bg.wait_for(lambda: run_from(bg.out()), 180)
        delay = self.rng.uniform(0.2, 1.5)
        time.sleep(delay)
        bg.kill9()
        problems = []
        if run is None:
            problems.append(f"train never announced its run: {bg.result().brief()}")
        elif list((run / "checkpoints").glob("*.pt")):
            problems.append("a checkpoint appeared before the kill (case not exercised)")
        res = self.cli("resume", project, "--epochs", 3, "--quiet", timeout=TRAIN_TIMEOUT)
        picked = re.search(r"^resuming from (.+?)\s*$", res.out, re.M)
        if res.rc != 0:
            problems.append(f"resume: {res.brief()}")
        elif not picked or Path(picked[1]).parent.parent.resolve() != good.resolve():
            problems.append(f"resume picked {picked[1] if picked else '?'}, not {good.name}")
        self.case("empty-run", f"resume after a train killed {delay:.1f} s into its run skips it", problems)


@dataclass
class Probe:
    """One malformed-input case: a command (P, RUN, CK stand for the case's project, run and checkpoint)."""

    name: str
    command: list
    prep: Callable[[Path], None] | None = None
    names: tuple[str, ...] = ()  # what the error line must name
    warning: tuple[str, int] | None = None  # (file, line): the command must succeed warning about it
    limit: float | None = None  # seconds
    quick: bool = True
    run_rel: Path = Path()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few cases of each kind (minutes on 2 CPU cores)")
    parser.add_argument("--kills", type=int, help="kill -9 cases (default 10, 3 with --quick)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random moments (default 0)")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR (new or empty) and keep it")
    parser.add_argument(
        "--only",
        action="append",
        choices=CATEGORIES,
        metavar="CATEGORY",
        help=f"run only this category (repeatable): {', '.join(CATEGORIES)}",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="also a line for each case that held")
    parser.add_argument("--jobs", type=int, default=2, help="malformed cases run at once (default 2)")
    args = parser.parse_args(argv)
    if args.keep:
        work = Path(args.keep).expanduser().resolve()
        if work.exists() and any(work.iterdir()):
            parser.error(f"--keep {work}: not empty")
        work.mkdir(parents=True, exist_ok=True)
    else:
        work = Path(tempfile.mkdtemp(prefix="studio-reliability-"))
    bench = Bench(args, work)
    chosen = [c for c in CATEGORIES if not args.only or c in args.only]
    started = time.monotonic()
    print(f"work folder {work}{'' if args.keep else ' (removed at the end)'}", flush=True)
    try:
        for category in chosen:
            t0 = time.monotonic()
            print(f"-- {category}", flush=True)
            try:
                getattr(bench, "cat_" + category.replace("-", "_"))()
            except SetupError as exc:
                bench.case(category, "setup", str(exc))
            except Exception as exc:  # noqa: BLE001 -- the script reports, never dies
                bench.case(category, "crashed", f"{type(exc).__name__}: {exc}")
            finally:
                for bg in bench.live:
                    bg.cleanup()
                bench.live.clear()
            print(f"   {time.monotonic() - t0:.0f} s", flush=True)
    finally:
        for bg in bench.live:
            bg.cleanup()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'category':10s} {'cases':>5s} {'held':>5s}")
    for category in chosen:
        cases, held = bench.counts[category]
        print(f"{category:10s} {cases:5d} {held:5d}")
    passed = sum(held for _, held in bench.counts.values())
    failed = sum(cases for cases, _ in bench.counts.values()) - passed
    print(f"took {time.monotonic() - started:.0f} s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""What tests/core/test_distributed.py runs in each rank of a 2-process gloo group, and in one process.

``python distributed_cases.py OUT`` with torchrun's environment variables set
runs every case below in order in one process group (a process costs seconds
to start) and leaves its results in OUT for the test to compare.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import torch
from helpers import SPACES, random_dataset, tiny_config

from studio.core.distributed import SINGLE, Distributed
from studio.core.rundir import RunDirectory
from studio.core.trainer import Trainer

BATCH = 8

# One iteration of each objective, compared with one process: (name, settings).
ITERATION_CASES = {
    "bce": dict(family="cgan-concat", loss="bce", label_noise=0.2, label_flip=0.3),
    "hinge": dict(family="cgan-projection", loss="hinge", d_batchnorm=True),
    "wgan-gp": dict(family="dcgan", loss="wgan-gp", d_batchnorm=False),
    "acgan": dict(family="acgan", loss="bce", aux_weight=2.0, aux_on_fake=True, d_minibatch_std=False),
    # LeCam's averages of the whole batch's logits (the ranks' means averaged), R1 through DDP.
    "lecam-r1": dict(
        family="cgan-projection", loss="hinge", d_batchnorm=False, lecam_weight=0.5, r1_gamma=1.0, r1_every=1
    ),
    # DiffAugment (drawn for the whole batch, each rank keeping its share) with bCR through DDP; the cases above
    # augment too (a tiny set: 'auto' is on), so one case runs without it.
    "augment-cr": dict(family="acgan", loss="hinge", diffaugment="color,translation,cutout", cr_weight=10.0),
    "no-augment": dict(family="cgan-concat", loss="bce", diffaugment="off"),
}


def _space(settings: dict):
    return SPACES["none"] if settings["family"] == "dcgan" else SPACES["categorical"]


def one_iteration(name: str, folder: Path, dist: Distributed = SINGLE) -> dict[str, torch.Tensor]:
    """G and D after one D step and one G step on the dataset's first BATCH images (this rank's share).

    Both nets are in eval mode. In train mode each rank's BatchNorm would
    normalise by the statistics of its own 4 images where one process uses
    all 8, so the group would compute a different (equally valid) iteration;
    eval mode leaves every other part of the step (the sharing of the batch,
    the noise, targets and penalty mixes drawn for the whole batch, DDP's
    gradient averaging, no_sync in G's step) to be compared exactly.
    """
    settings = ITERATION_CASES[name]
    space = _space(settings)
    config = tiny_config(batch_size=BATCH, seed=3, **settings)
    dataset = random_dataset(space, n=16)
    trainer = Trainer(config, dataset, RunDirectory(folder), write_files=False, distributed=dist)
    trainer._setup()
    trainer.g.eval()
    trainer.d.eval()
    real, labels = trainer._batch(dist.share(torch.arange(BATCH)))
    fake_labels = trainer._fake_labels(labels)
    kept = trainer._d_step(real, labels, fake_labels, keep_fake=True)
    trainer._g_step(fake_labels, kept)
    state = {f"g.{k}": v.detach().clone() for k, v in trainer.g.state_dict().items()}
    state.update({f"d.{k}": v.detach().clone() for k, v in trainer.d.state_dict().items()})
    if trainer.lecam is not None:  # LeCam's averages: of the whole batch's logits on every rank
        state["lecam.biased"] = trainer.lecam.biased.clone()
    return state


def steps_config():
    # BatchNorm in G and D, label noise and flips, the EMA and the aux head: all that could drift apart.
    return tiny_config(
        family="acgan", batch_size=BATCH, ema=True, label_noise=0.2, label_flip=0.2, epochs=3, checkpoint_every=1
    )


def steps_dataset():
    return random_dataset(SPACES["categorical"], n=24, seed=1)


def parameters(trainer: Trainer) -> dict[str, torch.Tensor]:
    modules = {"g": trainer.g, "d": trainer.d, "ema": trainer.ema}
    return {f"{m}.{k}": v.detach().clone() for m, module in modules.items() for k, v in module.named_parameters()}


def main(out: Path) -> int:
    from studio.core.distributed import init_from_env

    torch.set_num_threads(1)
    dist = init_from_env("cpu")
    rank = dist.rank
    results: dict = {}

    # 1. One iteration of each objective.
    for name in ITERATION_CASES:
        state = one_iteration(name, out / "unused-run", dist)
        if rank == 0:
            torch.save(state, out / f"iteration_{name}.pt")

    # 2. Several steps of training with an epoch end and a mid-epoch stop: every rank ends with the same weights;
    # the run folder (made by the test) gets rank 0's files only.
    # Rank 0 alone is asked to pause, then to resume: both ranks pause and resume together.
    run = RunDirectory(out / "run")
    seen: list[str] = []
    trainer = Trainer(
        steps_config(), steps_dataset(), run, lambda e: seen.append(type(e).__name__), max_steps=5, distributed=dist
    )
    if rank == 0:
        trainer.request_pause()
        threading.Timer(0.5, trainer.request_resume).start()
    finished = trainer.run()
    results["steps"] = {"reason": finished.reason, "message": finished.message, "step": finished.step}
    results["paused"] = [name for name in seen if name in ("RunPaused", "RunResumed")]
    torch.save(parameters(trainer), out / f"steps_rank{rank}.pt")

    # 3. A rank whose weights drifted is caught at the checkpoint, on every rank, before anything is written.
    with torch.no_grad():
        if rank == 1:
            next(trainer.d.parameters()).add_(1e-3)
    try:
        trainer.dist.check_consistency({"G": trainer.g, "D": trainer.d, "EMA": trainer.ema}, trainer.step)
        results["drift"] = None
    except Exception as exc:  # noqa: BLE001 - the test reads the message
        results["drift"] = str(exc)

    # 4. An error on rank 1 ends rank 0 too, at once and without a checkpoint of its own.
    run = RunDirectory(out / "failing")
    trainer = Trainer(steps_config(), steps_dataset(), run, distributed=dist)
    if rank == 1:
        original = trainer._d_step

        def failing_step(*args, **kwargs):
            if trainer.step == 4:
                raise RuntimeError("injected failure on rank 1")
            return original(*args, **kwargs)

        trainer._d_step = failing_step
    started = time.perf_counter()
    finished = trainer.run()
    results["failure"] = {
        "reason": finished.reason,
        "message": finished.message,
        "seconds": time.perf_counter() - started,
        "step": finished.step,
    }
    (out / f"results_rank{rank}.json").write_text(json.dumps(results))
    dist.close(clean=False)
    return 0


if __name__ == "__main__":
    status = main(Path(sys.argv[1]))
    # After the injected failure the group is left without farewells; gloo's threads may then abort the
    # interpreter's shutdown ("terminate called without an active exception"). The results are on disk:
    # leave without running destructors.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)

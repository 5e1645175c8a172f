"""Training as a 2-process torch.distributed group on the CPU (gloo, 127.0.0.1).

Every case runs in ONE group (distributed_cases.py): starting a process costs
seconds. The module fixture starts it once; the tests compare what it left
with what one process computes.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from distributed_cases import ITERATION_CASES, one_iteration, parameters, steps_config, steps_dataset

from studio.core.checkpoint import load_checkpoint
from studio.core.distributed import SINGLE, Distributed, is_communication_error, launched_by_torchrun
from studio.core.rundir import RunDirectory
from studio.core.trainer import Trainer
from studio.errors import ConfigError

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def group(tmp_path_factory) -> Path:
    """The folder where both ranks of one 2-process group left their results."""
    out = tmp_path_factory.mktemp("distributed")
    RunDirectory.create(out, steps_config(), "run")
    RunDirectory.create(out, steps_config(), "failing")
    env = dict(os.environ, WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()))
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent), str(HERE), env.get("PYTHONPATH", "")])
    env["OMP_NUM_THREADS"] = "1"
    env["STUDIO_DIST_TIMEOUT"] = "60"  # a hang fails the test in a minute, not ten
    ranks = [
        subprocess.Popen(
            [sys.executable, str(HERE / "distributed_cases.py"), str(out)],
            env=dict(env, RANK=str(r), LOCAL_RANK=str(r)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for r in range(2)
    ]
    outputs = [p.communicate(timeout=240)[0] for p in ranks]
    for r, (p, text) in enumerate(zip(ranks, outputs)):
        assert p.returncode == 0, f"rank {r} failed:\n{text[-3000:]}"
    return out


def results(group: Path, rank: int) -> dict:
    return json.loads((group / f"results_rank{rank}.json").read_text())


@pytest.mark.parametrize("name", list(ITERATION_CASES))
def test_one_iteration_of_two_processes_equals_one_process(group, tmp_path, name):
    together = torch.load(group / f"iteration_{name}.pt", weights_only=True)
    alone = one_iteration(name, tmp_path)
    assert together.keys() == alone.keys()
    initial = one_iteration_start(name, tmp_path)
    moved = 0
    for key, value in alone.items():
        # LeCam's averages of a fresh D's logits are near 0 (1e-6): compared relative to their size.
        tolerance = dict(rtol=1e-4, atol=0) if key.startswith("lecam.") else dict(rtol=0, atol=1e-5)
        torch.testing.assert_close(together[key], value, **tolerance, msg=f"{name}: {key}")
        moved += int(not torch.equal(value, initial[key]))
    assert moved > 10  # the step did change the weights: the comparison is not of two untouched models


def one_iteration_start(name: str, folder: Path) -> dict:
    """The weights before the iteration (same seed), to show that the iteration moved them."""
    from distributed_cases import BATCH, _space
    from helpers import random_dataset, tiny_config

    settings = ITERATION_CASES[name]
    trainer = Trainer(
        tiny_config(batch_size=BATCH, seed=3, **settings),
        random_dataset(_space(settings), n=16),
        RunDirectory(folder),
        write_files=False,
    )
    trainer._setup()
    state = {f"g.{k}": v for k, v in trainer.g.state_dict().items()}
    state.update({f"d.{k}": v for k, v in trainer.d.state_dict().items()})
    if trainer.lecam is not None:
        state["lecam.biased"] = trainer.lecam.biased.clone()
    return state


def test_ranks_hold_identical_weights_after_training(group):
    assert results(group, 0)["steps"] == results(group, 1)["steps"]
    assert results(group, 0)["steps"]["reason"] == "stopped" and results(group, 0)["steps"]["step"] == 5
    assert results(group, 0)["paused"] == results(group, 1)["paused"] == ["RunPaused", "RunResumed"]
    mine, theirs = (torch.load(group / f"steps_rank{r}.pt", weights_only=True) for r in (0, 1))
    assert mine.keys() == theirs.keys() and any(k.startswith("ema.") for k in mine)
    for key in mine:
        assert torch.equal(mine[key], theirs[key]), key


def test_rank_zero_alone_wrote_a_checkpoint_that_resumes_in_one_process(group, tmp_path):
    run = RunDirectory(group / "run")
    names = sorted(p.name for p in run.checkpoints_dir.iterdir())
    assert names == ["epoch_0001.pt", "epoch_0002_step_000002.pt"], names  # 24 images / 8 = 3 steps an epoch
    assert len(run.samples()) == 1
    state = load_checkpoint(run.checkpoints_dir / names[-1])
    assert state["step"] == 5 and "module." not in "".join(state["g"])  # unwrapped: resumes at any world size
    # A 2-process checkpoint resumes in one process and trains on to the end.
    finished = Trainer(steps_config(), steps_dataset(), run, resume_from=run.checkpoints_dir / names[-1]).run()
    assert (finished.reason, finished.epoch, finished.step) == ("completed", 3, 9)


def test_weights_that_drift_apart_stop_the_run_on_every_rank(group):
    for rank in (0, 1):
        message = results(group, rank)["drift"]
        assert message and "weights differ" in message and "rank 1's D" in message and "kept" in message


def test_an_error_on_one_rank_ends_the_other_at_once(group):
    failing, other = results(group, 1)["failure"], results(group, 0)["failure"]
    assert failing["reason"] == "error" and failing["message"] == "RuntimeError: injected failure on rank 1"
    assert other["reason"] == "error" and is_communication_error(other["message"]), other["message"]
    assert other["seconds"] < 30
    # Nothing was written after the failure: the last checkpoint is the end of epoch 1 (step 3).
    names = sorted(p.name for p in RunDirectory(group / "failing").checkpoints_dir.iterdir())
    assert names == ["epoch_0001.pt"]


def test_single_process_is_unchanged_by_the_sharing():
    tensor = torch.arange(8)
    assert SINGLE.share(tensor) is tensor and not SINGLE.distributed and isinstance(SINGLE, Distributed)


def test_a_batch_the_world_size_does_not_divide_is_refused_in_one_line():
    from studio.core.distributed import ProcessGroup

    three = ProcessGroup(0, 3, 0, "gloo", None, False)
    with pytest.raises(ConfigError, match="batch_size 8 does not divide among 3 processes; use a multiple of 3"):
        three.check(steps_config())
    sync = ProcessGroup(0, 2, 0, "gloo", None, True)
    with pytest.raises(ConfigError, match="SyncBatchNorm needs CUDA"):
        sync.check(steps_config())


def test_torchrun_environment_is_recognised():
    assert launched_by_torchrun({"RANK": "0", "WORLD_SIZE": "2", "MASTER_ADDR": "h", "MASTER_PORT": "1"})
    assert not launched_by_torchrun({"RANK": "0"})


def test_parameters_helper_covers_the_ema():
    trainer = Trainer(steps_config(), steps_dataset(), RunDirectory("unused"), write_files=False)
    trainer._setup()
    assert any(k.startswith("ema.") for k in parameters(trainer))

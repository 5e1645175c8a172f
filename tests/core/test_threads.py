"""The thread governor: trains on the cores other programs leave free, and takes them back."""

from __future__ import annotations

import pytest
import torch
from helpers import SPACES, random_dataset, tiny_config

import studio.core.trainer as trainer_module
from studio.core.events import RunNotice
from studio.core.rundir import RunDirectory
from studio.core.threads import CpuSample, ThreadGovernor, free_cores, read_cpu_sample


class FakeMachine:
    """A machine whose other programs use ``others`` cores; each read advances the clock by ``step`` seconds."""

    def __init__(self, step: float = 2.0):
        self.wall = self.busy = self.ours = 0.0
        self.others = 0.0
        self.ours_rate = 2.0
        self.step = step

    def read(self) -> CpuSample:
        self.wall += self.step
        self.busy += (self.others + self.ours_rate) * self.step
        self.ours += self.ours_rate * self.step
        return CpuSample(self.busy, self.ours, self.wall)


def governor(machine: FakeMachine, threads: int = 2, cores: int = 2):
    calls: list[int] = []
    gov = ThreadGovernor(threads, read=machine.read, set_threads=calls.append, interval=1.0)
    gov.cores = cores
    return gov, calls


def test_free_cores_counts_other_programs_only():
    before, after = CpuSample(10.0, 5.0, 100.0), CpuSample(14.0, 7.0, 102.0)  # 4 busy s in 2 s, 2 of them ours
    assert free_cores(before, after, 2) == pytest.approx(1.0)
    assert free_cores(before, CpuSample(12.0, 7.0, 102.0), 2) == pytest.approx(2.0)  # only ours
    assert free_cores(before, CpuSample(30.0, 5.0, 102.0), 2) == 0.0  # clipped


def test_a_busy_core_elsewhere_drops_a_thread_after_two_readings_and_quiet_takes_it_back():
    machine = FakeMachine()
    gov, calls = governor(machine)
    assert gov.poll() is None and calls == []  # quiet machine
    machine.others = 1.0
    assert gov.poll() is None  # the first reading of the load waits for a second
    assert gov.poll() == 1 and calls == [1] and gov.threads == 1
    assert gov.poll() is None and calls == [1]  # steady
    machine.others = 0.1  # daemons and redraws do not count as a taken core
    gov.poll()
    assert gov.poll() == 2 and calls == [1, 2]


def test_a_burst_shorter_than_two_readings_changes_nothing():
    machine = FakeMachine()
    gov, calls = governor(machine)
    machine.others = 1.0
    gov.poll()
    machine.others = 0.0
    gov.poll()
    gov.poll()
    assert calls == [] and gov.threads == 2


def test_never_more_than_it_started_with_nor_fewer_than_one():
    machine = FakeMachine()
    gov, calls = governor(machine, threads=2, cores=8)
    machine.others = 7.5
    gov.poll(), gov.poll()
    assert gov.threads == 1
    machine.others = 0.0
    gov.poll(), gov.poll()
    assert gov.threads == 2  # 8 free cores, but it started with 2
    gov.restore()
    assert calls[-1] == 2


def test_reads_between_intervals_are_skipped():
    machine = FakeMachine(step=0.1)
    gov, calls = governor(machine)
    machine.others = 1.0
    for _ in range(5):  # 0.5 s of reads: under the 1 s interval
        assert gov.poll() is None
    assert calls == []


def test_one_thread_or_no_proc_stat_disables_it():
    machine = FakeMachine()
    assert not governor(machine, threads=1)[0].enabled
    assert not ThreadGovernor(2, read=lambda: None, set_threads=lambda n: None).enabled


def test_this_machine_reads_when_linux():
    sample = read_cpu_sample()
    if sample is None:
        pytest.skip("no /proc/stat on this system")
    assert sample.busy > 0 and sample.ours >= 0 and sample.wall > 0


def test_a_training_follows_the_free_cores_says_so_and_gives_the_threads_back(tmp_path, monkeypatch):

    machine = FakeMachine(step=1.0)
    machine.others = 1.0  # another program holds one of the two cores throughout
    threads_seen: list[int] = []

    def set_threads(n: int) -> None:
        threads_seen.append(n)
        torch.set_num_threads(n)

    made: list[ThreadGovernor] = []

    def make_governor(threads):
        assert threads == torch.get_num_threads()
        gov = ThreadGovernor(2, read=machine.read, set_threads=set_threads, interval=1.0)
        gov.cores = 2
        made.append(gov)
        return gov

    monkeypatch.setattr(trainer_module, "ThreadGovernor", make_governor)
    before = torch.get_num_threads()
    space = SPACES["multi-attribute"]
    cfg = tiny_config(family="acgan", epochs=1, cpu_threads=0)
    run = RunDirectory.create(tmp_path, cfg, run_id="gov")
    events: list = []
    result = trainer_module.Trainer(cfg, random_dataset(space), run, events.append).run()
    assert result.reason == "completed"
    assert made, "cpu_threads 0 on the CPU trains under a governor"
    notices = [e.message for e in events if isinstance(e, RunNotice)]
    assert notices == ["other programs busy on the CPU: training on 1 of 2 threads"]
    assert threads_seen == [1]
    assert torch.get_num_threads() == before  # the caller's thread count is back


def test_a_fixed_thread_count_is_used_and_given_back(tmp_path):

    before = torch.get_num_threads()
    cfg = tiny_config(family="acgan", epochs=1, cpu_threads=before + 1)
    seen: list[int] = []
    run = RunDirectory.create(tmp_path, cfg, run_id="fixed")
    trainer = trainer_module.Trainer(cfg, random_dataset(SPACES["multi-attribute"]), run, lambda e: None)
    original = trainer._iteration
    trainer._iteration = lambda *a: (seen.append(torch.get_num_threads()), original(*a))[1]
    assert trainer.run().reason == "completed"
    assert trainer.governor is None and set(seen) == {before + 1}
    assert torch.get_num_threads() == before


def test_a_reserved_core_is_left_to_the_process_s_other_threads(tmp_path, monkeypatch):
    import studio.core.threads as threads

    monkeypatch.setattr(threads, "_reserved", 0)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        threads.reserve_cores(1)
        cfg = tiny_config(family="acgan", epochs=1, cpu_threads=0)
        run = RunDirectory.create(tmp_path, cfg, run_id="reserved")
        trainer = trainer_module.Trainer(cfg, random_dataset(SPACES["multi-attribute"]), run, lambda e: None)
        seen: list[int] = []
        original = trainer._iteration
        trainer._iteration = lambda *a: (seen.append(torch.get_num_threads()), original(*a))[1]
        assert trainer.run().reason == "completed"
        assert set(seen) == {1} and trainer.governor.max_threads == 1
        assert torch.get_num_threads() == 2  # given back
    finally:
        threads.reserve_cores(0)
        torch.set_num_threads(before)

"""CPU threads for training on cores that other programs share.

PyTorch's CPU kernels split each operation over a team of OpenMP threads and
wait at its end for the slowest. When another busy program holds one of two
cores, every small operation waits for the operating system to give the
displaced thread a turn, and training slows ten to thirty times where losing
one core should cost about half. :class:`ThreadGovernor` watches how much of
the machine other programs use (``/proc/stat`` against this process's own CPU
time, every second, between steps) and trains on the cores they
leave free, up to the count it started with; when they go quiet it takes the
cores back. Processes with a positive nice value yield to this one anyway and
are not counted.

The thread count changes only between steps. oneDNN may add a product's
terms in another order on another thread count, so a run whose thread count
changed repeats a straight run to float rounding, not bit for bit; a fixed
``cpu_threads`` setting keeps runs bit-identical on one machine.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = ["ThreadGovernor", "CpuSample", "read_cpu_sample", "free_cores", "reserve_cores", "reserved_cores"]

# How often the load is read; a read costs ~30 us, a step of the smallest preset ~25 ms.
_INTERVAL_S = 1.0
# Other programs' use, in cores, below which a core still counts as free (system daemons, the GUI's redraws).
_SLACK = 0.35

_reserved = 0  # cores this process keeps for work of its own beside training (the window's GUI thread)


def reserve_cores(n: int) -> None:
    """Keep ``n`` cores of torch's thread count for this process's other threads: training with cpu_threads 0
    uses at most the rest (at least one). The window reserves one: its GUI thread, waking for every report
    and redraw, stalls an OpenMP team that fills every core (measured on 2 cores, tiny-demo: 1 thread in the
    window 1,415 img/s, 2 threads 1,244; benchmarks/gui_overhead.py)."""
    global _reserved
    _reserved = max(0, int(n))


def reserved_cores() -> int:
    return _reserved


@dataclass(frozen=True)
class CpuSample:
    """Machine-wide busy CPU seconds (not counting niced programs), this process's CPU seconds, and wall time."""

    busy: float
    ours: float
    wall: float


def read_cpu_sample() -> CpuSample | None:
    """The current sample, or None where ``/proc/stat`` is not there (not Linux)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 8:
        return None
    ticks = [int(v) for v in fields[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq = ticks[:7]
    steal = ticks[7] if len(ticks) > 7 else 0
    busy = user + system + irq + softirq + steal
    if os.getpriority(os.PRIO_PROCESS, 0) > 0:  # this process is niced itself: its time is counted as nice
        busy += nice
    hz = os.sysconf("SC_CLK_TCK")
    return CpuSample(busy / hz, time.process_time(), time.monotonic())


def free_cores(before: CpuSample, after: CpuSample, cores: int) -> float:
    """Cores other programs left free between two samples (0 to ``cores``)."""
    wall = after.wall - before.wall
    if wall <= 0:
        return float(cores)
    others = (after.busy - before.busy - (after.ours - before.ours)) / wall
    return min(float(cores), max(0.0, cores - max(0.0, others)))


class ThreadGovernor:
    """Keep the training thread's OpenMP team within the cores other programs leave free.

    ``threads``: the most threads to use (the count torch started with when
    None). Call :meth:`poll` between steps; it returns the new thread count
    when it changed it, else None. A change needs the same reading twice in a
    row, so a burst of activity elsewhere does not make the count flap.
    ``read``/``set_threads`` are for tests.
    """

    def __init__(
        self,
        threads: int | None = None,
        read: Callable[[], CpuSample | None] = read_cpu_sample,
        set_threads: Callable[[int], None] = torch.set_num_threads,
        interval: float = _INTERVAL_S,
    ):
        self.max_threads = max(1, threads or torch.get_num_threads())
        try:
            self.cores = len(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            self.cores = os.cpu_count() or 1
        self._read, self._set, self.interval = read, set_threads, interval
        self.threads = self.max_threads
        self._last = read()
        self._pending: int | None = None
        self.enabled = self._last is not None and self.max_threads > 1

    def target(self, free: float) -> int:
        """Threads to use when ``free`` cores are free of other programs."""
        return max(1, min(self.max_threads, int(free + _SLACK)))

    def poll(self) -> int | None:
        if not self.enabled:
            return None
        sample = self._read()
        if sample is None or self._last is None or sample.wall - self._last.wall < self.interval:
            return None
        wanted = self.target(free_cores(self._last, sample, self.cores))
        self._last = sample
        if wanted == self.threads:
            self._pending = None
            return None
        if self._pending != wanted:
            self._pending = wanted  # seen once: wait for a second reading
            return None
        self._pending = None
        self.threads = wanted
        self._set(wanted)
        return wanted

    def restore(self) -> None:
        """Give the thread back the count it started with."""
        if self.threads != self.max_threads:
            self.threads = self.max_threads
            self._set(self.max_threads)

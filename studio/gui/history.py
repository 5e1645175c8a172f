"""Metric history for the live plots: growable numpy buffers and smoothing.

No Qt here, so the buffering and smoothing are tested on their own.  A run of
a million steps reported every step stays a few arrays of floats; plots read
views of them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

__all__ = ["MetricHistory", "ema"]


class MetricHistory:
    """Steps (x) and one float series per metric name, grown by doubling.

    Missing (None) and non-finite values are stored as the series' previous
    finite value, so curves can be drawn with ``skipFiniteCheck``; a series
    that never had a value stays empty (``has_values`` is False).
    """

    def __init__(self, names: Iterable[str], capacity: int = 1024):
        self.names = tuple(names)
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = {name: np.empty(capacity, dtype=np.float64) for name in self.names}
        self._last = {name: math.nan for name in self.names}
        self._seen = {name: False for name in self.names}
        self.n = 0
        self.version = 0  # bumps on every change; plots redraw only when it moved

    def __len__(self) -> int:
        return self.n

    def clear(self) -> None:
        self.n = 0
        self._last = {name: math.nan for name in self.names}
        self._seen = {name: False for name in self.names}
        self.version += 1

    def _grow(self, need: int) -> None:
        capacity = len(self._x)
        if need <= capacity:
            return
        while capacity < need:
            capacity *= 2
        x = np.empty(capacity, dtype=np.float64)
        x[: self.n] = self._x[: self.n]
        self._x = x
        for name, old in self._y.items():
            y = np.empty(capacity, dtype=np.float64)
            y[: self.n] = old[: self.n]
            self._y[name] = y

    def append(self, x: float, values: Mapping[str, float | None]) -> None:
        self._grow(self.n + 1)
        i = self.n
        self._x[i] = x
        for name in self.names:
            v = values.get(name)
            if v is not None and math.isfinite(v):
                self._last[name] = float(v)
                self._seen[name] = True
            # Before the first finite value, 0.0 keeps the buffer finite.
            self._y[name][i] = self._last[name] if self._seen[name] else 0.0
        self.n += 1
        self.version += 1

    def extend(self, rows: Iterable[tuple[float, Mapping[str, float | None]]]) -> None:
        for x, values in rows:
            self.append(x, values)

    def has_values(self, name: str) -> bool:
        return self._seen[name]

    def x(self) -> np.ndarray:
        return self._x[: self.n]

    def y(self, name: str) -> np.ndarray:
        return self._y[name][: self.n]

    def last_x(self) -> float | None:
        return float(self._x[self.n - 1]) if self.n else None


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """Debiased exponential moving average (TensorBoard's smoothing), vectorised.

    ``weight`` in [0, 1): 0 returns the values, 0.99 smooths heavily.  The
    recurrence y_i = w*y_(i-1) + (1-w)*x_i is solved in closed form over blocks
    short enough that w**-k stays far from overflow, so a long run costs a few
    numpy calls per block instead of a Python loop per point.
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n == 0 or weight <= 0.0:
        return values.copy()
    weight = min(float(weight), 0.999999)
    log_w = math.log(weight)
    block = int(max(1, min(4096, 300.0 / -log_w)))  # w**-block <= e**300
    out = np.empty(n, dtype=np.float64)
    carry = 0.0
    for start in range(0, n, block):
        chunk = values[start : start + block]
        k = np.arange(len(chunk), dtype=np.float64)
        up = np.exp(-k * log_w)  # w**-k
        down = np.exp(k * log_w)  # w**k
        acc = np.cumsum(chunk * up)
        seg = weight * down * carry + (1.0 - weight) * down * acc
        out[start : start + len(chunk)] = seg
        carry = seg[-1]
    steps = np.arange(1, n + 1, dtype=np.float64)
    return out / (1.0 - np.exp(steps * log_w))

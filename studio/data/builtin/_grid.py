"""Coordinate grids shared by the built-in sets' backgrounds and lighting."""

from __future__ import annotations

import numpy as np

_GRIDS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def unit_grid(side: int) -> tuple[np.ndarray, np.ndarray]:
    """``(xs, ys)``: each pixel's column and row scaled to 0..1, float32, cached per side."""
    if side not in _GRIDS:
        ys, xs = np.mgrid[0:side, 0:side].astype(np.float32) / max(side - 1, 1)
        _GRIDS[side] = (xs, ys)
    return _GRIDS[side]

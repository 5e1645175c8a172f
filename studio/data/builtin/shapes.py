"""Simple CLEVR-like scenes: 1-3 coloured cubes, spheres and cylinders.

A stand-in for i-CLEVR: the 24 labels use i-CLEVR's own names and indices
(``data/iclevr/objects.json``), so a model trained here can be pointed at the
real data set without remapping.  Scenes are drawn with Pillow at twice the
target size and box-downsampled for anti-aliasing.

Image ``i`` is drawn from ``np.random.default_rng([seed, i])`` alone, so the
output is the same whatever the number of worker processes.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from ._grid import unit_grid
from ._parallel import run_chunked

__all__ = ["OBJECT_NAMES", "COLOURS", "SHAPES", "generate_shapes"]

RGB = tuple[int, int, int]

# Index order of i-CLEVR's objects.json: shape-major, colour-minor.
OBJECT_NAMES: list[str] = [
    "gray cube",
    "red cube",
    "blue cube",
    "green cube",
    "brown cube",
    "purple cube",
    "cyan cube",
    "yellow cube",
    "gray sphere",
    "red sphere",
    "blue sphere",
    "green sphere",
    "brown sphere",
    "purple sphere",
    "cyan sphere",
    "yellow sphere",
    "gray cylinder",
    "red cylinder",
    "blue cylinder",
    "green cylinder",
    "brown cylinder",
    "purple cylinder",
    "cyan cylinder",
    "yellow cylinder",
]

SHAPES = ("cube", "sphere", "cylinder")

# Gray is kept much darker than the floor, cyan much greener and lighter than
# blue, and brown much darker than red or yellow, so each stays recognisable.
COLOURS: list[tuple[str, RGB]] = [
    ("gray", (88, 88, 92)),
    ("red", (200, 35, 35)),
    ("blue", (40, 70, 220)),
    ("green", (30, 160, 50)),
    ("brown", (125, 78, 30)),
    ("purple", (135, 45, 190)),
    ("cyan", (40, 210, 215)),
    ("yellow", (240, 215, 40)),
]

_SCALE = 2
_JITTER = 8
_MARGIN = 0.025  # empty space kept between objects and around the border


def _shade(c: RGB, k: float) -> RGB:
    return tuple(int(max(0, min(255, round(v * k)))) for v in c)  # type: ignore[return-value]


# --------------------------------------------------------------------------
# floor


def _floor(rng: np.random.Generator, side: int) -> np.ndarray:
    """A light grey floor, brighter under a soft spot light, with faint grain."""
    grey = rng.uniform(150, 178)
    tint = rng.uniform(-4, 4, 3).astype(np.float32)
    xs, ys = unit_grid(side)
    lx, ly = rng.uniform(0.2, 0.8), rng.uniform(0.1, 0.5)
    spot = np.exp(-((xs - lx) ** 2 + (ys - ly) ** 2) / 0.25) * rng.uniform(6, 16)
    slope = (ys - 0.5) * rng.uniform(-12, 4)
    level = grey + spot + slope
    grain = rng.normal(0, 1.5, (side, side)).astype(np.float32)
    pixels = (level + grain)[..., None] + tint
    return np.clip(pixels, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------
# layout


def _place(rng: np.random.Generator, count: int) -> list[tuple[float, float, float]]:
    """Centres and half-sizes of ``count`` non-overlapping square footprints."""
    scale = 1.0
    while True:
        placed: list[tuple[float, float, float]] = []
        for _ in range(count):
            spot = _try_place(rng, placed, scale)
            if spot is None:
                break
            placed.append(spot)
        if len(placed) == count:
            return placed
        scale *= 0.85  # crowded: shrink everything and start over


def _try_place(rng, placed, scale: float, tries: int = 60):
    for _ in range(tries):
        y = rng.uniform(0.2, 0.85)
        # farther objects (higher up) look smaller
        r = rng.uniform(0.1, 0.17) * (0.75 + 0.45 * y) * scale
        x = rng.uniform(r + _MARGIN, 1 - r - _MARGIN)
        y = min(max(y, r + _MARGIN), 1 - r - _MARGIN)
        if all(abs(x - px) >= r + pr + _MARGIN or abs(y - py) >= r + pr + _MARGIN for px, py, pr in placed):
            return x, y, r
    return None


# --------------------------------------------------------------------------
# objects (coordinates in pixels of the drawing canvas)


def _shadow(draw: ImageDraw.ImageDraw, floor: np.ndarray, x, y, r) -> None:
    side = floor.shape[0]
    px = floor[min(side - 1, int(y + r * 0.9)), min(side - 1, int(x))]
    colour = _shade(tuple(int(v) for v in px), 0.84)  # type: ignore[arg-type]
    draw.ellipse((x - r * 0.8, y + r * 0.55, x + r * 1.15, y + r * 1.0), fill=colour)


def _cube(draw: ImageDraw.ImageDraw, x, y, r, c: RGB) -> None:
    d = r * 0.55  # depth of the receding faces
    draw.polygon([(x - r, y - r + d), (x - r + d, y - r), (x + r, y - r), (x + r - d, y - r + d)], fill=_shade(c, 1.22))
    draw.polygon([(x + r - d, y - r + d), (x + r, y - r), (x + r, y + r - d), (x + r - d, y + r)], fill=_shade(c, 0.7))
    draw.rectangle((x - r, y - r + d, x + r - d, y + r), fill=c)


def _sphere(draw: ImageDraw.ImageDraw, x, y, r, c: RGB) -> None:
    # Nested discs drifting towards the light read as a lit ball; each disc
    # stays inside the previous one, so the outline is a clean circle.
    steps = 7
    for k in range(steps):
        t = k / (steps - 1)
        rad = r * (1 - 0.72 * t)
        cx, cy = x - 0.36 * r * t, y - 0.36 * r * t
        draw.ellipse((cx - rad, cy - rad, cx + rad, cy + rad), fill=_shade(c, 0.72 + 0.5 * t))
    hx, hy, hr = x - 0.42 * r, y - 0.42 * r, r * 0.12
    draw.ellipse((hx - hr, hy - hr, hx + hr, hy + hr), fill=(250, 250, 250))


def _cylinder(draw: ImageDraw.ImageDraw, x, y, r, c: RGB) -> None:
    w, e = r * 0.82, r * 0.3
    top, bottom = y - r + e, y + r - e
    draw.ellipse((x - w, bottom - e, x + w, bottom + e), fill=_shade(c, 0.78))
    draw.rectangle((x - w, top, x + w, bottom), fill=c)
    draw.rectangle((x + w * 0.45, top, x + w, bottom), fill=_shade(c, 0.8))
    draw.rectangle((x - w * 0.75, top, x - w * 0.4, bottom), fill=_shade(c, 1.1))
    draw.ellipse((x + w * 0.45 - w * 0.55, bottom - e, x + w, bottom + e), fill=_shade(c, 0.8))
    draw.ellipse((x - w, bottom - e, x + w * 0.45, bottom + e), fill=c)
    draw.ellipse((x - w, top - e, x + w, top + e), fill=_shade(c, 1.22))


_DRAW = (_cube, _sphere, _cylinder)


# --------------------------------------------------------------------------
# one scene, a chunk of scenes, the public entry point


def _jitter(rng: np.random.Generator, c: RGB) -> RGB:
    offset = rng.integers(-_JITTER, _JITTER + 1, 3)
    return tuple(int(v) for v in np.clip(np.array(c) + offset, 0, 255))  # type: ignore[return-value]


def _draw_scene(rng: np.random.Generator, size: int, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    count = int(rng.integers(lo, hi + 1))
    ids = rng.choice(len(OBJECT_NAMES), size=count, replace=False)
    spots = _place(rng, count)
    colours = [_jitter(rng, COLOURS[int(i) % 8][1]) for i in ids]

    side = size * _SCALE
    floor = _floor(rng, side)
    image = Image.fromarray(floor, "RGB")
    draw = ImageDraw.Draw(image)
    objects = sorted(zip(spots, ids, colours), key=lambda o: o[0][1])  # back to front
    for (x, y, r), _, _ in objects:
        _shadow(draw, floor, x * side, y * side, r * side)
    for (x, y, r), obj, colour in objects:
        _DRAW[int(obj) // 8](draw, x * side, y * side, r * side, colour)

    label = np.zeros(len(OBJECT_NAMES), np.uint8)
    label[ids] = 1
    return np.asarray(image.reduce(_SCALE), dtype=np.uint8), label


def _shapes_chunk(seed: int, start: int, stop: int, size: int, lo: int, hi: int):
    count = stop - start
    images = np.empty((count, size, size, 3), np.uint8)
    labels = np.empty((count, len(OBJECT_NAMES)), np.uint8)
    for k, i in enumerate(range(start, stop)):
        images[k], labels[k] = _draw_scene(np.random.default_rng([seed, i]), size, lo, hi)
    return images, labels


def generate_shapes(
    n: int,
    seed: int,
    size: int = 64,
    min_objects: int = 1,
    max_objects: int = 3,
    workers: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` scenes.

    Returns ``(images, labels)``: images uint8 ``(n, size, size, 3)``; labels
    uint8 ``(n, 24)`` multi-hot over :data:`OBJECT_NAMES`.  Each scene holds a
    uniformly random number in ``[min_objects, max_objects]`` of distinct,
    non-overlapping objects.
    """
    if not 1 <= min_objects <= max_objects <= 6:
        raise ValueError(f"need 1 <= min_objects <= max_objects <= 6, got {min_objects}..{max_objects}")
    if size < 8:
        raise ValueError(f"scene size must be at least 8 px, got {size}")
    return run_chunked(
        _shapes_chunk,
        n,
        int(seed),
        workers,  # type: ignore[return-value]
        (int(size), int(min_objects), int(max_objects)),
    )

"""Cartoon anime-style faces labelled by hair colour and eye colour.

Each face is drawn with Pillow at twice the target size and box-downsampled,
which anti-aliases every edge for a fraction of the cost of supersampling
each shape.  Geometry is described in unit coordinates (0..1 of the image
side) so the same code works at any ``size``.

Image ``i`` is drawn from ``np.random.default_rng([seed, i])`` alone, so the
output is the same whatever the number of worker processes.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from ._grid import unit_grid
from ._parallel import run_chunked

__all__ = ["HAIR_COLOURS", "EYE_COLOURS", "HAIR_STYLES", "BANG_STYLES", "generate_faces"]

RGB = tuple[int, int, int]

# Base colours were picked so that, after jitter and shading, no two classes
# can be mistaken for one another (white/gray/blonde/black differ in both
# lightness and hue).
HAIR_COLOURS: list[tuple[str, RGB]] = [
    ("orange", (245, 130, 30)),
    ("white", (240, 240, 246)),
    ("aqua", (60, 220, 215)),
    ("gray", (135, 135, 142)),
    ("green", (45, 165, 65)),
    ("red", (210, 30, 40)),
    ("purple", (140, 70, 195)),
    ("pink", (250, 145, 195)),
    ("blue", (45, 85, 215)),
    ("black", (35, 32, 38)),
    ("brown", (120, 70, 35)),
    ("blonde", (245, 220, 115)),
]

EYE_COLOURS: list[tuple[str, RGB]] = [
    ("black", (30, 26, 30)),
    ("orange", (245, 140, 20)),
    ("pink", (245, 120, 185)),
    ("yellow", (240, 222, 40)),
    ("aqua", (50, 215, 215)),
    ("purple", (150, 60, 205)),
    ("green", (40, 170, 60)),
    ("brown", (130, 75, 35)),
    ("red", (215, 25, 35)),
    ("blue", (40, 80, 225)),
]

HAIR_STYLES = ("short", "bob", "long", "twin_tails")
BANG_STYLES = ("spiky", "straight", "parted", "swept")

# Per-channel jitter of the base colours; small enough to keep every class
# obvious, large enough that a generator cannot memorise a single RGB value.
COLOUR_JITTER = 10

_SCALE = 2  # drawing resolution relative to the output
_SKIN_TONES: list[RGB] = [
    (255, 228, 208),
    (252, 218, 192),
    (246, 206, 178),
    (255, 236, 222),
    (240, 200, 170),
    (250, 222, 200),
]
_LASH = (45, 28, 32)
_MOUTH = (150, 55, 60)


# --------------------------------------------------------------------------
# small colour and geometry helpers


def _scaled(c, k: float) -> RGB:
    return tuple(int(max(0, min(255, round(v * k)))) for v in c)  # type: ignore[return-value]


def _mix(a, b, t: float) -> RGB:
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))  # type: ignore[return-value]


def _jitter(rng: np.random.Generator, base: RGB) -> RGB:
    offset = rng.integers(-COLOUR_JITTER, COLOUR_JITTER + 1, 3)
    return tuple(int(v) for v in np.clip(np.array(base) + offset, 0, 255))  # type: ignore[return-value]


def _dist(a, b) -> float:
    return math.dist([float(v) for v in a], [float(v) for v in b])


def _arc(cx, cy, rx, ry, a0, a1, steps=12) -> list[tuple[float, float]]:
    """Points on an ellipse from angle a0 to a1 (radians, y pointing down)."""
    step = (a1 - a0) / (steps - 1)
    return [(cx + rx * math.cos(a0 + k * step), cy + ry * math.sin(a0 + k * step)) for k in range(steps)]


class _Pen:
    """ImageDraw in unit coordinates (1.0 is the image side), zoomed about the centre.

    The zoom varies how tightly each portrait is framed.
    """

    def __init__(self, image: Image.Image, zoom: float = 1.0) -> None:
        self.draw = ImageDraw.Draw(image)
        self.s = image.size[0]
        self.z = zoom

    def _w(self, width: float) -> int:
        return max(1, int(round(width * self.z * self.s)))

    def _xy(self, x: float, y: float) -> tuple[float, float]:
        return ((0.5 + (x - 0.5) * self.z) * self.s, (0.5 + (y - 0.5) * self.z) * self.s)

    def ellipse(self, cx, cy, rx, ry, fill=None, outline=None, width=0.0):
        x, y = self._xy(cx, cy)
        rx, ry = rx * self.z * self.s, ry * self.z * self.s
        self.draw.ellipse(
            (x - rx, y - ry, x + rx, y + ry), fill=fill, outline=outline, width=self._w(width) if outline else 0
        )

    def polygon(self, pts, fill=None, outline=None, width=0.0):
        self.draw.polygon(
            [self._xy(x, y) for x, y in pts], fill=fill, outline=outline, width=self._w(width) if outline else 1
        )

    def line(self, pts, fill, width):
        self.draw.line([self._xy(x, y) for x, y in pts], fill=fill, width=self._w(width), joint="curve")


# --------------------------------------------------------------------------
# background


# Backgrounds and clothes also keep clear of every hair colour, so no image
# shows a second patch that could pass for hair of another class.
_HAIR_BASES = [rgb for _, rgb in HAIR_COLOURS]
_HAIR_ARRAY = np.array(_HAIR_BASES, float)
_OTHER_HAIR_DIST = 50.0
_RAMP_SIDE = 16


def _margin(colour, avoid: list[RGB], min_dist: float) -> float:
    own = min((_dist(colour, a) for a in avoid), default=1e9) - min_dist
    other = min(_dist(colour, h) for h in _HAIR_BASES) - _OTHER_HAIR_DIST
    return min(own, other)


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectorised colorsys.hsv_to_rgb, 0..1 in, 0..255 out, shape (n, 3)."""
    i = np.floor(h * 6).astype(int) % 6
    f = h * 6 - np.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    table = np.stack([np.stack(c, 1) for c in ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))])
    return np.round(table[i, np.arange(len(h))] * 255)


def _soft_colour(rng: np.random.Generator, avoid: list[RGB], min_dist: float) -> RGB:
    """A muted random colour at least ``min_dist`` away from every ``avoid``.

    Candidates are drawn in one batch (same RNG use every time, so still
    deterministic) and the first that fits wins; failing that, the best.
    """
    count = 24
    rgb = _hsv_to_rgb(rng.random(count), rng.uniform(0.1, 0.55, count), rng.uniform(0.4, 0.95, count))
    own = np.linalg.norm(rgb[:, None] - np.asarray(avoid, float)[None], axis=-1).min(1)
    other = np.linalg.norm(rgb[:, None] - _HAIR_ARRAY[None], axis=-1).min(1)
    margin = np.minimum(own - min_dist, other - _OTHER_HAIR_DIST)
    ok = np.flatnonzero(margin >= 0)
    pick = int(ok[0]) if ok.size else int(np.argmax(margin))
    return tuple(int(v) for v in rgb[pick])  # type: ignore[return-value]


def _background(rng: np.random.Generator, side: int, avoid: list[RGB]) -> Image.Image:
    """A two-colour linear gradient, kept well away from the hair colour."""
    c1 = np.array(_soft_colour(rng, avoid, 110), np.float32)
    c2 = np.clip(c1 * rng.uniform(0.65, 1.25) + rng.integers(-25, 26, 3), 0, 255).astype(np.float32)
    if _margin(c2, avoid, 90) < 0:
        c2 = c1
    angle = rng.uniform(0, 2 * math.pi)
    # A linear ramp survives bilinear upscaling exactly, so it is computed
    # on a coarse grid and resized: much cheaper than at full resolution.
    xs, ys = unit_grid(_RAMP_SIDE)
    t = (xs - 0.5) * math.cos(angle) + (ys - 0.5) * math.sin(angle) + 0.5
    t = np.clip(t, 0, 1)[..., None]
    pixels = (c1 + (c2 - c1) * t + 0.5).astype(np.uint8)
    return Image.fromarray(pixels, "RGB").resize((side, side), Image.Resampling.BILINEAR)


def _bokeh(rng: np.random.Generator, pen: _Pen, image: Image.Image) -> None:
    base = image.getpixel((image.size[0] // 2, 2))
    light = _mix(base, (255, 255, 255), rng.uniform(0.12, 0.25))
    for _ in range(int(rng.integers(3, 7))):
        r = rng.uniform(0.04, 0.1)
        pen.ellipse(rng.uniform(0, 1), rng.uniform(0, 0.7), r, r, fill=light)


# --------------------------------------------------------------------------
# face parameters


class _Face:
    """Random geometry of one face, in unit coordinates."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.cx = rng.uniform(0.47, 0.53)
        self.cy = rng.uniform(0.48, 0.53)
        self.fw = rng.uniform(0.22, 0.27)  # half width at cheek level
        self.up = self.fw * rng.uniform(1.05, 1.2)  # forehead height
        self.fh = rng.uniform(0.21, 0.26)  # cheek line to chin
        self.chin = rng.uniform(1.25, 2.0)  # <2 gives a pointed chin
        self.ew = rng.uniform(0.055, 0.072)  # eye half width
        self.eh = self.ew * rng.uniform(1.15, 1.45)
        self.ey = self.cy + rng.uniform(-0.005, 0.03)
        self.eye_dx = self.fw * rng.uniform(0.42, 0.5)
        self.look = rng.uniform(-0.2, 0.2)
        self.skin = _jitter(rng, _SKIN_TONES[int(rng.integers(len(_SKIN_TONES)))])
        # hair cap: the skull plus volume
        self.hx = self.fw + rng.uniform(0.035, 0.065)
        self.hy = self.up + rng.uniform(0.06, 0.1)
        self.hcy = self.cy - 0.01

    def outline(self, steps: int = 14) -> list[tuple[float, float]]:
        top = _arc(self.cx, self.cy, self.fw, self.up, math.pi, 2 * math.pi, steps)
        jaw = []
        e = 2.0 / self.chin
        for t in np.linspace(0, math.pi, steps):
            c, s = math.cos(t), math.sin(t)
            x = self.cx + self.fw * math.copysign(abs(c) ** e, c)
            jaw.append((x, self.cy + self.fh * abs(s) ** e))
        return top + jaw[1:-1]


# --------------------------------------------------------------------------
# hair


def _cap(f: _Face, steps: int = 16) -> list[tuple[float, float]]:
    return _arc(f.cx, f.hcy, f.hx, f.hy, math.pi, 2 * math.pi, steps)


def _back_hair(rng, pen: _Pen, f: _Face, style: str, colour: RGB, line: RGB) -> None:
    top = _cap(f)
    left, right = top[0][0], top[-1][0]
    if style == "long":
        flare = rng.uniform(0.02, 0.09)
        body = [(right + 0.01, f.cy + 0.15), (right + flare, 1.05), (left - flare, 1.05), (left - 0.01, f.cy + 0.15)]
    elif style == "bob":
        bottom = f.cy + f.fh * rng.uniform(0.75, 1.05)
        body = [
            (right + 0.02, bottom - 0.04),
            (right - 0.03, bottom),
            (left + 0.03, bottom),
            (left - 0.02, bottom - 0.04),
        ]
    else:  # short, and the head behind twin tails
        bottom = f.cy + rng.uniform(0.0, 0.08)
        body = [(right - 0.01, bottom), (left + 0.01, bottom)]
    pen.polygon(top + body, fill=colour, outline=line, width=0.012)


def _twin_tails(rng, pen: _Pen, f: _Face, colour: RGB, line: RGB) -> None:
    length = rng.uniform(0.75, 1.05)
    width = rng.uniform(0.07, 0.1)
    for side in (-1, 1):
        x0 = f.cx + side * (f.hx - 0.02)
        y0 = f.hcy - f.hy * 0.55
        xm = f.cx + side * (f.hx + width * 0.9)
        outer = [
            (x0 + side * 0.01, y0 - 0.02),
            (xm + side * width * 0.6, y0 + 0.18),
            (xm + side * width * 0.3, length - 0.15),
            (xm, length),
        ]
        inner = [
            (xm - side * width * 0.5, length - 0.2),
            (xm - side * width * 0.8, y0 + 0.2),
            (x0 - side * 0.02, y0 + 0.06),
        ]
        pen.polygon(outer + inner, fill=colour, outline=line, width=0.012)
        # the hair tie
        pen.ellipse(x0 + side * 0.015, y0 + 0.02, 0.022, 0.022, fill=_LASH)


def _below_cap(f: _Face, x: float, y: float, margin: float = 0.05) -> tuple[float, float]:
    """Keep a fringe point inside the hair cap so no spike pokes out of the head."""
    u = min(1.0, abs(x - f.cx) / f.hx)
    top = f.hcy - f.hy * math.sqrt(1.0 - u * u)
    return x, max(y, top + margin)


def _bang_edge(rng, f: _Face, style: str) -> list[tuple[float, float]]:
    """Lower edge of the fringe, from the right temple to the left one."""
    return [_below_cap(f, x, y) for x, y in _bang_shape(rng, f, style)]


def _bang_shape(rng, f: _Face, style: str) -> list[tuple[float, float]]:
    eye_top = f.ey - f.eh
    y_b = eye_top - rng.uniform(0.012, 0.04)  # fringe tips stay above the eyes
    xr, xl = f.cx + f.fw - 0.03, f.cx - f.fw + 0.03
    if style == "straight":
        xs = np.linspace(xr, xl, 9)
        return [(x, y_b + (0.012 if i % 2 else 0.0) - 0.012) for i, x in enumerate(xs)]
    if style == "parted":
        xp = f.cx + rng.uniform(-0.06, 0.06)
        yp = y_b - rng.uniform(0.1, 0.15)
        return [
            (xr, y_b + 0.01),
            (xr - 0.3 * (xr - xp), y_b - 0.01),
            (xp + 0.03, yp + 0.03),
            (xp, yp),
            (xp - 0.03, yp + 0.03),
            (xl + 0.3 * (xp - xl), y_b - 0.01),
            (xl, y_b + 0.01),
        ]
    tilt = rng.uniform(-0.1, 0.1) if style == "swept" else 0.0
    return _spiky_fringe(rng, f, xr, xl, y_b, tilt)


def _spiky_fringe(rng, f: _Face, xr: float, xl: float, y_b: float, tilt: float):
    """Pointed locks; a non-zero ``tilt`` sweeps them to one side."""
    count = int(rng.integers(4, 8))
    xs = np.linspace(xr, xl, count + 1)
    # tips lean towards the side the fringe falls to
    lean = 0.5 if tilt == 0 else (0.35 if tilt > 0 else 0.65)
    pts = []
    for a, b in zip(xs[:-1], xs[1:]):
        # lifting by |tilt| keeps the lowest tip at y_b, above the eyes
        base = y_b + tilt * ((a + b) / 2 - f.cx) / f.fw - abs(tilt)
        pts.append((a, base - rng.uniform(0.05, 0.09)))
        pts.append((a + (b - a) * lean, base + rng.uniform(-0.015, 0.0)))
    pts.append((xl, y_b - 0.06))
    return pts


def _front_hair(rng, pen: _Pen, f: _Face, bangs: str, colour: RGB, line: RGB) -> None:
    top = _cap(f)
    lock = f.ey + rng.uniform(0.0, 0.16)  # side locks framing the cheeks
    inner = f.fw * rng.uniform(0.86, 0.95)
    right = [(f.cx + f.hx + 0.005, f.hcy + 0.02), (f.cx + f.hx - 0.01, lock), (f.cx + inner, f.ey - 0.01)]
    left = [(f.cx - inner, f.ey - 0.01), (f.cx - f.hx + 0.01, lock), (f.cx - f.hx - 0.005, f.hcy + 0.02)]
    edge = _bang_edge(rng, f, bangs)
    pen.polygon(top + right + edge + left, fill=colour, outline=line, width=0.012)
    _hair_detail(rng, pen, f, edge, colour, line)


def _hair_detail(rng, pen: _Pen, f: _Face, edge, colour: RGB, line: RGB) -> None:
    # Short strand lines up from the fringe and a highlight ring give the
    # mass of colour some texture without hiding the hair colour.
    for x, y in edge[1:-1:2]:
        pen.line([(x, y), (x + (f.cx - x) * 0.15, y - rng.uniform(0.05, 0.09))], line, 0.008)
    shine = _mix(colour, (255, 255, 255), 0.4)
    box_rx, box_ry = f.hx * 0.72, f.hy * 0.62
    for a0 in np.linspace(math.pi * 1.15, math.pi * 1.75, 3):
        pts = _arc(f.cx, f.hcy - 0.02, box_rx, box_ry, a0, a0 + 0.18, 4)
        pen.line(pts, shine, 0.016)


# --------------------------------------------------------------------------
# body, face and features


def _body(rng, pen: _Pen, f: _Face, avoid: list[RGB]) -> None:
    cloth = _soft_colour(rng, avoid, 100)
    top = rng.uniform(0.82, 0.88)
    pen.polygon(
        [
            (f.cx - 0.14, top),
            (f.cx + 0.14, top),
            (f.cx + 0.5, top + 0.1),
            (f.cx + 0.5, 1.05),
            (f.cx - 0.5, 1.05),
            (f.cx - 0.5, top + 0.1),
        ],
        fill=cloth,
    )


def _neck(pen: _Pen, f: _Face) -> None:
    w = f.fw * 0.3
    pen.polygon(
        [(f.cx - w, f.cy), (f.cx + w, f.cy), (f.cx + w, 0.95), (f.cx, 0.99), (f.cx - w, 0.95)],
        fill=_scaled(f.skin, 0.88),
    )


def _head(pen: _Pen, f: _Face) -> None:
    edge = _scaled(f.skin, 0.72)
    for side in (-1, 1):
        pen.ellipse(f.cx + side * f.fw * 0.98, f.ey + 0.02, 0.03, 0.05, fill=f.skin, outline=edge, width=0.01)
    pen.polygon(f.outline(), fill=f.skin, outline=edge, width=0.01)


def _eye(pen: _Pen, f: _Face, ex: float, iris: RGB, side: int) -> None:
    ey, ew, eh = f.ey, f.ew, f.eh
    pen.ellipse(ex, ey, ew, eh, fill=(255, 255, 255))
    ix, iy = ex + f.look * ew * 0.3, ey + eh * 0.08
    irx, iry = ew * 0.72, eh * 0.84
    pen.ellipse(ix, iy, irx, iry, fill=iris)
    pen.ellipse(ix, iy + iry * 0.05, irx * 0.42, iry * 0.45, fill=_scaled(iris, 0.3))
    pen.ellipse(ix - irx * 0.38, iy - iry * 0.4, irx * 0.3, irx * 0.3, fill=(255, 255, 255))
    pen.ellipse(ix + irx * 0.35, iy + iry * 0.45, irx * 0.13, irx * 0.13, fill=(255, 255, 255))
    # upper lid with a flick at the outer corner
    lid = _arc(ex, ey + eh * 0.05, ew * 1.12, eh * 1.05, math.pi * 1.08, math.pi * 1.92, 9)
    pen.line(lid, _LASH, 0.03)
    outer = lid[-1] if side > 0 else lid[0]
    pen.line([outer, (outer[0] + side * ew * 0.35, outer[1] - eh * 0.1)], _LASH, 0.02)
    pen.line(_arc(ex, ey, ew * 0.8, eh * 1.0, math.pi * 0.3, math.pi * 0.7, 4), _scaled(f.skin, 0.6), 0.008)


def _features(rng, pen: _Pen, f: _Face, eye_rgb: RGB, brow: RGB) -> None:
    if rng.random() < 0.45:
        blush = _mix(f.skin, (255, 120, 140), 0.3)
        for side in (-1, 1):
            pen.ellipse(f.cx + side * (f.eye_dx + 0.01), f.ey + f.eh + 0.045, f.ew * 0.85, 0.018, fill=blush)
    for side in (-1, 1):
        ex = f.cx + side * f.eye_dx
        _eye(pen, f, ex, eye_rgb, side)
        by = f.ey - f.eh - rng.uniform(0.035, 0.055)
        pen.line(_arc(ex + side * 0.005, by + 0.03, f.ew * 1.0, 0.03, math.pi * 1.2, math.pi * 1.8, 5), brow, 0.014)
    ny = f.ey + f.eh + rng.uniform(0.02, 0.04)
    pen.line([(f.cx + 0.006, ny - 0.012), (f.cx - 0.004, ny + 0.006)], _scaled(f.skin, 0.7), 0.012)
    _mouth(rng, pen, f)


def _mouth(rng, pen: _Pen, f: _Face) -> None:
    my = f.cy + f.fh * rng.uniform(0.5, 0.62)
    w = rng.uniform(0.03, 0.06)
    kind = int(rng.integers(4))
    if kind == 0:  # smile
        pen.line(_arc(f.cx, my - 0.02, w, 0.025, math.pi * 0.15, math.pi * 0.85, 6), _MOUTH, 0.013)
    elif kind == 1:  # open mouth
        pen.polygon(
            _arc(f.cx, my - 0.012, w * 0.8, 0.035, 0, math.pi, 8), fill=(170, 55, 70), outline=_MOUTH, width=0.008
        )
    elif kind == 2:  # cat mouth
        pen.line(
            [
                (f.cx - w, my - 0.01),
                (f.cx - w / 2, my + 0.005),
                (f.cx, my - 0.008),
                (f.cx + w / 2, my + 0.005),
                (f.cx + w, my - 0.01),
            ],
            _MOUTH,
            0.011,
        )
    else:  # small neutral line
        pen.line([(f.cx - w * 0.6, my), (f.cx + w * 0.6, my)], _MOUTH, 0.012)


# --------------------------------------------------------------------------
# one face, a chunk of faces, the public entry point


def _draw_face(rng: np.random.Generator, size: int) -> tuple[np.ndarray, int, int, RGB, RGB]:
    hair_idx = int(rng.integers(len(HAIR_COLOURS)))
    eye_idx = int(rng.integers(len(EYE_COLOURS)))
    hair = _jitter(rng, HAIR_COLOURS[hair_idx][1])
    eye = _jitter(rng, EYE_COLOURS[eye_idx][1])
    style = HAIR_STYLES[int(rng.integers(len(HAIR_STYLES)))]
    bangs = BANG_STYLES[int(rng.integers(len(BANG_STYLES)))]
    f = _Face(rng)

    side = size * _SCALE
    image = _background(rng, side, [hair, f.skin])
    if rng.random() < 0.3:
        _bokeh(rng, _Pen(image), image)
    pen = _Pen(image, zoom=rng.uniform(1.08, 1.3))
    back, line = _scaled(hair, 0.92), _scaled(hair, 0.55)
    _body(rng, pen, f, [hair, f.skin, eye])
    if style == "twin_tails":
        _twin_tails(rng, pen, f, hair, line)
    _back_hair(rng, pen, f, style, back, line)
    _neck(pen, f)
    _head(pen, f)
    _features(rng, pen, f, eye, line)
    _front_hair(rng, pen, f, bangs, hair, line)
    small = image.reduce(_SCALE)
    return np.asarray(small, dtype=np.uint8), hair_idx, eye_idx, hair, eye


def _faces_chunk(seed: int, start: int, stop: int, size: int):
    count = stop - start
    images = np.empty((count, size, size, 3), np.uint8)
    labels = np.empty((count, 2), np.int64)
    colours = np.empty((count, 6), np.float32)
    for k, i in enumerate(range(start, stop)):
        img, h, e, hair, eye = _draw_face(np.random.default_rng([seed, i]), size)
        images[k] = img
        labels[k] = (h, e)
        colours[k] = np.array(hair + eye, np.float32) / 255.0
    return images, labels, colours


def generate_faces(
    n: int, seed: int, size: int = 64, workers: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``n`` faces.

    Returns ``(images, labels, colours)``: images uint8 ``(n, size, size, 3)``;
    labels int64 ``(n, 2)`` holding ``[hair index, eye index]`` into
    :data:`HAIR_COLOURS` / :data:`EYE_COLOURS`; colours float32 ``(n, 6)``
    holding the jittered hair RGB and iris RGB (0..1) actually painted.
    ``workers=None`` uses one process per CPU core for large ``n``.
    """
    if size < 8:
        raise ValueError(f"face size must be at least 8 px, got {size}")
    return run_chunked(_faces_chunk, n, int(seed), workers, (int(size),))  # type: ignore[return-value]

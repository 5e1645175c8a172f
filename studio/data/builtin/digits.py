"""Coloured digits 0-9 on textured backgrounds, a stand-in for MNIST-M.

Glyphs come from four styles so a model cannot learn one font: Pillow's
embedded TrueType font (no system font files, which differ between machines),
and three stroke-drawn styles built here from polylines -- a round "sans", a
seven-segment display and a wobbly "handwritten" one.  Each glyph is drawn as
a mask at four times the target size, slanted, rotated and placed, then
coloured over a background chosen to contrast with it, and box-downsampled.

Image ``i`` is drawn from ``np.random.default_rng([seed, i])`` alone, so the
output is the same whatever the number of worker processes.  (On a Pillow
built without FreeType the embedded-font style falls back to the sans
strokes, so such a machine draws some glyphs differently.)
"""

from __future__ import annotations

import colorsys
import math
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

from ._parallel import run_chunked

__all__ = ["STYLES", "generate_digits"]

STYLES = ("font", "sans", "segments", "handwritten")

_SCALE = 4
Stroke = list[tuple[float, float]]


# --------------------------------------------------------------------------
# stroke glyphs, in a unit box: x 0..1 left to right, y 0..1 top to bottom


def _arc(cx, cy, rx, ry, a0, a1, steps=14) -> Stroke:
    """Ellipse arc between angles in degrees; with y down, 270 is the top."""
    ts = np.radians(np.linspace(a0, a1, steps))
    return [(cx + rx * math.cos(t), cy + ry * math.sin(t)) for t in ts]


def _sans_strokes() -> dict[int, list[Stroke]]:
    return {
        0: [_arc(0.5, 0.5, 0.4, 0.5, 0, 360, 28)],
        1: [[(0.22, 0.22), (0.55, 0.0), (0.55, 1.0)]],
        2: [_arc(0.5, 0.28, 0.38, 0.28, 190, 380, 12) + [(0.1, 1.0), (0.92, 1.0)]],
        3: [_arc(0.5, 0.25, 0.36, 0.25, 200, 450, 12), _arc(0.5, 0.74, 0.4, 0.26, 270, 520, 12)],
        4: [[(0.7, 1.0), (0.7, 0.0), (0.05, 0.7), (0.95, 0.7)]],
        5: [[(0.85, 0.0), (0.22, 0.0), (0.17, 0.45)] + _arc(0.5, 0.68, 0.38, 0.32, 220, 520, 14)],
        6: [_arc(0.55, 0.6, 0.42, 0.6, 300, 180, 10) + _arc(0.5, 0.7, 0.37, 0.3, 180, 540, 20)],
        7: [[(0.08, 0.0), (0.92, 0.0), (0.38, 1.0)]],
        8: [_arc(0.5, 0.25, 0.3, 0.25, 0, 360, 20), _arc(0.5, 0.72, 0.38, 0.28, 0, 360, 22)],
        9: [_arc(0.5, 0.3, 0.37, 0.3, 0, 360, 20) + _arc(0.45, 0.4, 0.42, 0.6, 0, 120, 10)],
    }


_SANS = _sans_strokes()

# Seven-segment layout: a top, b top-right, c bottom-right, d bottom,
# e bottom-left, f top-left, g middle.
_SEGMENT_ENDS = {
    "a": ((0.1, 0.0), (0.9, 0.0)),
    "b": ((0.95, 0.05), (0.95, 0.47)),
    "c": ((0.95, 0.53), (0.95, 0.95)),
    "d": ((0.1, 1.0), (0.9, 1.0)),
    "e": ((0.05, 0.53), (0.05, 0.95)),
    "f": ((0.05, 0.05), (0.05, 0.47)),
    "g": ((0.1, 0.5), (0.9, 0.5)),
}
_SEGMENTS = ["abcdef", "bc", "abged", "abgcd", "fgbc", "afgcd", "afgedc", "abc", "abcdefg", "abcdfg"]


def _segment_strokes(digit: int) -> list[Stroke]:
    return [list(_SEGMENT_ENDS[s]) for s in _SEGMENTS[digit]]


def _wobble(rng: np.random.Generator, strokes: list[Stroke], amount: float) -> list[Stroke]:
    """Hand-drawn look: a smooth random offset along each stroke."""
    out = []
    for stroke in strokes:
        pts = np.asarray(stroke, np.float64)
        noise = rng.normal(0, amount, (4, 2))
        t = np.linspace(0, 3, len(pts))
        offset = np.stack([np.interp(t, np.arange(4), noise[:, k]) for k in (0, 1)], 1)
        out.append([tuple(p) for p in pts + offset])
    return out


# --------------------------------------------------------------------------
# glyph masks


@lru_cache(maxsize=64)
def _font(px: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=px)


_HAVE_FREETYPE = features.check("freetype2")


def _stroke_mask(strokes: list[Stroke], side: int, box, width: int) -> Image.Image:
    x0, y0, w, h = box
    mask = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(mask)
    r = width / 2
    for stroke in strokes:
        pts = [(x0 + x * w, y0 + y * h) for x, y in stroke]
        draw.line(pts, fill=255, width=width, joint="curve")
        for px, py in (pts[0], pts[-1]):  # round caps
            draw.ellipse((px - r, py - r, px + r, py + r), fill=255)
    return mask


def _font_mask(digit: int, side: int, box, bold: int) -> Image.Image:
    x0, y0, w, h = box
    font = _font(max(8, int(h * 1.3)))
    mask = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(mask)
    left, top, right, bottom = draw.textbbox((0, 0), str(digit), font=font, stroke_width=bold)
    ox = x0 + w / 2 - (left + right) / 2
    oy = y0 + h / 2 - (top + bottom) / 2
    draw.text((ox, oy), str(digit), fill=255, font=font, stroke_width=bold, stroke_fill=255)
    return mask


def _glyph_mask(rng: np.random.Generator, digit: int, style: str, side: int) -> Image.Image:
    """White-on-black mask of one digit, slanted, rotated and placed."""
    h = side * rng.uniform(0.5, 0.74)
    w = h * rng.uniform(0.5, 0.68)
    cx = side / 2 + rng.uniform(-1, 1) * (side - h) * 0.28
    cy = side / 2 + rng.uniform(-1, 1) * (side - h) * 0.28
    box = (cx - w / 2, cy - h / 2, w, h)
    width = max(2, int(round(h * rng.uniform(0.1, 0.2))))
    if style == "font" and _HAVE_FREETYPE:
        mask = _font_mask(digit, side, box, bold=int(rng.integers(0, 3)) * side // 64)
    elif style == "segments":
        mask = _stroke_mask(_segment_strokes(digit), side, box, width)
    elif style == "handwritten":
        mask = _stroke_mask(_wobble(rng, _SANS[digit], 0.05), side, box, width)
    else:
        mask = _stroke_mask(_SANS[digit], side, box, width)
    shear = rng.uniform(-0.25, 0.25)
    angle = rng.uniform(-15, 15)
    return mask.transform(
        mask.size, Image.Transform.AFFINE, _slant_and_turn(shear, angle, cx, cy), resample=Image.Resampling.BICUBIC
    )


def _slant_and_turn(shear: float, degrees: float, cx: float, cy: float) -> tuple[float, ...]:
    """Affine coefficients (output -> input) that shear, then rotate, about (cx, cy).

    One resampling pass instead of two keeps the glyph sharp and costs half.
    """
    a = -math.radians(degrees)  # PIL rotates counter-clockwise for positive angles
    rotate = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    slant = np.array([[1.0, shear], [0.0, 1.0]])
    m = slant @ rotate
    tx = cx - (m[0, 0] * cx + m[0, 1] * cy)
    ty = cy - (m[1, 0] * cx + m[1, 1] * cy)
    return (m[0, 0], m[0, 1], tx, m[1, 0], m[1, 1], ty)


# --------------------------------------------------------------------------
# backgrounds and colours


def _luma(rgb) -> float:
    r, g, b = rgb
    return 0.299 * r + 0.587 * g + 0.114 * b


def _random_rgb(rng: np.random.Generator, value_lo: float, value_hi: float) -> np.ndarray:
    rgb = colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.2, 1.0), rng.uniform(value_lo, value_hi))
    return np.array(rgb, np.float32) * 255


_GRIDS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _grid(side: int) -> tuple[np.ndarray, np.ndarray]:
    if side not in _GRIDS:
        ys, xs = np.mgrid[0:side, 0:side].astype(np.float32) / side
        _GRIDS[side] = (xs, ys)
    return _GRIDS[side]


def _texture(rng: np.random.Generator, side: int) -> np.ndarray:
    """Float (side, side, 3) background: blotches, stripes or a gradient."""
    kind = int(rng.integers(3))
    c1, c2 = _random_rgb(rng, 0.1, 1.0), _random_rgb(rng, 0.1, 1.0)
    if kind == 0:  # smooth colour blotches, like a blurred photo crop
        cells = int(rng.integers(2, 6))
        small = rng.uniform(0, 255, (cells, cells, 3)).astype(np.uint8)
        big = Image.fromarray(small, "RGB").resize((side, side), Image.Resampling.BICUBIC)
        pixels = np.asarray(big, np.float32) * 0.6 + c1 * 0.4
    else:
        xs, ys = _grid(side)
        angle = rng.uniform(0, math.pi)
        u = xs * math.cos(angle) + ys * math.sin(angle)
        if kind == 1:  # stripes
            t = 0.5 + 0.5 * np.sin(u * rng.uniform(6, 30) + rng.uniform(0, 6.3))
        else:  # gradient
            t = np.clip(u, 0, 1)
        pixels = c1 + (c2 - c1) * t[..., None]
    noise = rng.normal(0, rng.uniform(2, 12), (side // _SCALE, side // _SCALE, 1))
    noise = np.repeat(np.repeat(noise, _SCALE, 0), _SCALE, 1)
    return pixels + noise.astype(np.float32)


def _squash(pixels: np.ndarray, mean_luma: float, spread: float) -> np.ndarray:
    """Limit the background's lightness range around ``mean_luma``.

    A busy background never competes with the digit, which is chosen far
    from ``mean_luma``.
    """
    luma = pixels @ np.array([0.299, 0.587, 0.114], np.float32)
    centred = luma - luma.mean()
    limit = max(float(np.abs(centred).max()), 1e-3)
    k = min(1.0, spread / limit)
    return pixels + (centred * (k - 1.0) + (mean_luma - luma.mean()))[..., None]


def _colours(rng: np.random.Generator, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Background pixels and a digit colour that stands out from them."""
    light_digit = rng.random() < 0.5
    bg_luma = rng.uniform(35, 95) if light_digit else rng.uniform(160, 225)
    background = _squash(_texture(rng, side), bg_luma, 30)
    for _ in range(30):
        ink = _random_rgb(rng, 0.0, 1.0)
        if abs(_luma(ink) - bg_luma) >= 100:
            break
    else:
        ink = np.full(3, 255.0 if light_digit else 0.0, np.float32)
    return np.clip(background, 0, 255), ink


# --------------------------------------------------------------------------
# one image, a chunk, the public entry point


def _draw_digit(rng: np.random.Generator, size: int) -> tuple[np.ndarray, int]:
    digit = int(rng.integers(10))
    style = STYLES[int(rng.integers(len(STYLES)))]
    side = size * _SCALE
    background, ink = _colours(rng, side)
    mask = _glyph_mask(rng, digit, style, side)
    back = Image.fromarray((background + 0.5).astype(np.uint8), "RGB")
    front = Image.new("RGB", back.size, tuple(int(round(float(v))) for v in ink))
    image = Image.composite(front, back, mask)
    return np.asarray(image.reduce(_SCALE), dtype=np.uint8), digit


def _digits_chunk(seed: int, start: int, stop: int, size: int):
    count = stop - start
    images = np.empty((count, size, size, 3), np.uint8)
    labels = np.empty(count, np.int64)
    for k, i in enumerate(range(start, stop)):
        images[k], labels[k] = _draw_digit(np.random.default_rng([seed, i]), size)
    return images, labels


def generate_digits(n: int, seed: int, size: int = 32, workers: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` digits.

    Returns ``(images, labels)``: images uint8 ``(n, size, size, 3)`` and
    labels int64 ``(n,)`` in 0..9.
    """
    if size < 8:
        raise ValueError(f"digit size must be at least 8 px, got {size}")
    return run_chunked(_digits_chunk, n, int(seed), workers, (int(size),))  # type: ignore[return-value]

"""The timeline's data: the fixed-noise grid of every epoch, and its PNG and GIF exports (no widgets).

:class:`SampleTimeline` keeps frames with their captions, images in memory
for the newest epochs and re-read from the run's PNGs for older ones.
"""

from __future__ import annotations

import io
import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from studio.errors import StudioError

__all__ = [
    "TimelineFrame",
    "SampleTimeline",
    "read_grid_png",
    "frame_image",
    "export_png",
    "export_gif",
    "suggested_export_scale",
    "ZOOMS",
    "with_epoch_label",
]

# Newest frames kept decoded in memory; older ones are read back from their PNG.
_KEEP_IN_MEMORY = 8
# "Fit" never shrinks samples below their own size (a larger grid scrolls); "Whole grid" may.
ZOOMS = (
    ("Fit", 0.0),
    ("Whole grid", -1.0),
    ("50%", 0.5),
    ("100%", 1.0),
    ("200%", 2.0),
    ("300%", 3.0),
    ("400%", 4.0),
    ("600%", 6.0),
)


@dataclass
class TimelineFrame:
    epoch: int
    rows: int
    cols: int
    row_captions: list[str] = field(default_factory=list)
    col_captions: list[str] = field(default_factory=list)
    path: str | None = None  # the PNG the trainer wrote; None when only in memory
    grid: np.ndarray | None = None  # (H, W, 3) uint8, or None until read from path


class SampleTimeline:
    """The frames of one run in epoch order."""

    def __init__(self) -> None:
        self.frames: list[TimelineFrame] = []
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self.frames)

    def clear(self) -> None:
        self.frames.clear()
        self._cache.clear()

    def add(self, frame: TimelineFrame) -> int:
        """Insert (or replace) the frame of ``frame.epoch``; returns its index."""
        for i, existing in enumerate(self.frames):
            if existing.epoch == frame.epoch:
                self.frames[i] = frame
                self._cache.pop(i, None)
                self._trim()
                return i
        self.frames.append(frame)
        self.frames.sort(key=lambda f: f.epoch)
        self._cache.clear()
        self._trim()
        return self.frames.index(frame)

    def snapshot(self) -> SampleTimeline:
        """A copy of the frames another thread may read while this timeline keeps growing."""
        copy = SampleTimeline()
        copy.frames = [replace(frame) for frame in self.frames]
        return copy

    def _trim(self) -> None:
        # Drop in-memory pixels of old frames that can be read back from disk.
        for frame in self.frames[:-_KEEP_IN_MEMORY]:
            if frame.grid is not None and frame.path and Path(frame.path).is_file():
                frame.grid = None

    def image(self, index: int) -> np.ndarray:
        """The uint8 mosaic of frame ``index`` (read from its PNG when not in memory)."""
        frame = self.frames[index]
        if frame.grid is not None:
            return frame.grid
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        if not frame.path:
            raise StudioError(f"epoch {frame.epoch}: the sample grid is neither in memory nor on disk")
        grid = read_grid_png(frame.path)
        self._cache[index] = grid
        while len(self._cache) > _KEEP_IN_MEMORY:
            self._cache.popitem(last=False)
        return grid


def read_grid_png(path: str | Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))
    except (OSError, UnidentifiedImageError) as exc:
        raise StudioError(f"{path}: cannot read this sample grid ({exc})") from None


# --- export --------------------------------------------------------------------------


def frame_image(grid: np.ndarray, frame: TimelineFrame, scale: int = 1, captions: bool = True):
    """A PIL image of one frame; captions drawn by the core's ``captioned_grid``."""
    from PIL import Image

    from studio.core.sampling import captioned_grid

    if captions and (frame.row_captions or frame.col_captions):
        return captioned_grid(grid, frame.rows, frame.cols, frame.row_captions, frame.col_captions, scale)
    image = Image.fromarray(grid)
    if scale != 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    return image


def export_png(path: str | Path, grid: np.ndarray, frame: TimelineFrame, scale: int = 1, captions: bool = True):
    from studio.core.atomic import atomic_save_image

    image = frame_image(grid, frame, scale, captions)
    atomic_save_image(image, Path(path), format="PNG")
    return image.size


def export_gif(
    path: str | Path,
    timeline: SampleTimeline,
    scale: int = 1,
    captions: bool = True,
    frame_ms: int = 400,
    progress: Callable[[str, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> int | None:
    """Every frame as one animated GIF (looping, the last frame held longer); returns the frame count.

    Pure PIL, so it may run in a worker thread on a :meth:`SampleTimeline.snapshot`;
    when ``should_stop`` turns true it returns None and writes nothing.
    """
    from studio.core.atomic import atomic_write_bytes

    if not len(timeline):
        raise StudioError("the timeline is empty; train at least one epoch first")
    images = []
    total = len(timeline.frames)
    for i, frame in enumerate(timeline.frames):
        if should_stop is not None and should_stop():
            return None
        image = with_epoch_label(frame_image(timeline.image(i), frame, scale, captions).convert("RGB"), frame.epoch)
        if images and image.size != images[0].size:
            image = image.resize(images[0].size)
        images.append(image)
        if progress is not None:
            progress(f"epoch {frame.epoch}: frame {i + 1} of {total}", 0.8 * (i + 1) / total)
    durations = [frame_ms] * len(images)
    durations[-1] = frame_ms * 4
    if progress is not None:
        progress("encoding the GIF", 0.85)
    buffer = io.BytesIO()
    images[0].save(
        buffer, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0, optimize=False
    )
    if should_stop is not None and should_stop():
        return None
    atomic_write_bytes(Path(path), buffer.getvalue())
    return len(images)


def with_epoch_label(image, epoch: int):
    """``image`` under a white band that reads "epoch N" (each GIF frame says which epoch it shows)."""
    from PIL import Image, ImageDraw, ImageFont

    size = max(12, min(28, image.width // 18))
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the bitmap font
        font = ImageFont.load_default()
    band = size + 10
    out = Image.new("RGB", (image.width, image.height + band), "white")
    out.paste(image, (0, band))
    ImageDraw.Draw(out).text((6, 4), f"epoch {epoch}", fill=(17, 17, 17), font=font)
    return out


def suggested_export_scale(frame: TimelineFrame, grid_width: int) -> int:
    """A scale at which the longest column caption (about 9 px a character in the exported
    PNG's caption font) fits in one cell; at least 2, so small images stay visible."""
    longest = max((len(t) for t in frame.col_captions[: frame.cols]), default=0)
    cell = grid_width / max(frame.cols, 1)
    return int(max(2, min(8, math.ceil(longest * 9 / max(cell, 1)))))

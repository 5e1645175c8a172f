"""Sample grids: fixed noise, conditions laid out by a ConditionGrid, uint8 images.

Everything here returns plain numpy uint8 arrays (H, W, C) so grids cross
thread boundaries and reach Pillow or Qt without torch.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torchvision.utils import make_grid

from studio.core.conditions import ConditionGrid, ConditionSpace
from studio.errors import ConfigError

__all__ = [
    "grid_noise",
    "grid_from_request",
    "generate_grid",
    "to_uint8_grid",
    "captioned_grid",
    "titled",
    "compose_sheet",
    "GRID_PADDING",
]

GRID_PADDING = 2


def grid_noise(grid: ConditionGrid, nz: int, seed: int) -> torch.Tensor:
    """One z per cell, row or column of ``grid`` (its noise_layout), from ``seed``."""
    g = torch.Generator().manual_seed(seed)
    if grid.noise_layout == "row":
        z = torch.randn(grid.rows, nz, generator=g).repeat_interleave(grid.cols, dim=0)
    elif grid.noise_layout == "column":
        z = torch.randn(grid.cols, nz, generator=g).repeat(grid.rows, 1)
    else:
        z = torch.randn(grid.rows * grid.cols, nz, generator=g)
    return z


def grid_from_request(
    space: ConditionSpace,
    conditions: list[str],
    rows: str | None = None,
    cols: str | None = None,
    fix: list[str] | None = None,
    n: int = 8,
    random: int = 0,
    seed: int = 0,
) -> ConditionGrid:
    """The grid a user asked for in words: the space's :meth:`~ConditionSpace.request_grid`.

    * ``conditions`` (or ``random`` valid ones drawn from ``seed``): one row
      each, ``n`` noise samples across;
    * ``rows``, ``cols`` and ``fix`` (e.g. 'blue eyes'): spaces of attributes
      lay out a table, or hold values while one attribute varies;
    * nothing: the space's own sample grid.
    """
    return space.request_grid(conditions, rows, cols, fix, n, random, seed)


@torch.no_grad()
def generate_grid(
    generator: torch.nn.Module,
    space: ConditionSpace,
    grid: ConditionGrid,
    z: torch.Tensor,
    batch_size: int = 256,
) -> torch.Tensor:
    """Images in [-1, 1] for every cell of ``grid`` (G must already be in eval mode)."""
    device = next(generator.parameters()).device
    cond = space.encode(grid.labels).to(device)
    z = z.to(device)
    parts = [generator(z[i : i + batch_size], cond[i : i + batch_size]) for i in range(0, len(z), batch_size)]
    return torch.cat(parts).float()


def to_uint8_grid(images: torch.Tensor, cols: int, padding: int = GRID_PADDING) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> (H', W', 3) uint8 mosaic with ``cols`` columns."""
    images = images.detach().float().cpu()
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    mosaic = make_grid(images, nrow=cols, padding=padding, normalize=True, value_range=(-1, 1), pad_value=1.0)
    return mosaic.mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).contiguous().numpy()


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the bitmap font
        return ImageFont.load_default()


def captioned_grid(
    mosaic: np.ndarray,
    rows: int,
    cols: int,
    row_captions: list[str],
    col_captions: list[str],
    scale: int = 1,
) -> Image.Image:
    """The mosaic scaled by ``scale`` with row captions on the left and column captions on top."""
    img = Image.fromarray(mosaic)
    if scale != 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    font = _font(max(10, min(16, img.height // max(rows, 1) // 4)))
    measure = ImageDraw.Draw(img)

    def width(text: str) -> int:
        return int(measure.textlength(text, font=font)) if text else 0

    left = max([width(t) for t in row_captions] + [0]) + (8 if row_captions else 0)
    line = font.size + 6 if hasattr(font, "size") else 14
    cell_h, cell_w = img.height / max(rows, 1), img.width / max(cols, 1)
    widest = max([width(t) for t in col_captions[:cols]] + [0])
    # Column captions wider than a cell ('orange hair' over 32 px) run upwards instead of overlapping.
    upright = widest > cell_w - 4
    top = (widest + 8 if upright else line) if col_captions else 0
    out = Image.new("RGB", (img.width + left, img.height + top), "white")
    out.paste(img, (left, top))
    draw = ImageDraw.Draw(out)
    for r, text in enumerate(row_captions[:rows]):
        draw.text((left - 4, top + (r + 0.5) * cell_h), text, fill="black", font=font, anchor="rm")
    for c, text in enumerate(col_captions[:cols]):
        if not upright:
            draw.text((left + (c + 0.5) * cell_w, top / 2), text, fill="black", font=font, anchor="mm")
        elif text:
            label = Image.new("RGB", (width(text) + 2, line), "white")
            ImageDraw.Draw(label).text((1, line / 2), text, fill="black", font=font, anchor="lm")
            label = label.rotate(90, expand=True)
            out.paste(label, (int(left + (c + 0.5) * cell_w - label.width / 2), top - 4 - label.height))
    return out


def titled(image: Image.Image, title: str, size: int = 16) -> Image.Image:
    """``image`` under a band holding ``title``."""
    font = _font(size)
    band = size + 12
    out = Image.new("RGB", (image.width, image.height + band), "white")
    out.paste(image.convert("RGB"), (0, band))
    draw = ImageDraw.Draw(out)
    draw.text((6, band / 2), title, fill="black", font=font, anchor="lm")
    # A title wider than the grid widens the image instead of being cut off.
    needed = int(draw.textlength(title, font=font)) + 12
    if needed > out.width:
        wide = Image.new("RGB", (needed, out.height), "white")
        wide.paste(out, (0, 0))
        ImageDraw.Draw(wide).text((6, band / 2), title, fill="black", font=font, anchor="lm")
        out = wide
    return out


def compose_sheet(
    grids: list[tuple[str, Image.Image]], columns: int = 1, title: str | None = None, gap: int = 16
) -> Image.Image:
    """Several grids on one white sheet, each under its own title, ``columns`` across."""
    if not grids:
        raise ConfigError("a sheet needs at least one grid")
    tiles = [titled(image, text) if text else image.convert("RGB") for text, image in grids]
    columns = max(1, min(columns, len(tiles)))
    rows = [tiles[i : i + columns] for i in range(0, len(tiles), columns)]
    col_widths = [max(row[c].width for row in rows if c < len(row)) for c in range(columns)]
    row_heights = [max(t.height for t in row) for row in rows]
    width = sum(col_widths) + gap * (columns + 1)
    height = sum(row_heights) + gap * (len(rows) + 1)
    header = None
    if title:
        header = titled(Image.new("RGB", (width, 1), "white"), title, size=20)
        height += header.height
    sheet = Image.new("RGB", (max(width, header.width if header else 0), height), "white")
    y = gap
    if header is not None:
        sheet.paste(header, (0, 0))
        y += header.height
    for row, h in zip(rows, row_heights):
        x = gap
        for tile, w in zip(row, col_widths):
            sheet.paste(tile, (x, y))
            x += w + gap
        y += h + gap
    return sheet

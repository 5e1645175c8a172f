"""Read a labelled image folder: one subfolder per class.

::

    root/
        cats/   a.jpg b.png ...
        dogs/   c.webp ...

Classes are the subfolder names in sorted order.  Every image is resized so
its short side is ``size`` and centre-cropped to a square.  Files that cannot
be decoded are skipped and reported in one warning rather than aborting a
long import over a single damaged file.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from studio.errors import DatasetError, StudioWarning

__all__ = ["IMAGE_EXTENSIONS", "FolderImages", "read_image_folder", "decode_in_threads"]

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})

_LAYOUT = "expected one subfolder per class, e.g. ROOT/cats/*.jpg and ROOT/dogs/*.jpg"
_NAMES_IN_WARNING = 5
_PROGRESS_EVERY = 64

Progress = Callable[[int, int], None]


@dataclass
class FolderImages:
    """Decoded images of a class-per-subfolder dataset."""

    images: np.ndarray  # uint8 (N, size, size, channels)
    labels: np.ndarray  # int64 (N,), index into class_names
    class_names: list[str]
    skipped: list[str] = field(default_factory=list)  # relative paths not decodable


def _layout(root: Path) -> str:
    return _LAYOUT.replace("ROOT", str(root))


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS


def _class_dirs(root: Path) -> list[Path]:
    return sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)


def _list_files(root: Path) -> tuple[list[Path], list[int], list[str]]:
    """Image paths, their class indices and the class names, or DatasetError."""
    if not root.exists():
        raise DatasetError(f"image folder {root} does not exist")
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder; {_layout(root)}")
    try:
        classes = _class_dirs(root)
    except OSError as exc:
        raise DatasetError(f"image folder {root} cannot be listed: {exc.strerror or exc}") from exc
    if not classes:
        loose = sum(1 for p in root.iterdir() if _is_image(p))
        if loose:
            raise DatasetError(
                f"image folder {root} holds {loose} images but no class subfolders; these "
                f"images are label-less -- put them in one subfolder per class "
                f"({_layout(root)})"
            )
        raise DatasetError(f"image folder {root} is empty; {_layout(root)}")
    paths: list[Path] = []
    labels: list[int] = []
    for index, folder in enumerate(classes):
        for path in sorted(folder.rglob("*")):
            if _is_image(path) and not path.name.startswith("."):
                paths.append(path)
                labels.append(index)
    if not paths:
        raise DatasetError(
            f"image folder {root} has class subfolders but no image files "
            f"({', '.join(sorted(e.lstrip('.') for e in IMAGE_EXTENSIONS))}); "
            f"{_layout(root)}"
        )
    return paths, labels, [c.name for c in classes]


def _square(image: Image.Image, size: int) -> Image.Image:
    """Short side to ``size``, then the centre ``size`` x ``size`` crop."""
    w, h = image.size
    scale = size / min(w, h)
    new = (max(size, round(w * scale)), max(size, round(h * scale)))
    # reducing_gap first shrinks big photos cheaply by an integer factor,
    # then finishes with a proper LANCZOS pass.
    image = image.resize(new, Image.Resampling.LANCZOS, reducing_gap=3.0)
    left, top = (new[0] - size) // 2, (new[1] - size) // 2
    return image.crop((left, top, left + size, top + size))


def _to_8bit(image: Image.Image) -> Image.Image:
    """Flatten transparency onto white and bring 16/32-bit greys to 0..255."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        values = np.asarray(image, np.float64)
        top = 65535.0 if values.max() > 255 else 255.0
        return Image.fromarray(np.clip(values / top * 255 + 0.5, 0, 255).astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image


def _load(path: Path, size: int, mode: str) -> np.ndarray | None:
    try:
        with Image.open(path) as image:
            image.draft(mode, (size, size))  # lets JPEG decode at reduced scale
            image = _to_8bit(ImageOps.exif_transpose(image)).convert(mode)
            return np.asarray(_square(image, size), dtype=np.uint8)
    except Exception:  # noqa: BLE001 -- any decoder failure means "unreadable"
        return None


def decode_in_threads(
    n: int,
    decode: Callable[[int], bool],
    report: Callable[[int], None] | None = None,
    every: int = _PROGRESS_EVERY,
    threads: int | None = None,
) -> np.ndarray:
    """Call ``decode(i)`` for every ``i < n`` on a few threads; the boolean mask of those that returned True.

    PIL releases the GIL while decoding, so threads overlap the work.
    ``report(done)`` runs on the calling thread every ``every`` images and at the end;
    an exception it raises (a cancelled load) drops the images not yet decoded
    instead of waiting for all of them.
    """
    ok = np.zeros(n, dtype=bool)
    pool = ThreadPoolExecutor(max_workers=threads or min(8, (os.cpu_count() or 1) + 2))
    try:
        for i, good in enumerate(pool.map(decode, range(n))):
            ok[i] = good
            if report is not None and ((i + 1) % every == 0 or i == n - 1):
                report(i + 1)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return ok


def read_image_folder(
    root: str | Path,
    size: int,
    channels: int = 3,
    progress: Progress | None = None,
    threads: int | None = None,
) -> FolderImages:
    """Read every image under ``root/<class>/`` as a ``size`` x ``size`` square.

    ``channels`` is 3 (RGB) or 1 (grey).  ``progress(done, total)`` is called
    now and then from the calling thread.  Raises :class:`DatasetError` when
    the folder is missing, has no class subfolders, or holds nothing readable.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    root = Path(root)
    paths, labels, class_names = _list_files(root)
    mode = "RGB" if channels == 3 else "L"
    total = len(paths)
    decoded: list[np.ndarray | None] = [None] * total

    def decode(i: int) -> bool:
        decoded[i] = _load(paths[i], size, mode)
        return decoded[i] is not None

    decode_in_threads(
        total, decode, (lambda done: progress(done, total)) if progress is not None else None, threads=threads
    )

    keep = [i for i, a in enumerate(decoded) if a is not None]
    skipped = [paths[i].relative_to(root).as_posix() for i, a in enumerate(decoded) if a is None]
    if not keep:
        raise DatasetError(
            f"image folder {root}: none of its {total} image files could be read "
            f"(first: {', '.join(skipped[:_NAMES_IN_WARNING])})"
        )
    if skipped:
        shown = ", ".join(skipped[:_NAMES_IN_WARNING])
        more = f" and {len(skipped) - _NAMES_IN_WARNING} more" if len(skipped) > _NAMES_IN_WARNING else ""
        warnings.warn(
            f"image folder {root}: skipped {len(skipped)} unreadable file(s): {shown}{more}",
            StudioWarning,
            stacklevel=2,
        )

    kept_labels = np.asarray([labels[i] for i in keep], np.int64)
    empty = [name for k, name in enumerate(class_names) if not np.any(kept_labels == k)]
    if empty:
        warnings.warn(
            f"image folder {root}: class folder(s) without readable images: {', '.join(empty[:_NAMES_IN_WARNING])}",
            StudioWarning,
            stacklevel=2,
        )

    images = np.stack([decoded[i] for i in keep])
    if channels == 1:
        images = images[..., None]
    return FolderImages(
        images=images,
        labels=kept_labels,
        class_names=class_names,
        skipped=skipped,
    )

"""Datasets as one uint8 tensor in memory, named by a spec string.

    builtin:faces | builtin:shapes | builtin:digits   procedural, cached on disk
    folder:PATH                                       one subfolder per class
    mnist:ROOT | fashion-mnist:ROOT | cifar10:ROOT    read by torchvision (studio.data.torchvision_sets),
    svhn:ROOT | celeba:ROOT?attrs=Smiling,Male        ?split=..., ?download=1 to fetch missing files
    table:FILE.csv | table:FILE.json[?images=DIR]     images labelled by a table (studio.data.tables)

``load_dataset`` returns an :class:`ImageDataset`: images (N, C, H, W) uint8
at the model's size, labels in the form of its condition space, and that
space.  Training indexes this tensor per batch; nothing is decoded per step.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from studio.core.atomic import atomic_torch_save
from studio.core.conditions import Categorical, ColourSpace, ConditionSpace, MultiAttribute, MultiLabel, NoCondition
from studio.errors import DatasetError

__all__ = [
    "ImageDataset",
    "DatasetSpec",
    "parse_spec",
    "load_dataset",
    "cache_dir",
    "BUILTIN_NAMES",
    "BUILTIN_DEFAULT_SIZE",
    "dataset_space",
    "SOURCE_KINDS",
    "TORCHVISION_KINDS",
    "SPEC_HELP",
]

BUILTIN_NAMES = ("faces", "faces-rgb", "shapes", "digits")
# Sets that reuse another set's drawing (and cache) with other labels:
# faces-rgb is the faces labelled by the true RGB of hair and iris.
_BUILTIN_VIEWS = {"faces-rgb": ("faces", "colours")}
BUILTIN_DEFAULT_SIZE = 12_000
BUILTIN_SEED = 0
# Bump when a generator's drawing changes, so stale caches are not reused.
BUILTIN_VERSION = 1

Progress = Callable[[str, float], None]  # (message, fraction 0..1)


@dataclass
class ImageDataset:
    images: torch.Tensor  # uint8 (N, C, H, W)
    labels: torch.Tensor  # per condition space (see studio.core.conditions)
    space: ConditionSpace
    spec: str
    extras: dict | None = None  # per-image side data, e.g. true RGB colours of faces

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def image_size(self) -> int:
        return int(self.images.shape[-1])

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    def class_counts(self) -> list[tuple[str, int]]:
        """Images per class (categorical), per attribute value, per label (multi-label) or per nearest colour name."""
        return self.space.label_counts(self.labels)


# Real-data sources beside builtin and folder; their value is PATH[?key=value&...].
TORCHVISION_KINDS = ("mnist", "fashion-mnist", "cifar10", "svhn", "celeba")
SOURCE_KINDS = ("builtin", "folder", *TORCHVISION_KINDS, "table")
SPEC_HELP = (
    "builtin:faces, builtin:shapes, builtin:digits, folder:PATH, mnist:ROOT, fashion-mnist:ROOT, cifar10:ROOT, "
    "svhn:ROOT, celeba:ROOT?attrs=Smiling,Male or table:FILE.csv|json"
)


@dataclass(frozen=True)
class DatasetSpec:
    kind: str  # one of SOURCE_KINDS
    value: str  # name, path, or path?options

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


def parse_spec(spec: str) -> DatasetSpec:
    if not isinstance(spec, str) or ":" not in spec:
        raise DatasetError(f"dataset {spec!r}: expected {SPEC_HELP}")
    kind, value = spec.split(":", 1)
    if kind == "builtin":
        if value not in BUILTIN_NAMES:
            raise DatasetError(f"dataset {spec!r}: no built-in set '{value}'; choose {', '.join(BUILTIN_NAMES)}")
        return DatasetSpec(kind, value)
    if kind == "folder":
        if not value:
            raise DatasetError(f"dataset {spec!r}: folder: needs a path, e.g. folder:/data/my_images")
        return DatasetSpec(kind, value)
    if kind in TORCHVISION_KINDS:
        from studio.data.torchvision_sets import parse_torchvision_spec

        parse_torchvision_spec(kind, value)
        return DatasetSpec(kind, value)
    if kind == "table":
        from studio.data.tables import parse_table_spec

        parse_table_spec(value)
        return DatasetSpec(kind, value)
    raise DatasetError(
        f"dataset {spec!r}: unknown source '{kind}'; use builtin:NAME, folder:PATH, "
        f"{':ROOT, '.join(TORCHVISION_KINDS)}:ROOT or table:FILE"
    )


def cache_dir() -> Path:
    """Where built-in sets are cached: $GAN_STUDIO_CACHE, else the user cache folder."""
    root = os.environ.get("GAN_STUDIO_CACHE")
    if root:
        return Path(root)
    base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
    return Path(base) / "gan-studio"


# --- built-in sets --------------------------------------------------------------


def _faces_space() -> MultiAttribute:
    from studio.data.builtin.faces import EYE_COLOURS, HAIR_COLOURS

    return MultiAttribute([("hair", [n for n, _ in HAIR_COLOURS]), ("eyes", [n for n, _ in EYE_COLOURS])])


def _faces_rgb_space() -> ColourSpace:
    from studio.data.builtin.faces import COLOUR_JITTER, EYE_COLOURS, HAIR_COLOURS

    palettes = {"hair": HAIR_COLOURS, "eyes": EYE_COLOURS}
    return ColourSpace(["hair", "eyes"], palettes=palettes, jitter=COLOUR_JITTER / 255.0)


def _shapes_space() -> MultiLabel:
    from studio.data.builtin.shapes import OBJECT_NAMES

    return MultiLabel(OBJECT_NAMES, 1, 3)


def _digits_space() -> Categorical:
    return Categorical([str(i) for i in range(10)], attribute="digit")


def _generate_builtin(name: str, n: int, seed: int) -> dict:
    if name == "faces":
        from studio.data.builtin.faces import generate_faces

        images, labels, colours = generate_faces(n, seed)
        return {"images": images, "labels": labels, "colours": colours}
    if name == "shapes":
        from studio.data.builtin.shapes import generate_shapes

        images, labels = generate_shapes(n, seed)
        return {"images": images, "labels": labels}
    from studio.data.builtin.digits import generate_digits

    images, labels = generate_digits(n, seed)
    return {"images": images, "labels": labels}


def builtin_space(name: str) -> ConditionSpace:
    spaces = {"faces": _faces_space, "faces-rgb": _faces_rgb_space, "shapes": _shapes_space, "digits": _digits_space}
    return spaces[name]()


def _builtin_tensors(name: str, n: int, seed: int, progress: Progress | None) -> dict[str, torch.Tensor]:
    path = cache_dir() / f"builtin-{name}-n{n}-seed{seed}-v{BUILTIN_VERSION}.pt"
    if path.is_file():
        if progress:
            progress(f"Loading cached {name} ({n} images)", 0.0)
        try:
            return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except Exception:  # noqa: BLE001 - a damaged cache is only a cache: draw the set again
            pass
    if progress:
        progress(f"Drawing {n} {name} images (once; cached afterwards)", 0.0)
    arrays = _generate_builtin(name, n, seed)
    tensors = {
        "images": torch.from_numpy(np.ascontiguousarray(arrays["images"])).permute(0, 3, 1, 2).contiguous(),
        **{k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items() if k != "images"},
    }
    try:
        atomic_torch_save(tensors, path)
    except OSError:
        pass  # a read-only cache folder only costs drawing again next time
    return tensors


# --- shape and colour adaptation -------------------------------------------------


def fit_images(images: torch.Tensor, size: int, channels: int) -> torch.Tensor:
    """uint8 (N, C, H, W) -> uint8 at ``size`` x ``size`` with ``channels`` channels."""
    if images.shape[1] != channels:
        if channels == 1:
            weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
            images = (images.float() * weights).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)
        else:
            images = images.expand(-1, 3, -1, -1).contiguous()
    if images.shape[-1] != size or images.shape[-2] != size:
        out = torch.empty(images.shape[0], images.shape[1], size, size, dtype=torch.uint8)
        for i in range(0, images.shape[0], 1024):  # bounded memory for big sets
            chunk = images[i : i + 1024].float()
            chunk = F.interpolate(chunk, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
            out[i : i + 1024] = chunk.round().clamp(0, 255).to(torch.uint8)
        images = out
    return images.contiguous()


def dataset_space(spec: str) -> ConditionSpace:
    """The condition space of a dataset without loading its images (folders: reads class names only)."""
    parsed = parse_spec(spec)
    if parsed.kind == "builtin":
        return builtin_space(parsed.value)
    if parsed.kind in TORCHVISION_KINDS:
        from studio.data.torchvision_sets import torchvision_space

        return torchvision_space(parsed.kind, parsed.value)
    if parsed.kind == "table":
        from studio.data.tables import table_space

        return table_space(parsed.value)
    root = Path(parsed.value).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder")
    names = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not names:
        raise DatasetError(f"{root}: no class subfolders; put the images in one subfolder per class")
    return _folder_space(names)


def _folder_space(class_names: list[str]) -> ConditionSpace:
    # One subfolder is an unlabelled set: fine for DCGAN, refused by conditional families.
    return Categorical(class_names) if len(class_names) > 1 else NoCondition()


def load_dataset(
    spec: str,
    image_size: int,
    channels: int = 3,
    size: int = 0,
    progress: Progress | None = None,
) -> ImageDataset:
    """Load (drawing and caching if needed) the dataset named by ``spec``."""
    parsed = parse_spec(spec)
    started = time.perf_counter()
    if parsed.kind == "builtin":
        n = size or BUILTIN_DEFAULT_SIZE
        source, label_key = _BUILTIN_VIEWS.get(parsed.value, (parsed.value, "labels"))
        tensors = _builtin_tensors(source, n, BUILTIN_SEED, progress)
        images, labels = tensors["images"], tensors[label_key]
        space = builtin_space(parsed.value)
        # The tensors not used as labels stay as extras ("labels" -> "classes" when another is used).
        extras = {("classes" if k == "labels" else k): v for k, v in tensors.items() if k not in ("images", label_key)}
        extras = extras or None
        labels = labels.to(space.label_dtype)
    elif parsed.kind in TORCHVISION_KINDS:
        from studio.data.torchvision_sets import load_torchvision_set

        images, labels, space = load_torchvision_set(parsed.kind, parsed.value, image_size, channels, progress)
        extras = None
    elif parsed.kind == "table":
        from studio.data.tables import load_table

        images, labels, space = load_table(parsed.value, image_size, channels, progress)
        extras = None
    else:
        from studio.data.folder import read_image_folder

        def folder_progress(done: int, total: int) -> None:
            if progress:
                progress(f"Reading {parsed.value}: {done}/{total} images", done / max(total, 1))

        folder = read_image_folder(Path(parsed.value).expanduser(), image_size, channels, progress=folder_progress)
        images = torch.from_numpy(folder.images).permute(0, 3, 1, 2).contiguous()
        labels = torch.from_numpy(folder.labels).long()
        space = _folder_space(folder.class_names)
        if not space.is_conditional:
            labels = torch.zeros(len(labels), 0)
        extras = None
    images = fit_images(images, image_size, channels)
    if progress:
        progress(f"Loaded {len(images)} images in {time.perf_counter() - started:.1f} s", 1.0)
    return ImageDataset(images, labels, space, str(parsed), extras)

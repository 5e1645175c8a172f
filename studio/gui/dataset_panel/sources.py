"""Where a dataset comes from: the choices of the source combo and the parts of a dataset spec string."""

from __future__ import annotations

from studio.data.sources import split_options
from studio.data.torchvision_sets import TORCHVISION_SETS

__all__ = [
    "BUILTIN_SOURCES",
    "FOLDER_SOURCE",
    "TABLE_SOURCE",
    "TORCHVISION_SOURCES",
    "TABLE_SUFFIXES",
    "PICKED_SOURCES",
    "spec_kind",
    "spec_path",
    "dataset_key",
]

BUILTIN_SOURCES = (
    ("builtin:faces", "Faces: hair × eye colour"),
    ("builtin:shapes", "Shapes: 1–3 of 24 objects"),
    ("builtin:digits", "Digits: 10 classes"),
)
FOLDER_SOURCE = "folder"
TABLE_SOURCE = "table"
TORCHVISION_SOURCES = (
    ("mnist", "MNIST…"),
    ("fashion-mnist", "Fashion-MNIST…"),
    ("cifar10", "CIFAR-10…"),
    ("svhn", "SVHN…"),
    ("celeba", "CelebA (choose attributes)…"),
)
TABLE_SUFFIXES = (".csv", ".tsv", ".json")
PICKED_SOURCES = (FOLDER_SOURCE, *TORCHVISION_SETS, TABLE_SOURCE)


def spec_kind(spec: str) -> str:
    """'folder', 'table', a torchvision set's name, or 'builtin' ... : the part before the first colon."""
    return spec.split(":", 1)[0] if ":" in spec else ""


def spec_path(spec: str) -> str:
    """The folder or file a spec names, without its options."""
    rest = spec.split(":", 1)[1] if ":" in spec else ""
    return rest if spec.startswith("folder:") else split_options(rest)[0]


def dataset_key(values: dict) -> tuple:
    """(spec, size, image size, channels): what a loaded dataset is, and what a config needs."""
    return (values["dataset"], values["dataset_size"], values["image_size"], values["channels"])

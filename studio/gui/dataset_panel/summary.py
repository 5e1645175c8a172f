"""The dataset panel's load job and what it brings back: the dataset and a summary of it, plain data."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

__all__ = ["DatasetSummary", "summarise_dataset", "load_summary", "LoadStopped", "PREVIEW_IMAGES"]

PREVIEW_IMAGES = 32


@dataclass
class DatasetSummary:
    """What the panel shows of a loaded dataset: plain data made in the loader thread."""

    key: tuple
    count: int
    image_size: int
    space_text: str
    images: list[np.ndarray] = field(default_factory=list)  # (H, W, 3) uint8
    captions: list[str] = field(default_factory=list)
    counts: list[tuple[str, int, int]] = field(default_factory=list)  # (name, images, group)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    space_exact: str = ""  # the condition's technical form, for the tooltip


def summarise_dataset(dataset, key: tuple, seconds: float = 0.0) -> DatasetSummary:
    n = len(dataset)
    picks = np.linspace(0, n - 1, num=min(PREVIEW_IMAGES, n)).round().astype(int) if n else []
    images, captions = [], []
    space = dataset.space
    for i in picks:
        img = dataset.images[int(i)].permute(1, 2, 0).numpy()
        if img.shape[2] == 1:
            img = np.repeat(img, 3, axis=2)
        images.append(np.ascontiguousarray(img))
        captions.append(space.caption(dataset.labels[int(i)]).replace(", ", "\n") if space.is_conditional else "")
    groups = space.count_groups()  # which attribute each count belongs to: the panel colours them by block
    counts = [(name, int(c), groups[j] if j < len(groups) else 0) for j, (name, c) in enumerate(dataset.class_counts())]
    from studio.gui.plain_words import condition_exact, condition_words

    space_text = condition_words(space)  # plain words; the exact form is the summary's tooltip
    space_exact = condition_exact(space)
    return DatasetSummary(
        key, n, dataset.image_size, space_text, images, captions, counts, seconds, space_exact=space_exact
    )


class LoadStopped(Exception):
    """Raised inside a dataset load that was superseded or whose window is closing."""


def load_summary(key: tuple, progress, should_stop) -> tuple:
    """The panel's load job: (the dataset ``key`` names, its summary); warnings its reader raised go in the summary.

    ``should_stop`` is checked at every progress report: a folder reader reports every few images.
    """
    from studio.data.dataset import load_dataset

    spec, size, image_size, channels = key

    def report(message: str, fraction: float) -> None:
        if should_stop():
            raise LoadStopped()
        progress(message, fraction)

    started = time.perf_counter()
    # A folder reader reports skipped files as warnings; the log panel shows them.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = load_dataset(spec, image_size, channels, size, report)
    summary = summarise_dataset(dataset, key, time.perf_counter() - started)
    summary.warnings = [str(w.message) for w in caught]
    return dataset, summary

"""The condition space interface, its plain-data helpers and the registry of kinds.

A space carries everything that differs between kinds of condition: the
encoding G and D receive, the auxiliary head's width, loss and decoding, text
in and out, the grids of the trainer, the sample command and the explorer,
the controls the explorer offers, the export's description of the encoding,
dataset label counts and the judge's scores.  Code outside this package asks
the space, never its class.

A new kind is one module with a :class:`ConditionSpace` subclass decorated
with :func:`register_space`, and one import line in this package's
``__init__``; :func:`space_from_dict` then rebuilds it from its ``kind``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import torch

from studio.errors import ConfigError

__all__ = [
    "ConditionGrid",
    "ConditionSpace",
    "ExplorerChoices",
    "INTERPOLATION_MODES",
    "register_space",
    "space_kinds",
    "space_from_dict",
]


@dataclass
class ConditionGrid:
    """Conditions laid out as rows x cols, with captions for each."""

    labels: torch.Tensor  # rows * cols labels, row-major
    rows: int
    cols: int
    row_captions: list[str] = field(default_factory=list)
    col_captions: list[str] = field(default_factory=list)
    # Which cells share one noise vector, so that only the condition changes
    # between them: "row" (one z per row), "column" (one z per column) or
    # "cell" (every image its own z).
    noise_layout: str = "cell"
    title: str = ""  # what the grid shows, e.g. 'hair x eyes' ("" = no title)


# The explorer's interpolations, offered by every conditional space after its own layouts.
INTERPOLATION_MODES: tuple[tuple[str, str], ...] = (
    ("noise-interp", "Noise interpolation at a fixed condition"),
    ("cond-interp", "Condition interpolation at fixed noise"),
)


@dataclass(frozen=True)
class ExplorerChoices:
    """The controls the condition explorer offers for a space, as plain data the window maps to widgets.

    * ``modes``: (key, label) of the layouts in menu order.  A key names a
      layout of :mod:`studio.core.explore` ('table', 'vary', 'classes', 'sets',
      'hue-sweep', 'hue-map', 'colour-table', 'noise-interp', 'cond-interp');
      any other key draws the space's :meth:`ConditionSpace.request_grid`.
    * ``axes``: the attributes the rows, columns and 'varies' pickers list, by index.
    * ``held``: per axis, the captions of the values it can be held at while
      another varies ('blue eyes'); empty when values are not held by name.
    * ``objects``: names a user ticks to compose one set (multi-label), between
      ``object_counts`` (min, max) of them.
    * ``colours``: attributes held at a colour the user picks, one picker each;
      the space then reads and writes them as :class:`ColourSpace` does
      (``fixed_label``, ``colour_caption``, ``colour_from_text``).
    """

    modes: tuple[tuple[str, str], ...]
    axes: tuple[str, ...] = ()
    held: tuple[tuple[str, ...], ...] = ()
    objects: tuple[str, ...] = ()
    object_counts: tuple[int, int] = (0, 0)
    colours: tuple[str, ...] = ()


class ConditionSpace(ABC):
    """Base class of all condition spaces."""

    kind: str = ""
    # The dtype of this space's labels (class indices, or floats for multi-hot and colours).
    label_dtype: torch.dtype = torch.long
    # Keys of the layouts of studio.core.explore made for this kind of space, beyond
    # those every space has ('table', 'vary', 'classes', 'sets').
    layouts: tuple[str, ...] = ()
    # Each image shows exactly one of aux_dim classes, so a softmax over the auxiliary
    # output is a class distribution (what an Inception Score of judge features reads).
    one_class_per_image: bool = False

    # --- model side ------------------------------------------------------------
    @property
    @abstractmethod
    def dim(self) -> int:
        """Width of the encoded condition that G and D receive."""

    @property
    def aux_dim(self) -> int:
        """Outputs of an auxiliary classifier head for this space (0 = none): the ACGAN and judge head width."""
        return self.dim

    @property
    def class_sizes(self) -> tuple[int, ...]:
        """Classes of each attribute where an image shows exactly one class per attribute and its label holds
        their indices (one entry for a categorical space); () where labels are not class indices (none,
        multi-hot, colours).  Losses that compare images of different classes need it."""
        return ()

    @property
    def is_conditional(self) -> bool:
        return self.dim > 0

    @abstractmethod
    def encode(self, labels: torch.Tensor) -> torch.Tensor:
        """Labels -> float tensor (B, dim)."""

    @abstractmethod
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw ``n`` valid random labels."""

    def aux_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        raise ConfigError(f"the '{self.kind}' condition space has no auxiliary classifier")

    def aux_correct(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Per-sample score in [0, 1]: how much of the condition the classifier got right."""
        raise ConfigError(f"the '{self.kind}' condition space has no auxiliary classifier")

    def aux_accuracy(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.aux_correct(logits, labels).float().mean()

    @abstractmethod
    def decode(self, logits: torch.Tensor) -> torch.Tensor:
        """A classifier's output -> labels of this space."""

    # --- judging ---------------------------------------------------------------
    def judge_scores(self, logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        """A judge's scores of its output against the labels the images should show.

        The headline figure is ``accuracy`` or, where each part is scored on its
        own, ``all``; the default is the mean of :meth:`aux_correct`.
        """
        return {"accuracy": float(self.aux_correct(logits, labels).float().mean())}

    def per_value_scores(self, logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        """Accuracy per class or attribute value shown, keyed by its caption ({} = not broken down)."""
        return {}

    # --- text --------------------------------------------------------------------
    @abstractmethod
    def caption(self, label: torch.Tensor) -> str:
        """Readable text for one label, e.g. 'red hair, blue eyes'."""

    def parse(self, text: str) -> torch.Tensor:
        """The inverse of :meth:`caption`: one label from text a user typed."""
        raise ConfigError(f"the '{self.kind}' condition space takes no condition; leave it out")

    def describe(self) -> str:
        return self.kind

    def export_encoding(self) -> dict:
        """How labels become the condition tensor, in words and value names (an export's sidecar)."""
        return {
            "kind": self.kind,
            "text": "the condition space's encoding of its labels; see condition_space and the examples",
        }

    # --- datasets ------------------------------------------------------------------
    def label_counts(self, labels: torch.Tensor) -> list[tuple[str, int]]:
        """Images per class, per attribute value or per label, as (caption, count); [] = not counted."""
        return []

    def count_groups(self) -> list[int]:
        """Which block (attribute) each of :meth:`label_counts`' entries belongs to; [] = one block."""
        return []

    # --- grids -------------------------------------------------------------------
    @abstractmethod
    def default_grid(self, max_images: int = 64) -> ConditionGrid:
        """The layout of the per-epoch sample grid."""

    def random_labels(self, count: int, seed: int) -> list[torch.Tensor]:
        """``count`` random valid labels drawn from ``seed`` (none for a count of 0)."""
        if count <= 0:
            return []
        return list(self.sample(count, torch.Generator().manual_seed(seed)))

    def text_grid(self, texts=(), samples: int = 8, random: int = 0, seed: int = 0) -> ConditionGrid:
        """One row per condition typed as text, plus ``random`` valid ones; ``samples`` noise samples across."""
        labels = [self.parse(t) for t in texts] + self.random_labels(random, seed)
        if not labels:
            raise ConfigError("give at least one condition, or ask for random ones")
        return self._rows_by_noise(torch.stack(labels), samples)

    def _rows_by_noise(self, labels: torch.Tensor, samples: int, title: str = "") -> ConditionGrid:
        """One row per label, ``samples`` cells across sharing their column's noise."""
        cells = labels.repeat_interleave(samples, dim=0)
        captions = [self.caption(label) for label in labels]
        return ConditionGrid(cells, len(labels), samples, captions, [], "column", title)

    def samples_grid(self, n: int = 8, seed: int = 0) -> ConditionGrid:
        """The grid a user gets by asking for nothing in particular: by default the per-epoch grid."""
        return self.default_grid(max(self.dim, 1) * n)

    def request_grid(
        self,
        conditions=(),
        rows: str | None = None,
        cols: str | None = None,
        fix: list[str] | None = None,
        n: int = 8,
        random: int = 0,
        seed: int = 0,
    ) -> ConditionGrid:
        """The grid a user asked for in words (the ``sample`` command's options, bar interpolation).

        Conditions typed or ``random`` ones: one row each, ``n`` noise samples
        across (random labels drawn from ``seed``); ``rows``, ``cols`` and ``fix``
        choose attributes, which only spaces of attributes have; else
        :meth:`samples_grid`.
        """
        if conditions or random:
            return self.text_grid(conditions, n, random, seed)
        if rows or cols or fix:
            raise ConfigError(f"--rows, --cols and --fix apply to multi-attribute spaces, not {self.describe()}")
        return self.samples_grid(n, seed)

    def explorer_choices(self) -> ExplorerChoices:
        """The explorer's layouts and controls for this space (by default its grid and the interpolations)."""
        return ExplorerChoices(modes=(("grid", "Sample grid x noise samples"), *INTERPOLATION_MODES))

    # --- plain data ----------------------------------------------------------------
    @abstractmethod
    def to_dict(self) -> dict:
        """Plain data describing this space (JSON and weights_only safe)."""

    @classmethod
    def from_dict(cls, data: dict) -> ConditionSpace:
        """The inverse of :meth:`to_dict`; by default its keys but ``kind`` are the constructor's arguments."""
        return cls(**{k: v for k, v in data.items() if k != "kind"})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConditionSpace) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(repr(self.to_dict()))


# --- registry ---------------------------------------------------------------------

_KINDS: dict[str, type[ConditionSpace]] = {}


def register_space(cls: type[ConditionSpace]) -> type[ConditionSpace]:
    """Class decorator: :func:`space_from_dict` rebuilds ``cls`` from data of its ``kind``.

    Registering the same class again is harmless; another class under a taken kind is refused.
    """
    if not cls.kind:
        raise ValueError(f"{cls.__name__} has no kind to register under")
    taken = _KINDS.get(cls.kind)
    if taken is not None and taken is not cls:
        raise ValueError(f"condition space kind {cls.kind!r} is taken by {taken.__name__}")
    _KINDS[cls.kind] = cls
    return cls


def space_kinds() -> tuple[str, ...]:
    """The kinds :func:`space_from_dict` knows, in the order they were registered."""
    return tuple(_KINDS)


def space_from_dict(data: dict) -> ConditionSpace:
    """Rebuild a condition space from :meth:`ConditionSpace.to_dict` output."""
    kind = data.get("kind")
    cls = _KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ConfigError(f"unknown condition space kind {kind!r}")
    return cls.from_dict(data)

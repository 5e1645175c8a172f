"""Condition spaces: what a conditional GAN is conditioned on.

A condition space turns dataset labels into the float tensor that G and D
receive, draws random conditions, scores and decodes the output of an
auxiliary classifier, and lays out grids of conditions with captions.

Labels keep their natural form per space:

* ``NoCondition``     -- ``(B, 0)`` float (there is nothing to say)
* ``Categorical``     -- ``(B,)`` int64 class indices
* ``MultiAttribute``  -- ``(B, A)`` int64, one class index per attribute
* ``MultiLabel``      -- ``(B, K)`` float multi-hot
* ``ColourSpace``     -- ``(B, 3 * A)`` float RGB in [0, 1], one colour per attribute

Every space round-trips through :meth:`ConditionSpace.to_dict` /
:func:`space_from_dict`, so checkpoints and configs stay plain data.
"""

from __future__ import annotations

import colorsys
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from PIL import ImageColor

from studio.errors import ConfigError

__all__ = [
    "ConditionSpace",
    "NoCondition",
    "Categorical",
    "MultiAttribute",
    "MultiLabel",
    "ColourSpace",
    "colour_hex",
    "ConditionGrid",
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


class ConditionSpace(ABC):
    """Base class of all condition spaces."""

    kind: str = ""

    @property
    @abstractmethod
    def dim(self) -> int:
        """Width of the encoded condition that G and D receive."""

    @property
    def aux_dim(self) -> int:
        """Outputs of an auxiliary classifier head for this space (0 = none)."""
        return self.dim

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

    @abstractmethod
    def caption(self, label: torch.Tensor) -> str:
        """Readable text for one label, e.g. 'red hair, blue eyes'."""

    def parse(self, text: str) -> torch.Tensor:
        """The inverse of :meth:`caption`: one label from text a user typed."""
        raise ConfigError(f"the '{self.kind}' condition space takes no condition; leave it out")

    @abstractmethod
    def default_grid(self, max_images: int = 64) -> ConditionGrid:
        """The layout of the per-epoch sample grid."""

    @abstractmethod
    def to_dict(self) -> dict:
        """Plain data describing this space (JSON and weights_only safe)."""

    def describe(self) -> str:
        return self.kind

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConditionSpace) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(repr(self.to_dict()))


class NoCondition(ConditionSpace):
    """Unconditional GAN (DCGAN)."""

    kind = "none"

    @property
    def dim(self) -> int:
        return 0

    def encode(self, labels: torch.Tensor) -> torch.Tensor:
        return torch.zeros(labels.shape[0], 0, device=labels.device)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.zeros(n, 0)

    def decode(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.zeros(logits.shape[0], 0)

    def caption(self, label: torch.Tensor) -> str:
        return ""

    def default_grid(self, max_images: int = 64) -> ConditionGrid:
        side = max(1, int(max_images**0.5))
        return ConditionGrid(torch.zeros(side * side, 0), side, side)

    def to_dict(self) -> dict:
        return {"kind": self.kind}


class Categorical(ConditionSpace):
    """One class out of K (digits, CIFAR-10, an image folder)."""

    kind = "categorical"

    def __init__(self, names: list[str], attribute: str = "class"):
        if len(names) < 2:
            raise ConfigError(f"a categorical condition needs at least 2 classes, got {len(names)}")
        self.names = [str(n) for n in names]
        self.attribute = attribute

    @property
    def dim(self) -> int:
        return len(self.names)

    def encode(self, labels: torch.Tensor) -> torch.Tensor:
        return F.one_hot(labels.long(), self.dim).float()

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randint(0, self.dim, (n,), generator=generator)

    def aux_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.float(), labels.long())

    def aux_correct(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return (logits.argmax(1) == labels).float()

    def decode(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.argmax(1)

    def caption(self, label: torch.Tensor) -> str:
        return self.names[int(label)]

    def parse(self, text: str) -> torch.Tensor:
        text = text.strip()
        if text in self.names:
            return torch.tensor(self.names.index(text))
        if text.isdigit() and int(text) < self.dim:
            return torch.tensor(int(text))
        raise ConfigError(f"condition {text!r}: not a class; choose one of {', '.join(self.names)}")

    def default_grid(self, max_images: int = 64) -> ConditionGrid:
        rows = self.dim
        cols = max(1, min(10, max_images // rows))
        labels = torch.arange(rows).repeat_interleave(cols)
        return ConditionGrid(labels, rows, cols, row_captions=list(self.names), noise_layout="column")

    def to_dict(self) -> dict:
        return {"kind": self.kind, "names": list(self.names), "attribute": self.attribute}

    def describe(self) -> str:
        return f"categorical({self.dim})"


class MultiAttribute(ConditionSpace):
    """One class per attribute, e.g. hair (12 colours) x eyes (10 colours).

    Encoded as concatenated one-hots; an ACGAN has one softmax head per attribute.
    """

    kind = "multi-attribute"

    def __init__(self, attributes: list[tuple[str, list[str]]]):
        if not attributes:
            raise ConfigError("a multi-attribute condition needs at least one attribute")
        self.attributes = [(str(a), [str(v) for v in values]) for a, values in attributes]
        for name, values in self.attributes:
            if len(values) < 2:
                raise ConfigError(f"attribute '{name}' needs at least 2 values, got {len(values)}")
        self.sizes = [len(v) for _, v in self.attributes]
        self.offsets = [sum(self.sizes[:i]) for i in range(len(self.sizes))]

    @property
    def dim(self) -> int:
        return sum(self.sizes)

    def attribute_index(self, name: str) -> int:
        for i, (attr, _) in enumerate(self.attributes):
            if attr == name:
                return i
        raise ConfigError(f"no attribute '{name}'; this space has {', '.join(a for a, _ in self.attributes)}")

    def value_index(self, attribute: int, value: str) -> int:
        values = self.attributes[attribute][1]
        if value not in values:
            raise ConfigError(
                f"'{value}' is not a value of {self.attributes[attribute][0]}; choose one of {', '.join(values)}"
            )
        return values.index(value)

    def encode(self, labels: torch.Tensor) -> torch.Tensor:
        parts = [F.one_hot(labels[:, i].long(), k).float() for i, k in enumerate(self.sizes)]
        return torch.cat(parts, dim=1)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        cols = [torch.randint(0, k, (n,), generator=generator) for k in self.sizes]
        return torch.stack(cols, dim=1)

    def _slices(self, logits: torch.Tensor):
        for i, k in enumerate(self.sizes):
            yield i, logits[:, self.offsets[i] : self.offsets[i] + k]

    def aux_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        losses = [F.cross_entropy(part.float(), labels[:, i].long()) for i, part in self._slices(logits)]
        return torch.stack(losses).sum()

    def aux_correct(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        hits = [(part.argmax(1) == labels[:, i]).float() for i, part in self._slices(logits)]
        return torch.stack(hits, dim=1).mean(1)

    def decode(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.stack([part.argmax(1) for _, part in self._slices(logits)], dim=1)

    def value_caption(self, attribute: int, value: int) -> str:
        name, values = self.attributes[attribute]
        return f"{values[value]} {name}"

    def caption(self, label: torch.Tensor) -> str:
        return ", ".join(self.value_caption(i, int(v)) for i, v in enumerate(label.tolist()))

    def parse_partial(self, text: str) -> dict[int, int]:
        """'red hair, blue eyes' -> {attribute index: value index} for the parts given."""
        chosen: dict[int, int] = {}
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            words = part.rsplit(" ", 1)
            if len(words) != 2:
                raise ConfigError(f"condition {part!r}: write it as 'VALUE ATTRIBUTE', e.g. 'red hair'")
            attribute = self.attribute_index(words[1])
            chosen[attribute] = self.value_index(attribute, words[0])
        return chosen

    def parse(self, text: str) -> torch.Tensor:
        chosen = self.parse_partial(text)
        missing = [self.attributes[i][0] for i in range(len(self.sizes)) if i not in chosen]
        if missing:
            raise ConfigError(f"condition {text!r}: also give {', '.join(missing)}")
        return torch.tensor([chosen[i] for i in range(len(self.sizes))])

    def table(self, row_attribute: int = 0, col_attribute: int = 1, fixed: list[int] | None = None) -> ConditionGrid:
        """Every value of one attribute down the rows x every value of another across.

        ``fixed`` gives the value of each remaining attribute (default 0).
        """
        if row_attribute == col_attribute:
            raise ConfigError("rows and columns must show different attributes")
        base = list(fixed) if fixed is not None else [0] * len(self.sizes)
        rows, cols = self.sizes[row_attribute], self.sizes[col_attribute]
        labels = torch.tensor(base, dtype=torch.long).repeat(rows * cols, 1)
        labels[:, row_attribute] = torch.arange(rows).repeat_interleave(cols)
        labels[:, col_attribute] = torch.arange(cols).repeat(rows)
        return ConditionGrid(
            labels,
            rows,
            cols,
            row_captions=[self.value_caption(row_attribute, v) for v in range(rows)],
            col_captions=[self.value_caption(col_attribute, v) for v in range(cols)],
            noise_layout="row",
        )

    def vary(self, attribute: int, fixed: list[int], samples: int = 1) -> ConditionGrid:
        """Fix every other attribute and run through all values of one.

        Each row is one noise sample; the columns are the attribute's values.
        """
        k = self.sizes[attribute]
        labels = torch.tensor(fixed, dtype=torch.long).repeat(samples * k, 1)
        labels[:, attribute] = torch.arange(k).repeat(samples)
        others = [self.value_caption(i, v) for i, v in enumerate(fixed) if i != attribute]
        return ConditionGrid(
            labels,
            samples,
            k,
            row_captions=[", ".join(others)] * samples,
            col_captions=[self.value_caption(attribute, v) for v in range(k)],
            noise_layout="row",
        )

    def default_grid(self, max_images: int = 64) -> ConditionGrid:
        # The full table of the first two attributes, whatever max_images says:
        # a user watching hair x eyes wants every combination every epoch.
        if len(self.sizes) >= 2:
            return self.table(0, 1)
        return self.vary(0, [0], samples=max(1, max_images // self.sizes[0]))

    def to_dict(self) -> dict:
        return {"kind": self.kind, "attributes": [[a, list(v)] for a, v in self.attributes]}

    def describe(self) -> str:
        return " x ".join(f"{a}({len(v)})" for a, v in self.attributes)


class MultiLabel(ConditionSpace):
    """Several distinct objects out of K per image, e.g. 1-3 of 24 i-CLEVR objects."""

    kind = "multi-label"

    def __init__(self, names: list[str], min_count: int = 1, max_count: int = 3):
        self.names = [str(n) for n in names]
        if len(self.names) < 2:
            raise ConfigError(f"a multi-label condition needs at least 2 labels, got {len(self.names)}")
        if not 1 <= min_count <= max_count <= len(self.names):
            raise ConfigError(
                f"object count range {min_count}..{max_count} is impossible for {len(self.names)} labels"
            )
        self.min_count = int(min_count)
        self.max_count = int(max_count)

    @property
    def dim(self) -> int:
        return len(self.names)

    def encode(self, labels: torch.Tensor) -> torch.Tensor:
        return labels.float()

    def from_names(self, names: list[str]) -> torch.Tensor:
        label = torch.zeros(self.dim)
        for name in names:
            if name not in self.names:
                raise ConfigError(f"unknown object '{name}'")
            label[self.names.index(name)] = 1
        return label

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        counts = torch.randint(self.min_count, self.max_count + 1, (n,), generator=generator)
        # Distinct objects: rank random keys and keep the first `count` of each row.
        keys = torch.rand(n, self.dim, generator=generator)
        ranks = keys.argsort(1).argsort(1)
        return (ranks < counts[:, None]).float()

    def aux_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits.float(), labels.float())

    def aux_correct(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The i-CLEVR metric: of the k requested objects, how many are in the top k."""
        k = labels.sum(1).long().clamp(min=1)
        order = logits.argsort(1, descending=True)
        rank_of = order.argsort(1)
        in_topk = (rank_of < k[:, None]).float()
        return (in_topk * labels).sum(1) / k

    def decode(self, logits: torch.Tensor, counts: torch.Tensor | None = None) -> torch.Tensor:
        """Multi-hot labels: the top-k when counts are known, else probability > 0.5."""
        if counts is None:
            out = (logits > 0).float()
            # Every image shows at least min_count objects.
            top = logits.topk(self.min_count, dim=1).indices
            return out.scatter(1, top, 1.0)
        rank_of = logits.argsort(1, descending=True).argsort(1)
        return (rank_of < counts[:, None]).float()

    def caption(self, label: torch.Tensor) -> str:
        return ", ".join(self.names[i] for i in label.nonzero().flatten().tolist())

    def parse(self, text: str) -> torch.Tensor:
        names = [p.strip() for p in text.split(",") if p.strip()]
        if len(set(names)) != len(names):
            raise ConfigError(f"condition {text!r}: each object may appear once")
        if not self.min_count <= len(names) <= self.max_count:
            raise ConfigError(
                f"condition {text!r}: asks for {len(names)} objects; give {self.min_count} to {self.max_count}"
            )
        return self.from_names(names)

    def default_grid(self, max_images: int = 64) -> ConditionGrid:
        rows = cols = max(1, int(max_images**0.5))
        g = torch.Generator().manual_seed(1234)
        row_labels = self.sample(rows, g)
        labels = row_labels.repeat_interleave(cols, dim=0)
        return ConditionGrid(
            labels, rows, cols, row_captions=[self.caption(r) for r in row_labels], noise_layout="column"
        )

    def to_dict(self) -> dict:
        return {"kind": self.kind, "names": list(self.names), "min_count": self.min_count, "max_count": self.max_count}

    def describe(self) -> str:
        return f"multi-label({self.dim}, {self.min_count}..{self.max_count})"


# --- continuous colour ---------------------------------------------------------

RGBFloat = tuple[float, float, float]

# Names for the captions of an attribute without a palette of its own: common
# words at typical mid tones (CSS values such as purple #800080 or green
# #008000 are too dark to name what people call purple or green).
_BASIC_COLOURS: tuple[tuple[str, str], ...] = (
    ("black", "#202020"), ("gray", "#808080"), ("silver", "#c0c0c0"), ("white", "#f5f5f5"),
    ("red", "#dc2828"), ("maroon", "#801818"), ("brown", "#7a4a26"), ("orange", "#f08c1e"),
    ("gold", "#e6b422"), ("yellow", "#f0e030"), ("olive", "#808020"), ("lime", "#96e632"),
    ("green", "#30a040"), ("teal", "#168a80"), ("aqua", "#32d2d2"), ("azure", "#2d8ce6"),
    ("blue", "#2832e6"), ("navy", "#1a2070"), ("violet", "#9a46e6"), ("purple", "#802890"),
    ("magenta", "#e132d2"), ("pink", "#f58cbe"),
)  # fmt: skip


def _basic_colours() -> list[tuple[str, RGBFloat]]:
    return [(name, _rgb(value, name)) for name, value in _BASIC_COLOURS]


def _rgb(value: object, where: str) -> RGBFloat:
    """'#rrggbb', a CSS colour name, three 0..255 integers or three 0..1 floats -> RGB in [0, 1]."""
    if isinstance(value, str):
        try:
            return tuple(c / 255.0 for c in ImageColor.getrgb(value.strip())[:3])  # type: ignore[return-value]
        except ValueError:
            raise ConfigError(f"{where}: {value!r} is not a colour; give #rrggbb or a colour name") from None
    try:
        values = [v for v in value]  # type: ignore[attr-defined]
    except TypeError:
        values = []
    if len(values) != 3 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise ConfigError(f"{where}: {value!r} is not a colour; give #rrggbb or three numbers")
    if all(isinstance(v, int) for v in values):
        if not all(0 <= v <= 255 for v in values):
            raise ConfigError(f"{where}: {value!r} has a channel outside 0..255")
        return tuple(v / 255.0 for v in values)  # type: ignore[return-value]
    if not all(0.0 <= v <= 1.0 for v in values):
        raise ConfigError(f"{where}: {value!r} has a channel outside 0..1")
    return tuple(float(v) for v in values)  # type: ignore[return-value]


# sRGB (D65) -> CIE XYZ, for naming colours by CIELAB distance: nearest in
# RGB calls a bright red 'brown', nearest in Lab matches what people call it.
_SRGB_TO_XYZ = torch.tensor(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
_D65_WHITE = torch.tensor([0.95047, 1.0, 1.08883])


def _lab(rgb: torch.Tensor) -> torch.Tensor:
    """(N, 3) sRGB in [0, 1] -> (N, 3) CIELAB."""
    rgb = rgb.float().clamp(0.0, 1.0)
    linear = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    t = (linear @ _SRGB_TO_XYZ.T) / _D65_WHITE
    delta = 6.0 / 29.0
    f = torch.where(t > delta**3, t.clamp(min=1e-12) ** (1.0 / 3.0), t / (3 * delta**2) + 4.0 / 29.0)
    return torch.stack([116.0 * f[:, 1] - 16.0, 500.0 * (f[:, 0] - f[:, 1]), 200.0 * (f[:, 1] - f[:, 2])], dim=1)


def colour_hex(rgb) -> str:
    """RGB in [0, 1] (three numbers or a tensor) -> '#rrggbb'."""
    r, g, b = (int(round(min(max(float(v), 0.0), 1.0) * 255)) for v in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


# Parts of a condition are separated by commas outside parentheses, so that
# 'hair=rgb(200, 40, 40), eyes=blue' has two parts.
_PART_SPLIT = re.compile(r",(?![^()]*\))")
# A caption's '#rrggbb (name)': the name in parentheses only annotates the hex.
_ANNOTATED_HEX = re.compile(r"(#[0-9a-fA-F]{3,8})\s*\([^()]*\)")


class ColourSpace(ConditionSpace):
    """One RGB colour per attribute, e.g. hair and eyes: the anime recipe's 6-d RGB embedding.

    Labels are floats in [0, 1], three per attribute; G and D receive them
    scaled to [-1, 1].  A model trained on it can be asked for any colour,
    not only the names it saw.  Each attribute may carry a ``palette`` of
    named colours (for built-in faces, the colours the set is drawn from):
    :meth:`sample` then draws palette colours with ``jitter`` per channel,
    the distribution the model was trained on, captions name the nearest
    palette colour, and text may ask for a palette colour by name.

    The ACGAN head regresses the encoded colours (no softmax); a prediction
    counts as correct when it lies within ``tolerance`` of the true colour,
    measured as Euclidean RGB distance in [0, 1] units.  The default 0.15 is
    below half the distance between any two colours of the faces palettes,
    so a correct colour is never closer to another palette name.
    """

    kind = "colour"
    DEFAULT_TOLERANCE = 0.15

    def __init__(
        self,
        attributes: list[str],
        palettes: dict[str, list[tuple[str, object]]] | None = None,
        jitter: float = 0.0,
        tolerance: float = DEFAULT_TOLERANCE,
    ):
        self.attributes = [str(a) for a in attributes]
        if not self.attributes:
            raise ConfigError("a colour condition needs at least one attribute")
        if len(set(self.attributes)) != len(self.attributes):
            raise ConfigError(f"colour attributes must differ, got {', '.join(self.attributes)}")
        palettes = dict(palettes or {})
        unknown = sorted(set(palettes) - set(self.attributes))
        if unknown:
            raise ConfigError(f"palette for unknown attribute(s) {', '.join(unknown)}")
        self.palettes: dict[str, list[tuple[str, RGBFloat]]] = {}
        for attribute in self.attributes:
            if attribute not in palettes:
                continue
            entries = [(str(n), _rgb(c, f"palette of {attribute}, colour {n!r}")) for n, c in palettes[attribute]]
            if not entries:
                raise ConfigError(f"the palette of {attribute} is empty")
            self.palettes[attribute] = entries
        if not 0.0 <= float(jitter) <= 0.5:
            raise ConfigError(f"colour jitter is {jitter}; it must lie in 0..0.5")
        if not 0.0 < float(tolerance) <= 3**0.5:
            raise ConfigError(f"colour tolerance is {tolerance}; it must lie in (0, 1.73]")
        self.jitter = float(jitter)
        self.tolerance = float(tolerance)
        basic = None
        self._named: list[list[tuple[str, RGBFloat]]] = []
        for attribute in self.attributes:
            if attribute in self.palettes:
                self._named.append(self.palettes[attribute])
            else:
                basic = basic or _basic_colours()
                self._named.append(basic)
        self._named_rgb = [torch.tensor([rgb for _, rgb in names]) for names in self._named]
        self._named_lab = [_lab(rgb) for rgb in self._named_rgb]

    @property
    def dim(self) -> int:
        return 3 * len(self.attributes)

    def attribute_index(self, attribute: int | str) -> int:
        if isinstance(attribute, int) and 0 <= attribute < len(self.attributes):
            return attribute
        if attribute in self.attributes:
            return self.attributes.index(attribute)  # type: ignore[arg-type]
        raise ConfigError(f"no attribute {attribute!r}; this space has {', '.join(self.attributes)}")

    def colour_names(self, attribute: int | str) -> list[str]:
        """The names text may use for one attribute: its palette, else common colour names."""
        return [name for name, _ in self._named[self.attribute_index(attribute)]]

    def _part(self, labels: torch.Tensor, i: int) -> torch.Tensor:
        return labels[..., 3 * i : 3 * i + 3]

    # --- model side ------------------------------------------------------------
    def encode(self, labels: torch.Tensor) -> torch.Tensor:
        return labels.float() * 2.0 - 1.0

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        parts = []
        for i, attribute in enumerate(self.attributes):
            if attribute in self.palettes:
                base = self._named_rgb[i][torch.randint(0, len(self.palettes[attribute]), (n,), generator=generator)]
                noise = (torch.rand(n, 3, generator=generator) * 2.0 - 1.0) * self.jitter
                parts.append((base + noise).clamp(0.0, 1.0))
            else:
                parts.append(torch.rand(n, 3, generator=generator))
        return torch.cat(parts, dim=1)

    def aux_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Squared error of the regressed encoding, summed over channels: each attribute
        weighs about as much as one softmax head of a multi-attribute space."""
        return (logits.float() - self.encode(labels)).pow(2).sum(1).mean()

    def colour_distance(self, predicted: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """(B, A) Euclidean RGB distances per attribute, colours in [0, 1]."""
        diff = (predicted.float() - labels.float()).view(predicted.shape[0], len(self.attributes), 3)
        return diff.norm(dim=2)

    def aux_correct(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Fraction of attributes whose regressed colour lies within ``tolerance``."""
        return (self.colour_distance(self.decode(logits), labels) <= self.tolerance).float().mean(1)

    def decode(self, logits: torch.Tensor) -> torch.Tensor:
        return ((logits.float() + 1.0) / 2.0).clamp(0.0, 1.0)

    def nearest_names(self, labels: torch.Tensor) -> torch.Tensor:
        """(B, A) index of the nearest named colour (:meth:`colour_names`, CIELAB distance) per attribute."""
        labels = labels.float().reshape(-1, self.dim).cpu()
        return torch.stack(
            [
                torch.cdist(_lab(self._part(labels, i)), self._named_lab[i]).argmin(1)
                for i in range(len(self.attributes))
            ],
            dim=1,
        )

    # --- text --------------------------------------------------------------------
    def colour_caption(self, attribute: int | str, rgb) -> str:
        """'hair #d22328 (red)': the exact colour and the nearest name."""
        i = self.attribute_index(attribute)
        rgb = torch.as_tensor(rgb, dtype=torch.float32).reshape(1, 3)
        name = self._named[i][int(torch.cdist(_lab(rgb), self._named_lab[i]).argmin())][0]
        return f"{self.attributes[i]} {colour_hex(rgb[0])} ({name})"

    def caption(self, label: torch.Tensor) -> str:
        label = label.float().cpu()
        return ", ".join(self.colour_caption(i, self._part(label, i)) for i in range(len(self.attributes)))

    def colour_from_text(self, attribute: int | str, text: str) -> torch.Tensor:
        """One attribute's colour from a name ('blue': its palette's blue first) or '#rrggbb'."""
        i = self.attribute_index(attribute)
        value = text.strip()
        annotated = _ANNOTATED_HEX.fullmatch(value)
        if annotated:
            value = annotated.group(1)
        for name, rgb in self._named[i]:
            if name.lower() == value.lower():
                return torch.tensor(rgb)
        try:
            return torch.tensor(_rgb(value, self.attributes[i]))
        except ConfigError:
            names = ", ".join(self.colour_names(i))
            raise ConfigError(
                f"{value!r} is not a colour for {self.attributes[i]}; give #rrggbb or a name such as {names}"
            ) from None

    def parse_partial(self, text: str) -> dict[int, torch.Tensor]:
        """'hair=#ff0000, eyes=blue' (or 'red hair', 'hair #d22328 (red)') -> {attribute index: RGB}."""
        chosen: dict[int, torch.Tensor] = {}
        for part in (p.strip() for p in _PART_SPLIT.split(text)):
            if not part:
                continue
            attribute, value = self._split_part(part)
            chosen[attribute] = self.colour_from_text(attribute, value)
        return chosen

    def _split_part(self, part: str) -> tuple[int, str]:
        if "=" in part or ":" in part:
            name, value = re.split(r"[=:]", part, maxsplit=1)
            return self.attribute_index(name.strip()), value
        words = part.split()
        if len(words) >= 2 and words[0] in self.attributes:
            return self.attributes.index(words[0]), part[len(words[0]) :]
        if len(words) >= 2 and words[-1] in self.attributes:
            return self.attributes.index(words[-1]), part[: part.rindex(words[-1])]
        example = self.attributes[0]
        raise ConfigError(
            f"condition {part!r}: write it as ATTRIBUTE=COLOUR, e.g. '{example}=#d22328' or '{example}=red' "
            f"(attributes: {', '.join(self.attributes)})"
        )

    def parse(self, text: str) -> torch.Tensor:
        chosen = self.parse_partial(text)
        missing = [a for i, a in enumerate(self.attributes) if i not in chosen]
        if missing:
            raise ConfigError(f"condition {text!r}: also give {', '.join(missing)}")
        return torch.cat([chosen[i] for i in range(len(self.attributes))])

    # --- grids -------------------------------------------------------------------
    def fixed_label(self, fixed_colours: torch.Tensor | str | None = None) -> torch.Tensor:
        """A full label from ``fixed_colours``: a label tensor, text naming some attributes
        ('eyes=blue'), or None.  Attributes not given take their palette's first colour
        (mid gray without a palette)."""
        if isinstance(fixed_colours, torch.Tensor):
            if fixed_colours.numel() != self.dim:
                raise ConfigError(f"fixed colours need {self.dim} numbers, got {fixed_colours.numel()}")
            return fixed_colours.float().flatten().cpu()
        chosen = self.parse_partial(fixed_colours) if fixed_colours else {}
        parts = []
        for i, attribute in enumerate(self.attributes):
            if i in chosen:
                parts.append(chosen[i])
            elif attribute in self.palettes:
                parts.append(torch.tensor(self.palettes[attribute][0][1]))
            else:
                parts.append(torch.full((3,), 0.5))
        return torch.cat(parts)

    @staticmethod
    def hue_colours(steps: int, saturation: float = 0.8, value: float = 0.9) -> torch.Tensor:
        """(steps, 3) RGB colours evenly round the hue circle, starting at red."""
        if steps < 1:
            raise ConfigError(f"a hue sweep needs at least 1 step, got {steps}")
        if not (0.0 <= saturation <= 1.0 and 0.0 <= value <= 1.0):
            raise ConfigError(f"saturation {saturation} and value {value} must lie in 0..1")
        return torch.tensor([colorsys.hsv_to_rgb(k / steps, saturation, value) for k in range(steps)])

    def _others_caption(self, label: torch.Tensor, skip: set[int]) -> str:
        return ", ".join(
            self.colour_caption(i, self._part(label, i)) for i in range(len(self.attributes)) if i not in skip
        )

    def hue_sweep(
        self,
        attribute: int | str,
        steps: int = 12,
        fixed_colours: torch.Tensor | str | None = None,
        saturation: float = 0.8,
        value: float = 0.9,
        samples: int = 1,
    ) -> ConditionGrid:
        """The colour map: one attribute's hue sweeps across the columns, the others held.

        Each of the ``samples`` rows is one noise vector, so along a row only the hue changes.
        """
        i = self.attribute_index(attribute)
        base = self.fixed_label(fixed_colours)
        hues = self.hue_colours(steps, saturation, value)
        labels = base.repeat(samples * steps, 1)
        labels[:, 3 * i : 3 * i + 3] = hues.repeat(samples, 1)
        others = self._others_caption(base, {i})
        return ConditionGrid(
            labels,
            samples,
            steps,
            row_captions=[others] * samples,
            col_captions=[colour_hex(c) for c in hues],
            noise_layout="row",
        )

    def hue_map(
        self,
        row_attribute: int | str = 0,
        col_attribute: int | str = 1,
        rows: int = 8,
        cols: int = 8,
        fixed_colours: torch.Tensor | str | None = None,
        saturation: float = 0.8,
        value: float = 0.9,
    ) -> ConditionGrid:
        """The big colour map: one attribute's hue down the rows, another's across the columns."""
        r, c = self.attribute_index(row_attribute), self.attribute_index(col_attribute)
        if r == c:
            raise ConfigError("rows and columns must sweep different attributes")
        row_hues, col_hues = self.hue_colours(rows, saturation, value), self.hue_colours(cols, saturation, value)
        return self._cross(r, c, row_hues, col_hues, fixed_colours)

    def table(
        self,
        row_attribute: int | str = 0,
        col_attribute: int | str = 1,
        fixed_colours: torch.Tensor | str | None = None,
    ) -> ConditionGrid:
        """Every named colour of one attribute down the rows x every one of another across."""
        r, c = self.attribute_index(row_attribute), self.attribute_index(col_attribute)
        if r == c:
            raise ConfigError("rows and columns must show different attributes")
        return self._cross(r, c, self._named_rgb[r], self._named_rgb[c], fixed_colours)

    def _cross(
        self,
        r: int,
        c: int,
        row_rgb: torch.Tensor,
        col_rgb: torch.Tensor,
        fixed_colours: torch.Tensor | str | None,
    ) -> ConditionGrid:
        """Attribute ``r`` takes each of ``row_rgb`` down the rows, ``c`` each of ``col_rgb`` across."""
        rows, cols = len(row_rgb), len(col_rgb)
        labels = self.fixed_label(fixed_colours).repeat(rows * cols, 1)
        labels[:, 3 * r : 3 * r + 3] = row_rgb.repeat_interleave(cols, dim=0)
        labels[:, 3 * c : 3 * c + 3] = col_rgb.repeat(rows, 1)
        return ConditionGrid(
            labels,
            rows,
            cols,
            row_captions=[self.colour_caption(r, rgb) for rgb in row_rgb],
            col_captions=[self.colour_caption(c, rgb) for rgb in col_rgb],
            noise_layout="row",
        )

    def default_grid(self, max_images: int = 64) -> ConditionGrid:
        # With palettes the per-epoch grid is the named table (comparable with a
        # multi-attribute run of the same data); without, a map of hues.
        if len(self.attributes) >= 2:
            if self.palettes:
                return self.table(0, 1)
            side = max(1, int(max_images**0.5))
            return self.hue_map(0, 1, side, side)
        steps = max(1, min(12, max_images))
        return self.hue_sweep(0, steps, samples=max(1, max_images // steps))

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "attributes": list(self.attributes),
            "palettes": {a: [[n, colour_hex(rgb)] for n, rgb in p] for a, p in self.palettes.items()},
            "jitter": self.jitter,
            "tolerance": self.tolerance,
        }

    def describe(self) -> str:
        return f"colour({', '.join(self.attributes)})"


def space_from_dict(data: dict) -> ConditionSpace:
    """Rebuild a condition space from :meth:`ConditionSpace.to_dict` output."""
    kind = data.get("kind")
    if kind == "none":
        return NoCondition()
    if kind == "categorical":
        return Categorical(data["names"], data.get("attribute", "class"))
    if kind == "multi-attribute":
        return MultiAttribute([(a, v) for a, v in data["attributes"]])
    if kind == "multi-label":
        return MultiLabel(data["names"], data.get("min_count", 1), data.get("max_count", 3))
    if kind == ColourSpace.kind:
        return ColourSpace(
            data["attributes"],
            palettes={a: [(n, c) for n, c in p] for a, p in data.get("palettes", {}).items()},
            jitter=data.get("jitter", 0.0),
            tolerance=data.get("tolerance", ColourSpace.DEFAULT_TOLERANCE),
        )
    raise ConfigError(f"unknown condition space kind {kind!r}")

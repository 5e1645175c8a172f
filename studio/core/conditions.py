"""Condition spaces: what a conditional GAN is conditioned on.

A condition space turns dataset labels into the float tensor that G and D
receive, draws random conditions, scores and decodes the output of an
auxiliary classifier, and lays out grids of conditions with captions.

Labels keep their natural form per space:

* ``NoCondition``     -- ``(B, 0)`` float (there is nothing to say)
* ``Categorical``     -- ``(B,)`` int64 class indices
* ``MultiAttribute``  -- ``(B, A)`` int64, one class index per attribute
* ``MultiLabel``      -- ``(B, K)`` float multi-hot
* (a continuous colour space will take ``(B, 3 * A)`` floats)

Every space round-trips through :meth:`ConditionSpace.to_dict` /
:func:`space_from_dict`, so checkpoints and configs stay plain data.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from studio.errors import ConfigError

__all__ = [
    "ConditionSpace",
    "NoCondition",
    "Categorical",
    "MultiAttribute",
    "MultiLabel",
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
    raise ConfigError(f"unknown condition space kind {kind!r}")

"""One class per attribute, e.g. hair colour x eye colour."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from studio.core.conditions.base import (
    INTERPOLATION_MODES,
    ConditionGrid,
    ConditionSpace,
    ExplorerChoices,
    register_space,
)
from studio.errors import ConfigError

__all__ = ["MultiAttribute"]


@register_space
class MultiAttribute(ConditionSpace):
    """One class per attribute, e.g. hair (12 colours) x eyes (10 colours).

    Labels are ``(B, A)`` int64, one class index per attribute.  Encoded as
    concatenated one-hots; an ACGAN has one softmax head per attribute.
    """

    kind = "multi-attribute"
    layouts = ("table", "vary")

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

    @property
    def class_sizes(self) -> tuple[int, ...]:
        return tuple(self.sizes)

    def attribute_index(self, name: str | int) -> int:
        """An attribute's index from its name (an index passes through)."""
        if isinstance(name, int):
            return name
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

    def judge_scores(self, logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        """One accuracy per attribute and ``all`` (every attribute right)."""
        right = self.decode(logits) == labels.long()
        out = {name: float(right[:, i].float().mean()) for i, (name, _) in enumerate(self.attributes)}
        out["all"] = float(right.all(1).float().mean())
        return out

    def per_value_scores(self, logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        pred, out = self.decode(logits), {}
        for i in range(labels.shape[1]):
            for v in labels[:, i].unique().tolist():
                rows = labels[:, i] == v
                out[self.value_caption(i, v)] = float((pred[rows, i] == v).float().mean())
        return out

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

    def held_values(self, fixed: dict | str | list | None) -> dict[int, int]:
        """{'eyes': 'blue'}, 'blue eyes' or ['blue eyes', ...] -> {attribute index: value index}."""
        chosen: dict[int, int] = {}
        if fixed is None:
            return chosen
        if isinstance(fixed, dict):
            for attr, value in fixed.items():
                i = self.attribute_index(attr)
                chosen[i] = value if isinstance(value, int) else self.value_index(i, value)
            return chosen
        for text in [fixed] if isinstance(fixed, str) else fixed:
            chosen.update(self.parse_partial(text))
        return chosen

    def export_encoding(self) -> dict:
        parts = [
            {"attribute": name, "offset": offset, "size": len(values), "values": list(values)}
            for (name, values), offset in zip(self.attributes, self.offsets)
        ]
        return {
            "kind": self.kind,
            "text": "concatenated one-hots, one per attribute: "
            "set position offset + value index of each attribute to 1",
            "attributes": parts,
        }

    def label_counts(self, labels: torch.Tensor) -> list[tuple[str, int]]:
        out = []
        for i, k in enumerate(self.sizes):
            counts = torch.bincount(labels[:, i].long(), minlength=k)
            out += [(self.value_caption(i, v), c) for v, c in enumerate(counts.tolist())]
        return out

    def count_groups(self) -> list[int]:
        return [g for g, k in enumerate(self.sizes) for _ in range(k)]

    # --- grids -------------------------------------------------------------------
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
            title=f"{self.attributes[row_attribute][0]} x {self.attributes[col_attribute][0]}",
        )

    def vary(self, attribute: int, fixed: list[int], samples: int = 1) -> ConditionGrid:
        """Fix every other attribute and run through all values of one.

        Each row is one noise sample; the columns are the attribute's values.
        """
        k = self.sizes[attribute]
        labels = torch.tensor(fixed, dtype=torch.long).repeat(samples * k, 1)
        labels[:, attribute] = torch.arange(k).repeat(samples)
        held = ", ".join(self.value_caption(i, v) for i, v in enumerate(fixed) if i != attribute)
        return ConditionGrid(
            labels,
            samples,
            k,
            row_captions=[held] * samples,
            col_captions=[self.value_caption(attribute, v) for v in range(k)],
            noise_layout="row",
            title=f"{held}: {self.attributes[attribute][0]} varies",
        )

    def default_grid(self, max_images: int = 64) -> ConditionGrid:
        # The full table of the first two attributes, whatever max_images says:
        # a user watching hair x eyes wants every combination every epoch.
        if len(self.sizes) >= 2:
            return self.table(0, 1)
        return self.vary(0, [0], samples=max(1, max_images // self.sizes[0]))

    def request_grid(self, conditions=(), rows=None, cols=None, fix=None, n=8, random=0, seed=0) -> ConditionGrid:
        """As :meth:`ConditionSpace.request_grid`, and: with ``fix`` (e.g. 'blue eyes') ``n`` rows, all
        values of one free attribute (``cols``, else ``rows``, else the first free) across; otherwise
        the ``rows`` x ``cols`` table (one attribute alone: it varies over ``n`` rows)."""
        if conditions or random:
            return super().request_grid(conditions, n=n, random=random, seed=seed)
        names = [a for a, _ in self.attributes]
        if fix:
            chosen = self.held_values(fix)
            free = [i for i in range(len(names)) if i not in chosen]
            if cols:
                vary = self.attribute_index(cols)
            elif rows:
                vary = self.attribute_index(rows)
            elif free:
                vary = free[0]
            else:
                raise ConfigError("--fix holds every attribute; leave one free to vary")
            if vary in chosen:
                raise ConfigError(f"--fix holds {names[vary]}, the attribute that should vary")
            return self.vary(vary, [chosen.get(i, 0) for i in range(len(names))], max(1, n))
        if len(names) == 1:
            return self.vary(0, [0], max(1, n))
        c = self.attribute_index(cols) if cols else None
        r = self.attribute_index(rows) if rows else next(i for i in range(len(names)) if i != c)
        if c is None:
            c = next(i for i in range(len(names)) if i != r)
        return self.table(r, c, [0] * len(names))

    def explorer_choices(self) -> ExplorerChoices:
        modes = [("vary", "Fix one value, vary another")]
        if len(self.sizes) >= 2:
            modes.insert(0, ("table", "Table: every value x every value"))
        held = tuple(tuple(self.value_caption(a, v) for v in range(k)) for a, k in enumerate(self.sizes))
        return ExplorerChoices(
            modes=(*modes, *INTERPOLATION_MODES), axes=tuple(a for a, _ in self.attributes), held=held
        )

    # --- plain data ----------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"kind": self.kind, "attributes": [[a, list(v)] for a, v in self.attributes]}

    @classmethod
    def from_dict(cls, data: dict) -> MultiAttribute:
        return cls([(a, v) for a, v in data["attributes"]])

    def describe(self) -> str:
        return " x ".join(f"{a}({len(v)})" for a, v in self.attributes)

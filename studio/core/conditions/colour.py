"""Continuous colour: one RGB colour per attribute, e.g. hair and eyes."""

from __future__ import annotations

import colorsys
import re

import torch
from PIL import ImageColor

from studio.core.conditions.base import (
    INTERPOLATION_MODES,
    ConditionGrid,
    ConditionSpace,
    ExplorerChoices,
    register_space,
)
from studio.errors import ConfigError

__all__ = ["ColourSpace", "colour_hex"]


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


@register_space
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
    label_dtype = torch.float32
    layouts = ("hue-sweep", "hue-map", "colour-table")
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

    def judge_scores(self, logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        """Per attribute the share of colours within ``tolerance``, and ``all`` (every attribute within)."""
        per = self.colour_distance(self.decode(logits), labels.float()) <= self.tolerance
        out = {name: float(per[:, i].float().mean()) for i, name in enumerate(self.attributes)}
        out["all"] = float(per.all(1).float().mean())
        return out

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

    def label_counts(self, labels: torch.Tensor) -> list[tuple[str, int]]:
        """Images per attribute and nearest colour name."""
        nearest, out = self.nearest_names(labels), []
        for i, attribute in enumerate(self.attributes):
            names = self.colour_names(i)
            counts = torch.bincount(nearest[:, i], minlength=len(names))
            out += [(f"{n} {attribute}", c) for n, c in zip(names, counts.tolist())]
        return out

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

    def explorer_choices(self) -> ExplorerChoices:
        modes = [("hue-sweep", "Hue sweep of one colour")]
        if len(self.attributes) >= 2:
            modes.append(("hue-map", "Hue map: one hue x another"))
            if self.palettes:
                modes.append(("colour-table", "Named colours x named colours"))
        attributes = tuple(self.attributes)
        return ExplorerChoices(modes=(*modes, *INTERPOLATION_MODES), axes=attributes, colours=attributes)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "attributes": list(self.attributes),
            "palettes": {a: [[n, colour_hex(rgb)] for n, rgb in p] for a, p in self.palettes.items()},
            "jitter": self.jitter,
            "tolerance": self.tolerance,
        }

    @classmethod
    def from_dict(cls, data: dict) -> ColourSpace:
        return cls(
            data["attributes"],
            palettes={a: [(n, c) for n, c in p] for a, p in data.get("palettes", {}).items()},
            jitter=data.get("jitter", 0.0),
            tolerance=data.get("tolerance", cls.DEFAULT_TOLERANCE),
        )

    def describe(self) -> str:
        return f"colour({', '.join(self.attributes)})"

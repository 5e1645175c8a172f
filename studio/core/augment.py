"""Differentiable augmentation for GANs trained on small sets (DiffAugment, Zhao et al. 2020).

D overfits a small training set: it memorises the real images, its feedback to G
stops being useful and FID climbs.  DiffAugment shows D real *and* generated
images only through the same random, differentiable transformations, so D
cannot memorise the exact images while G still learns the untransformed
distribution (the transformations' gradients reach G).  The three policies of
the paper's code (``DiffAugment_pytorch.py``), for images in [-1, 1]:

* ``color``: brightness + U(-0.5, 0.5); saturation x U(0, 2) around each
  pixel's mean over channels; contrast x U(0.5, 1.5) around the image's mean.
* ``translation``: a shift of up to 1/8 of the side in x and y (an integer
  number of pixels, per image), zeros entering from the border.
* ``cutout``: one square of half the side set to zero, centred anywhere in the
  image (clipped at the border, as in the paper's code).

Every image of a batch draws its own parameters from the global torch RNG (so a
checkpoint's RNG state repeats them on resume).  In a group of processes that
each hold a share of the batch, every rank draws for the whole batch and keeps
its share (:class:`BatchDraws`), so a distributed run augments each image as
one process would.  The functions keep the input's dtype (bfloat16 under
autocast) and memory format (channels_last).

The same module holds bCR's consistency term (Zhao et al. 2020, "Improved
consistency regularization for GANs") and the setting's resolution: ``auto``
turns augmentation on for sets under :data:`AUTO_MAX_IMAGES` images, without
the colour policy when the conditions are colours (it would teach G that a red
condition may come out pink or grey).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import torch
import torch.nn.functional as F

from studio.errors import ConfigError

__all__ = [
    "AUTO_MAX_IMAGES",
    "BatchDraws",
    "POLICIES",
    "colour_conditions",
    "consistency_loss",
    "diff_augment",
    "parse_policy",
    "policy_text",
    "resolve_policy",
    "rand_color",
    "rand_cutout",
    "rand_translation",
]

# The canonical order the policies are applied in (the paper's 'color,translation,cutout').
POLICIES = ("color", "translation", "cutout")
_ALIASES = {"colour": "color"}
# 'auto' augments sets smaller than this; the paper's gains are largest at 10-20% of CIFAR-10 (5,000-10,000).
AUTO_MAX_IMAGES = 20_000
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


# --- the random parameters -------------------------------------------------------
class BatchDraws:
    """Where the random parameters of a batch's augmentations come from: the global torch RNG.

    ``share``/``world``: in a group of ``world`` processes, each holding its share of
    the batch, every rank draws for the whole batch and ``share`` keeps its part
    (:meth:`studio.core.distributed.Distributed.share`); one process draws for its batch.
    """

    def __init__(self, share: Callable[[torch.Tensor], torch.Tensor] | None = None, world: int = 1):
        self.share = share
        self.world = world

    def _batch(self, drawn: Callable[[int], torch.Tensor], n: int) -> torch.Tensor:
        return drawn(n) if self.share is None or self.world == 1 else self.share(drawn(self.world * n))

    def rand(self, n: int, device) -> torch.Tensor:
        """(n,) float32 in [0, 1)."""
        return self._batch(lambda m: torch.rand(m, device=device), n)

    def randint(self, low: int, high: int, n: int, device) -> torch.Tensor:
        """(n,) int64 in [low, high)."""
        return self._batch(lambda m: torch.randint(low, high, (m,), device=device), n)


ONE_PROCESS = BatchDraws()


# --- the policies --------------------------------------------------------------
def _uniform(x: torch.Tensor, low: float, high: float, draws: BatchDraws) -> torch.Tensor:
    """One U(low, high) factor per image, shaped (B, 1, 1, 1), in x's dtype."""
    u = draws.rand(x.shape[0], x.device).view(-1, 1, 1, 1)
    return u.mul_(high - low).add_(low).to(x.dtype)


def rand_color(x: torch.Tensor, draws: BatchDraws = ONE_PROCESS) -> torch.Tensor:
    """Random brightness, saturation and contrast per image (the paper's ``color``), in one pass.

    The paper's three steps, x + b; then (x - grey) * s + grey around each pixel's
    channel mean; then (x - m) * c + m around the image's mean, compose to
    c s x + c (1 - s) grey(x) + b + (1 - c) mean(x), with grey and mean those of
    the input (brightness shifts both by b; saturation leaves the image mean).
    """
    b, s, c = _uniform(x, -0.5, 0.5, draws), _uniform(x, 0.0, 2.0, draws), _uniform(x, 0.5, 1.5, draws)
    grey = x.mean(dim=1, keepdim=True)
    mean = grey.mean(dim=(2, 3), keepdim=True)
    return x * (c * s) + grey * (c * (1 - s)) + (b + mean * (1 - c))


def rand_translation(
    x: torch.Tensor, draws: BatchDraws = ONE_PROCESS, ratio: float = TRANSLATION_RATIO
) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its side (whole pixels, x and y), zeros entering."""
    b, c, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = draws.randint(-sh, sh + 1, b, x.device)[:, None]
    dx = draws.randint(-sw, sw + 1, b, x.device)[:, None]
    # Output pixel (i, j) reads input (i + dy, j + dx), through a one-pixel zero border: one row gather from
    # the padded images seen as (B * (H + 2) * (W + 2), C), a free view of channels_last memory.
    rows = (torch.arange(h, device=x.device) + dy + 1).clamp_(0, h + 1)
    cols = (torch.arange(w, device=x.device) + dx + 1).clamp_(0, w + 1)
    first_row = torch.arange(b, device=x.device)[:, None, None] * (h + 2)
    index = (first_row + rows[:, :, None]) * (w + 2) + cols[:, None, :]
    padded = F.pad(x, (1, 1, 1, 1)).permute(0, 2, 3, 1).reshape(-1, c)
    return padded.index_select(0, index.flatten()).view(b, h, w, c).permute(0, 3, 1, 2)


def cutout_mask(x: torch.Tensor, draws: BatchDraws = ONE_PROCESS, ratio: float = CUTOUT_RATIO) -> torch.Tensor:
    """(B, 1, H, W) in x's dtype: 0 inside one random square of ``ratio`` of the side per image, 1 elsewhere."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    # The paper's draw: the centre anywhere in [0, side] (an even-sided square), clipped at the border.
    cy = draws.randint(0, h + (1 - ch % 2), b, x.device)[:, None]
    cx = draws.randint(0, w + (1 - cw % 2), b, x.device)[:, None]
    ry = torch.arange(h, device=x.device) - (cy - ch // 2)
    rx = torch.arange(w, device=x.device) - (cx - cw // 2)
    inside = ((ry >= 0) & (ry < ch))[:, :, None] & ((rx >= 0) & (rx < cw))[:, None, :]
    return (~inside).to(x.dtype)[:, None]


def rand_cutout(x: torch.Tensor, draws: BatchDraws = ONE_PROCESS, ratio: float = CUTOUT_RATIO) -> torch.Tensor:
    """Zero one random square of ``ratio`` of the side in each image."""
    return x * cutout_mask(x, draws, ratio)


_FUNCTIONS: dict[str, Callable[[torch.Tensor, BatchDraws], torch.Tensor]] = {
    "color": rand_color,
    "translation": rand_translation,
    "cutout": rand_cutout,
}


def diff_augment(x: torch.Tensor, policy: tuple[str, ...], draws: BatchDraws = ONE_PROCESS) -> torch.Tensor:
    """``x`` (B, C, H, W) in [-1, 1] through ``policy``'s transformations; the input itself when it is empty."""
    if not policy:
        return x
    channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    for name in policy:
        x = _FUNCTIONS[name](x, draws)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x.contiguous()


# --- consistency regularisation ------------------------------------------------
def consistency_loss(
    discriminator, images: torch.Tensor, cond: torch.Tensor, logit: torch.Tensor, draws: BatchDraws = ONE_PROCESS
) -> torch.Tensor:
    """bCR's term for one batch: mean over images of (D(x) - D(T(x)))^2, T a random translation.

    ``logit``: D's real/fake output on ``images`` (computed by the caller's step
    already). Both sides keep their gradients, as in the paper. The translation
    is the paper's T without its flip, which would turn digits and text into
    other glyphs.
    """
    shifted, _ = discriminator(rand_translation(images, draws), cond)
    return (logit.float() - shifted.float()).pow(2).mean()


# --- the setting -----------------------------------------------------------------
def parse_policy(text: str, source: str = "config") -> tuple[str, ...]:
    """'translation,cutout' -> ('translation', 'cutout') in the canonical order; 'off' -> ().

    'auto' is not a policy: :func:`resolve_policy` decides it.
    """
    if not isinstance(text, str):
        raise ConfigError(f"{source}: diffaugment must be text, got {text!r}")
    cleaned = text.strip().lower()
    if cleaned in ("off", "none", ""):
        return ()
    names = [_ALIASES.get(p.strip(), p.strip()) for p in cleaned.split(",")]
    unknown = [n for n in names if n not in POLICIES]
    if unknown:
        raise ConfigError(
            f"{source}: diffaugment is {text!r}; {', '.join(repr(n) for n in unknown)} is not a policy. "
            f"Give auto, off, or a comma list of {', '.join(POLICIES)}"
        )
    return tuple(p for p in POLICIES if p in names)


def policy_text(policy: tuple[str, ...]) -> str:
    """How a resolved policy is reported: 'translation,cutout', or 'off'."""
    return ",".join(policy) if policy else "off"


# Words that name a colour (hair, eye and object colours of the built-in and common labelled sets).
_COLOUR_WORDS = frozenset(
    "black white gray grey silver red maroon brown orange gold golden yellow olive lime green teal aqua cyan "
    "azure blue navy violet purple magenta pink blond blonde brunette auburn ginger beige".split()
)
_WORD = re.compile(r"[a-z]+")


def _names_colour(text: str) -> bool:
    return any(word in _COLOUR_WORDS for word in _WORD.findall(text.lower().replace("_", " ")))


def _condition_groups(space) -> list[tuple[str, list[str]]]:
    """A space's conditions as (group name, value names): an attribute and its values, or its label names."""
    kind = getattr(space, "kind", "none")
    if kind == "multi-attribute":
        return [(name, list(values)) for name, values in space.attributes]
    if kind == "categorical":
        return [(space.attribute, list(space.names))]
    if kind == "multi-label":
        return [("label", list(space.names))]
    return []


def colour_conditions(space) -> str:
    """Why ``space``'s conditions are colours ('' when they are not).

    A continuous colour space always is; a categorical, multi-attribute or
    multi-label space is when an attribute's name names a colour (CelebA's
    Black_Hair) or at least half of its values do (hair: orange, white, aqua...;
    objects: red cube, gray sphere...).
    """
    if space is None or not getattr(space, "is_conditional", False):
        return ""
    if space.kind == "colour":
        return f"its conditions are RGB colours ({', '.join(space.attributes)})"
    for group, values in _condition_groups(space):
        if _names_colour(group):
            return f"its attribute {group!r} names a colour"
        coloured = [v for v in values if _names_colour(v)]
        if values and 2 * len(coloured) >= len(values):
            shown = ", ".join(coloured[:3]) + (", ..." if len(coloured) > 3 else "")
            return f"the {group} conditions name colours ({shown})"
    return ""


def check_policy(text: str, space, source: str = "config") -> None:
    """Refuse an explicit colour policy for a model conditioned on colours, saying why."""
    if text.strip().lower() == "auto" or "color" not in parse_policy(text, source):
        return
    reason = colour_conditions(space)
    if reason:
        raise ConfigError(
            f"{source}: diffaugment includes color, but {reason}: random brightness and saturation would "
            "teach G to draw a condition's colour as other colours. Drop color (e.g. translation,cutout) "
            "or use auto"
        )


def resolve_policy(config, dataset_size: int, space, source: str = "config") -> tuple[str, ...]:
    """The policy a run uses: ``config.diffaugment`` with 'auto' decided by the set's size and conditions.

    ``space``: the condition space the models are conditioned on (None or an
    unconditional space for an unconditional model, which may change colours freely).
    """
    text = config.diffaugment
    if text.strip().lower() == "auto":
        if dataset_size >= AUTO_MAX_IMAGES:
            return ()
        return ("translation", "cutout") if colour_conditions(space) else POLICIES
    check_policy(text, space, source)
    return parse_policy(text, source)

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

The interface lives in :mod:`.base`, each kind in a module of its own.  A
new kind: a module with a subclass decorated with :func:`register_space`,
and its import below (the registry line).
"""

from studio.core.conditions.base import (
    INTERPOLATION_MODES,
    ConditionGrid,
    ConditionSpace,
    ExplorerChoices,
    register_space,
    space_from_dict,
    space_kinds,
)

# The registry: importing a kind's module registers it, one line per kind.
from studio.core.conditions.categorical import Categorical
from studio.core.conditions.colour import ColourSpace, colour_hex
from studio.core.conditions.multi_attribute import MultiAttribute
from studio.core.conditions.multi_label import MultiLabel
from studio.core.conditions.none import NoCondition

__all__ = [
    "ConditionSpace",
    "NoCondition",
    "Categorical",
    "MultiAttribute",
    "MultiLabel",
    "ColourSpace",
    "colour_hex",
    "ConditionGrid",
    "ExplorerChoices",
    "INTERPOLATION_MODES",
    "register_space",
    "space_kinds",
    "space_from_dict",
]

"""Plain words for what the window shows first; the exact technical form goes in the tooltip."""

from __future__ import annotations

__all__ = ["condition_words", "condition_exact"]


def _some(names, n: int = 4) -> str:
    names = [str(x) for x in names]
    return ", ".join(names[:n]) + (", …" if len(names) > n else "")


def condition_words(space) -> str:
    """'one of 10 classes (0, 1, 2, 3, …)', 'hair (1 of 12: …) and eyes (1 of 10: …)', '1 to 3 objects out of 24'."""
    if space is None or not getattr(space, "is_conditional", False):
        return "none (unlabelled images)"
    kind = getattr(space, "kind", "")
    if kind == "categorical":
        return f"one of {space.dim} classes ({_some(space.names)})"
    if kind == "multi-attribute":
        return " and ".join(f"{name} (1 of {len(values)}: {_some(values, 3)})" for name, values in space.attributes)
    if kind == "multi-label":
        low, high = space.min_count, space.max_count
        count = f"{low} to {high}" if low != high else f"{low}"
        return f"{count} objects out of {space.dim} ({_some(space.names, 3)})"
    if kind == "colour":
        return "any colour for " + " and ".join(space.attributes)
    return space.describe()


def condition_exact(space) -> str:
    """The technical form for a tooltip: 'categorical(10)', 'multi-label(24, 1..3)', with the encoding's size."""
    if space is None or not getattr(space, "is_conditional", False):
        return "no condition: unconditional generation"
    return f"{space.describe()}; G and D receive a {space.dim}-number encoding"

"""What the evaluation panel shows of a run's results: the curves over epochs and a judge's scores.

Plain data, no widgets: rows as :func:`studio.eval.results.load_results` reads them.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["describe_scores", "curve_data", "per_class", "family", "FAMILY_NAMES"]


def describe_scores(scores: dict, n: int | None = None) -> str:
    """{'accuracy': 0.93}, 20 -> 'accuracy 0.930 on 20 held-out images'."""
    parts = [f"{k} {v:.3f}" for k, v in scores.items() if k != "n" and isinstance(v, (int, float))]
    text = ", ".join(parts) or "no scores"
    n = n or scores.get("n")
    return f"{text} on {n} held-out images" if n else text


def per_class(row: dict) -> bool:
    """A row of one class's or attribute value's accuracy (``cond_acc:<caption>``)."""
    return ":" in str(row.get("metric", ""))


def _generator_row(row: dict) -> bool:
    """A row of a training checkpoint's G, which the plot draws at its epoch (not an average or the EMA)."""
    return (
        row.get("which") == "g"
        and isinstance(row.get("epoch"), int)
        and Path(str(row.get("checkpoint", ""))).name.startswith("epoch_")
    )


def curve_data(rows: list[dict]) -> dict[str, tuple[list[int], list[float]]]:
    """One curve per metric over the epochs of the run's checkpoints: {label: (epochs, values)}.

    Figures of one metric in different feature spaces or on different
    conditions are not comparable, so they get curves of their own; the
    newest figure of an epoch wins. Standard deviations (``kid_std``) and
    per-class accuracies stay in the table.
    """
    plotted = [
        r
        for r in rows
        if _generator_row(r)
        and not per_class(r)
        and not str(r.get("metric", "")).endswith("_std")
        and r.get("value") is not None
    ]
    spaces: dict[str, set] = {}
    conditions: dict[str, set] = {}
    for r in plotted:
        spaces.setdefault(r["metric"], set()).add(r.get("feature_space", ""))
        conditions.setdefault(r["metric"], set()).add(r.get("conditions", ""))
    points: dict[str, dict[int, float]] = {}
    for r in plotted:
        metric = r["metric"]
        label = metric
        if len(spaces[metric]) > 1 and r.get("feature_space"):
            label += f" [{r['feature_space']}]"
        if len(conditions[metric]) > 1 and r.get("conditions"):
            label += f" ({r['conditions']})"
        points.setdefault(label, {})[int(r["epoch"])] = float(r["value"])
    return {label: (sorted(p), [p[e] for e in sorted(p)]) for label, p in points.items()}


FAMILY_NAMES = {"cond_acc": "accuracy", "fid": "FID", "kid": "KID", "is": "IS"}


def family(label: str) -> str:
    """The plot a curve goes to: every conditional accuracy on one (all in [0, 1]), each other metric alone."""
    metric = label.split(" ")[0]
    return "cond_acc" if metric.startswith("cond_acc") else metric

"""What the evaluation panel shows of a run's results: the curves over epochs and a judge's scores.

Plain data, no widgets: rows as :func:`studio.eval.results.load_results` reads them.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["describe_scores", "curve_data", "extra_points", "per_class", "family", "FAMILY_NAMES"]


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
    points: dict[str, dict[int, float]] = {}
    labels = _labeller(plotted)
    for r in plotted:
        points.setdefault(labels(r), {})[int(r["epoch"])] = float(r["value"])
    return {label: (sorted(p), [p[e] for e in sorted(p)]) for label, p in points.items()}


def _labeller(rows: list[dict]):
    """A curve's label for a row: its metric, with the feature space, conditions and N where they differ
    (figures at another N are not comparable: FID in particular falls as N grows)."""
    spaces: dict[str, set] = {}
    conditions: dict[str, set] = {}
    sizes: dict[str, set] = {}
    for r in rows:
        spaces.setdefault(r["metric"], set()).add(r.get("feature_space", ""))
        conditions.setdefault(r["metric"], set()).add(r.get("conditions", ""))
        sizes.setdefault(r["metric"], set()).add(r.get("n"))

    def label(r: dict) -> str:
        metric = r["metric"]
        text = metric
        if len(spaces[metric]) > 1 and r.get("feature_space"):
            text += f" [{r['feature_space']}]"
        if len(conditions[metric]) > 1 and r.get("conditions"):
            text += f" ({r['conditions']})"
        if len(sizes[metric]) > 1 and r.get("n"):
            text += f" N={r['n']}"
        return text

    return label


def _epoch_of(row: dict) -> int | None:
    """Where an EMA or an average sits on the epoch axis: its epoch, else the last epoch it averages."""
    if isinstance(row.get("epoch"), int) and row["epoch"] > 0:
        return int(row["epoch"])
    found = re.findall(r"(\d+)", Path(str(row.get("checkpoint", ""))).stem)
    return int(found[-1]) if found else None


def extra_points(rows: list[dict]) -> dict[str, tuple[list[int], list[float]]]:
    """The EMA's and the saved averages' figures, as points beside the curves: {label: (epochs, values)}.

    Labels read 'fid · EMA' or 'fid · average_epochs_0041-0050'; the newest figure of each wins.
    """
    chosen = [
        r
        for r in rows
        if r.get("which") in ("ema", "average")
        and not per_class(r)
        and not str(r.get("metric", "")).endswith("_std")
        and r.get("value") is not None
        and _epoch_of(r) is not None
    ]
    labels = _labeller(chosen)
    points: dict[str, dict[int, float]] = {}
    for r in chosen:
        what = "EMA" if r["which"] == "ema" else Path(str(r.get("checkpoint", ""))).stem
        points.setdefault(f"{labels(r)} · {what}", {})[_epoch_of(r)] = float(r["value"])
    return {label: (sorted(p), [p[e] for e in sorted(p)]) for label, p in points.items()}


FAMILY_NAMES = {
    "cond_acc": "accuracy",
    "fid": "FID",
    "kid": "KID",
    "is": "IS",
    "prdc": "PRDC",
    "ifid": "iFID",
    "cas": "CAS",
}
_PRDC = ("precision", "recall", "density", "coverage")


def family(label: str) -> str:
    """The plot a curve goes to: conditional accuracies on one, CAS on one, precision/recall/density/coverage
    on one (each in [0, 1], density about 1), each other metric alone."""
    metric = label.split(" ")[0].split("·")[0]
    if metric.startswith(("cond_acc", "cas")):  # accuracies in [0, 1] share a plot
        return "cas" if metric.startswith("cas") else "cond_acc"
    return "prdc" if metric in _PRDC else metric

"""Several runs side by side: their curves on one axis, their settings' differences, their scores.

The window's runs table and comparison plots and any script read runs through
these functions; nothing here draws.

* :func:`load_curves` reads each run's metrics.jsonl into arrays against the
  chosen x axis (step, epoch, images seen, training time), with the marked
  events of the run (resumes, evaluations, alarms) placed on that axis.
* :func:`run_row` is one line of the runs table: the run's summary (name,
  tags, state, epochs, speed, disk use) and its best and last scores.
* :func:`config_diff` names the settings whose values differ between runs.
* :func:`evaluation_table` lines up the evaluation figures of several runs.
* :func:`use_run_settings` copies a run's saved settings into a project.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from studio.core.atomic import atomic_write_text
from studio.core.events import METRIC_NAMES
from studio.core.rundir import RunDirectory
from studio.errors import StudioError

__all__ = [
    "X_AXES",
    "SERIES",
    "higher_is_better",
    "metric_label",
    "RunEvent",
    "RunCurves",
    "Score",
    "EvaluationTable",
    "load_curves",
    "run_events",
    "config_diff",
    "run_row",
    "run_scores",
    "evaluation_table",
    "sample_at",
    "use_run_settings",
    "series_csv",
    "write_series_csv",
]

# The x axes a comparison can use, with their axis labels.
X_AXES = {
    "step": "step",
    "epoch": "epoch",
    "images": "images seen",
    "time": "training time (s)",
}
SERIES = (*METRIC_NAMES, "g_lr", "d_lr")
# The score a runs table shows first: conditional accuracy (over all attributes), then FID ...
_SCORE_ORDER = ("cond_acc", "cond_acc_all", "fid", "kid", "is", "ifid", "cas", "cas_all")
_HIGHER = ("cond_acc", "is", "cas", "precision", "recall", "density", "coverage")
_LOWER = ("fid", "kid", "ifid")


_LABELS = {"fid": "FID", "kid": "KID", "is": "IS", "ifid": "iFID", "cas": "CAS", "cond_acc": "accuracy"}


def metric_label(metric: str) -> str:
    """A metric's short name for a table: cond_acc_all -> 'accuracy all', fid -> 'FID'."""
    if metric in _LABELS:
        return _LABELS[metric]
    for prefix in ("cond_acc", "cas"):
        if metric.startswith(prefix + "_"):
            return f"{_LABELS[prefix]} {metric[len(prefix) + 1 :]}"
    return metric


def higher_is_better(metric: str) -> bool | None:
    """True for accuracies, IS, precision ...; False for distances (FID, KID, iFID); None: not a score."""
    base = metric.split(":")[0]
    if base in _LOWER:
        return False
    if base in _HIGHER or base.startswith(("cond_acc_", "cas_")):
        return True
    return None


_RUN_EVENTS = {"resume": "resume", "alarm": "alarm", "score": "evaluation", "evaluation": "evaluation"}


def _run(path) -> RunDirectory:
    return path if isinstance(path, RunDirectory) else RunDirectory(Path(path).expanduser())


def _number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    return float(value)


def _column(rows: list[dict], key: str) -> np.ndarray:
    """``row[key]`` of every row as floats, NaN where missing (None converts to NaN by itself)."""
    values = [row.get(key) for row in rows]
    try:
        column = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):  # a text or list where a number belongs: that value only is missing
        return np.array([_number(v) for v in values], dtype=np.float64)
    if column.ndim != 1:
        return np.array([_number(v) for v in values], dtype=np.float64)
    return column


# --- curves ------------------------------------------------------------------------------------


@dataclass
class RunEvent:
    """Something that happened in a run, marked on its plots."""

    kind: str  # resume | evaluation | alarm
    step: float
    epoch: int | None
    text: str
    x: float = math.nan  # on the curves' x axis
    run: str = ""  # the run's name, in a comparison


@dataclass
class RunCurves:
    """One run's step figures against one x axis (NaN where a figure was not reported)."""

    path: Path
    name: str
    x_axis: str
    steps: np.ndarray
    x: np.ndarray
    series: dict[str, np.ndarray]
    events: list[RunEvent] = field(default_factory=list)

    @property
    def x_label(self) -> str:
        return X_AXES[self.x_axis]

    def has(self, key: str) -> bool:
        y = self.series.get(key)
        return y is not None and bool(np.isfinite(y).any())


def _epoch_ends(rows: list[dict]) -> dict[int, float]:
    """Global step at the end of each finished epoch."""
    ends = {}
    for row in rows:
        if row.get("kind") == "epoch" and isinstance(row.get("epoch"), int):
            ends[row["epoch"]] = _number(row.get("step"))
    return ends


def _fractional_epochs(steps: np.ndarray, epochs: np.ndarray, ends: dict[int, float]) -> np.ndarray:
    """Epoch as a number with the fraction done: step 30 of a 40-step second epoch is 1.75."""
    out = np.empty(len(steps))
    spans = [ends[e] - ends.get(e - 1, 0.0) for e in sorted(ends) if ends[e] - ends.get(e - 1, 0.0) > 0]
    typical = spans[-1] if spans else None
    epochs = np.where(np.isfinite(epochs) & (epochs >= 1), epochs, 1).astype(np.int64)
    newest: dict[int, float] = {}  # the newest report of each epoch
    for step, epoch in zip(steps.tolist(), epochs.tolist()):
        newest[epoch] = max(newest.get(epoch, step), step)
    for i, (step, epoch) in enumerate(zip(steps.tolist(), epochs.tolist())):
        start = ends.get(epoch - 1, 0.0 if epoch == 1 else math.nan)
        span = ends[epoch] - start if epoch in ends and math.isfinite(start) else typical
        if not math.isfinite(start) and typical:
            start = (epoch - 1) * typical
        if not span or not math.isfinite(start):
            # The first epoch has not ended yet: its newest report stands for its end.
            span = max(newest[epoch] - (start if math.isfinite(start) else 0.0), 1.0)
            start = start if math.isfinite(start) else 0.0
        out[i] = (epoch - 1) + min(max((step - start) / span, 0.0), 1.0)
    return out


def _training_time(rows: list[dict], batch_size: int) -> np.ndarray:
    """Seconds of training up to each step row.

    Between two reports of one session the clock's difference counts; across
    a resume (or for rows written before the clock was logged) the report's
    own images per second stands in, so the hours a run sat stopped do not.
    """
    out = []
    total, prev_step, prev_time, resumed = 0.0, 0.0, math.nan, False
    for row in rows:
        kind = row.get("kind")
        if kind == "resume":
            resumed = True
            prev_step = _number(row.get("step"))
            continue
        if kind != "step":
            continue
        step, when = _number(row.get("step")), _number(row.get("time"))
        steps = max(step - prev_step, 0.0) if math.isfinite(prev_step) else 0.0
        rate = _number(row.get("images_per_second"))
        estimate = steps * batch_size / rate if rate > 0 else 0.0
        if math.isfinite(when) and math.isfinite(prev_time) and not resumed and when >= prev_time:
            total += when - prev_time
        else:
            total += estimate
        out.append(total)
        prev_step, prev_time, resumed = step, when, False
    return np.asarray(out, dtype=np.float64)


def _results(run: RunDirectory) -> list[dict]:
    from studio.eval.results import load_results

    try:
        return load_results(run.path)
    except StudioError:
        return []  # a damaged results file is reported where the run's figures are shown, not on plots


def run_events(run, rows: list[dict] | None = None, results: list[dict] | None = None) -> list[RunEvent]:
    """Resumes and alarms from the run's metrics, evaluations from its results, oldest step first."""
    run = _run(run)
    rows = run.read_metrics(warn=False) if rows is None else rows
    results = _results(run) if results is None else results
    events = []
    for row in rows:
        kind = _RUN_EVENTS.get(str(row.get("kind")))
        if kind is None:
            continue
        step, epoch = _number(row.get("step")), row.get("epoch")
        epoch = epoch if isinstance(epoch, int) else None
        if kind == "resume":
            text = f"resumed at epoch {epoch}, step {int(step) if math.isfinite(step) else '?'}"
        elif row.get("kind") == "score":
            figures = ", ".join(f"{r['metric']} {r['value']:.3g} ({r['which']})" for r in _score_rows(row))
            text = f"scored epoch {epoch}: {figures}"
        else:
            message = row.get("message") or row.get("text") or row.get("reason") or kind
            text = f"{kind}: {message}" if kind == "alarm" else str(message)
        if math.isfinite(step):
            events.append(RunEvent(kind, step, epoch, text))
    ends = _epoch_ends(rows)
    by_epoch: dict[int, dict[str, float]] = {}
    for r in results:
        epoch, metric, value = r.get("epoch"), str(r.get("metric", "")), _number(r.get("value"))
        if not isinstance(epoch, int) or ":" in metric or r.get("which") == "real" or not math.isfinite(value):
            continue
        if r.get("which") == "g" or metric not in by_epoch.get(epoch, {}):  # the checkpoint's own figure first
            by_epoch.setdefault(epoch, {})[metric] = value
    for epoch, figures in sorted(by_epoch.items()):
        if epoch not in ends:
            continue
        shown = ", ".join(f"{m} {figures[m]:.3g}" for m in sorted(figures, key=_score_rank))
        events.append(RunEvent("evaluation", ends[epoch], epoch, f"evaluated epoch {epoch}: {shown}"))
    return sorted(events, key=lambda e: e.step)


def load_curves(run_paths, x_axis: str = "step", names=None) -> list[RunCurves]:
    """Each run's step figures (see :data:`SERIES`) against ``x_axis`` (a key of :data:`X_AXES`).

    ``names`` (one per run) label the curves; by default each run's id. A run
    whose settings cannot be read is refused by name.
    """
    if x_axis not in X_AXES:
        raise StudioError(f"x axis {x_axis!r}: choose from {', '.join(X_AXES)}")
    out = []
    paths = list(run_paths)
    names = list(names) if names is not None else [None] * len(paths)
    for path, name in zip(paths, names):
        run = _run(path)
        config = run.read_config()
        rows = run.read_metrics(warn=False)
        step_rows = [r for r in rows if r.get("kind") == "step"]
        steps = _column(step_rows, "step")
        series = {key: _column(step_rows, key) for key in SERIES}
        if x_axis == "step":
            x = steps.copy()
        elif x_axis == "images":
            x = steps * config.batch_size
        elif x_axis == "epoch":
            epochs = _column(step_rows, "epoch")
            x = _fractional_epochs(steps, epochs, _epoch_ends(rows))
        else:
            x = _training_time(rows, config.batch_size)
        events = run_events(run, rows)
        for event in events:
            event.x = float(np.interp(event.step, steps, x)) if len(steps) else math.nan
            event.run = name or run.run_id
        out.append(RunCurves(run.path, name or run.run_id, x_axis, steps, x, series, events))
    return out


# --- settings ------------------------------------------------------------------------------------


def _as_dict(config) -> dict:
    return config.to_dict() if hasattr(config, "to_dict") else dict(config or {})


def config_diff(configs) -> dict[str, list]:
    """{key: [value of each config]} for the settings whose values are not all equal (None: not set)."""
    dicts = [_as_dict(c) for c in configs]
    keys: list[str] = []
    for d in dicts:
        keys += [k for k in d if k not in keys]
    diff = {}
    for key in keys:
        values = [d.get(key) for d in dicts]
        if any(v != values[0] for v in values[1:]):
            diff[key] = values
    return diff


def use_run_settings(project, run) -> object:
    """Copy ``run``'s saved settings into ``project`` (in memory: the project file changes when it is saved).

    Returns the settings, a :class:`~studio.core.config.TrainConfig`.
    """
    config = _run(run).read_config()
    project.config = config
    return config


# --- scores and the runs table ------------------------------------------------------------------


def _score_rank(metric: str) -> tuple[int, str]:
    return (_SCORE_ORDER.index(metric) if metric in _SCORE_ORDER else len(_SCORE_ORDER), metric)


@dataclass
class Score:
    """A run's best and last figure of one metric."""

    metric: str
    best: float
    best_of: str  # the generator that scored it
    last: float
    last_of: str

    def text(self, value: float) -> str:
        return f"{metric_label(self.metric)} {value:.4g}"


def _score_rows(row: dict) -> list[dict]:
    """The figures of a score row the trainer logged (g_cond_acc, ema_fid, ...) as evaluation results."""
    out = []
    epoch = row.get("epoch")
    for key, value in row.items():
        which, _, metric = key.partition("_")
        if which in ("g", "ema") and higher_is_better(metric) is not None and math.isfinite(_number(value)):
            label = f"epoch {epoch}" if which == "g" else f"EMA at epoch {epoch}"
            out.append({"metric": metric, "value": float(value), "which": which, "epoch": epoch, "generator": label})
    return out


def run_scores(run, results: list[dict] | None = None, rows: list[dict] | None = None) -> list[Score]:
    """Best and last figure of each headline metric the run was scored with, headline metric first.

    The figures: its evaluations (evaluation/results.json) and the scores logged while it
    trained (metrics rows of kind 'score'). Last: the newest epoch scored; best: over every
    generator scored.
    """
    run = _run(run)
    results = _results(run) if results is None else results
    rows = run.read_metrics(warn=False) if rows is None else rows
    results = [r for row in rows if row.get("kind") == "score" for r in _score_rows(row)] + list(results)
    by_metric: dict[str, list[dict]] = {}
    for r in results:
        metric, value = str(r.get("metric", "")), _number(r.get("value"))
        ranked = ":" not in metric and higher_is_better(metric) is not None
        if ranked and r.get("which") != "real" and math.isfinite(value):
            by_metric.setdefault(metric, []).append(r)
    scores = []
    for metric in sorted(by_metric, key=_score_rank):
        rows = by_metric[metric]
        higher = higher_is_better(metric)
        best = max(rows, key=lambda r: r["value"] if higher else -r["value"])
        last = max(rows, key=lambda r: (r.get("epoch") if isinstance(r.get("epoch"), int) else -1, str(r.get("time"))))
        best_of, last_of = str(best.get("generator", "")), str(last.get("generator", ""))
        scores.append(Score(metric, float(best["value"]), best_of, float(last["value"]), last_of))
    return scores


def _disk_bytes(path: Path) -> int:
    total = 0
    for p in path.rglob("*"):
        try:
            if p.is_file():
                total += p.stat().st_size
        except OSError:
            continue
    return total


def _summary_from_files(run: RunDirectory) -> dict:
    """The fields of a run summary, read from the run folder alone."""
    from studio.app.checkpoints import RunState

    summary = {
        "id": run.run_id,
        "path": str(run.path),
        "name": run.run_id,
        "tags": [],
        "note": "",
        "state": "unreadable",
        "epochs_done": 0,
        "epochs_planned": 0,
        "disk_bytes": _disk_bytes(run.path),
        "images_per_second": None,
        "config": {},
    }
    try:
        config = run.read_config()
    except StudioError as exc:
        summary["note"] = str(exc)
        return summary
    found = RunState.of(run)
    done = found.epochs_done
    if found.state == "ready":
        state = "completed" if done >= config.epochs else "stopped"
    else:
        state = found.state
    rates = [
        _number(r.get("images_per_second"))
        for r in run.read_metrics(warn=False)
        if r.get("kind") == "epoch" and _number(r.get("images_per_second")) > 0
    ]
    summary.update(
        state=state,
        epochs_done=done,
        epochs_planned=config.epochs,
        images_per_second=rates[-1] if rates else None,
        config=config.to_dict(),
    )
    return summary


def _summary(run: RunDirectory) -> dict:
    try:
        from studio.app.run_summary import run_summary
    except ImportError:
        return _summary_from_files(run)
    try:
        summary = dict(run_summary(run.path))
    except StudioError as exc:
        summary = _summary_from_files(run)
        summary["note"] = summary["note"] or str(exc)
        return summary
    defaults = _summary_from_files(run) if any(k not in summary for k in ("state", "config", "epochs_done")) else {}
    return {**defaults, **summary}


def run_row(run) -> dict:
    """One line of the runs table: the run's summary plus ``scores`` (:class:`Score` list, headline first)."""
    run = _run(run)
    row = _summary(run)
    config = row.get("config")
    if config is not None and not isinstance(config, dict):
        row["config"] = _as_dict(config)
    row["tags"] = [str(t) for t in row.get("tags") or []]
    row["name"] = row.get("name") or run.run_id
    row["scores"] = run_scores(run)
    return row


# --- evaluation figures side by side -------------------------------------------------------------


@dataclass
class EvaluationTable:
    """One line per (run, generator) with its newest figure of each metric."""

    metrics: list[str]
    rows: list[dict]  # run, generator, epoch, values {metric: value}, n {metric: images}

    def n_text(self, row: dict) -> str:
        ns = sorted(set(row["n"].values()))
        return "/".join(str(n) for n in ns)


def evaluation_table(run_paths, names=None) -> EvaluationTable:
    """The evaluation figures of several runs, lined up: per-class figures left out, newest figure kept."""
    metrics: list[str] = []
    lines: dict[tuple, dict] = {}
    paths = list(run_paths)
    names = list(names) if names is not None else [None] * len(paths)
    for path, name in zip(paths, names):
        run = _run(path)
        for r in _results(run):
            metric = str(r.get("metric", ""))
            if ":" in metric or r.get("which") == "real":
                continue
            key = (str(run.path), str(r.get("checkpoint", "")), str(r.get("which", "")))
            line = lines.setdefault(
                key,
                {
                    "run": name or run.run_id,
                    "generator": str(r.get("generator", "")),
                    "epoch": r.get("epoch"),
                    "values": {},
                    "n": {},
                    "time": {},
                },
            )
            when = str(r.get("time", ""))
            if when >= line["time"].get(metric, ""):
                line["values"][metric] = _number(r.get("value"))
                line["n"][metric] = r.get("n")
                line["time"][metric] = when
            if metric not in metrics:
                metrics.append(metric)
    metrics.sort(key=_score_rank)
    rows = []
    for line in lines.values():
        line.pop("time")
        rows.append(line)
    return EvaluationTable(metrics, rows)


# --- samples and files ----------------------------------------------------------------------------


def sample_at(run, epoch: int) -> Path | None:
    """The run's sample grid of ``epoch``, or None when it has none."""
    path = _run(run).sample_path(int(epoch))
    return path if path.is_file() else None


def series_csv(x_label: str, series) -> str:
    """CSV text of (name, x, y) series in long form: one line per point, ``series,<x_label>,value``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["series", x_label, "value"])
    for name, xs, ys in series:
        for x, y in zip(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)):
            writer.writerow([name, repr(float(x)), "" if not math.isfinite(y) else repr(float(y))])
    return buffer.getvalue()


def write_series_csv(path, x_label: str, series) -> Path:
    """Write :func:`series_csv` to ``path`` atomically."""
    path = Path(path).expanduser()
    atomic_write_text(path, series_csv(x_label, series))
    return path

"""Sweeps: one run per combination of settings, and one table of how the runs ended.

    --set d_lr=1e-4,2e-4 --set aux_weight=1,6   ->  4 combinations, 4 queue entries

Each value is read by the type of its setting in :class:`~studio.core.config.TrainConfig`
and checked against the project's settings before anything is queued or trained:
an unknown key, a value of the wrong type, out of range or in a combination that
cannot train is refused naming the key and the value. The runs themselves go
through the project's queue (:mod:`studio.app.run_queue`), so the window and the
command line train them the same way.

The results table has one row per entry of a sweep: the settings that differ
between its runs, the state, the epochs done, the last epoch's figures and,
when the runs scored their generators, the last and best score.
"""

from __future__ import annotations

import csv
import difflib
import io
import itertools
import json
import math
import time
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path

from studio.core.atomic import atomic_write_text
from studio.core.config import TrainConfig
from studio.core.events import METRIC_NAMES
from studio.core.rundir import RunDirectory
from studio.errors import ConfigError, StudioError

__all__ = [
    "MAX_COMBINATIONS",
    "SweepError",
    "SweepPlan",
    "ResultsTable",
    "parse_values",
    "parse_sets",
    "plan_sweep",
    "new_sweep_id",
    "sweep_results",
    "results_csv",
    "write_results",
    "results_path",
    "format_table",
]

# More runs than anyone queues on purpose: a typo such as 1e-4,...,1e-3 pasted from a list of hundreds.
MAX_COMBINATIONS = 1000

_TYPE_WORDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text", list: "a list"}


class SweepError(ConfigError):
    """A sweep that cannot be made: an unknown key, a value that is not valid for its setting."""


def _fields() -> dict:
    return {f.name: f for f in fields(TrainConfig)}


def _default(f):
    return f.default if f.default is not MISSING else f.default_factory()


def _unknown_key(key: str) -> SweepError:
    close = difflib.get_close_matches(key, list(_fields()), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else "; 'python -m studio info PROJECT' lists the settings"
    return SweepError(f"--set {key}: no setting called {key!r}{hint}")


def _split(text: str) -> list[str]:
    """Comma-separated values; commas inside [...] or "..." belong to the value."""
    parts, depth, quoted, current = [], 0, False, []
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "[":
            depth += 1
        elif not quoted and ch == "]":
            depth -= 1
        if ch == "," and depth == 0 and not quoted:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return parts


def _typed(key: str, expected: type, text: str):
    """``text`` as a value of ``expected`` type, or a SweepError naming the key and the value."""

    def refuse(why: str = "") -> SweepError:
        return SweepError(f"--set {key}={text}: {key} takes {_TYPE_WORDS.get(expected, expected.__name__)}{why}")

    if expected is bool:
        word = text.lower()
        if word in ("true", "yes", "on", "1"):
            return True
        if word in ("false", "no", "off", "0"):
            return False
        raise refuse()
    if expected is int:
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                raise refuse() from None
            if math.isfinite(number) and number.is_integer():
                return int(number)
            raise refuse() from None
    if expected is float:
        try:
            number = float(text)
        except ValueError:
            raise refuse() from None
        if not math.isfinite(number):
            raise refuse(", a finite one")
        return number
    if expected is list:
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise refuse(" such as [0.5,0.999]") from None
        if not isinstance(value, list):
            raise refuse(" such as [0.5,0.999]")
        return value
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return json.loads(text) if _is_json_string(text) else text[1:-1]
    return text


def _is_json_string(text: str) -> bool:
    try:
        return isinstance(json.loads(text), str)
    except json.JSONDecodeError:
        return False


def parse_values(key: str, text: str) -> list:
    """The values of one ``--set key=v1,v2`` as the setting's type; refuses an unknown key or a mistyped value."""
    key = key.strip()
    known = _fields()
    if key not in known:
        raise _unknown_key(key)
    if not text.strip():
        raise SweepError(f"--set {key}=: give one or more values, separated by commas")
    expected = type(_default(known[key]))
    values = []
    for part in _split(text):
        if not part:
            raise SweepError(f"--set {key}={text}: an empty value; separate the values by single commas")
        value = _typed(key, expected, part)
        if value in values:
            raise SweepError(f"--set {key}={text}: {part} is given twice")
        values.append(value)
    return values


def parse_sets(assignments: list[str]) -> dict[str, list]:
    """``["d_lr=1e-4,2e-4", "aux_weight=1,6"]`` as {key: [values]}, in the order given."""
    out: dict[str, list] = {}
    for item in assignments:
        if "=" not in item:
            raise SweepError(f"--set {item}: expected KEY=VALUE[,VALUE...], e.g. d_lr=1e-4,2e-4")
        key, text = item.split("=", 1)
        key = key.strip()
        if key in out:
            raise SweepError(f"--set {key}: given twice; put all its values in one --set {key}=A,B")
        out[key] = parse_values(key, text)
    return out


def _shown(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "[" + ",".join(_shown(v) for v in value) + "]"
    return str(value)


def describe_changes(changes: dict) -> str:
    """'d_lr=0.0001, aux_weight=6': a queue entry's label."""
    return ", ".join(f"{k}={_shown(v)}" for k, v in changes.items()) or "the project's settings"


@dataclass
class SweepPlan:
    """The checked combinations of a sweep: each a dict of changes and the full settings it trains with."""

    values: dict[str, list]
    changes: list[dict] = field(default_factory=list)
    configs: list[TrainConfig] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.changes)

    def lines(self) -> list[str]:
        return [f"{i + 1:3d}. {describe_changes(c)}" for i, c in enumerate(self.changes)]


def plan_sweep(base: TrainConfig, values: dict[str, list], extra: dict | None = None, check_data: bool = True):
    """Every combination of ``values`` applied to ``base`` (and ``extra``, e.g. epochs), each validated.

    A single value that is not valid for its setting is refused naming it
    (``--set d_lr=2: d_lr is 2.0; it must be at most 1.0``); a combination that
    cannot train (wgan-gp with BatchNorm in D) naming the combination. With
    ``check_data``, a conditional family on an unlabelled dataset is refused too.
    Nothing is written.
    """
    if not values:
        raise SweepError("a sweep needs at least one --set KEY=A,B")
    count = math.prod(len(v) for v in values.values())
    if count > MAX_COMBINATIONS:
        sizes = " x ".join(str(len(v)) for v in values.values())
        raise SweepError(f"{sizes} = {count} runs; a sweep makes at most {MAX_COMBINATIONS}")
    extra = dict(extra or {})
    data = {**base.to_dict(), **extra}
    for key, options in values.items():
        for value in options:
            try:
                TrainConfig.from_dict({**data, key: value}, source=f"--set {key}={_shown(value)}")
            except ConfigError as exc:
                raise SweepError(str(exc)) from None
    plan = SweepPlan(values)
    spaces: dict[str, object] = {}
    for combo in itertools.product(*values.values()):
        changes = dict(zip(values, combo))
        source = f"the combination {describe_changes(changes)}"
        try:
            config = TrainConfig.from_dict({**data, **changes}, source=source)
            if check_data:
                if config.dataset not in spaces:
                    from studio.data.dataset import dataset_space

                    spaces[config.dataset] = dataset_space(config.dataset)
                config.check_against(spaces[config.dataset], source=source)
        except ConfigError as exc:
            raise SweepError(str(exc)) from None
        plan.changes.append({**extra, **changes})
        plan.configs.append(config)
    return plan


def new_sweep_id(project_folder: str | Path) -> str:
    """A fresh name for a sweep: the time, with -2, -3 ... when one of that second exists."""
    root = Path(project_folder) / "sweeps"
    stamp = time.strftime("sweep-%Y%m%d-%H%M%S")
    sweep_id, n = stamp, 1
    while (root / sweep_id).exists():
        n += 1
        sweep_id = f"{stamp}-{n}"
    return sweep_id


# --- results --------------------------------------------------------------------------------------------


@dataclass
class ResultsTable:
    """One row per run: ``columns`` in order, each row a dict over them (missing figures: None)."""

    columns: list[str]
    rows: list[dict]
    varied: list[str]  # the settings that differ between the rows (columns of their own)
    sweep_id: str | None = None


FIGURES = METRIC_NAMES  # the last epoch's means


def _lower_is_better(name: str) -> bool:
    return any(word in name for word in ("fid", "kid", "loss", "distance"))


_NOT_SCORES = {"kind", "epoch", "step", "seconds", "judge"}


def _scores(rows: list[dict]) -> dict[str, float]:
    """last_<metric> and best_<metric> of the run's "score" rows.

    The trainer logs its generators' figures as ``g_<metric>`` and ``ema_<metric>``
    (``g_cond_acc``, ``ema_fid``): last is G's figure at the last scored epoch (the
    EMA's where G has none), best the best of either over every epoch.
    """
    last: dict[str, tuple[int, int, float]] = {}  # metric -> (row index, G first, value)
    values: dict[str, list[float]] = {}
    for index, row in enumerate(rows):
        if row.get("kind") != "score":
            continue
        for name, value in row.items():
            if name in _NOT_SCORES or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if not math.isfinite(value):
                continue
            which, _, metric = name.partition("_")
            if which not in ("g", "ema") or not metric:
                which, metric = "g", name
            if metric == "kept":
                continue
            values.setdefault(metric, []).append(float(value))
            rank = (index, 1 if which == "g" else 0, float(value))
            if metric not in last or rank[:2] > last[metric][:2]:
                last[metric] = rank
    out: dict[str, float] = {}
    for metric, series in values.items():
        out[f"last_{metric}"] = last[metric][2]
        out[f"best_{metric}"] = min(series) if _lower_is_better(metric) else max(series)
    return out


def _run_figures(run: RunDirectory) -> tuple[dict, TrainConfig | None]:
    """The last epoch's figures, the epochs done and the scores of ``run``, and its settings."""
    figures: dict = {}
    try:
        config = run.read_config()
    except StudioError:
        config = None
    rows = run.read_metrics(warn=False) if run.exists() else []
    epochs = [r for r in rows if r.get("kind") == "epoch"]
    if epochs:
        last = epochs[-1]
        figures["epochs"] = last.get("epoch")
        for name in FIGURES:
            value = last.get(name)
            figures[name] = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    else:
        figures["epochs"] = 0
    figures.update(_scores(rows))
    return figures, config


def sweep_results(project, sweep_id: str | None = None) -> ResultsTable:
    """The results table of a sweep's runs (``sweep_id`` None: every entry of the project's queue).

    ``project`` is a Project or its folder. Rows follow the queue's order.
    """
    from studio.app.run_queue import load_queue
    from studio.project import Project

    project = project if isinstance(project, Project) else Project.load(project)
    entries = [e for e in load_queue(project.folder).entries if sweep_id is None or e.sweep == sweep_id]
    if sweep_id is not None and not entries:
        raise StudioError(f"{project.folder}: no sweep called {sweep_id!r} in its queue")
    settings: list[dict] = []
    rows: list[dict] = []
    score_names: list[str] = []
    for entry in entries:
        row = {"entry": entry.id, "run": entry.run or "", "state": entry.state}
        config = entry.config
        if entry.run:
            figures, saved = _run_figures(RunDirectory(project.runs_dir / entry.run))
            config = saved or config
            row.update(figures)
            for name in figures:
                if name.startswith(("last_", "best_")) and name not in score_names:
                    score_names.append(name)
        row["epochs_total"] = config.epochs
        row["message"] = entry.message
        settings.append(config.to_dict())
        rows.append(row)
    keys = list(settings[0]) if settings else []
    varied = [k for k in keys if any(s[k] != settings[0][k] for s in settings[1:])]
    # The swept keys first, in the order given, then any other difference.
    swept = [k for e in entries for k in e.changes if k in varied]
    varied = list(dict.fromkeys(swept + varied))
    for row, s in zip(rows, settings):
        for k in varied:
            row[k] = s[k]
    score_names.sort(key=lambda n: (n[5:], n.startswith("best_")))  # last_fid, best_fid, last_cond_acc ...
    # What tells the runs apart first: their settings, then their scores, then the last epoch's figures.
    columns = ["entry", "run", "state", *varied, *score_names, "epochs", "epochs_total", *FIGURES, "message"]
    for row in rows:
        for c in columns:
            row.setdefault(c, None)
    return ResultsTable(columns, rows, varied, sweep_id)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return _shown(value)


def results_csv(table: ResultsTable) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_cell(row[c]) for c in table.columns])
    return buffer.getvalue()


def results_path(project_folder: str | Path, sweep_id: str | None) -> Path:
    """PROJECT/sweeps/<id>/results.csv (the whole queue: PROJECT/sweeps/queue-results.csv)."""
    root = Path(project_folder) / "sweeps"
    return root / sweep_id / "results.csv" if sweep_id else root / "queue-results.csv"


def write_results(table: ResultsTable, path: str | Path) -> Path:
    """Write ``table`` as CSV, atomically."""
    path = Path(path)
    atomic_write_text(path, results_csv(table))
    return path


def format_table(table: ResultsTable, max_width: int = 24) -> str:
    """The table as aligned text for a terminal (columns without any value left out)."""
    shown = [c for c in table.columns if c == "message" or any(r[c] not in (None, "") for r in table.rows)]
    if not any(r["message"] for r in table.rows):
        shown.remove("message")
    cells = [[_cell(r[c]) for c in shown] for r in table.rows]
    last = len(shown) - 1 if shown and shown[-1] == "message" else len(shown)  # a message is shown whole
    cells = [
        [v if i >= last or len(v) <= max_width else v[: max_width - 1] + "…" for i, v in enumerate(row)]
        for row in cells
    ]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(shown)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(shown, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)

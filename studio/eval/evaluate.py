"""Evaluate generators (checkpoints, averages, EMA) and record the figures in their runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from studio.core.averaging import GeneratorRef, load_generator
from studio.errors import StudioError
from studio.eval.conditional import conditional_accuracy, load_conditions, real_accuracy
from studio.eval.judge import Judge, default_judge_path, load_judge, save_judge, train_judge
from studio.eval.quality import image_quality, inception_features, judge_features
from studio.eval.results import append_results, make_row

__all__ = ["METRICS", "EvaluationRequest", "judge_for", "evaluate", "run_of"]

METRICS = ("cond_acc", "fid", "kid", "is")
Progress = Callable[[int, int, str], None]


@dataclass
class EvaluationRequest:
    metrics: tuple[str, ...] = ("cond_acc", "fid")
    features: str = "judge"  # or "inception"
    n: int = 2000
    conditions: tuple[str, ...] = ()  # JSON files of test conditions (cond_acc)
    judge_path: str | None = None
    inception_weights: str | None = None
    device: str = "cpu"
    save: bool = True
    seed: int = 0
    per_class: bool = False  # log each class's / attribute value's accuracy


def run_of(ref: GeneratorRef) -> Path | None:
    """The run directory holding a checkpoint (``RUN/checkpoints/file.pt``), if it is one."""
    parent = Path(ref.path).resolve().parent
    return parent.parent if parent.name == "checkpoints" and (parent.parent / "config.json").is_file() else None


def judge_for(config, dataset=None, path: str | None = None, device: str = "cpu",
              progress: Progress | None = None, log: Callable[[str], None] = print,
              should_stop: Callable[[], bool] | None = None) -> Judge:
    """The judge at ``path``, else the dataset's stored judge, trained and stored on first use."""
    if path:
        return load_judge(path, device)
    stored = default_judge_path(config.dataset, config.image_size, config.channels)
    if stored.is_file():
        return load_judge(stored, device)
    if dataset is None:
        from studio.data.dataset import load_dataset

        dataset = load_dataset(config.dataset, config.image_size, config.channels, config.dataset_size)
    log(f"training a judge for {config.dataset} (once; stored at {stored})")
    judge = train_judge(dataset, device=device, progress=progress, should_stop=should_stop)
    save_judge(judge, stored)
    log(f"judge held-out scores: {_fmt(judge.heldout)}")
    return judge


def _fmt(scores: dict) -> str:
    return ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in scores.items())


def evaluate(
    refs: list[GeneratorRef],
    request: EvaluationRequest,
    progress: Progress | None = None,
    log: Callable[[str], None] = print,
    should_stop: Callable[[], bool] | None = None,
) -> list[dict]:
    """Score each generator; return result rows (also appended to each run's results when ``save``)."""
    from studio.data.dataset import load_dataset

    unknown = set(request.metrics) - set(METRICS)
    if unknown:
        raise StudioError(f"unknown metric {', '.join(sorted(unknown))}; choose from {', '.join(METRICS)}")
    if request.features not in ("judge", "inception"):
        raise StudioError(f"features {request.features!r}: use judge or inception")
    if not refs:
        raise StudioError("no generator to evaluate")
    device = request.device if request.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    _, space, config = load_generator(refs[0], "cpu")
    dataset = load_dataset(config.dataset, config.image_size, config.channels, config.dataset_size)
    needs_judge = "cond_acc" in request.metrics or request.features == "judge"
    judge = judge_for(config, dataset, request.judge_path, device, progress, log, should_stop) if needs_judge else None
    if judge is not None and judge.space != space:
        raise StudioError(f"{judge.name}: trained for {judge.space.describe()}, the generators draw {space.describe()}")
    quality = [m for m in request.metrics if m != "cond_acc"]
    features = None
    if quality:
        features = judge_features(judge) if request.features == "judge" else inception_features(
            request.inception_weights, device)
    condition_sets = [(Path(p).name, load_conditions(p, space)) for p in request.conditions] or [("", None)]

    rows: list[dict] = []
    if judge is not None and "cond_acc" in request.metrics:
        real = real_accuracy(dataset, judge, min(request.n, len(dataset)), request.seed)
        log(f"{'real images':28s} cond_acc  {_fmt(real.scores)}")
    for ref in refs:
        g, g_space, g_config = load_generator(ref, device)
        if g_space != space or g_config.dataset != config.dataset:
            raise StudioError(f"{ref.path}: draws {g_space.describe()} of {g_config.dataset}, unlike {refs[0].path}; "
                              "evaluate generators of one dataset together")
        name = str(ref)
        new: list[dict] = []
        base = {"generator": name, "checkpoint": str(ref.path), "which": ref.which, "epoch": ref.epoch or None}
        if "cond_acc" in request.metrics:
            for cname, labels in condition_sets:
                result = conditional_accuracy(g, space, g_config.nz, judge, request.n, labels, cname, dataset,
                                              seed=request.seed, progress=progress, should_stop=should_stop)
                for key, value in result.scores.items():
                    metric = "cond_acc" if key in ("accuracy",) else f"cond_acc_{key}"
                    new.append(make_row(**base, metric=metric, value=value, n=result.n, judge=judge.name,
                                        conditions=result.conditions))
                log(f"{name:28s} cond_acc  {_fmt(result.scores)}  ({result.conditions})")
                if request.per_class and result.per_class:
                    worst = sorted(result.per_class.items(), key=lambda kv: kv[1])
                    log("    per class, worst first: " + ", ".join(f"{k} {v:.2f}" for k, v in worst))
        if quality:
            q = image_quality(g, space, g_config.nz, dataset, features, tuple(quality), request.n,
                              seed=request.seed, progress=progress, should_stop=should_stop)
            for key, value in q.metrics.items():
                new.append(make_row(**base, metric=key, value=value, n=q.n_fake, feature_space=q.feature_space,
                                    comparable=q.comparable, judge=judge.name if judge else ""))
            log(f"{name:28s} {_fmt(q.metrics)}  [{q.feature_space} features; comparable with {q.comparable}]")
        run = run_of(ref)
        if request.save and run is not None:
            append_results(run, new)
        rows += new
    return rows

"""Evaluate generators (checkpoints, averages, EMA) and record the figures in their runs.

:func:`evaluate` is what both the ``evaluate`` command and the window's
evaluation panel call: plain arguments in, result rows out, progress and
cancellation through callables, so it runs unchanged in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from studio.core.averaging import GeneratorRef, load_generator
from studio.core.checkpoint import checkpoint_config, load_checkpoint
from studio.core.conditions import ConditionSpace
from studio.core.rundir import run_of_generator_file
from studio.errors import StudioError
from studio.eval.cas import classification_accuracy_score
from studio.eval.conditional import conditional_accuracy, load_conditions, real_accuracy
from studio.eval.inception import has_logits, refuse_is_without_logits
from studio.eval.judge import (
    Judge,
    JudgeError,
    Progress,
    TorchScriptJudge,
    check_stop,
    default_judge_path,
    load_judge,
    save_judge,
    train_judge,
)
from studio.eval.measures import PRDC_METRICS, class_groups
from studio.eval.quality import QUALITY_METRICS, image_quality, inception_features, judge_features, real_subset
from studio.eval.results import append_results, make_row

__all__ = [
    "METRICS",
    "FEATURE_SPACES",
    "EvaluationRequest",
    "judge_for",
    "open_judge",
    "evaluate",
    "run_of",
    "format_table",
]

# cas: classification accuracy score (a classifier trained on generated images, tested on real ones).
METRICS = ("cond_acc", *QUALITY_METRICS, "cas")
FEATURE_SPACES = ("judge", "inception")


@dataclass
class EvaluationRequest:
    """What to measure. Validated by :meth:`validate` before any work starts."""

    metrics: tuple[str, ...] = ("cond_acc", "fid")
    features: str = "judge"  # feature space of FID/KID/IS: "judge" or "inception"
    n: int = 2000  # images generated per generator (and per conditions file)
    n_real: int = 5000  # real images whose features FID/KID compare with (cached)
    conditions: tuple[str, ...] = ()  # JSON files of test conditions for cond_acc, e.g. i-CLEVR's test.json
    judge_path: str | None = None  # a studio judge file; default: the dataset's stored judge
    judge_torchscript: str | None = None  # a user's TorchScript classifier instead
    judge_input_size: int = 64
    judge_mean: tuple[float, ...] = (0.5, 0.5, 0.5)
    judge_std: tuple[float, ...] = (0.5, 0.5, 0.5)
    inception_weights: str | None = None  # the Inception weights file, for machines without network
    device: str = "cpu"
    batch_size: int = 250
    save: bool = True  # append the rows to each generator's run
    seed: int = 0
    per_class: bool = False  # also log each class's / attribute value's accuracy (the rows are always kept)
    prdc_k: int = 5  # nearest neighbours of precision, recall, density and coverage
    cas_epochs: int | None = None  # training of the CAS classifier; default: the judge's schedule

    def validate(self) -> None:
        unknown = [m for m in self.metrics if m not in METRICS]
        if unknown:
            raise StudioError(f"unknown metric {', '.join(unknown)}; choose from {', '.join(METRICS)}")
        if not self.metrics:
            raise StudioError(f"no metric asked for; choose from {', '.join(METRICS)}")
        if self.features not in FEATURE_SPACES:
            raise StudioError(f"features {self.features!r}: use {' or '.join(FEATURE_SPACES)}")
        if self.n < 2 or self.n_real < 2 or self.batch_size < 1:
            raise StudioError(f"n ({self.n}) and n_real ({self.n_real}) must be at least 2")
        if self.prdc_k < 1 or (self.cas_epochs is not None and self.cas_epochs < 1):
            raise StudioError(f"prdc k ({self.prdc_k}) and CAS epochs ({self.cas_epochs}) must be at least 1")
        if self.judge_path and self.judge_torchscript:
            raise StudioError("give either a studio judge or a TorchScript classifier, not both")
        if self.judge_torchscript and self.features == "judge" and self.quality_metrics:
            raise StudioError(
                "a TorchScript classifier gives no features for FID/KID/IS; use the Inception "
                "features (--features inception)",
                code="features.torchscript_judge",
            )

    @property
    def quality_metrics(self) -> tuple[str, ...]:
        return tuple(m for m in self.metrics if m in QUALITY_METRICS)


def run_of(ref: GeneratorRef) -> Path | None:
    """The run directory holding a checkpoint, snapshot, average or kept best generator, if it is one."""
    return run_of_generator_file(ref.path)


def generator_ref(path: str | Path, ema: bool = False) -> GeneratorRef:
    """A checkpoint or average file as a :class:`GeneratorRef` (its G, or its EMA when ``ema``)."""
    path = Path(path)
    state = load_checkpoint(path, mmap=True)
    checkpoint_config(state, path)
    if ema and not state.get("ema"):
        raise StudioError(f"{path}: holds no EMA of G (the run trained without ema)")
    epoch = int(state.get("epoch", 0) or 0)
    kind = "average" if state.get("kind") == "average" else ("ema" if ema else "checkpoint")
    label = f"{path.name}{' (EMA)' if ema else ''}"
    return GeneratorRef(path, "ema" if ema else "g", label, kind, epoch)


def judge_for(
    config,
    path: str | None = None,
    device: str | torch.device = "cpu",
    progress: Progress | None = None,
    log: Callable[[str], None] = print,
    should_stop: Callable[[], bool] | None = None,
) -> Judge:
    """The judge at ``path``, else the dataset's stored judge, trained (on the full set) and stored on first use."""
    if path:
        return load_judge(path, device)
    stored = default_judge_path(config.dataset, config.image_size, config.channels)
    if stored.is_file():
        return load_judge(stored, device)
    from studio.data.dataset import load_dataset

    # The run may have used a small slice of a built-in set; the judge learns from its full default size.
    dataset = load_dataset(config.dataset, config.image_size, config.channels, 0, progress)
    log(f"training a judge for {config.dataset} on {len(dataset)} images (once; stored at {stored})")
    judge = train_judge(dataset, device=device, progress=progress, should_stop=should_stop)
    save_judge(judge, stored)
    log(f"judge held-out scores on {judge.heldout_n} images: {_fmt(judge.heldout)}")
    return judge


def open_judge(
    request: EvaluationRequest, config, space: ConditionSpace, device, progress=None, log=print, should_stop=None
) -> Judge:
    """The judge a request names: a TorchScript classifier, a judge file, or the dataset's own."""
    if request.judge_torchscript:
        judge = TorchScriptJudge(
            request.judge_torchscript,
            space,
            request.judge_input_size,
            tuple(request.judge_mean),
            tuple(request.judge_std),
            device,
        )
    else:
        judge = judge_for(config, request.judge_path, device, progress, log, should_stop)
    if judge.space != space:
        stored = not (request.judge_path or request.judge_torchscript)  # the dataset's own: retraining it helps
        hint = f"; retrain it with: python -m studio judge train {config.dataset} --force" if stored else ""
        name, trained_for, draws = str(judge.path or judge.name), judge.space.describe(), space.describe()
        raise JudgeError(
            f"{name}: trained for {trained_for}, the generators draw {draws}{hint}",
            code="judge.other_space",
            judge=name,
            trained_for=trained_for,
            draws=draws,
            dataset=config.dataset,
            stored=stored,
        )
    return judge


def _fmt(scores: dict) -> str:
    return ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in scores.items())


def _quality_rows(base: dict, q, judge_name: str, judge_id: str) -> list[dict]:
    """Rows of image-quality figures, each naming its feature space and N (generated and real)."""
    rows = []
    for key, value in q.metrics.items():
        comparable = q.comparable
        if key in PRDC_METRICS:
            comparable += f"; k = {q.prdc_k} nearest neighbours, at the same N"
        elif key == "ifid":
            comparable += f"; mean over {len(q.per_class)} classes, at the same N per class"
        rows.append(
            make_row(
                **base,
                metric=key,
                value=value,
                n=q.n_fake,
                n_real=q.n_real,
                feature_space=q.feature_space,
                comparable=comparable,
                judge=judge_name,
                judge_id=judge_id,
            )
        )
    for caption, figures in q.per_class.items():
        rows.append(
            make_row(
                **base,
                metric=f"ifid:{caption}",
                value=figures["fid"],
                n=figures["n"],
                n_real=figures["n_real"],
                feature_space=q.feature_space,
                comparable=f"{q.comparable}; intra-class FID of one class, at the same N",
                judge=judge_name,
                judge_id=judge_id,
            )
        )
    return rows


def _cas_rows(base: dict, cas, dataset: str) -> list[dict]:
    """Rows of a classification accuracy score, named as cond_acc's: ``cas`` (accuracy), else ``cas_<score>``
    (``cas_hair``, ``cas_all`` for a multi-attribute set; ``cas_f1`` beside ``cas`` for multi-label)."""
    comparable = (
        f"CAS of generators of {dataset} at the same N and training; ceiling: the judge's held-out accuracy "
        "(the same network trained on real images). The real test images may include the GAN's training images"
    )
    rows = []
    for key, value in cas.scores.items():
        metric = "cas" if key == "accuracy" else f"cas_{key}"
        rows.append(
            make_row(
                **base,
                metric=metric,
                value=value,
                n=cas.n,
                n_real=cas.n_real,
                feature_space="classifier trained on generated images",
                comparable=comparable,
            )
        )
    return rows


def _cond_rows(base: dict, result, judge: Judge) -> list[dict]:
    rows = []
    for key, value in result.scores.items():
        metric = "cond_acc" if key == "accuracy" else f"cond_acc_{key}"
        rows.append(
            make_row(
                **base,
                metric=metric,
                value=value,
                n=result.n,
                judge=judge.name,
                judge_id=judge.id,
                conditions=result.conditions,
            )
        )
    for caption, value in result.per_class.items():
        rows.append(
            make_row(
                **base,
                metric=f"cond_acc:{caption}",
                value=value,
                n=result.n,
                judge=judge.name,
                judge_id=judge.id,
                conditions=result.conditions,
            )
        )
    return rows


def evaluate(
    refs: list[GeneratorRef],
    request: EvaluationRequest,
    progress: Progress | None = None,
    log: Callable[[str], None] = print,
    should_stop: Callable[[], bool] | None = None,
) -> list[dict]:
    """Score each generator; return result rows (each generator's are appended to its run when ``save``).

    The judge's own scores on real images come first (``which`` 'real'): the
    ceiling a generator is measured against. A cancelled evaluation keeps the
    rows of the generators it finished.
    """
    from studio.core.device import resolve_device
    from studio.data.dataset import load_dataset

    request.validate()
    if not refs:
        raise StudioError("no generator to evaluate")
    device = resolve_device(request.device)
    # The first generator sets the space and data the others must share; it is scored first, loaded once.
    loaded = load_generator(refs[0], device)
    _, space, config = loaded
    conditioned = "cond_acc" in request.metrics
    if conditioned and not space.is_conditional:
        raise StudioError(
            f"{refs[0].path}: an unconditional generator has no conditions to be accurate to; ask for fid, kid or is"
        )
    if not space.is_conditional and request.features == "judge" and request.quality_metrics:
        raise StudioError(
            f"{config.dataset}: an unlabelled dataset has no judge to lend its features; "
            "use the Inception features (--features inception)",
            code="features.unlabelled_judge",
            dataset=config.dataset,
        )
    if "is" in request.metrics and request.features == "judge" and not space.one_class_per_image:
        # Refused before the judge is trained or any image scored: the judge gives IS no class logits here.
        raise StudioError(
            f"{config.dataset}: IS needs one class per image, and {space.describe()} is not a "
            "categorical set; leave out is, or use the Inception features (--features inception)",
            code="features.is_not_categorical",
            dataset=config.dataset,
            space=space.describe(),
        )
    if "is" in request.metrics and request.features == "inception" and not has_logits(request.inception_weights):
        raise refuse_is_without_logits()
    by_class = [m for m in ("ifid", "cas") if m in request.metrics]
    if by_class and not space.is_conditional:
        raise StudioError(
            f"{config.dataset}: {' and '.join(by_class)} need labelled images, and this dataset has no labels; "
            "leave them out"
        )
    if "ifid" in request.metrics:
        class_groups(space, space.sample(1))  # a space without classes or attribute values is refused here
    condition_sets = [(Path(p).name, load_conditions(p, space)) for p in request.conditions] or [("", None)]
    dataset = load_dataset(config.dataset, config.image_size, config.channels, config.dataset_size, progress)
    needs_judge = conditioned or (request.features == "judge" and request.quality_metrics)
    judge = open_judge(request, config, space, device, progress, log, should_stop) if needs_judge else None
    features = None
    if request.quality_metrics:
        if request.features == "judge":
            features = judge_features(judge)
        else:
            features = inception_features(request.inception_weights, device, "is" in request.metrics, progress)
            log(f"Inception features: {features.source}")
    # Inception figures owe nothing to the judge: their rows name none.
    judge_name, judge_id = (judge.name, judge.id) if request.features == "judge" and judge is not None else ("", "")

    reference: list[dict] = []
    if conditioned:
        real = real_accuracy(dataset, judge, min(request.n, len(dataset)), request.seed)
        reference = _cond_rows(
            {"generator": "real images", "checkpoint": "", "which": "real", "epoch": None}, real, judge
        )
        log(f"{'real images':28s} cond_acc  {_fmt(real.scores)}")

    rows: list[dict] = list(reference)
    referenced: set[Path] = set()
    names = display_names([(str(ref), str(ref.path)) for ref in refs])
    for ref, name in zip(refs, names):
        check_stop(should_stop, "evaluation")
        g, g_space, g_config = loaded if loaded is not None else load_generator(ref, device)
        loaded = None  # one generator in memory at a time
        if g_space != space or g_config.dataset != config.dataset or g_config.image_size != config.image_size:
            raise StudioError(
                f"{ref.path}: draws {g_space.describe()} of {g_config.dataset} at "
                f"{g_config.image_size} px, unlike {refs[0].path}; evaluate generators of one "
                "dataset together"
            )
        which = "average" if ref.kind == "average" else ref.which
        base = {"generator": str(ref), "checkpoint": str(ref.path), "which": which, "epoch": ref.epoch or None}
        new: list[dict] = []
        if conditioned:
            for cname, labels in condition_sets:
                result = conditional_accuracy(
                    g,
                    space,
                    g_config.nz,
                    judge,
                    request.n,
                    labels,
                    cname,
                    dataset,
                    request.batch_size,
                    request.seed,
                    progress,
                    should_stop,
                )
                new += _cond_rows(base, result, judge)
                log(f"{name:28s} cond_acc  {_fmt(result.scores)}  ({result.conditions})")
                if request.per_class and result.per_class:
                    worst = sorted(result.per_class.items(), key=lambda kv: kv[1])
                    log("    per class, worst first: " + ", ".join(f"{k} {v:.2f}" for k, v in worst))
        if request.quality_metrics:
            q = image_quality(
                g,
                space,
                g_config.nz,
                dataset,
                features,
                request.quality_metrics,
                request.n,
                request.n_real,
                request.batch_size,
                request.seed,
                progress,
                should_stop,
                request.prdc_k,
            )
            new += _quality_rows(base, q, judge_name, judge_id)
            log(
                f"{name:28s} {_fmt(q.metrics)}  [{q.feature_space} features, {q.n_real} real images, N {q.n_fake} "
                f"generated{f', k = {q.prdc_k}' if q.prdc_k else ''}; comparable with {q.comparable}]"
            )
            if q.per_class:
                counts = ", ".join(f"{c} {v['fid']:.2f} (N {v['n']}/{v['n_real']})" for c, v in q.per_class.items())
                log(f"    intra-class FID per class (N generated/real): {counts}")
            if q.skipped:
                log(f"    intra-class FID left out (fewer than 2 images on a side): {', '.join(q.skipped)}")
        if "cas" in request.metrics:
            cas = classification_accuracy_score(
                g,
                space,
                g_config.nz,
                dataset,
                real_subset(dataset, request.n_real),
                request.n,
                request.cas_epochs,
                request.batch_size,
                request.seed,
                device,
                progress,
                should_stop,
            )
            new += _cas_rows(base, cas, config.dataset)
            log(
                f"{name:28s} cas  {_fmt(cas.scores)}  [classifier trained on N {cas.n} generated images for "
                f"{cas.epochs} epochs ({cas.seconds:.0f} s), tested on {cas.n_real} real images; "
                f"on held-out generated images: {_fmt(cas.generated_scores)}]"
            )
        run = run_of(ref)
        if request.save and run is not None:
            first = run not in referenced
            referenced.add(run)
            append_results(run, (reference if first else []) + new)
        rows += new
    return rows


def display_names(generators: list[tuple[str, str]]) -> list[str]:
    """Names of (name, checkpoint path) pairs for a table: a name that several files share gets its run's id.

    Two runs at the same epoch both hold an "epoch 2" and an "EMA at epoch 2";
    their figures must not land on one line.
    """
    files_of: dict[str, set[str]] = {}
    for name, path in generators:
        files_of.setdefault(name, set()).add(path)
    out = []
    for name, path in generators:
        if len(files_of[name]) > 1:
            folder = Path(path).parent
            where = folder.parent.name if folder.name in ("checkpoints", "snapshots") else str(folder)
            name = f"{where}/{name}"
        out.append(name)
    return out


def format_table(rows: list[dict]) -> str:
    """A text table of rows: one line per generator, one column per metric (per-class figures left out)."""
    metrics: list[str] = []
    table: dict[str, dict[str, float]] = {}
    names = display_names([(row["generator"], row["checkpoint"]) for row in rows])
    for row, name in zip(rows, names):
        metric = row["metric"]
        if ":" in metric:
            continue
        if row.get("conditions") and not row["conditions"].startswith("drawn") and row["which"] != "real":
            metric = f"{metric} [{row['conditions'].split(' x ')[0]}]"
        if metric not in metrics:
            metrics.append(metric)
        table.setdefault(name, {})[metric] = row["value"]
    if not table:
        return ""
    width = max(12, *(len(g) for g in table))
    cols = [max(9, len(m)) for m in metrics]
    lines = [f"{'generator':{width}s}  " + "  ".join(f"{m:>{c}s}" for m, c in zip(metrics, cols))]
    for generator, values in table.items():
        cells = [f"{values[m]:>{c}.4f}" if m in values else " " * (c - 1) + "-" for m, c in zip(metrics, cols)]
        lines.append(f"{generator:{width}s}  " + "  ".join(cells))
    return "\n".join(lines + _measured_in(rows))


def _measured_in(rows: list[dict]) -> list[str]:
    """Lines under the table naming each figure's feature space and N: 'fid, kid: inception features, N ...'."""
    groups: dict[str, list[str]] = {}
    for row in rows:
        metric = row["metric"]
        if ":" in metric or row["which"] == "real" or not row.get("feature_space") or metric.endswith("_std"):
            continue
        space = row["feature_space"]
        where = space if space.startswith("classifier") else f"{space.split('#')[0]} features"
        n_real = f" vs {row['n_real']} real" if row.get("n_real") else ""
        key = f"{where}, N {row['n']} generated{n_real}"
        if metric not in groups.setdefault(key, []):
            groups[key].append(metric)
    return [f"  {', '.join(metrics)}: {key}" for key, metrics in groups.items()]

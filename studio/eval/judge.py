"""Judges: classifiers trained on a dataset's real images, for its condition space.

The recipes judge a conditional GAN by what a pretrained classifier sees in its
samples. A studio judge is such a classifier, trained here on the real data of
the set the GAN learnt: its head has the width of the space's auxiliary output
(softmax for categorical, one softmax per attribute, sigmoid for multi-label,
RGB regression for colours), and its loss and scores come from the space
itself, so a judge and an ACGAN head read labels the same way.

Images enter a judge as G makes them: float (B, C, H, W) in [-1, 1].
"""

from __future__ import annotations

import hashlib
import pickle
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from studio.core.atomic import atomic_torch_save
from studio.core.conditions import ConditionSpace, space_from_dict
from studio.errors import StudioError

__all__ = [
    "JudgeNet",
    "Judge",
    "TorchScriptJudge",
    "train_judge",
    "save_judge",
    "load_judge",
    "default_judge_path",
    "score_predictions",
]

FORMAT = "gan-studio/judge"
VERSION = 1

Progress = Callable[[int, int, str], None]


class JudgeError(StudioError):
    pass


def _block(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class JudgeNet(nn.Module):
    """A small all-convolutional classifier: four stride-2 stages, global pooling, a feature layer, a head.

    Four stages take a 64 px image to 4 x 4 and a 32 px one to 2 x 2 before pooling.
    """

    def __init__(self, channels: int, out_dim: int, width: int = 32, features: int = 256):
        super().__init__()
        self.arch = {"channels": channels, "out_dim": out_dim, "width": width, "features": features}
        w = width
        self.body = nn.Sequential(
            _block(channels, w, 2), _block(w, w, 1),
            _block(w, 2 * w, 2), _block(2 * w, 2 * w, 1),
            _block(2 * w, 4 * w, 2), _block(4 * w, 4 * w, 1),
            _block(4 * w, 8 * w, 2),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(8 * w, features),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Linear(features, out_dim)
        self.num_features = features

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def score_predictions(space: ConditionSpace, logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Scores of a classifier's output against the labels it should show, per the space's kind.

    categorical: ``accuracy``; multi-attribute: one ``<attribute>`` accuracy each
    and ``all`` (every attribute right); multi-label: ``accuracy`` (the recipe's
    metric: requested objects found in the top k, k = number requested) and
    micro ``f1`` of that top-k decoding; colour: per-attribute share within the
    space's tolerance and ``all``.
    """
    logits, labels = logits.float().cpu(), labels.cpu()
    kind = space.kind
    if kind == "categorical":
        return {"accuracy": float((space.decode(logits) == labels.long()).float().mean())}
    if kind == "multi-attribute":
        pred = space.decode(logits)
        right = pred == labels.long()
        out = {name: float(right[:, i].float().mean()) for i, (name, _) in enumerate(space.attributes)}
        out["all"] = float(right.all(1).float().mean())
        return out
    if kind == "multi-label":
        target = labels.float()
        counts = target.sum(1).long()
        pred = space.decode(logits, counts)
        tp = float((pred * target).sum())
        fp = float((pred * (1 - target)).sum())
        fn = float(((1 - pred) * target).sum())
        f1 = 2 * tp / max(2 * tp + fp + fn, 1e-12)
        return {"accuracy": float(space.aux_correct(logits, target).mean()), "f1": f1}
    if kind == "colour":
        per = space.colour_distance(space.decode(logits), labels.float()) <= space.tolerance
        out = {name: float(per[:, i].float().mean()) for i, name in enumerate(space.attributes)}
        out["all"] = float(per.all(1).float().mean())
        return out
    raise JudgeError(f"the '{kind}' condition space has no labels to judge")


@dataclass
class Judge:
    """A trained judge and what it was trained on."""

    net: nn.Module
    space: ConditionSpace
    image_size: int
    channels: int
    dataset: str = ""
    heldout: dict[str, float] = field(default_factory=dict)
    train_seconds: float = 0.0
    path: str = ""

    @property
    def name(self) -> str:
        return Path(self.path).name if self.path else f"judge of {self.dataset}"

    @property
    def has_features(self) -> bool:
        return hasattr(self.net, "features")

    def _prepare(self, images: torch.Tensor) -> torch.Tensor:
        device = next(self.net.parameters()).device
        images = images.to(device, torch.float32)
        if images.shape[1] != self.channels:
            if images.shape[1] == 1:
                images = images.expand(-1, self.channels, -1, -1)
            elif self.channels == 1:
                images = images.mean(1, keepdim=True)
        if images.shape[-1] != self.image_size:
            images = F.interpolate(images, size=(self.image_size, self.image_size), mode="bilinear",
                                   antialias=True, align_corners=False)
        return images

    @torch.no_grad()
    def logits(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        self.net.eval()
        return torch.cat([self.net(self._prepare(images[i : i + batch_size])).float().cpu()
                          for i in range(0, len(images), batch_size)])

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        self.net.eval()
        return self.net.features(self._prepare(images)).float()

    def to(self, device) -> Judge:
        self.net.to(device)
        return self


class TorchScriptJudge(Judge):
    """A user's own classifier (a TorchScript file), with its stated input size and normalisation.

    Images in [-1, 1] are mapped to [0, 1], resized to ``input_size`` and
    normalised with ``mean``/``std`` before the network sees them; its output
    must be what the condition space's decoder reads (e.g. 24 logits for shapes).
    """

    def __init__(self, path: str | Path, space: ConditionSpace, input_size: int, channels: int = 3,
                 mean: tuple[float, ...] = (0.5, 0.5, 0.5), std: tuple[float, ...] = (0.5, 0.5, 0.5)):
        path = Path(path)
        try:
            net = torch.jit.load(str(path), map_location="cpu")
        except (RuntimeError, ValueError, OSError) as exc:
            raise JudgeError(f"{path}: not a TorchScript classifier ({str(exc).splitlines()[0][:160]})") from None
        super().__init__(net=net, space=space, image_size=input_size, channels=channels, path=str(path))
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)

    @property
    def has_features(self) -> bool:
        return False

    def _prepare(self, images: torch.Tensor) -> torch.Tensor:
        images = super()._prepare(images)
        device = images.device
        return ((images + 1) / 2 - self.mean.to(device)) / self.std.to(device)

    @torch.no_grad()
    def logits(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        self.net.eval()
        outs = [self.net(self._prepare(images[i : i + batch_size])) for i in range(0, len(images), batch_size)]
        return torch.cat([o.float().cpu() for o in outs])

    def features(self, images: torch.Tensor) -> torch.Tensor:
        raise JudgeError(f"{self.path}: a TorchScript judge gives no features; use the Inception features")


def _degrade(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Blur and noise of the kind generated images have, never a colour change.

    A judge that has only seen the crisp, exactly coloured images of a drawn
    dataset can fail a slightly soft or grainy sample whose colours a person
    reads at once; these degradations keep it reading colours and shapes.
    """
    if float(torch.rand((), generator=rng)) < 0.5:
        x = F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
    sigma = 0.15 * float(torch.rand((), generator=rng))
    noise = torch.randn(x.shape, generator=rng).to(x.device)
    return (x + sigma * noise).clamp_(-1, 1)


def _split(n: int, heldout: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    cut = max(1, int(round(n * heldout)))
    return order[cut:], order[:cut]


def train_judge(
    dataset,
    epochs: int = 5,
    batch_size: int = 64,
    lr: float = 2e-3,
    width: int = 32,
    heldout: float = 0.1,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Judge:
    """Train a judge on ``dataset`` (an ImageDataset); held-out scores in ``judge.heldout``.

    Adam with a one-cycle schedule, random shifts of up to 1/16 of the image,
    blur and noise (:func:`_degrade`); the held-out share never enters training.
    """
    space = dataset.space
    if not space.is_conditional:
        raise JudgeError(f"{dataset.spec}: an unconditional dataset has no labels to train a judge on")
    started = time.perf_counter()
    torch.manual_seed(seed)
    device = torch.device(device)
    train_idx, test_idx = _split(len(dataset), heldout, seed)
    if len(train_idx) < batch_size:
        batch_size = max(8, len(train_idx))
    net = JudgeNet(dataset.channels, space.aux_dim, width).to(device)
    steps_per_epoch = max(1, len(train_idx) // batch_size)
    total = epochs * steps_per_epoch
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total, pct_start=0.2)
    images, labels = dataset.images, dataset.labels
    shift = max(1, dataset.image_size // 16)
    rng = torch.Generator().manual_seed(seed + 1)
    step = 0
    net.train()
    for epoch in range(epochs):
        order = train_idx[torch.randperm(len(train_idx), generator=rng)]
        for i in range(steps_per_epoch):
            if should_stop is not None and should_stop():
                raise JudgeError("judge training cancelled")
            idx = order[i * batch_size : (i + 1) * batch_size]
            x = images[idx].to(device).float().div_(127.5).sub_(1.0)
            dx, dy = (int(v) for v in torch.randint(-shift, shift + 1, (2,), generator=rng))
            x = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
            x = _degrade(x, rng)
            loss = space.aux_loss(net(x), labels[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if progress is not None and (step % 10 == 0 or step == total):
                progress(step, total, f"judge epoch {epoch + 1}/{epochs}, loss {float(loss):.3f}")
    judge = Judge(net=net.eval(), space=space, image_size=dataset.image_size, channels=dataset.channels,
                  dataset=dataset.spec)
    test_images = images[test_idx].float().div(127.5).sub(1.0)
    judge.heldout = score_predictions(space, judge.logits(test_images), labels[test_idx])
    judge.heldout["n"] = len(test_idx)
    judge.train_seconds = time.perf_counter() - started
    return judge


def save_judge(judge: Judge, path: str | Path, overwrite: bool = True) -> Path:
    if isinstance(judge, TorchScriptJudge):
        raise JudgeError(f"{judge.path}: a TorchScript judge is used in place, not saved again")
    state = {
        "format": FORMAT,
        "version": VERSION,
        "arch": dict(judge.net.arch),
        "state": {k: v.detach().cpu() for k, v in judge.net.state_dict().items()},
        "space": judge.space.to_dict(),
        "image_size": judge.image_size,
        "channels": judge.channels,
        "dataset": judge.dataset,
        "heldout": dict(judge.heldout),
        "train_seconds": judge.train_seconds,
    }
    atomic_torch_save(state, path, overwrite=overwrite)
    judge.path = str(path)
    return Path(path)


def load_judge(path: str | Path, device: str | torch.device = "cpu") -> Judge:
    """Load a judge saved by :func:`save_judge`; refuses anything that would run code."""
    path = Path(path)
    if not path.is_file():
        raise JudgeError(f"{path}: no such judge file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise JudgeError(f"{path}: refused to load, it holds more than weights") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as exc:
        raise JudgeError(f"{path}: damaged or not a PyTorch file ({type(exc).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise JudgeError(f"{path}: not a GAN Studio judge (a TorchScript classifier loads with --judge-torchscript)")
    if state.get("version", 0) > VERSION:
        raise JudgeError(f"{path}: written by a newer GAN Studio (judge version {state.get('version')})")
    try:
        net = JudgeNet(**state["arch"])
        net.load_state_dict(state["state"])
        space = space_from_dict(state["space"])
    except (KeyError, TypeError, RuntimeError, StudioError) as exc:
        raise JudgeError(f"{path}: damaged judge ({str(exc)[:160]})") from None
    return Judge(net=net.to(device).eval(), space=space, image_size=int(state["image_size"]),
                 channels=int(state["channels"]), dataset=str(state.get("dataset", "")),
                 heldout=dict(state.get("heldout", {})), train_seconds=float(state.get("train_seconds", 0.0)),
                 path=str(path))


def default_judge_path(spec: str, image_size: int, channels: int) -> Path:
    """Where the judge of a dataset lives: beside the dataset cache, keyed by spec, size and channels."""
    from studio.data.dataset import cache_dir

    key = hashlib.sha1(f"{spec}|{image_size}|{channels}|judge-v{VERSION}".encode()).hexdigest()[:12]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in spec)[:40]
    return cache_dir() / "judges" / f"{safe}-{image_size}px-{channels}ch-{key}.pt"

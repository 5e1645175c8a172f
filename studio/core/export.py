"""Generator exports for use outside the studio: state dict, TorchScript and ONNX.

Every export takes the same two inputs and gives the same output as the
studio's G:

    images = G(z, condition)   z: (N, nz) float32 ~ N(0, 1)
                               condition: (N, dim) float32, the condition space's encoding
                               images: (N, C, H, W) float32 in [-1, 1]

A sidecar ``<file>.json`` beside each export documents the inputs (the
encoding and its value names, with worked examples), so a user of the
TorchScript or ONNX file needs nothing of ours. The state dict loads with
``torch.load(..., weights_only=True)``; rebuilding G from it takes the
studio's :class:`~studio.core.models.Generator` and the sidecar's config.
"""

from __future__ import annotations

import io
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from studio.core import jsonio
from studio.core.atomic import atomic_write_bytes, atomic_write_json
from studio.core.checkpoint import checkpoint_config, generator_from_state, load_checkpoint
from studio.core.conditions import ConditionSpace, NoCondition
from studio.core.config import TrainConfig, architecture_keys
from studio.core.rundir import guard_output
from studio.errors import ConfigError, StudioError

__all__ = [
    "FORMATS",
    "SIDECAR_FORMAT",
    "ExportedGenerator",
    "ExportResult",
    "export_generator",
    "export_module",
    "describe_inputs",
    "sidecar_path",
    "load_state_dict_export",
    "load_torchscript_export",
    "onnx_available",
]

FORMATS = ("state_dict", "torchscript", "onnx")
SIDECAR_FORMAT = "gan-studio/generator-export"
EXTENSIONS = {"state_dict": ".pt", "torchscript": ".pt", "onnx": ".onnx"}


class ExportedGenerator(nn.Module):
    """G with the fixed, documented signature ``forward(z, condition) -> images in [-1, 1]``.

    Float32 and eval mode always: an export must give the studio's images,
    whatever precision the window uses for previews.
    """

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator

    def forward(self, z: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return self.generator(z, condition)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    sidecar: Path
    format: str


def sidecar_path(path: str | Path) -> Path:
    """``g.onnx`` -> ``g.onnx.json``: one sidecar per export, even when two share a stem."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def onnx_available() -> tuple[bool, str]:
    """Whether ONNX export can run here, and if not, why (the packages of the 'export' extra)."""
    missing = []
    for name in ("onnx", "onnxscript"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        return False, f"ONNX export needs {' and '.join(missing)}: pip install 'gan-studio[export]'"
    return True, ""


def describe_inputs(config: TrainConfig, space: ConditionSpace, examples: int = 3) -> dict:
    """What a caller must feed an exported G, and what comes out."""
    width = space.dim if config.conditional else 0
    shown = []
    if width:
        labels = space.sample(examples, torch.Generator().manual_seed(0))
        encoded = space.encode(labels).float()
        shown = [
            {"condition": space.caption(label), "encoding": [round(float(v), 6) for v in row]}
            for label, row in zip(labels, encoded)
        ]
    return {
        "inputs": {
            "z": {"shape": ["N", config.nz], "dtype": "float32", "text": "noise, each entry from N(0, 1)"},
            "condition": {
                "shape": ["N", width],
                "dtype": "float32",
                # The space describes its own encoding; a model that takes no condition, NoCondition's.
                "encoding": (space if width else NoCondition()).export_encoding(),
            },
        },
        "output": {
            "name": "images",
            "shape": ["N", config.channels, config.image_size, config.image_size],
            "dtype": "float32",
            "range": [-1.0, 1.0],
            "text": "to 8-bit pixels: round((x + 1) * 127.5), clamped to 0..255",
        },
        "condition_examples": shown,
        "condition_space": space.to_dict(),
        "config": config.to_dict(),
        # The settings of config that shape G: rebuilding it needs these, the rest only trained it.
        "architecture": {k: getattr(config, k) for k in architecture_keys(config.family, part="g")},
    }


def _example_inputs(config: TrainConfig, space: ConditionSpace, n: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    z = torch.randn(n, config.nz, generator=g)
    if config.conditional and space.is_conditional:
        cond = space.encode(space.sample(n, g)).float()
    else:
        cond = torch.zeros(n, 0)
    return z, cond


def _state_dict_bytes(generator: nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu().clone() for k, v in generator.state_dict().items()}, buffer)
    return buffer.getvalue()


def _torchscript_bytes(module: ExportedGenerator, example: tuple[torch.Tensor, torch.Tensor]) -> bytes:
    # TorchScript is deprecated upstream in favour of torch.export, but it is
    # still the format a C++ or plain-PyTorch user can load without our code.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        traced = torch.jit.trace(module, example)
        buffer = io.BytesIO()
        torch.jit.save(traced, buffer)
    return buffer.getvalue()


def _onnx_bytes(module: ExportedGenerator, example: tuple[torch.Tensor, torch.Tensor]) -> bytes:
    ok, why = onnx_available()
    if not ok:
        raise StudioError(why)
    batch = torch.export.Dim("batch", min=1)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        target = Path(tmp) / "generator.onnx"
        try:
            torch.onnx.export(
                module,
                example,
                str(target),
                input_names=["z", "condition"],
                output_names=["images"],
                dynamic_shapes={"z": {0: batch}, "condition": {0: batch}},
                dynamo=True,
                external_data=False,
                verbose=False,
            )
        except Exception as exc:  # noqa: BLE001 - the exporter raises many kinds; report one line
            raise StudioError(f"ONNX export failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
        return target.read_bytes()


def export_module(
    generator: nn.Module,
    config: TrainConfig,
    space: ConditionSpace,
    out: str | Path,
    format: str,
    source: dict | None = None,
    overwrite: bool = False,
) -> ExportResult:
    """Write ``generator`` to ``out`` in ``format`` with its sidecar JSON, both atomically.

    Without ``overwrite`` an existing file (export or sidecar) is refused
    before anything is written.
    """
    if format not in FORMATS:
        raise ConfigError(f"export format {format!r}: choose one of {', '.join(FORMATS)}")
    out = Path(out)
    side = sidecar_path(out)
    if not overwrite:
        for path in (out, side):
            if path.exists():
                raise StudioError(f"{path}: already exists; choose another --out or pass --force")
    generator = generator.to("cpu").float().eval()
    module = ExportedGenerator(generator).eval()
    example = _example_inputs(config, space)
    with torch.no_grad():
        if format == "state_dict":
            data = _state_dict_bytes(generator)
        elif format == "torchscript":
            data = _torchscript_bytes(module, example)
        else:
            data = _onnx_bytes(module, example)
    info = {
        "format": SIDECAR_FORMAT,
        "version": 1,
        "file": out.name,
        "export_format": format,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "source": source or {},
        **describe_inputs(config, space),
    }
    if format == "state_dict":
        info["loading"] = (
            "torch.load(file, weights_only=True) gives the state dict of "
            "studio.core.models.Generator(TrainConfig.from_dict(config), space_from_dict(condition_space))"
        )
    elif format == "torchscript":
        info["loading"] = "torch.jit.load(file)(z, condition)"
    else:
        info["loading"] = "onnxruntime.InferenceSession(file).run(['images'], {'z': z, 'condition': condition})"
    try:
        atomic_write_bytes(out, data, overwrite=overwrite)
    except FileExistsError:
        raise StudioError(f"{out}: already exists; choose another --out or pass --force") from None
    atomic_write_json(side, info, overwrite=True)
    return ExportResult(out, side, format)


def export_generator(
    checkpoint: str | Path,
    out: str | Path,
    format: str,
    which: str = "g",
    overwrite: bool = False,
) -> ExportResult:
    """Export the G (or EMA) of a checkpoint or saved average; see :func:`export_module`."""
    checkpoint = Path(checkpoint)
    guard_output(out, [checkpoint])
    guard_output(sidecar_path(Path(out)), [checkpoint])
    # One load: its G, EMA and settings are checksummed once, and D and the optimisers are never read.
    state = load_checkpoint(checkpoint, mmap=True)
    generator, space, config = generator_from_state(state, checkpoint, which)
    source = {"checkpoint": str(checkpoint), "which": which, "epoch": int(state["epoch"]), "step": int(state["step"])}
    if state.get("averaged"):
        source["averaged"] = state["averaged"]
    return export_module(generator, config, space, out, format, source, overwrite)


# --- loading exports back ---------------------------------------------------------------


def _read_sidecar(path: Path) -> dict:
    side = sidecar_path(path)
    if not side.is_file():
        raise StudioError(f"{side}: missing; it describes {path.name} and must sit beside it")
    info = jsonio.read_json(side, StudioError, "export description")
    if not isinstance(info, dict) or info.get("format") != SIDECAR_FORMAT:
        raise StudioError(f"{side}: not a GAN Studio export description")
    return info


def load_state_dict_export(path: str | Path) -> tuple[nn.Module, ConditionSpace, TrainConfig]:
    """Rebuild G from a state-dict export and its sidecar (weights_only loading)."""
    from studio.core.models import Generator

    path = Path(path)
    info = _read_sidecar(path)
    config, space = checkpoint_config({"config": info.get("config"), "space": info.get("condition_space")}, path)
    try:
        weights = torch.load(path, map_location="cpu", weights_only=True)
        generator = Generator(config, space)
        generator.load_state_dict(weights)
    except Exception as exc:  # noqa: BLE001 - any failure means a foreign file, named in one line
        raise StudioError(f"{path}: not a loadable generator state dict ({type(exc).__name__})") from None
    return generator.eval(), space, config


def load_torchscript_export(path: str | Path) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.load(str(path), map_location="cpu").eval()

"""Exporting a generator alone (state dict, TorchScript or ONNX) with the description of its inputs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studio.app.common import Progress, ShouldStop, check_stop, report
from studio.errors import StudioError

__all__ = ["ExportRequest", "ExportUnavailable", "export_files", "check_export", "export"]


class ExportUnavailable(StudioError):
    """The format cannot be written here (ONNX without its packages)."""


@dataclass
class ExportRequest:
    checkpoint: str | Path  # a checkpoint or saved average
    out: str | Path
    format: str  # 'state_dict', 'torchscript' or 'onnx'
    which: str = "g"  # or 'ema': the checkpoint's EMA generator
    overwrite: bool = False  # replace ``out`` and its description when they exist

    @classmethod
    def of(cls, ref, out: str | Path, format: str, overwrite: bool = False) -> ExportRequest:
        """The export of a :class:`~studio.core.averaging.GeneratorRef` (a generator picked in a run)."""
        return cls(ref.path, out, format, ref.which, overwrite)


def export_files(out: str | Path) -> tuple[Path, Path]:
    """(the export, its .json description): the two files an export to ``out`` writes."""
    from studio.core.export import sidecar_path

    return Path(out), sidecar_path(Path(out))


def check_export(request: ExportRequest) -> None:
    """Refuse, before any work, an export that cannot be made: unknown format, ONNX missing, an output a run keeps."""
    from studio.core.export import FORMATS, onnx_available
    from studio.core.rundir import guard_output

    if request.format not in FORMATS:
        raise StudioError(f"export format {request.format!r}: choose one of {', '.join(FORMATS)}")
    if request.format == "onnx":
        ok, reason = onnx_available()
        if not ok:
            raise ExportUnavailable(reason)
    for path in export_files(request.out):
        guard_output(path, [request.checkpoint])


def export(request: ExportRequest, progress: Progress | None = None, should_stop: ShouldStop | None = None):
    """Write the generator and its description (an :class:`~studio.core.export.ExportResult`: path, sidecar, format).

    Without ``overwrite`` an existing export or description is refused before anything is written.
    """
    from studio.core.export import export_generator

    check_export(request)
    check_stop(should_stop, "the export")
    label = f"{Path(request.checkpoint).name}{' (EMA)' if request.which == 'ema' else ''}"
    report(progress)(f"exporting {label} as {request.format}", 0.0)
    result = export_generator(request.checkpoint, request.out, request.format, request.which, request.overwrite)
    report(progress)(f"exported {result.path.name}", 1.0)
    return result

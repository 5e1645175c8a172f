"""The lab's export controls: the generators and formats offered, the file names suggested."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox
from superqt.utils import signals_blocked

from studio.core.averaging import GeneratorRef
from studio.core.rundir import RunDirectory

__all__ = ["EXPORT_FORMATS", "fill_formats", "fill_generators", "export_file_name"]

# (format, label, file filter, suffix)
EXPORT_FORMATS = (
    ("state_dict", "State dict (.pt)", "PyTorch state dict (*.pt)", ".pt"),
    ("torchscript", "TorchScript (.pt)", "TorchScript module (*.pt)", ".pt"),
    ("onnx", "ONNX (.onnx)", "ONNX model (*.onnx)", ".onnx"),
)


def fill_formats(combo: QComboBox) -> str:
    """Every export format; ONNX disabled (with the reason as its tooltip) when it cannot be written here.

    Returns that reason, "" when ONNX is available.
    """
    from studio.core.export import onnx_available

    combo.clear()
    for fmt, label, _, _ in EXPORT_FORMATS:
        combo.addItem(label, fmt)
    ok, reason = onnx_available()
    if not ok:
        item = combo.model().item(combo.findData("onnx"))
        item.setEnabled(False)
        item.setToolTip(reason)
    return reason


def fill_generators(combo: QComboBox, refs: list[GeneratorRef]) -> None:
    """The run's generators; the one the user chose stays, else the newest average, else the newest checkpoint's G.

    A choice the panel made itself does not stay: while a run trains, each new checkpoint
    moves the default on to it (the user's choice is marked by the combo's ``activated``).
    """
    current = combo.currentData() if combo.property("userChosen") else None
    if not combo.property("choiceWatched"):
        combo.activated.connect(lambda _index: combo.setProperty("userChosen", True))
        combo.setProperty("choiceWatched", True)
    with signals_blocked(combo):
        combo.clear()
        for ref in refs:
            combo.addItem(str(ref), ref)
            combo.setItemData(combo.count() - 1, str(ref.path), Qt.ItemDataRole.ToolTipRole)
        index = -1
        if current is not None:
            index = next((i for i, r in enumerate(refs) if r == current), -1)
        if index < 0 and refs:
            averages = [i for i, r in enumerate(refs) if r.kind == "average"]
            checkpoints = [i for i, r in enumerate(refs) if r.kind == "checkpoint"]
            index = (averages or checkpoints or [0])[-1]
        combo.setCurrentIndex(index)


def export_file_name(run: RunDirectory, ref: GeneratorRef, fmt: str) -> tuple[Path, str, str]:
    """(suggested file beside the project's runs folder, file filter, suffix) for exporting ``ref`` as ``fmt``."""
    _, _, file_filter, suffix = next(f for f in EXPORT_FORMATS if f[0] == fmt)
    name = f"{run.run_id}_{ref.path.stem}{'_ema' if ref.which == 'ema' else ''}_{fmt}{suffix}"
    return Path(run.path).parent.parent / name, file_filter, suffix

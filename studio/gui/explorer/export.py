"""The explorer's exports: the grid shown as a PNG, and a sheet of its layout through the run's generators.

:func:`save_grid` writes the mosaic on screen; :func:`draw_sheet` is the
sheet's job, run in a :class:`~studio.gui.worker.Worker`: the same layout and
noise through the run's last checkpoint, newest average and EMA, drawn by
:func:`studio.app.compare.compare` and written by
:meth:`~studio.app.compare.Comparison.save`, as the checkpoint lab and
``sample --sheet`` do.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QCheckBox, QFileDialog, QGroupBox, QHBoxLayout, QPushButton, QSpinBox, QWidget

from studio.app.compare import CompareRequest, compare
from studio.core.explore import Layout, NoiseSettings, grid_image
from studio.core.rundir import RunDirectory
from studio.gui.files import export_folder, remember_export_folder, with_suffix

__all__ = ["ExportControls", "save_grid", "draw_sheet", "choose_png"]


class ExportControls(QGroupBox):
    """The "Export" box: the scale and captions of a PNG, and its two buttons."""

    WIDGETS = ("scale_spin", "captions_check", "export_button", "sheet_button")

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Export", parent)
        self.scale_spin = QSpinBox()
        self.scale_spin.setObjectName("explorerScaleSpin")
        self.scale_spin.setRange(1, 8)
        self.scale_spin.setValue(2)
        self.scale_spin.setSuffix("x")
        self.scale_spin.setToolTip("Exported images are enlarged this many times (sharp pixels)")
        self.captions_check = QCheckBox("Captions")
        self.captions_check.setObjectName("explorerCaptionsCheck")
        self.captions_check.setChecked(True)
        self.captions_check.setToolTip("Write the row and column captions and the title into the PNG")
        self.export_button = QPushButton("PNG…")
        self.export_button.setObjectName("explorerExportButton")
        self.export_button.setToolTip("Save the grid shown as a PNG")
        self.sheet_button = QPushButton("Sheet…")
        self.sheet_button.setObjectName("explorerSheetButton")
        self.sheet_button.setToolTip(
            "Save one PNG with this layout drawn by the last checkpoint, the newest "
            "average and the EMA, side by side (same seed and truncation)"
        )
        export = QHBoxLayout(self)
        export.addWidget(self.scale_spin)
        export.addWidget(self.captions_check)
        export.addStretch(1)
        export.addWidget(self.export_button)
        export.addWidget(self.sheet_button)


def save_grid(
    mosaic: np.ndarray,
    layout: Layout,
    path: str | Path,
    scale: int = 1,
    captions: bool = True,
    title: str = "",
    overwrite: bool = False,
):
    """The mosaic of ``layout`` as a PNG, written atomically (FileExistsError unless ``overwrite``); the image."""
    from studio.core.atomic import atomic_save_image

    image = grid_image(mosaic, layout, captions, scale, title=title if captions else "")
    atomic_save_image(image, Path(path), format="PNG", overwrite=overwrite)
    return image


def draw_sheet(
    run: RunDirectory,
    layout: Layout,
    noise: NoiseSettings,
    space,
    path: str | Path,
    scale: int = 1,
    overwrite: bool = False,
    progress: Callable[[str, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[Path, list[str], tuple[int, int]]:
    """``layout`` through the run's last checkpoint, newest average and EMA, as one PNG at ``path``.

    Returns (path, the generators' labels, (width, height)); refused when a
    generator draws another condition space than ``space``.
    """
    comparison = compare(
        CompareRequest(run, "newest", layout=layout, noise=noise, space=space, scale=scale), progress, should_stop
    )
    image = comparison.save(path, overwrite=overwrite)
    return Path(path), list(comparison.titles), image.size


def choose_png(parent: QWidget, caption: str, suggested: Path) -> tuple[Path | None, bool]:
    """A PNG file chosen in a save dialog (the suffix added): (path, replacing confirmed); None when declined."""
    suggested = export_folder(Path(suggested).parent) / Path(suggested).name  # the last export's folder
    chosen, _ = QFileDialog.getSaveFileName(parent, caption, str(suggested), "PNG image (*.png)")
    if not chosen:
        return None, False
    path, confirmed = with_suffix(parent, chosen, ".png")
    if path is not None:
        remember_export_folder(path)
    return path, confirmed

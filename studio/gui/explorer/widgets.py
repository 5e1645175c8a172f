"""The explorer's "Noise" box."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QGroupBox, QHBoxLayout, QLabel, QSlider, QWidget
from superqt.utils import signals_blocked

from studio.core.explore import NoiseSettings
from studio.gui.builders import make_button, make_combo, make_spin

__all__ = ["NoiseControls", "TRUNCATION_OFF"]

# Truncation slider positions are tenths: 1 -> 0.1 ... 39 -> 3.9; the right end is off.
TRUNCATION_OFF = 40


class NoiseControls(QGroupBox):
    """The "Noise" box: seed, new seed, the row to resample, truncation (clamp or rescale)."""

    WIDGETS = (
        "seed_spin",
        "new_seed_button",
        "row_spin",
        "resample_button",
        "truncation_slider",
        "truncation_label",
        "truncation_mode",
    )

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Noise", parent)
        self.seed_spin = make_spin(
            "explorerSeedSpin", 0, 2**31 - 1, 0, "The seed of the noise: the same seed gives the same grid"
        )
        self.new_seed_button = make_button("New seed", "newSeedButton", "Draw a random seed: new noise for every row")
        self.row_spin = make_spin("explorerRowSpin", 1, 1, 1, "The row to resample (or click a row in the grid)")
        self.row_spin.setPrefix("row ")
        self.resample_button = make_button(
            "Resample row", "resampleRowButton", "New noise for the chosen row only; every other row stays as it is"
        )
        self.truncation_slider = QSlider(Qt.Orientation.Horizontal)
        self.truncation_slider.setObjectName("truncationSlider")
        self.truncation_slider.setRange(1, TRUNCATION_OFF)
        self.truncation_slider.setValue(TRUNCATION_OFF)
        self.truncation_slider.setPageStep(5)
        self.truncation_slider.setToolTip(
            "Truncation: keep the noise near the centre of N(0, 1), trading variety "
            "for quality. Right end: off; further left: stronger"
        )
        self.truncation_label = QLabel()
        self.truncation_label.setObjectName("truncationLabel")
        self.truncation_label.setMinimumWidth(44)
        self.truncation_label.setToolTip("The truncation threshold in standard deviations")
        self.truncation_mode = make_combo(
            "truncationModeCombo",
            "How the noise is kept near its centre (more typical, less varied images). "
            "Cut each number: clip each entry of z to the threshold (clamp). "
            "Shrink the whole vector: scale each z, direction kept, to at most threshold x its typical norm (rescale)",
        )
        self.truncation_mode.addItem("Cut each number", "clamp")
        self.truncation_mode.addItem("Shrink the whole vector", "rescale")
        for i, exact in enumerate(("clamp: z.clamp(-t, t)", "rescale: z * min(1, t * sqrt(nz) / |z|)")):
            self.truncation_mode.setItemData(i, exact, Qt.ItemDataRole.ToolTipRole)
        noise = QGridLayout(self)
        noise.addWidget(QLabel("Seed"), 0, 0)
        noise.addWidget(self.seed_spin, 0, 1)
        noise.addWidget(self.new_seed_button, 0, 2)
        noise.addWidget(QLabel("Row"), 1, 0)
        noise.addWidget(self.row_spin, 1, 1)
        noise.addWidget(self.resample_button, 1, 2)
        noise.addWidget(QLabel("Truncation"), 2, 0)
        trunc = QHBoxLayout()
        trunc.addWidget(self.truncation_slider, 1)
        trunc.addWidget(self.truncation_label)
        noise.addLayout(trunc, 2, 1)
        noise.addWidget(self.truncation_mode, 2, 2)
        noise.setColumnStretch(1, 1)
        self.update_truncation_label()

    def truncation(self) -> float | None:
        value = self.truncation_slider.value()
        return None if value >= TRUNCATION_OFF else value / 10

    def update_truncation_label(self) -> None:
        t = self.truncation()
        self.truncation_label.setText("off" if t is None else f"{t:.1f}")

    def settings(self) -> NoiseSettings:
        return NoiseSettings(self.seed_spin.value(), self.truncation(), self.truncation_mode.currentData())

    def set_rows(self, rows: int) -> None:
        """The rows a resample can choose, without a signal."""
        with signals_blocked(self.row_spin):
            self.row_spin.setRange(1, rows)

"""The grids "Sample now" draws from the generator and its EMA during training, side by side."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from studio.gui.checkpoint_lab.compare_view import CompareView

__all__ = ["LiveSamplesDialog"]


def _captioned(samples, grid):
    """``grid`` with its row and column captions drawn in (the conditions each sample was asked for)."""
    import numpy as np

    from studio.core.sampling import captioned_grid

    if not (samples.row_captions or samples.col_captions):
        return grid
    image = captioned_grid(grid, samples.rows, samples.cols, samples.row_captions, samples.col_captions)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


class LiveSamplesDialog(QDialog):
    """Non-modal: training goes on while it is open; each new "Sample now" replaces its grids."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("liveSamplesDialog")
        self.setWindowTitle("Samples now")
        self.note = QLabel()
        self.note.setObjectName("liveSamplesNote")
        self.note.setWordWrap(True)
        self.view = CompareView()
        self.view.setObjectName("liveSamplesView")
        self.view.placeholder = "Drawing after the next step…"
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.view, 1)
        layout.addWidget(buttons)
        self.resize(900, 620)

    def waiting(self) -> None:
        self.note.setText("Drawing the fixed-noise grid after the next step…")

    def show_samples(self, samples) -> None:
        """``samples``: a :class:`~studio.app.live_samples.LiveSamples`."""
        if samples.error:
            self.note.setText(f"Could not draw the samples: {samples.error}")
            return
        done = f"{samples.epoch} epochs done" if samples.epoch != 1 else "1 epoch done"
        self.note.setText(
            f"The same fixed noise and conditions as the epoch grids, through the generator at step "
            f"{samples.step:,} ({done}); training goes on."
        )
        self.view.set_images([title for title, _ in samples.grids], [_captioned(samples, g) for _, g in samples.grids])

"""Export the sample grid (PNG) and the timeline (GIF): a mixin of :class:`~studio.gui.main_window.MainWindow`."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog

from studio.errors import StudioError
from studio.gui.files import export_folder, remember_export_folder
from studio.gui.main_window.common import _error_text
from studio.gui.timeline import export_gif, export_png
from studio.gui.worker import create_worker


def _write_gif(
    path: Path, frames, scale: int, captions: bool, progress, should_stop, frame_ms: int = 400
) -> tuple[Path, int | None]:
    """The timeline export's job: (path, frames written), None frames when it was cancelled."""
    return path, export_gif(path, frames, scale, captions, frame_ms, progress=progress, should_stop=should_stop)


class ExportMixin:
    """The grid shown as a PNG; the whole timeline as a GIF, written off the GUI thread."""

    def _export_start(self, suffix: str) -> str:
        current = self.dashboard.timeline.current()
        run_id = Path(self.dashboard.run_path).name if self.dashboard.run_path else "grid"
        epoch = current[1].epoch if current else 0
        name = f"{run_id}_epoch_{epoch:04d}.{suffix}" if suffix == "png" else f"{run_id}_timeline.{suffix}"
        base = export_folder(self.project.folder if self.project else Path.home())  # the last export's folder
        return str(base / name)

    def _confirm_suffixed(self, path: str, suffix: str) -> Path | None:
        """``path`` with ``suffix``; asks before overwriting when the suffix was added here."""
        out = Path(path)
        if out.suffix.lower() != f".{suffix}":
            out = out.with_name(out.name + f".{suffix}")
            if out.exists():
                answer = self._ask(
                    "Replace file?",
                    f"{out} exists. Replace it?",
                    QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                    QMessageBox.StandardButton.Cancel,
                )
                if answer != QMessageBox.StandardButton.Yes:
                    return None
        return out

    def export_grid(self, path: str | Path, scale: int | None = None, captions: bool | None = None):
        """Write the grid shown to ``path`` (PNG); returns the image size, or None on failure."""
        timeline = self.dashboard.timeline
        current = timeline.current()
        if current is None:
            self.show_error("Export", "There is no sample grid to export yet.")
            return None
        scale = timeline.export_scale.value() if scale is None else int(scale)
        captions = timeline.export_captions.isChecked() if captions is None else bool(captions)
        grid, frame = current
        try:
            size = export_png(path, grid, frame, scale, captions)
        except (StudioError, OSError) as exc:
            self.show_error("Cannot export the grid", _error_text(exc))
            return None
        self.log_view.log(f"Exported epoch {frame.epoch} to {path} ({size[0]}x{size[1]} px)")
        return size

    def export_grid_dialog(self) -> None:
        if self.dashboard.timeline.current() is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export grid", self._export_start("png"), "PNG image (*.png)")
        out = self._confirm_suffixed(path, "png") if path else None
        if out is not None and self.export_grid(out) is not None:
            remember_export_folder(out)

    def export_timeline(self, path: str | Path, scale: int | None = None, captions: bool | None = None) -> bool:
        """Write the timeline as a GIF in the background, with progress and Cancel; False when one is running.

        A long run at a large scale takes seconds of drawing and encoding, which
        must not freeze the window (or the training beside it).
        """
        timeline = self.dashboard.timeline
        scale = timeline.export_scale.value() if scale is None else int(scale)
        captions = timeline.export_captions.isChecked() if captions is None else bool(captions)
        if self._gif_worker is not None:
            self.statusBar().showMessage("A timeline export is still running.", 5000)
            return False
        frames = timeline.timeline.snapshot()  # training may add frames meanwhile
        path = Path(path)
        dialog = QProgressDialog(f"Exporting {len(frames)} epochs to {path.name}…", "Cancel", 0, 100, self)
        dialog.setObjectName("timelineExportProgress")
        dialog.setWindowTitle("Export timeline")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(400)  # a short export never flashes a dialog
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.canceled.connect(self._cancel_gif)
        self._gif_progress = dialog
        self._gif_worker = create_worker(
            _write_gif,
            path,
            frames,
            scale,
            captions,
            frame_ms=timeline.gif_speed.value(),
            _connect={
                "progress": self._on_gif_progress,
                "returned": self._on_gif_written,
                "errored": self._on_gif_failed,
                "finished": self._on_gif_finished,
            },
        )
        self._gif_thread = self._gif_worker.qthread
        return True

    @property
    def exporting_timeline(self) -> bool:
        return self._gif_worker is not None

    def _cancel_gif(self) -> None:
        if self._gif_worker is not None:
            self._gif_worker.cancel()

    def _on_gif_progress(self, text: str, fraction: float) -> None:
        if self._gif_progress is not None:
            self._gif_progress.setLabelText(text)
            self._gif_progress.setValue(round(100 * fraction))

    def _on_gif_written(self, value) -> None:
        path, count = value
        if count is None:
            self.log_view.log(f"Timeline export to {path} cancelled; nothing written")
        else:
            self.log_view.log(f"Exported {count} epochs to {path}")
            self.statusBar().showMessage(f"Exported {count} epochs to {path}", 5000)

    def _on_gif_failed(self, exc: BaseException) -> None:
        text = _error_text(exc) if isinstance(exc, (StudioError, OSError)) else f"{type(exc).__name__}: {exc}"
        self.show_error("Cannot export the timeline", text, getattr(exc, "details", ""))

    def _on_gif_finished(self, _value=None) -> None:
        self._gif_worker = None
        if self._gif_progress is not None:
            self._gif_progress.close()
            self._gif_progress.deleteLater()
            self._gif_progress = None

    def export_gif_dialog(self) -> None:
        if not self.dashboard.timeline.count():
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export timeline", self._export_start("gif"), "Animated GIF (*.gif)"
        )
        out = self._confirm_suffixed(path, "gif") if path else None
        if out is not None:
            remember_export_folder(out)
            self.export_timeline(out)

"""The condition explorer: a generator of the run, a layout of conditions x noise, redrawn as controls change.

    generator   any checkpoint's G, the EMA, or a saved average of the run shown
    layout      what the condition space offers (:mod:`.controls`), built by
                :func:`studio.app.sampling.build_layout`, the rules the sample command uses
    noise       seed, new seed, resample one row, truncation (clamp or rescale)
    export      the grid as a captioned PNG, or a sheet of the same layout through the
                last checkpoint, the newest average and the EMA (:mod:`.export`)

Layouts are built on the GUI thread (cheap: a few hundred condition vectors);
the images come from one :class:`~studio.core.explore.Explorer` that only
ever runs in a :class:`~studio.gui.worker.Worker` (:mod:`.render`), one render
at a time.  A change while a render runs cancels it and the newest request
runs next; finished rows reach the view as they are drawn.
"""

from __future__ import annotations

import html
import random
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget
from superqt.utils import signals_blocked

from studio.app.sampling import build_layout
from studio.core.averaging import GeneratorRef, run_generators
from studio.core.checkpoint import checkpoint_config, load_checkpoint
from studio.core.conditions import ConditionSpace
from studio.core.explore import Layout, NoiseSettings
from studio.core.rundir import RunDirectory
from studio.errors import StudioError
from studio.gui.builders import side_by_side
from studio.gui.explorer.controls import ConditionControls
from studio.gui.explorer.display import GridDisplay
from studio.gui.explorer.export import ExportControls, choose_png, draw_sheet, save_grid
from studio.gui.explorer.render import RenderRelay, RenderRequest, RenderState, render_job
from studio.gui.explorer.widgets import NoiseControls
from studio.gui.scroll import vertical_scroll
from studio.gui.worker import Worker, create_worker, error_text, join_thread, thread_running

__all__ = ["ConditionExplorer"]


class ConditionExplorer(QWidget):
    """Pick a generator and a layout; the grid redraws off the GUI thread as the controls change."""

    message = Signal(str)
    errorOccurred = Signal(str, str, str)  # title, text, details
    rendered = Signal(object)  # the RenderResult of a finished (not superseded) render
    rowsShown = Signal(int, int)  # first and end row of a strip just put on screen

    def __init__(self, parent: QWidget | None = None, precision: str = "auto"):
        super().__init__(parent)
        self.setObjectName("conditionExplorer")
        self.precision = precision
        self.run: RunDirectory | None = None
        self.refs: list[GeneratorRef] = []
        self.ref: GeneratorRef | None = None
        self.space: ConditionSpace | None = None
        self.nz = 0
        self.layout: Layout | None = None  # the layout asked for (the one shown may be older: display)
        self.last_result = None
        self.render_count = 0
        self.complete = False  # the mosaic shows the whole current request
        self.last_sheet: Path | None = None
        self._last_error = ""
        self._resample_queue: list[int] = []
        self._dirty = False
        self._job_id = 0
        self._render_worker: Worker | None = None  # the render running, None once it has finished
        self._render_thread = None  # its thread, joined on closing
        self._render_state = RenderState()  # touched only by render jobs, which run one at a time
        self._sheet_worker: Worker | None = None
        self._sheet_thread = None

        self._relay = RenderRelay(self)
        self._relay.begin.connect(self._on_render_begin)
        self._relay.rows.connect(self._on_render_rows)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(30)
        self._debounce.timeout.connect(self._kick)

        self._build()
        self._connect()
        self._set_space(None)

    # --- building --------------------------------------------------------------------
    def _build(self) -> None:
        self.generator_combo = QComboBox()
        self.generator_combo.setObjectName("explorerGeneratorCombo")
        self.generator_combo.setToolTip(
            "The generator to explore: any checkpoint's G, the EMA of G, or an average saved in the checkpoint lab"
        )
        self.generator_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.generator_combo.setMinimumContentsLength(16)
        self.condition_controls = ConditionControls()
        self.noise_controls = NoiseControls()
        self.export_controls = ExportControls()
        self.display = GridDisplay()
        parts = (self.condition_controls, self.noise_controls, self.export_controls)
        # The parts' widgets under the names the panel has always had.
        for part in (*parts, self.display):
            for name in part.WIDGETS:
                setattr(self, name, getattr(part, name))

        controls = QWidget()
        controls_layout = QVBoxLayout(controls)
        controls_layout.setContentsMargins(0, 0, 4, 0)
        generator_row = QHBoxLayout()
        generator_row.addWidget(QLabel("Generator"))
        generator_row.addWidget(self.generator_combo, 1)
        controls_layout.addLayout(generator_row)
        for part in parts:
            controls_layout.addWidget(part)
        controls_layout.addStretch(1)
        scroll = vertical_scroll(controls, "explorerControls", frame=False)
        scroll.setMinimumWidth(360)

        self.splitter = side_by_side(self, "explorerSplitter", scroll, self.display, (400, 900))

    def _connect(self) -> None:
        self.generator_combo.currentIndexChanged.connect(self._on_generator_changed)
        self.display.rowClicked.connect(lambda row: self.row_spin.setValue(row + 1))
        self.condition_controls.changed.connect(self._rebuild_layout)
        self.seed_spin.valueChanged.connect(self._on_seed_changed)
        self.new_seed_button.clicked.connect(self.new_seed)
        self.resample_button.clicked.connect(lambda: self.resample_row(self.row_spin.value() - 1))
        self.truncation_slider.valueChanged.connect(self._on_truncation_changed)
        self.truncation_mode.currentIndexChanged.connect(self._on_truncation_changed)
        self.export_button.clicked.connect(self.export_dialog)
        self.sheet_button.clicked.connect(self.sheet_dialog)

    @property
    def colour_buttons(self) -> list[QPushButton]:
        return self.condition_controls.colour_buttons

    @property
    def mosaic(self) -> np.ndarray | None:
        """The grid on screen as far as it is drawn, (H, W, 3) uint8; None when there is none."""
        return self.display.mosaic

    @mosaic.setter
    def mosaic(self, value: np.ndarray | None) -> None:
        self.display.mosaic = value

    # --- run and generator -------------------------------------------------------------
    def set_run(self, run: RunDirectory | None) -> None:
        """Explore ``run``'s generators (None: nothing)."""
        if run is not None and self.run is not None and Path(run.path) == Path(self.run.path):
            self.refresh()
            return
        self.run = run
        self.refresh(follow_newest=True)

    def on_checkpoint_saved(self, path: str | Path) -> None:
        if self.run is not None and Path(path).parent.parent == Path(self.run.path):
            self.refresh()

    def refresh(self, follow_newest: bool = False) -> None:
        """Read the run's generators again; the one shown stays unless it was the newest checkpoint."""
        old = self.ref
        old_checkpoints = [r for r in self.refs if r.kind == "checkpoint"]
        was_newest = old is not None and (old.kind == "ema" or (old_checkpoints and old == old_checkpoints[-1]))
        try:
            self.refs = run_generators(self.run) if self.run is not None else []
        except (StudioError, OSError) as exc:
            self.refs = []
            self._show_reason(str(exc))
        index = -1
        if old is not None and not follow_newest:
            index = next((i for i, r in enumerate(self.refs) if r == old), -1)
            if was_newest:
                # Follow training: the newest checkpoint (or the EMA, which moves with it).
                same_kind = [i for i, r in enumerate(self.refs) if r.kind == old.kind]
                index = same_kind[-1] if same_kind else index
        if index < 0:
            checkpoints = [i for i, r in enumerate(self.refs) if r.kind == "checkpoint"]
            index = checkpoints[-1] if checkpoints else (0 if self.refs else -1)
        with signals_blocked(self.generator_combo):
            self.generator_combo.clear()
            for ref in self.refs:
                self.generator_combo.addItem(str(ref), ref)
                self.generator_combo.setItemData(
                    self.generator_combo.count() - 1, str(ref.path), Qt.ItemDataRole.ToolTipRole
                )
            self.generator_combo.setCurrentIndex(index)
        new = self.refs[index] if index >= 0 else None
        if new != old or new is None:
            self._on_generator_changed()
        self._update_controls()

    def _on_generator_changed(self, *_) -> None:
        ref = self.generator_combo.currentData()
        self.ref = ref
        if ref is None:
            self._set_space(None)
            self.display.clear()
            self.title.setText("No generator: this run has no checkpoints yet" if self.run else "No run selected")
            self._update_controls()
            return
        try:
            # Only the settings: G's checksums are verified where it is loaded, in the render thread,
            # not here on the GUI thread (a 64 px G and its EMA take ~0.3 s), once per training checkpoint.
            config, space = checkpoint_config(load_checkpoint(ref.path, mmap=True, sections=()), ref.path)
        except (StudioError, OSError) as exc:
            self._set_space(None)
            self._show_reason(str(exc))
            self.errorOccurred.emit("Cannot explore this generator", str(exc), "")
            return
        if self.space is None or space != self.space or config.nz != self.nz:
            self.nz = config.nz
            self._set_space(space)
        elif self.layout is None:
            self._rebuild_layout()
        else:
            self.request_render()  # same layout and noise (resampled rows too) through another G

    # --- conditions --------------------------------------------------------------------
    def _set_space(self, space: ConditionSpace | None) -> None:
        """Fill the controls a space needs, hide the others, and lay out its first grid."""
        self.space = space
        self.condition_controls.set_space(space)
        self._rebuild_layout()

    def mode(self) -> str:
        return self.condition_controls.mode()

    def add_object_set(self) -> bool:
        """Add the ticked objects as one row; refused (with the reason) outside min..max."""
        return self.condition_controls.add_object_set()

    def pick_colour(self, attribute: int) -> None:
        self.condition_controls.pick_colour(attribute)

    def set_colour(self, attribute: int | str, value: str) -> None:
        """Hold ``attribute`` at ``value`` ('#rrggbb' or a colour name) and redraw."""
        self.condition_controls.set_colour(attribute, value)

    def colours(self) -> list[str]:
        return self.condition_controls.colours()

    def _show_reason(self, text: str) -> None:
        self.condition_controls.show_reason(text)

    def _rebuild_layout(self, *_) -> None:
        if self.space is None or not self.mode():
            self.layout = None
            self._update_controls()
            return
        try:
            layout = build_layout(self.space, self.condition_controls.request())
        except StudioError as exc:
            # The grid drawn before belongs to other settings: it goes, so it cannot be exported as these.
            self.layout = None
            self._job_id += 1  # a render of it still under way is dropped
            self.display.clear(f"No grid for these settings: {exc}")  # not "choose a run": the run is chosen
            self.title.setText(f"<b>{html.escape(str(self.ref))}</b>: no grid for these settings")
            self._show_reason(str(exc))
            self._update_controls()
            return
        self._show_reason("")
        self.layout = layout
        self._resample_queue.clear()
        self.noise_controls.set_rows(layout.rows)
        self.request_render()

    # --- noise ----------------------------------------------------------------------------
    def truncation(self) -> float | None:
        return self.noise_controls.truncation()

    def _on_truncation_changed(self, *_) -> None:
        self.noise_controls.update_truncation_label()
        self.request_render()

    def _on_seed_changed(self, *_) -> None:
        self._resample_queue.clear()  # a new seed gives every row new noise anyway
        self.request_render()

    def new_seed(self) -> None:
        self.seed_spin.setValue(random.randrange(0, 2**31 - 1))

    def noise_settings(self) -> NoiseSettings:
        return self.noise_controls.settings()

    def resample_row(self, row: int) -> bool:
        """New noise for ``row`` (0-based) alone."""
        if self.layout is None or not 0 <= row < self.layout.rows:
            return False
        self._resample_queue.append(row)
        self.message.emit(f"Explorer: new noise for row {row + 1}")
        self.request_render()
        return True

    # --- rendering ----------------------------------------------------------------------
    def request_render(self) -> None:
        """Redraw soon; a burst of changes (a slider drag) becomes one request."""
        self._dirty = True
        self.complete = False
        self._debounce.start()

    def idle(self) -> bool:
        """Nothing drawing and nothing waiting to be drawn."""
        return self._render_worker is None and not self._dirty and not self._debounce.isActive()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty:
            self._debounce.start()

    def _kick(self) -> None:
        if not self._dirty:
            return
        if self.layout is None or self.ref is None:
            self._dirty = False
            return
        if not self.isVisible():
            return  # drawn when shown: a hidden tab costs training no CPU
        if self._render_worker is not None:
            self._render_worker.cancel()  # the newer request runs when this one has stopped
            return
        self._dirty = False
        self._job_id += 1
        resample, self._resample_queue = tuple(self._resample_queue), []
        request = RenderRequest(self._job_id, self.ref, self.layout, self.noise_settings(), resample, self.precision)
        self.status.setText("Drawing…")
        self._render_worker = create_worker(
            render_job,
            request,
            self._render_state,
            on_begin=self._relay.begin.emit,
            on_rows=self._relay.rows.emit,
            _connect={
                "returned": self._on_render_returned,
                "errored": self._on_render_errored,
                "finished": self._on_render_finished,
            },
        )
        self._render_thread = self._render_worker.qthread

    def _on_render_begin(self, job_id: int, value) -> None:
        shape, layout = value
        if job_id != self._job_id:
            return
        self.display.begin(shape, layout)
        self.title.setText(f"<b>{html.escape(str(self.ref))}</b>: {html.escape(layout.title or 'grid')}")

    def _on_render_rows(self, job_id: int, first: int, end: int, strip: np.ndarray) -> None:
        if job_id != self._job_id or self.mosaic is None:
            return
        self.display.paint_rows(first, strip)
        self.rowsShown.emit(first, end)

    def _on_render_returned(self, value) -> None:
        job_id, layout, result = value
        if job_id != self._job_id or result.stopped:
            return
        self.display.show_grid(result.mosaic, layout)
        self.last_result = result
        self._last_error = ""
        self.render_count += 1
        self.complete = not self._dirty
        self.status.setText(
            f"{result.rows} x {result.cols} cells: {result.rendered} drawn, {result.cached} from the cache, "
            f"{result.seconds * 1000:.0f} ms"
        )
        self._update_controls()
        self.rendered.emit(result)

    def _on_render_errored(self, exc: BaseException) -> None:
        text, details = error_text(exc)
        self.status.setText("Could not draw the grid")
        self._show_reason(text)
        if text != self._last_error:  # once, not again for every control touched afterwards
            self._last_error = text
            self.errorOccurred.emit("Cannot draw the grid", text, details)

    def _on_render_finished(self, _value=None) -> None:
        self._render_worker = None
        if self._dirty:
            self._kick()

    # --- export ---------------------------------------------------------------------------
    def _update_controls(self) -> None:
        has = self.layout is not None and self.ref is not None
        self.export_button.setEnabled(has and self.mosaic is not None)
        self.sheet_button.setEnabled(has and self._sheet_worker is None)
        self.resample_button.setEnabled(has)
        self.new_seed_button.setEnabled(has)

    def grid_title(self) -> str:
        return f"{self.layout.title} ({self.ref})" if self.layout and self.layout.title else str(self.ref or "")

    def export_png(
        self, path: str | Path, scale: int | None = None, captions: bool | None = None, overwrite: bool = False
    ) -> tuple[int, int] | None:
        """The grid shown as a PNG (atomic); returns its size, or None when refused."""
        if self.mosaic is None or self.layout is None:
            return None
        if not self.complete:
            self.errorOccurred.emit("Cannot export", "The grid is still being drawn; export it when it is done.", "")
            return None
        scale = self.scale_spin.value() if scale is None else int(scale)
        captions = self.captions_check.isChecked() if captions is None else bool(captions)
        path, layout = Path(path), self.display.layout_shown
        try:
            image = save_grid(self.mosaic, layout, path, scale, captions, self.grid_title(), overwrite)
        except FileExistsError:
            self.errorOccurred.emit("Cannot export", f"{path}: already exists; choose another file", "")
            return None
        except OSError as exc:
            self.errorOccurred.emit("Cannot export", f"{path}: {exc.strerror or exc}", "")
            return None
        self.message.emit(f"Exported the explorer grid to {path} ({image.width}x{image.height} px)")
        return image.size

    def _start_folder(self) -> Path:
        return Path(self.run.path).parent.parent if self.run is not None else Path.home()

    def export_dialog(self) -> None:
        if self.mosaic is None:
            return
        name = f"{self.run.run_id if self.run else 'grid'}_{self.mode()}.png"
        path, confirmed = choose_png(self, "Export the grid", self._start_folder() / name)
        if path is not None:
            self.export_png(path, overwrite=confirmed)

    def export_sheet(self, path: str | Path, overwrite: bool = False) -> bool:
        """This layout through the last checkpoint, the newest average and the EMA, as one PNG (in the background)."""
        if self.run is None or self.layout is None or self._sheet_worker is not None:
            return False
        path = Path(path)
        if path.exists() and not overwrite:
            self.errorOccurred.emit("Cannot export", f"{path}: already exists; choose another file", "")
            return False
        self.status.setText("Drawing the sheet…")
        self._sheet_worker = create_worker(
            draw_sheet,
            self.run,
            self.layout,
            self.noise_settings(),
            self.space,
            path,
            self.scale_spin.value(),
            overwrite,
            _connect={
                "returned": self._on_sheet_done,
                "errored": self._on_sheet_error,
                "finished": self._on_sheet_finished,
            },
        )
        self._sheet_thread = self._sheet_worker.qthread
        self._update_controls()
        return True

    def _on_sheet_done(self, value) -> None:
        path, labels, size = value
        self.last_sheet = path
        self.status.setText(f"Saved the sheet {Path(path).name}")
        self.message.emit(f"Exported a sheet of {', '.join(labels)} to {path} ({size[0]}x{size[1]} px)")

    def _on_sheet_error(self, exc: BaseException) -> None:
        text, details = error_text(exc)
        self.status.setText("Could not save the sheet")
        self.errorOccurred.emit("Cannot export the sheet", text, details)

    def _on_sheet_finished(self, _value=None) -> None:
        self._sheet_worker = None
        self._update_controls()

    def sheet_busy(self) -> bool:
        return self._sheet_worker is not None

    def sheet_dialog(self) -> None:
        if self.layout is None or self.run is None:
            return
        name = f"{self.run.run_id}_{self.mode()}_sheet.png"
        path, confirmed = choose_png(self, "Export a sheet", self._start_folder() / name)
        if path is not None:
            self.export_sheet(path, overwrite=confirmed)

    # --- closing --------------------------------------------------------------------------
    def wait(self, timeout_ms: int | None = None) -> bool:
        """Block until the render and sheet threads have ended."""
        ok = join_thread(self._render_thread, timeout_ms)
        return join_thread(self._sheet_thread, timeout_ms) and ok

    def shutdown(self) -> None:
        self._debounce.stop()
        self._dirty = False
        if self._render_worker is not None:
            self._render_worker.cancel()
        self.wait()

    def busy(self) -> bool:
        return thread_running(self._render_thread) or thread_running(self._sheet_thread)

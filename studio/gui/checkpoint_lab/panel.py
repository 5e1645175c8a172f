"""The checkpoint lab panel: a run's checkpoints selected, averaged, compared and exported.

The widgets are built in :mod:`.widgets`, the table filled by :mod:`.table`;
each job is one call of the application layer (:mod:`studio.app.checkpoints`,
:mod:`studio.app.compare`, :mod:`studio.app.exporting`), the same the command
line makes, run by the panel's :class:`PanelJob`.
"""

from __future__ import annotations

import html
from functools import partial
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QWidget
from superqt.utils import signals_blocked

from studio.app.checkpoints import AverageRequest, average_sources, list_run
from studio.app.compare import CompareRequest, Comparison, average_and_compare, compare
from studio.app.exporting import ExportRequest, check_export, export, export_files
from studio.app.reporting import spans
from studio.core.averaging import CheckpointEntry, GeneratorRef
from studio.core.rundir import RunDirectory
from studio.errors import StudioError
from studio.gui.checkpoint_lab import table, widgets
from studio.gui.checkpoint_lab.export import export_file_name, fill_generators
from studio.gui.files import confirm_replace, export_folder, remember_export_folder, with_suffix
from studio.gui.worker import PanelJob, PanelJobHost

__all__ = ["CheckpointLab"]

_TITLES = {"average": "Cannot average", "compare": "Cannot compare", "export": "Cannot export"}

# Refusals of a selection worded for the lab's controls instead of the command line's flags, by their code.
_WORDS = {
    "average.range_unreadable": lambda f: f"epochs {f['range']!r}: write a range as A-B, e.g. 21-30",
    "average.range_reversed": lambda f: f"epochs {f['range']!r}: the first epoch is after the last",
    "average.last_too_few": lambda f: "last N must be at least 1",
}


def _for_the_lab(exc: StudioError) -> str:
    words = _WORDS.get(exc.code)
    return words(exc.fields) if words is not None else str(exc)


class CheckpointLab(PanelJobHost, QWidget):
    """A run's checkpoints: select, average, compare, export."""

    message = Signal(str)  # a line for the log
    errorOccurred = Signal(str, str, str)  # title, text, details
    averageSaved = Signal(object)  # Path of the new average
    jobFinished = Signal(str)  # the job's name, when its thread has ended

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("checkpointLab")
        self.run: RunDirectory | None = None
        self.entries: list[CheckpointEntry] = []
        self.refs: list[GeneratorRef] = []
        self.comparison: Comparison | None = None  # knows the run it was drawn from (run_id)
        self.last_average: Path | None = None
        self.last_export = None
        self._last_chosen = False  # the user set 'last N' themselves
        widgets.build(self)
        self._jobs = PanelJob(self, self.progress, self.status, self.message.emit, self._on_errored)
        self._jobs.ended.connect(self._on_job_ended)
        self._connect()
        self._update_controls()

    def _connect(self) -> None:
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        self.last_spin.valueChanged.connect(self._on_last_chosen)
        self.select_last_button.clicked.connect(lambda: self.select_last(self.last_spin.value()))
        self.select_range_button.clicked.connect(lambda: self.select_epochs(self.range_edit.text()))
        self.range_edit.returnPressed.connect(lambda: self.select_epochs(self.range_edit.text()))
        self.average_button.clicked.connect(lambda: self.average())
        self.compare_button.clicked.connect(lambda: self.compare())
        self.save_comparison_button.clicked.connect(self.save_comparison_dialog)
        self.export_button.clicked.connect(self.export_dialog)
        self.cancel_button.clicked.connect(self.cancel)
        from studio.gui.checkpoint_lab.pins import install_pin_menu

        install_pin_menu(self)  # right-click: pin or unpin a full checkpoint

    # --- the run ------------------------------------------------------------------
    def set_run(self, run: RunDirectory | None) -> None:
        """Show ``run``'s checkpoints (None: nothing)."""
        same = run is not None and self.run is not None and Path(run.path) == Path(self.run.path)
        self.run = run
        if not same:
            self._fill_subsets()
            self.export_combo.setProperty("userChosen", False)  # another run: its newest generator is offered
            self.comparison = None
            self.last_average = None
            self.compare_view.clear()
            self.average_info.clear()
            self.selection_info.clear()
        self.refresh()

    def refresh(self) -> None:
        """Read the run's checkpoints and generators again, keeping the selection."""
        keep = {str(p) for p in self.selected_paths()}
        self.entries, self.refs = [], []
        complete, problem = 0, ""
        if self.run is not None:
            try:
                listing = list_run(self.run)
            except (StudioError, OSError) as exc:
                problem = str(exc)
            else:
                self.entries, self.refs, complete = listing.entries, listing.generators, listing.complete_epochs
        results = []
        if self.run is not None:
            from studio.eval.results import load_results

            try:
                results = load_results(self.run.path)
            except (StudioError, OSError):
                results = []  # damaged results: the Evaluation tab says so; the lab shows the training figures
        table.fill_table(self.table, self.entries, keep, results)
        self._on_selection_changed()
        fill_generators(self.export_combo, self.refs)
        if self.run is None:
            self.title.setText("No run selected: choose one in the Runs tab")
        elif problem:
            self.title.setText(f"<b>{html.escape(self.run.run_id)}</b>: {html.escape(problem)}")
        else:
            count = len(self.entries)
            plural = "s" if count != 1 else ""
            self.title.setText(f"Run <b>{html.escape(self.run.run_id)}</b>: {count} checkpoint{plural}")
        with signals_blocked(self.last_spin):
            self.last_spin.setMaximum(max(1, complete))
            if not self._last_chosen:  # the recipes average the last 10 epochs
                self.last_spin.setValue(min(10, max(1, complete)))
        self._update_controls()

    def on_checkpoint_saved(self, path: str | Path) -> None:
        """The trainer wrote ``path``: refresh when it belongs to the run shown."""
        if self.run is not None and Path(path).parent.parent == Path(self.run.path):
            self.refresh()

    # --- selection ----------------------------------------------------------------
    def selected_paths(self) -> list[Path]:
        return table.selected_paths(self.table)

    def select_paths(self, paths: list[Path]) -> None:
        table.select_rows(self.table, {str(Path(p)) for p in paths})
        self._on_selection_changed()

    def _show_selection_state(self, text: str, error: bool) -> None:
        self.selection_info.setText(text)
        self.selection_info.setProperty("error", error)
        self.selection_info.style().unpolish(self.selection_info)
        self.selection_info.style().polish(self.selection_info)

    def _refuse_selection(self, text: str) -> None:
        self._show_selection_state(text, True)

    def select_last(self, count: int) -> bool:
        """Select the last ``count`` end-of-epoch checkpoints; a refusal is shown under the controls."""
        return self._select(AverageRequest(self.run, last=count)) if self.run is not None else False

    def select_epochs(self, text: str) -> bool:
        """Select the end-of-epoch checkpoints of 'A-B'."""
        return self._select(AverageRequest(self.run, epochs=text)) if self.run is not None else False

    def _select(self, request: AverageRequest) -> bool:
        """Select the checkpoints ``average RUN`` would average for ``request``."""
        try:
            paths = average_sources(request)
        except StudioError as exc:
            self._refuse_selection(_for_the_lab(exc))
            return False
        self.select_paths(paths)
        return True

    def _on_last_chosen(self, _value: int) -> None:
        self._last_chosen = True

    def _on_selection_changed(self) -> None:
        paths = self.selected_paths()
        by_path = {str(e.path): e for e in self.entries}
        epochs = [by_path[str(p)].epoch for p in paths if str(p) in by_path]
        if not paths:
            text = "Select two or more checkpoints to average."
        elif len(paths) == 1:
            text = f"1 checkpoint selected (epoch {epochs[0]}): select at least two to average."
        else:
            text = f"{len(paths)} checkpoints selected: epochs {spans(epochs)}"
        self._show_selection_state(text, False)
        self._update_controls()

    # --- jobs -------------------------------------------------------------------------
    def _update_controls(self) -> None:
        busy = self.busy
        has_run = self.run is not None
        self.average_button.setEnabled(has_run and not busy and len(self.selected_paths()) >= 2)
        has_checkpoints = any(r.kind == "checkpoint" for r in self.refs)
        self.compare_button.setEnabled(has_run and not busy and has_checkpoints)
        self.save_comparison_button.setEnabled(self.comparison is not None and not busy)
        self.export_button.setEnabled(has_run and not busy and self.export_combo.count() > 0)
        self.select_last_button.setEnabled(has_run and not busy)
        self.select_range_button.setEnabled(has_run and not busy)
        self.cancel_button.setEnabled(busy and self._job in ("average", "compare"))

    def _start(self, name: str, text: str, fn, *args, done, **kwargs) -> bool:
        started = self._jobs.start(name, text, fn, *args, done=done, **kwargs)
        if started:
            self._update_controls()
        return started

    def _on_errored(self, exc: BaseException) -> None:
        failure = self._jobs.failure(exc, self._job.capitalize(), f"Checkpoint lab: {self._job}")
        if failure is None:
            return
        title = _TITLES.get(self._job, "Checkpoint lab")
        self.status.setText(title)
        self.errorOccurred.emit(title, *failure)

    def _on_job_ended(self, name: str) -> None:
        self._update_controls()
        self.jobFinished.emit(name)

    # --- average and compare ------------------------------------------------------
    def average(self, paths: list[Path] | None = None, bn_reestimate: bool | None = None) -> bool:
        """Average ``paths`` (default: the selected rows) in the background, save it, then compare."""
        if self.run is None or self.busy:
            return False
        paths = list(paths) if paths is not None else self.selected_paths()
        if len(paths) < 2:
            self._refuse_selection("Select at least two checkpoints to average.")
            return False
        bn = self.bn_check.isChecked() if bn_reestimate is None else bool(bn_reestimate)
        run = self.run
        self.message.emit(
            f"Averaging {len(paths)} checkpoints of {run.run_id} "
            f"({'re-estimating' if bn else 'averaging'} BatchNorm statistics)"
        )
        request = AverageRequest(run, checkpoints=paths, bn_reestimate=bn, unique_name=True)
        return self._start(
            "average",
            f"Averaging {len(paths)} checkpoints…",
            average_and_compare,
            request,
            done=partial(self._on_average_done, run),
        )

    def _shows(self, run: RunDirectory) -> bool:
        """Whether the lab still shows ``run``, the run a finished job worked on."""
        return self.run is not None and Path(self.run.path) == Path(run.path)

    def _on_average_done(self, run: RunDirectory, done) -> None:
        outcome, comparison = done  # an AverageOutcome; the Comparison, None when it was cancelled
        saved, bn_text = outcome.path, outcome.describe_bn()
        self.message.emit(f"Average saved to {saved}: {bn_text}")
        if not self._shows(run):  # the user moved on to another run meanwhile: its panel stays as it is
            self.status.setText(f"Averaged {run.run_id}: {saved.name}")
            self.averageSaved.emit(saved)
            return
        self.last_average = saved
        self.average_info.setText(f"Saved {saved.name} (epochs {spans(outcome.epochs)}). {bn_text}.")
        self.status.setText("Averaged" + ("" if comparison is not None else "; comparison cancelled"))
        self.refresh()
        index = next((i for i, r in enumerate(self.refs) if r.kind == "average" and r.path == saved), -1)
        if index >= 0:
            self.export_combo.setCurrentIndex(index)  # the new average is the one most likely exported
        if comparison is not None:
            self._show_comparison(comparison)
        self.averageSaved.emit(saved)

    def compare(self) -> bool:
        """Draw the last checkpoint, the newest saved average and the EMA in the background."""
        if self.run is None or self.busy:
            return False
        average = self.last_average if self.last_average is not None and self.last_average.is_file() else None
        layout, space = self._subset_layout()
        request = CompareRequest(self.run, [average] if average is not None else "newest", layout=layout, space=space)
        return self._start(
            "compare", "Drawing the comparison…", compare, request, done=partial(self._on_compare_done, self.run)
        )

    def _fill_subsets(self) -> None:
        """'Whole grid', then each value of a two-attribute space held fixed while the other varies."""
        self._subset_space = None
        with signals_blocked(self.subset_combo):
            self.subset_combo.clear()
            self.subset_combo.addItem("Whole grid", None)
            if self.run is None:
                return
            try:
                from studio.data.dataset import dataset_space

                space = dataset_space(self.run.read_config().dataset)
            except Exception:  # noqa: BLE001 - a space that cannot be read offers the whole grid only
                return
            attributes = getattr(space, "attributes", None)
            if getattr(space, "kind", "") != "multi-attribute" or len(attributes) != 2:
                return
            self._subset_space = space
            for a, (_name, values) in enumerate(attributes):
                other = attributes[1 - a][0]
                for v in range(len(values)):
                    caption = space.value_caption(a, v)
                    self.subset_combo.addItem(f"{caption} only ({other} varies)", (caption, other))

    def _subset_layout(self):
        """(layout, space) of the chosen subset, or (None, None) for the whole grid."""
        chosen = self.subset_combo.currentData()
        space = getattr(self, "_subset_space", None)
        if chosen is None or space is None:
            return None, None
        import dataclasses

        from studio.app.sampling import LayoutRequest, build_layout

        caption, other = chosen
        try:
            layout = build_layout(space, LayoutRequest(mode="words", fix=[caption], cols=other, samples=4))
        except StudioError:
            return None, None
        # The value held is in the title; the rows differ only by their noise.
        rows = [f"sample {i + 1}" for i in range(layout.rows)]
        return dataclasses.replace(layout, row_captions=rows), space

    def _on_compare_done(self, run: RunDirectory, comparison: Comparison) -> None:
        if not self._shows(run):
            self.status.setText(f"Compared {run.run_id}: select it again to draw its comparison")
            return
        self.status.setText("Compared")
        self._show_comparison(comparison)

    def _show_comparison(self, comparison: Comparison) -> None:
        self.comparison = comparison
        self.compare_view.set_images(comparison.titles, comparison.arrays())
        self.message.emit("Comparison: " + " | ".join(comparison.titles))
        self._update_controls()

    def save_comparison(self, path: str | Path, overwrite: bool = False) -> Path | None:
        """The comparison as one PNG sheet (atomic; an existing file only with ``overwrite``)."""
        if self.comparison is None:
            return None
        path = Path(path)
        try:
            self.comparison.save(path, overwrite)
        except (StudioError, OSError) as exc:
            text = str(exc) if isinstance(exc, StudioError) else f"{path}: {exc}"
            self.errorOccurred.emit("Cannot save the comparison", text, "")
            return None
        self.message.emit(f"Saved the comparison to {path}")
        return path

    def save_comparison_dialog(self) -> None:
        if self.comparison is None:
            return
        start = export_folder(self.run.path if self.run is not None else Path.home()) / "comparison.png"
        chosen, _ = QFileDialog.getSaveFileName(self, "Save the comparison", str(start), "PNG image (*.png)")
        if not chosen:
            return
        path, confirmed = with_suffix(self, chosen, ".png")
        if path is not None and self.save_comparison(path, overwrite=confirmed) is not None:
            remember_export_folder(path)

    # --- export -----------------------------------------------------------------------
    def selected_export_ref(self) -> GeneratorRef | None:
        return self.export_combo.currentData()

    def export_to(
        self, path: str | Path, format: str, ref: GeneratorRef | None = None, overwrite: bool = False
    ) -> bool:
        """Export ``ref`` (default: the one chosen) to ``path`` in the background."""
        ref = ref or self.selected_export_ref()
        if ref is None or self.busy:
            return False
        request = ExportRequest.of(ref, Path(path), format, overwrite)
        try:
            check_export(request)  # ONNX missing, an output a run keeps: said before any work
        except StudioError as exc:
            self.errorOccurred.emit("Cannot export", str(exc), "")
            return False
        if not overwrite:
            existing = [p for p in export_files(path) if p.exists()]
            if existing:
                self.errorOccurred.emit("Cannot export", f"{existing[0]}: already exists; choose another file", "")
                return False
        return self._start("export", f"Exporting {ref} ({format})…", export, request, done=self._on_export_done)

    def _on_export_done(self, result) -> None:
        self.last_export = result
        self.status.setText(f"Exported {result.path.name}")
        self.message.emit(
            f"Exported the generator to {result.path} ({result.format}); inputs described in {result.sidecar.name}"
        )

    def export_dialog(self) -> None:
        ref = self.selected_export_ref()
        if ref is None or self.run is None:
            return
        fmt = self.format_combo.currentData()
        start, file_filter, suffix = export_file_name(self.run, ref, fmt)
        start = export_folder(start.parent) / start.name  # the folder of the last export, when there was one
        chosen, _ = QFileDialog.getSaveFileName(self, "Export the generator", str(start), file_filter)
        if not chosen:
            return
        path, confirmed = with_suffix(self, chosen, suffix)
        if path is None:
            return
        _, side = export_files(path)
        if side.exists() and not confirmed:
            if not confirm_replace(self, f"{side} exists (the description of an earlier export). Replace it?"):
                return
            confirmed = True
        remember_export_folder(path)
        self.export_to(path, fmt, ref, overwrite=confirmed)

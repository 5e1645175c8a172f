"""The evaluation panel: a run's generators scored, the figures kept in the run, plotted over epochs.

The widgets are built in :mod:`.widgets`, the results drawn by :mod:`.view`;
each job is one call of :mod:`studio.app.evaluation`, the same the command
line makes, run by the panel's :class:`PanelJob`.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QListWidgetItem, QWidget
from superqt.utils import signals_blocked

from studio.app.compare import comparison_generators
from studio.app.evaluation import JudgeExists, evaluate_generators, judge_request_for_run, plan_judge, train_judge
from studio.core.averaging import GeneratorRef, run_generators
from studio.core.rundir import RunDirectory
from studio.errors import StudioError
from studio.eval.results import load_results, results_path
from studio.gui.evaluation import view, widgets
from studio.gui.evaluation.results import describe_scores
from studio.gui.evaluation.widgets import METRIC_CHOICES
from studio.gui.evaluation.wording import for_the_window
from studio.gui.files import confirm_replace
from studio.gui.worker import PanelJob, PanelJobHost

__all__ = ["EvaluationPanel"]


class _Relay(QObject):
    """Log lines from a worker thread; they arrive queued on the GUI thread."""

    line = Signal(str)


class EvaluationPanel(PanelJobHost, QWidget):
    """A run's generators scored by the core's evaluation; figures kept in the run and plotted."""

    message = Signal(str)  # a line for the log
    errorOccurred = Signal(str, str, str)  # title, text, details
    resultsChanged = Signal()  # the table and plot were read again from the run
    jobFinished = Signal(str)  # 'evaluate', 'auto' or 'judge', when its thread has ended

    def __init__(self, parent: QWidget | None = None, device: str = "auto"):
        super().__init__(parent)
        self.setObjectName("evaluationPanel")
        self.device = device
        self.run: RunDirectory | None = None
        self.project_config = None  # the project's settings: a judge needs only their dataset, not a run
        self.refs: list[GeneratorRef] = []
        self.rows: list[dict] = []
        self.conditional = True
        self.last_rows: list[dict] = []  # what the last evaluation added
        self.last_judge: dict | None = None  # what the last 'Train judge' made: path, heldout
        self.skipped: list[int] = []  # epochs 'every K' passed over because an evaluation was running
        self._job_run: RunDirectory | None = None
        self._judge_texts: dict = {}
        self._relay = _Relay(self)
        self._relay.line.connect(self.message)
        self.curves: dict = {}  # {curve label: pg.PlotDataItem}
        self.plot_items: dict = {}  # {kind of figure: pg.PlotItem}
        widgets.build(self)
        self._jobs = PanelJob(self, self.progress, self.status, self.message.emit, self._on_errored)
        self._jobs.ended.connect(self._on_job_ended)
        self._connect()
        self.set_run(None)

    def _connect(self) -> None:
        self.generator_list.itemSelectionChanged.connect(self._update_controls)
        for check in self.metric_checks.values():
            check.toggled.connect(self._update_controls)
        self.features_combo.currentIndexChanged.connect(self._update_controls)
        self.all_checkpoints_button.clicked.connect(lambda: self.select_kind("checkpoint"))
        self.compare_selection_button.clicked.connect(self.select_comparison)
        self.add_conditions_button.clicked.connect(self._add_conditions_dialog)
        self.remove_conditions_button.clicked.connect(self._remove_conditions)
        self.conditions_list.itemSelectionChanged.connect(self._update_controls)
        self.judge_browse_button.clicked.connect(self._judge_dialog)
        self.judge_edit.editingFinished.connect(self.show_judge_info)
        self.inception_browse_button.clicked.connect(self._inception_dialog)
        self.every_check.toggled.connect(self.every_spin.setEnabled)
        self.every_check.toggled.connect(self._on_every_toggled)
        self.train_judge_button.clicked.connect(lambda: self.train_judge())
        self.evaluate_button.clicked.connect(lambda: self.evaluate())
        self.cancel_button.clicked.connect(self.cancel)
        self.per_class_check.toggled.connect(lambda _on: self._fill_table())

    # --- the run ------------------------------------------------------------------------
    def set_run(self, run: RunDirectory | None) -> None:
        """Show ``run``'s generators and the figures kept in it (None: nothing)."""
        same = run is not None and self.run is not None and Path(run.path) == Path(self.run.path)
        self.run = run
        self.conditional = True
        self._run_config = None
        if run is not None:
            try:
                self._run_config = run.read_config()
                self.conditional = bool(self._run_config.conditional)
            except (StudioError, OSError):
                pass
        self.refresh(keep_selection=same)
        self.reload_results()
        self.show_judge_info()

    def refresh(self, keep_selection: bool = True) -> None:
        """Read the run's generators again; the selection stays, else the last checkpoint, averages and EMA."""
        keep = {(str(r.path), r.which) for r in self.selected_refs()} if keep_selection else set()
        self.refs, problem = [], ""
        if self.run is not None:
            try:
                self.refs = run_generators(self.run)
            except (StudioError, OSError) as exc:
                problem = str(exc)
        with signals_blocked(self.generator_list):
            self.generator_list.clear()
            for ref in self.refs:
                item = QListWidgetItem(str(ref))
                item.setData(Qt.ItemDataRole.UserRole, ref)
                item.setToolTip(f"{ref.path}{' (its EMA weights)' if ref.which == 'ema' else ''}")
                self.generator_list.addItem(item)
        if keep:
            self.select_refs([r for r in self.refs if (str(r.path), r.which) in keep])
        else:
            self.select_comparison()
        if self.run is None:
            self.title.setText("No run selected: choose one in the Runs tab")
        elif problem:
            self.title.setText(f"<b>{html.escape(self.run.run_id)}</b>: {html.escape(problem)}")
        else:
            count = len(self.refs)
            self.title.setText(
                f"Run <b>{html.escape(self.run.run_id)}</b>: {count} generator{'s' if count != 1 else ''}"
            )
        cond = self.metric_checks["cond_acc"]
        cond.setEnabled(self.conditional)
        if not self.conditional:
            cond.setChecked(False)
            self.features_combo.setCurrentIndex(self.features_combo.findData("inception"))
        cond.setToolTip(
            METRIC_CHOICES[0][2]
            if self.conditional
            else "This run's dataset has no labels: there is no condition to check"
        )
        for metric in ("ifid", "cas"):  # both group the images by their labels
            check = self.metric_checks[metric]
            check.setEnabled(self.conditional)
            if not self.conditional:
                check.setChecked(False)
            tip = next(t for m, _, t in METRIC_CHOICES if m == metric)
            check.setToolTip(tip if self.conditional else "This run's dataset has no labels to group the images by")
        self._update_controls()

    def selected_refs(self) -> list[GeneratorRef]:
        rows = sorted(self.generator_list.row(item) for item in self.generator_list.selectedItems())
        return [self.generator_list.item(r).data(Qt.ItemDataRole.UserRole) for r in rows]

    def select_refs(self, refs: list[GeneratorRef]) -> None:
        """Select ``refs``; the newest of them becomes the current row, scrolled into view."""
        wanted = set(refs)
        newest = None
        with signals_blocked(self.generator_list, self.generator_list.selectionModel()):
            for i in range(self.generator_list.count()):
                item = self.generator_list.item(i)
                chosen = item.data(Qt.ItemDataRole.UserRole) in wanted
                item.setSelected(chosen)
                if chosen and (newest is None or item.data(Qt.ItemDataRole.UserRole).kind == "checkpoint"):
                    newest = item
            if newest is not None:
                model = self.generator_list.selectionModel()
                model.setCurrentIndex(self.generator_list.indexFromItem(newest), model.SelectionFlag.NoUpdate)
                self.generator_list.scrollToItem(newest)
        self._update_controls()

    def select_kind(self, kind: str) -> None:
        """Select every generator of one kind ('checkpoint', 'average' or 'ema')."""
        self.select_refs([r for r in self.refs if r.kind == kind])

    def select_comparison(self) -> None:
        """Select what the run's comparison shows: its last checkpoint, every saved average and the EMA."""
        if self.run is None:
            self.select_refs([])
            return
        try:
            shown = comparison_generators(self.run, "all")
        except (StudioError, OSError):
            shown = []
        self.select_refs([ref for _, ref in shown])

    # --- settings ---------------------------------------------------------------------------
    def metrics(self) -> tuple[str, ...]:
        return tuple(m for m, check in self.metric_checks.items() if check.isChecked() and check.isEnabled())

    def set_metrics(self, metrics) -> None:
        for metric, check in self.metric_checks.items():
            check.setChecked(metric in metrics)

    def condition_files(self) -> list[str]:
        items = (self.conditions_list.item(i) for i in range(self.conditions_list.count()))
        return [item.data(Qt.ItemDataRole.UserRole) for item in items]

    def add_condition_file(self, path: str | Path) -> None:
        path = str(path)
        if path in self.condition_files():
            return
        item = QListWidgetItem(Path(path).name)
        item.setData(Qt.ItemDataRole.UserRole, path)
        item.setToolTip(path)
        self.conditions_list.addItem(item)
        self._update_controls()

    def _remove_conditions(self) -> None:
        for item in self.conditions_list.selectedItems():
            self.conditions_list.takeItem(self.conditions_list.row(item))
        self._update_controls()

    def _start_folder(self) -> str:
        return str(Path(self.run.path) if self.run is not None else Path.home())

    def _add_conditions_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Test conditions", self._start_folder(), "JSON (*.json)")
        for path in paths:
            self.add_condition_file(path)

    def _judge_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Judge file", self._start_folder(), "Judge (*.pt)")
        if path:
            self.judge_edit.setText(path)
            self.show_judge_info()

    def _inception_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Inception weights", str(Path.home()), "PyTorch weights (*.pth *.pt)"
        )
        if path:
            self.inception_edit.setText(path)

    def judge_path(self) -> str | None:
        return self.judge_edit.text().strip() or None

    def request(self):
        """The evaluation the controls describe."""
        from studio.core.device import resolve_device
        from studio.eval.evaluate import EvaluationRequest

        return EvaluationRequest(
            metrics=self.metrics(),
            features=self.features_combo.currentData(),
            n=self.n_spin.value(),
            conditions=tuple(self.condition_files()),
            judge_path=self.judge_path(),
            inception_weights=self.inception_edit.text().strip() or None,
            device=str(resolve_device(self.device)),
            save=True,
        )

    def _stored_judge_path(self) -> Path | None:
        from studio.eval.judge import default_judge_path

        if self.run is None:
            return None
        try:
            config = self.run.read_config()
        except (StudioError, OSError):
            return None
        return default_judge_path(config.dataset, config.image_size, config.channels)

    def show_judge_info(self) -> None:
        """Say which judge evaluation will use and how well it did on held-out real images."""
        from studio.eval.judge import load_judge

        if self.run is None:
            self.judge_info.setText("")
            return
        if not self.conditional:
            self.judge_info.setText("No judge: the run's dataset has no labels.")
            return
        override = self.judge_path()
        path = Path(override) if override else self._stored_judge_path()
        if path is None:
            self.judge_info.setText("")
            return
        if not override and not path.is_file():
            self.judge_info.setText(
                "No judge stored for this dataset yet: it is trained on first use, or now with Train judge."
            )
            return
        try:
            key = (str(path), path.stat().st_mtime_ns, bool(override))
        except OSError:
            key = None
        if key is None or key not in self._judge_texts:
            # The runs list re-selects its run on every checkpoint: read each judge file once.
            try:
                judge = load_judge(path)
            except StudioError as exc:
                self.judge_info.setText(html.escape(str(exc)))
                return
            whose = f"Judge file {html.escape(path.name)}," if override else "Stored judge"
            text = (
                f"{whose} of {html.escape(judge.dataset or '?')} ({judge.image_size} px): "
                f"held-out {html.escape(describe_scores(judge.heldout, getattr(judge, 'heldout_n', 0)))}"
            )
            self._judge_texts = {key: text}
        self.judge_info.setText(self._judge_texts[key])
        self.judge_info.setToolTip(
            f"{path}\nThe judge evaluation will use, and its accuracy on real images it never saw in training"
        )

    # --- results ------------------------------------------------------------------------
    def reload_results(self) -> None:
        """Read the run's evaluation results again into the table and the plot."""
        self.rows = []
        if self.run is not None:
            try:
                self.rows = load_results(self.run.path)
            except StudioError as exc:
                self.status.setText(str(exc))
                self.message.emit(str(exc))
        self._fill_table()
        self._draw_plot()

    def _fill_table(self) -> None:
        view.fill_table(self.table, self.rows, self.per_class_check.isChecked())

    def plotted(self) -> dict[str, tuple[list[float], list[float]]]:
        """What the plot shows: {curve label: (epochs, values)}."""
        return view.plotted(self.curves)

    def _draw_plot(self) -> None:
        self.curves, self.plot_items = view.draw_plots(self.plot, self.rows)

    # --- jobs -------------------------------------------------------------------------
    def _update_controls(self, *_) -> None:
        busy = self.busy
        has_run = self.run is not None
        conditional = self.conditional
        judge_needed = "cond_acc" in self.metrics() or self.features_combo.currentData() == "judge"
        self.features_combo.model().item(self.features_combo.findData("judge")).setEnabled(conditional)
        reason = ""
        if not has_run:
            reason = "Choose a run in the Runs tab first"
        elif not self.selected_refs():
            reason = "Select one or more generators"
        elif not self.metrics():
            reason = "Choose one or more metrics"
        elif judge_needed and not conditional:
            reason = "The judge features need a labelled dataset: choose the Inception features"
        chosen = self.selected_refs()
        self.selection_note.setText(
            "Will score: " + ", ".join(html.escape(str(r)) for r in chosen) if chosen else "Nothing selected to score"
        )
        self.evaluate_button.setEnabled(not busy and not reason)
        self.evaluate_button.setToolTip(
            reason
            or "Score the selected generators with the chosen metrics in the "
            "background; the figures are added to the run's evaluation/results.csv"
        )
        judge_config = self._judge_config()
        self.train_judge_button.setEnabled(
            judge_config is not None and not busy and (conditional if has_run else bool(judge_config.conditional))
        )
        self.all_checkpoints_button.setEnabled(has_run and bool(self.refs))
        self.compare_selection_button.setEnabled(has_run and bool(self.refs))
        self.remove_conditions_button.setEnabled(bool(self.conditions_list.selectedItems()))
        self.inception_edit.setEnabled(self.features_combo.currentData() == "inception")
        self.inception_browse_button.setEnabled(self.features_combo.currentData() == "inception")
        self.cancel_button.setEnabled(busy)

    def _start(self, name: str, text: str, run: RunDirectory, fn, *args, done, **kwargs) -> bool:
        if self.busy:
            return False
        self._job_run = run
        started = self._jobs.start(name, text, fn, *args, done=done, **kwargs)
        if started:
            self._update_controls()
        return started

    def _on_errored(self, exc: BaseException) -> None:
        what = "Training the judge" if self._job == "judge" else "Evaluation"
        failure = self._jobs.failure(exc, what, what)
        if failure is None:
            return
        text, details = failure
        if isinstance(exc, StudioError):
            text = for_the_window(exc)
        title = "Cannot train the judge" if self._job == "judge" else "Cannot evaluate"
        if self._job == "auto":
            self.every_check.setChecked(False)
            text += " (evaluation during training is now off)"
        self.status.setText(title)
        self.errorOccurred.emit(title, text, details)

    def _on_job_ended(self, name: str) -> None:
        self._job_run = None
        self._update_controls()
        self.jobFinished.emit(name)

    # --- evaluate ---------------------------------------------------------------------
    def evaluate(self, refs: list[GeneratorRef] | None = None) -> bool:
        """Score ``refs`` (default: the selected generators) in the background; the core keeps the figures."""
        if self.run is None or self.busy:
            return False
        refs = list(refs) if refs is not None else self.selected_refs()
        if not refs or not self.metrics():
            return False
        return self._evaluate(self.run, refs, "evaluate")

    def _evaluate(self, run: RunDirectory, refs: list[GeneratorRef], job: str) -> bool:
        request = self.request()
        names = ", ".join(str(r) for r in refs)
        metrics = ", ".join(request.metrics)
        self.message.emit(f"Evaluating {names} of {run.run_id}: {metrics}, N {request.n}, {request.features} features")
        text = f"Evaluating {len(refs)} generator{'s' if len(refs) != 1 else ''}…"
        return self._start(
            job, text, run, evaluate_generators, refs, request, log=self._relay.line.emit, done=self._on_evaluated
        )

    def _on_evaluated(self, outcome) -> None:
        run = self._job_run
        rows = outcome.rows
        self.last_rows = list(rows)
        scored = outcome.scored
        where = results_path(run.path) if run is not None else ""
        self.status.setText(
            f"Scored {scored} generator{'s' if scored != 1 else ''}: {len(rows)} figures "
            f"added to {Path(where).parent.name}/results.csv"
        )
        self.message.emit(f"Evaluation: {len(rows)} figures added to {where}")
        if run is not None and self.run is not None and Path(run.path) == Path(self.run.path):
            self.reload_results()
            self.resultsChanged.emit()  # the lab's Metrics column shows the new figures
        self.show_judge_info()  # a judge trained on first use is stored now

    def on_checkpoint_saved(self, path: str | Path) -> bool:
        """The trainer wrote ``path``: list it, and score it when 'evaluate every K epochs' asks.

        True when an evaluation of it started; never waits for one.
        """
        path = Path(path)
        run_path = path.parent.parent
        if self.run is not None and run_path == Path(self.run.path):
            self.refresh()
        if not self.every_check.isChecked():
            return False
        run = RunDirectory(run_path)
        info = next((c for c in run.checkpoints() if c.path.name == path.name), None)
        k = self.every_spin.value()
        if info is None or not info.complete_epoch or info.epoch % k:
            return False
        if not self.metrics():
            self.message.emit(f"Epoch {info.epoch} not evaluated: no metric is chosen in the Evaluation tab")
            return False
        if self.busy:
            self.skipped.append(info.epoch)
            self.message.emit(f"Evaluation of epoch {info.epoch} skipped: the previous evaluation is still running")
            return False
        # The epoch's snapshot outlives its full checkpoint, which retention may delete while this evaluates.
        snapshot = run.snapshot_path(info.epoch)
        source = snapshot if snapshot.is_file() else info.path
        ref = GeneratorRef(source, "g", f"epoch {info.epoch}", "checkpoint", info.epoch)
        return self._evaluate(run, [ref], "auto")

    def _on_every_toggled(self, on: bool) -> None:
        if on:
            k = self.every_spin.value()
            self.message.emit(
                f"During training, the checkpoints of epochs {k}, {2 * k}, {3 * k}… are evaluated "
                f"({', '.join(self.metrics()) or 'no metric chosen'})"
            )

    # --- the judge ----------------------------------------------------------------------
    def set_project_config(self, config) -> None:
        """The project's settings (None: no project): Train judge works from their dataset before any run."""
        self.project_config = config
        self._update_controls()

    def _judge_config(self):
        """The settings whose dataset the judge learns: the run's, else the project's."""
        if self.run is not None:
            return getattr(self, "_run_config", None)
        return self.project_config

    def train_judge(self, epochs: int | None = None, confirm: bool = True) -> bool:
        """Train the judge of the run's dataset in the background and store it where evaluation looks.

        A judge stored there already is replaced only when the user says so (or ``confirm`` is False).
        """
        if self.busy or (self.run is not None and not self.conditional):
            return False
        if self.run is None and self.project_config is None:
            return False
        epochs = self.judge_epochs_spin.value() if epochs is None else int(epochs)
        try:
            config = self.run.read_config() if self.run is not None else self.project_config
            request = judge_request_for_run(config, epochs, self.device)
            try:
                plan_judge(request)  # refused before minutes of training: no labels, no write, a judge stored
            except JudgeExists as exc:
                if confirm:
                    question = (
                        f"A judge of {config.dataset} is stored already ({exc.fields['path']}). "
                        "Train a new one and replace it?"
                    )
                    if not confirm_replace(self, question, "Replace the judge?"):
                        return False
                request.overwrite = True
        except (StudioError, OSError) as exc:
            self.errorOccurred.emit("Cannot train the judge", str(exc), "")
            return False
        self.message.emit(f"Training the judge of {config.dataset} ({config.image_size} px, {epochs} epochs)")
        return self._start(
            "judge",
            f"Training the judge of {config.dataset}…",
            self.run,
            train_judge,
            request,
            log=self._relay.line.emit,
            done=self._on_judge_trained,
        )

    def _on_judge_trained(self, outcome) -> None:
        judge = outcome.judge
        self.last_judge = {"path": str(outcome.path), "heldout": dict(judge.heldout)}
        scores = describe_scores(judge.heldout, getattr(judge, "heldout_n", 0))
        self.status.setText(
            f"Judge trained on {outcome.images} images in {judge.train_seconds:.0f} s: held-out {scores}"
        )
        self.message.emit(f"Judge stored at {outcome.path}: held-out {scores}")
        self.show_judge_info()
        if self.judge_path():
            self.judge_info.setText(
                self.judge_info.text() + f"<br>New stored judge: held-out {html.escape(scores)} "
                "(clear the judge file above to use it)"
            )

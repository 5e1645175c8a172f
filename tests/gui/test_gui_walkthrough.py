"""What a first walk through the window found: wheel turns, epoch counts, defaults, images, model panel."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QFormLayout, QScrollArea, QSpinBox, QVBoxLayout, QWidget


def _wheel(widget: QWidget, up: bool = True) -> None:
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(
        centre,
        QPointF(widget.mapToGlobal(centre.toPoint())),
        QPoint(0, 0),
        QPoint(0, 120 if up else -120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def test_a_spin_box_takes_the_wheel_only_with_focus_and_the_panel_scrolls_instead(qtbot):
    from studio.gui.app import ensure_app

    ensure_app()
    area = QScrollArea()
    inner = QWidget()
    form = QFormLayout(inner)
    spins = []
    for i in range(30):
        spin = QSpinBox()
        spin.setRange(0, 1000)
        spin.setValue(64)
        form.addRow(f"field {i}", spin)
        spins.append(spin)
    area.setWidget(inner)
    area.resize(300, 200)
    qtbot.addWidget(area)
    area.show()
    qtbot.waitExposed(area)
    spin = spins[2]
    before = area.verticalScrollBar().value()
    _wheel(spin, up=False)
    assert spin.value() == 64  # not focused: the value stays
    assert area.verticalScrollBar().value() > before  # and the panel scrolled
    assert spin.focusPolicy() == Qt.FocusPolicy.StrongFocus  # a wheel turn does not give it the focus
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus)
    _wheel(spin, up=True)
    assert spin.value() == 65  # focused: the wheel edits it


def test_the_model_panel_combo_ignores_the_wheel_without_focus(qtbot):
    from PySide6.QtWidgets import QComboBox

    from studio.gui.app import ensure_app

    ensure_app()
    box = QWidget()
    layout = QVBoxLayout(box)
    combo = QComboBox()
    combo.addItems(["a", "b", "c"])
    layout.addWidget(combo)
    qtbot.addWidget(box)
    box.show()
    qtbot.waitExposed(box)
    _wheel(combo, up=False)
    assert combo.currentIndex() == 0


def test_epoch_counts_agree_after_a_stop_and_a_continue(qtbot, tmp_path):
    """'N of M epochs done' everywhere: the stop line, the checkpoint's name, the runs list, the progress bars."""
    from helpers import SPACES, random_dataset, tiny_config
    from PySide6.QtWidgets import QTreeWidget

    from studio.app.epochs import finish_text
    from studio.app.training import Training, resume_run_request
    from studio.core.rundir import RunDirectory
    from studio.core.trainer import Trainer
    from studio.gui.dashboard import TrainingDashboard, read_run_files
    from studio.gui.runs_panel import RunsPanel, describe_run

    space = SPACES["categorical"]
    data = random_dataset(space)  # 32 images, batches of 8: 4 steps an epoch
    run = RunDirectory.create(tmp_path / "runs", tiny_config(family="acgan", epochs=2))
    ended = Trainer(run.read_config(), data, run, max_steps=6).run()
    assert (ended.reason, ended.epoch, ended.step) == ("stopped", 1, 6)
    text = finish_text(ended.reason, ended.epoch, 2, ended.step, 4)
    assert text == "run stopped: 1 of 2 epochs done, at step 2 of epoch 2 (6 steps in all)"
    assert run.latest_checkpoint().path.name == "epoch_0002_step_000002.pt"  # step 2 of epoch 2, as the text says

    outcome = Training(resume_run_request(run, at_least=4, dataset=data)).run()
    assert (outcome.finished.reason, outcome.finished.epoch) == ("completed", 4)
    assert run.read_config().epochs == 4  # the continued run's plan is recorded: never "4 of 2"
    info = describe_run(run)
    assert (info.epochs_done, info.epochs_total) == (4, 4)

    panel = RunsPanel()
    qtbot.addWidget(panel)
    panel.set_runs([info])
    assert panel.findChild(QTreeWidget, "runsList").topLevelItem(0).text(3) == "4 of 4"

    # A reopened run shows its progress, not blank bars.
    dashboard = TrainingDashboard()
    qtbot.addWidget(dashboard)
    dashboard.show_run(run, read_run_files(run), "run")
    bars = dashboard.controls
    assert bars.run_progress.format() == "4 of 4 epochs done (step 16 of 16)"
    assert bars.run_progress.value() == bars.run_progress.maximum() == 16
    assert bars.epoch_progress.value() == bars.epoch_progress.maximum()

    # A run continued before plans were recorded still never reads "4 of 2".
    import json

    data_json = json.loads(run.config_path.read_text())
    data_json["epochs"] = 2
    run.config_path.write_text(json.dumps(data_json))
    panel.set_runs([describe_run(run)])
    assert panel.findChild(QTreeWidget, "runsList").topLevelItem(0).text(3) == "4 of 4"


def test_time_left_reads_as_a_duration_with_the_finish_time():
    from studio.app.epochs import time_left_text

    now = 1_700_000_000.0
    text = time_left_text(19 * 60, now=now)
    assert text.startswith("19 min left, done at ") and ":" in text.split("done at ")[1]
    assert time_left_text(40, now=now) == "40 s left"
    assert time_left_text(None) == "" and time_left_text(float("nan")) == ""
    assert time_left_text(2 * 3600 + 5 * 60, now=now).startswith("2 h 05 min left")


def _coloured_grid(rows: int, cols: int, cell: int, pad: int = 2):
    import numpy as np

    grid = np.full((rows * (cell + pad) + pad, cols * (cell + pad) + pad, 3), 255, dtype=np.uint8)
    for r in range(rows):
        for c in range(cols):
            y, x = pad + r * (cell + pad), pad + c * (cell + pad)
            grid[y : y + cell, x : x + cell] = (r * 20, c * 20, 100)
    return grid


def test_grids_are_never_shrunk_below_native_size_and_a_click_enlarges_a_sample(qtbot):
    import numpy as np
    from PySide6.QtCore import QPoint

    from studio.gui.timeline import SampleTimelinePanel, TimelineFrame

    panel = SampleTimelinePanel()
    qtbot.addWidget(panel)
    panel.resize(420, 360)  # smaller than the grid
    panel.show()
    qtbot.waitExposed(panel)
    grid = _coloured_grid(12, 10, 32)
    rows = [f"hair {i}" for i in range(12)]
    cols = [f"eyes {i}" for i in range(10)]
    panel.set_frames([TimelineFrame(7, 12, 10, rows, cols, grid=grid)])
    view = panel.view
    assert view.zoom() >= 1.0  # native size at least: the view scrolls instead
    assert view.verticalScrollBar().maximum() > 0

    canvas = view.canvas
    left, top, _ = canvas.margins()
    z = canvas.zoom
    view.ensureVisible(int(left + (2 + 3 * 34 + 16) * z), int(top + (2 + 4 * 34 + 16) * z))
    point = QPoint(int(left + (2 + 3 * 34 + 16) * z), int(top + (2 + 4 * 34 + 16) * z))  # row 4, column 3
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=point)
    dialog = panel.findChild(QWidget, "enlargedSample")
    assert dialog is not None and dialog.isVisible()
    assert "hair 4, eyes 3" in dialog.caption.text() and "epoch 7" in dialog.detail.text()
    shown = dialog.view._array
    assert shown.shape == (32, 32, 3) and np.all(shown == (80, 60, 100))
    assert dialog.view.zoom * 32 >= 384  # drawn large

    panel.zoom_combo.setCurrentIndex(panel.zoom_combo.findData(-1.0))  # the whole grid, smaller when it must
    assert view.zoom() < 1.0


def test_basic_shows_what_matters_for_the_family_and_hidden_settings_keep_their_values(qtbot):
    from studio.gui.binding import ConfigBinder
    from studio.gui.model_panel import ModelPanel

    binder = ConfigBinder()
    panel = ModelPanel(binder)
    qtbot.addWidget(panel)
    panel.resize(420, 900)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_advanced(True)
    panel.editors["d_dropout"].setValue(0.35)  # an advanced setting, edited
    panel.editors["log_every"].setValue(7)
    dropout, log_every = binder.config.d_dropout, binder.config.log_every
    assert (dropout, log_every) == (0.35, 7)

    panel.basic_button.click()
    assert not panel.advanced
    assert not panel.editors["d_dropout"].isVisible() and not panel.editors["log_every"].isVisible()
    assert not panel._form_of["d_dropout"].isRowVisible(panel.editors["d_dropout"])
    assert panel.editors["batch_size"].isVisible() and panel.editors["epochs"].isVisible()
    assert (binder.config.d_dropout, binder.config.log_every) == (dropout, log_every)  # kept while hidden
    assert "under Advanced" in panel.level_note.text()

    family = panel.editors["family"]
    family.setCurrentIndex(family.findData("acgan"))
    assert panel.editors["aux_weight"].isVisible()  # what matters for ACGAN
    family.setCurrentIndex(family.findData("dcgan"))
    assert not panel.editors["aux_weight"].isVisible() and not panel.editors["g_embed"].isVisible()

    panel.advanced_button.click()
    assert panel.advanced and panel._form_of["d_dropout"].isRowVisible(panel.editors["d_dropout"])  # under "More"
    assert panel.editors["lr_gamma"].isVisible()
    assert (binder.config.d_dropout, binder.config.log_every) == (dropout, log_every)


def test_evaluation_and_export_default_to_the_newest_checkpoint_and_the_lab_shows_scores(qtbot, tmp_path):
    from helpers import SPACES, random_dataset, tiny_config

    from studio.core.rundir import RunDirectory
    from studio.core.trainer import Trainer
    from studio.eval.results import append_results, make_row
    from studio.gui.checkpoint_lab import CheckpointLab
    from studio.gui.evaluation import EvaluationPanel

    data = random_dataset(SPACES["categorical"])
    config = tiny_config(family="acgan", epochs=3, ema=False, keep_checkpoints=10)
    run = RunDirectory.create(tmp_path / "runs", config)
    Trainer(run.read_config(), data, run, max_steps=8).run()  # epochs 1 and 2

    evaluation = EvaluationPanel()
    qtbot.addWidget(evaluation)
    evaluation.set_run(run)
    current = evaluation.generator_list.currentItem()
    assert current is not None and current.isSelected() and current.text() == "epoch 2"
    note = evaluation.selection_note.text()
    assert note.startswith("Will score:") and "epoch 2" in note and "epoch 1" not in note

    lab = CheckpointLab()
    qtbot.addWidget(lab)
    lab.set_run(run)
    assert lab.export_combo.currentData().path.name == "epoch_0002.pt"
    # A new checkpoint moves the default on; a choice the user made stays.
    Trainer(run.read_config(), data, run, resume_from=run.latest_checkpoint().path).run()
    lab.on_checkpoint_saved(run.checkpoint_path(3))
    assert lab.export_combo.currentData().path.name == "epoch_0003.pt"
    lab.export_combo.setCurrentIndex(0)
    lab.export_combo.activated.emit(0)
    lab.refresh()
    assert lab.export_combo.currentData().path.name == "epoch_0001.pt"

    # Figures an evaluation kept reach the lab's Metrics column.
    metrics_col = 5
    assert "FID" not in lab.table.item(2, metrics_col).text()
    row = make_row("epoch_0003.pt", str(run.checkpoint_path(3)), "g", 3, "fid", 123.4, 500)
    append_results(run.path, [row])
    lab.refresh()
    assert "FID 123.4 (N 500)" in lab.table.item(2, metrics_col).text()


def test_a_grid_before_training_and_sample_now_from_g_and_its_ema(qtbot, tmp_path):
    from helpers import SPACES, random_dataset, tiny_config

    from studio.app.live_samples import LiveSamples
    from studio.app.training import Training, TrainRequest
    from studio.core.events import EpochEnd, StepMetrics
    from studio.gui.dashboard import TrainingDashboard
    from studio.gui.live_view import LiveSamplesDialog

    dashboard = TrainingDashboard()
    qtbot.addWidget(dashboard)
    dashboard.begin_live(str(tmp_path / "live"), "run")
    heard, drawn = [], []
    dashboard.liveSamples.connect(drawn.append)
    training = None

    def on_event(event):
        heard.append(event)
        dashboard.on_event(event)
        if isinstance(event, StepMetrics) and event.step == 2:
            training.request_sample()  # "Sample now" pressed during training

    config = tiny_config(family="acgan", epochs=1, ema=True, ema_decay=0.5)
    request = TrainRequest(config, runs_dir=tmp_path / "runs", dataset=random_dataset(SPACES["categorical"]))
    training = Training(request, on_event=on_event, samples_on_demand=True)
    assert training.run().finished.reason == "completed"

    live = [e for e in heard if isinstance(e, LiveSamples)]
    assert [e.before_training for e in live] == [True, False]
    first, now = live
    assert first.step == 0 and [t for t, _ in first.grids] == ["G, before training"]
    assert now.step == 2 and [t for t, _ in now.grids] == ["G, step 2", "EMA of G, step 2"]
    epoch_grid = next(e for e in heard if isinstance(e, EpochEnd)).grid
    assert all(grid.shape == epoch_grid.shape for _, grid in now.grids)
    assert not (now.grids[0][1] == now.grids[1][1]).all()  # the EMA lags behind G

    # The step-0 grid is shown until the first epoch's replaces it; the requested one goes to its own window.
    timeline = dashboard.timeline
    assert [f.epoch for f in timeline.timeline.frames] == [1] and timeline.preview is None
    assert drawn == [now]
    dashboard.begin_live(str(tmp_path / "again"), "run")
    dashboard.on_event(first)
    assert timeline.count() == 0 and timeline.view.has_image()
    assert timeline.epoch_label.text().startswith("before training")
    dialog = LiveSamplesDialog()
    qtbot.addWidget(dialog)
    dialog.show_samples(now)
    assert dialog.view.titles() == ["G, step 2", "EMA of G, step 2"] and "step 2" in dialog.note.text()

    # Without samples on demand (the command line) nothing is added to the events.
    plain = []
    request = TrainRequest(config, runs_dir=tmp_path / "runs", dataset=random_dataset(SPACES["categorical"]))
    other = Training(request, on_event=plain.append)
    assert not other.request_sample()
    other.run()
    assert not any(isinstance(e, LiveSamples) for e in plain)


def test_an_example_from_the_install_is_copied_to_the_users_folder_before_its_first_run(
    qtbot, example, tmp_path_factory, monkeypatch
):
    from PySide6.QtWidgets import QStatusBar

    import studio.gui.main_window.user_folder as user_folder
    from studio.project import Project

    monkeypatch.setattr(user_folder, "projects_dir", lambda: example.parent)  # the example lies in "the install"
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("GAN_STUDIO_HOME", str(home))

    class Window:  # what move_out_of_install asks of the main window
        def __init__(self):
            self.project = Project.load(example)
            self.lines, self.dirty, self.bar = [], True, QStatusBar()
            self.log_view = type("Log", (), {"log": lambda _, text, *a: self.lines.append(text)})()

        def show_error(self, *args):
            raise AssertionError(args)

        def _set_dirty(self, dirty):
            self.dirty = dirty

        def statusBar(self):
            return self.bar

        def _update_title(self):
            pass

        def refresh_runs(self):
            pass

    window = Window()
    window.project.config = window.project.config.replace(batch_size=24)  # unsaved settings go along
    assert user_folder.move_out_of_install(window)
    target = home / "projects" / example.name
    assert window.project.folder == target and (target / "project.json").is_file()
    assert window.project.runs_dir == target / "runs" and not window.dirty
    assert Project.load(target).config.batch_size == 24
    assert any(f"copied to {target / 'project.json'}" in line for line in window.lines)
    assert "runs are saved there" in window.bar.currentMessage()
    assert user_folder.move_out_of_install(window)  # once out of the install, nothing more happens
    assert window.project.folder == target
    assert user_folder.user_copy_folder(example) == home / "projects" / f"{example.name}-2"


def test_gif_frames_say_their_epoch_at_the_chosen_speed_and_exports_remember_their_folder(tmp_path):
    import numpy as np
    from PIL import Image

    from studio.gui.files import export_folder, remember_export_folder
    from studio.gui.frames import SampleTimeline, TimelineFrame, export_gif, frame_image

    timeline = SampleTimeline()
    for epoch in (1, 2, 3):
        timeline.add(TimelineFrame(epoch, 1, 1, [], [], None, np.full((64, 64, 3), 40 * epoch, dtype=np.uint8)))
    out = tmp_path / "t.gif"
    assert export_gif(out, timeline, scale=2, captions=False, frame_ms=250) == 3
    plain = frame_image(timeline.image(0), timeline.frames[0], 2, False)
    with Image.open(out) as gif:
        assert gif.info["duration"] == 250
        first = np.asarray(gif.convert("RGB"))
        assert gif.height > plain.height  # a band above the grid ...
        band = first[: gif.height - plain.height]
        assert (band < 100).any() and (band > 200).any()  # ... with dark text on white: "epoch 1"
        gif.seek(1)
        second = np.asarray(gif.convert("RGB"))[: gif.height - plain.height]
        assert not np.array_equal(band, second)  # "epoch 2" reads differently

    assert export_folder(tmp_path / "fallback") == tmp_path / "fallback"
    (tmp_path / "exports").mkdir()
    remember_export_folder(tmp_path / "exports" / "grid.png")
    assert export_folder(tmp_path / "fallback") == tmp_path / "exports"


def test_the_evaluation_plot_shows_ema_and_averages_and_keeps_n_apart(qtbot):
    import pyqtgraph as pg

    from studio.gui.evaluation.results import curve_data, extra_points
    from studio.gui.evaluation.view import draw_plots

    def row(epoch, value, which="g", n=500, checkpoint=None, metric="fid"):
        name = checkpoint or f"epoch_{epoch:04d}.pt"
        return {"which": which, "epoch": epoch, "checkpoint": name, "metric": metric, "value": value, "n": n}

    rows = [
        row(1, 90.0),
        row(2, 70.0),
        row(2, 40.0, n=5000),  # another N: not the same curve
        row(2, 65.0, which="ema"),
        row(None, 60.0, which="average", checkpoint="average_epochs_0001-0002.pt"),
    ]
    assert curve_data(rows) == {"fid N=500": ([1, 2], [90.0, 70.0]), "fid N=5000": ([2], [40.0])}
    assert extra_points(rows) == {"fid · EMA": ([2], [65.0]), "fid · average_epochs_0001-0002": ([2], [60.0])}

    plot = pg.GraphicsLayoutWidget()
    qtbot.addWidget(plot)
    curves, items = draw_plots(plot, rows)
    assert set(curves) == {"fid N=500", "fid N=5000", "fid · EMA", "fid · average_epochs_0001-0002"}
    assert list(items) == ["fid"]  # one plot for FID, whatever the generator

    # A single FID figure sits in the middle of a range around its epoch, its value written beside it.
    curves, items = draw_plots(plot, [row(3, 55.5)])
    (x0, x1), (y0, y1) = items["fid"].viewRange()
    assert x0 < 3 < x1 and x1 - x0 <= 2.5 and y0 < 55.5 < y1
    texts = [i for i in items["fid"].items if isinstance(i, pg.TextItem)]
    assert [t.toPlainText() for t in texts] == ["55.5"]


def test_the_lab_comparison_zooms_and_offers_one_value_held_fixed(qtbot, tmp_path):
    import numpy as np
    from helpers import tiny_config
    from PySide6.QtWidgets import QComboBox, QScrollArea

    from studio.core.rundir import RunDirectory
    from studio.gui.checkpoint_lab import CheckpointLab

    lab = CheckpointLab()
    qtbot.addWidget(lab)
    lab.resize(1000, 600)
    lab.show()
    qtbot.waitExposed(lab)
    grids = [np.full((400, 400, 3), 60 * i, dtype=np.uint8) for i in range(3)]
    lab.compare_view.set_images(["last", "average", "EMA"], grids)
    scroll = lab.findChild(QScrollArea, "labCompareScroll")
    qtbot.waitUntil(lambda: lab.compare_view.layout_now()[1] >= 1.0)
    assert lab.compare_view.layout_now()[1] >= 1.0  # never below 100% by default ...
    assert lab.compare_view.minimumWidth() > scroll.viewport().width() or lab.compare_view.minimumHeight() > (
        scroll.viewport().height()
    )  # ... so the view scrolls
    zoom = lab.findChild(QComboBox, "labCompareZoom")
    zoom.setCurrentIndex(zoom.findData(-1.0))
    assert lab.compare_view.layout_now()[1] < 1.0  # 'Fit all' shrinks to show every grid
    zoom.setCurrentIndex(zoom.findData(2.0))
    assert lab.compare_view.layout_now()[1] == 2.0

    run = RunDirectory.create(tmp_path / "runs", tiny_config(dataset="builtin:faces", family="acgan"))
    lab.set_run(run)
    subset = lab.findChild(QComboBox, "labSubsetCombo")
    texts = [subset.itemText(i) for i in range(subset.count())]
    assert texts[0] == "Whole grid" and len(texts) == 1 + 12 + 10
    assert "blue eyes only (hair varies)" in texts
    assert lab._subset_layout() == (None, None)
    subset.setCurrentIndex(texts.index("blue eyes only (hair varies)"))
    layout, space = lab._subset_layout()
    assert (layout.rows, layout.cols) == (4, 12) and layout.row_captions == [f"sample {i}" for i in (1, 2, 3, 4)]
    assert layout.title == "blue eyes: hair varies" and layout.col_captions[0] == "orange hair"


def test_a_finished_run_is_announced_in_the_status_bar_and_by_the_system_when_in_the_background(
    make_window, example, monkeypatch
):
    from PySide6.QtWidgets import QSystemTrayIcon

    import studio.gui.notify as notify_module
    from studio.core.events import RunFinished

    shown = []
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    monkeypatch.setattr(QSystemTrayIcon, "supportsMessages", staticmethod(lambda: True))
    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda self, title, text, *a: shown.append(text))
    monkeypatch.setattr(notify_module, "_tray", None)
    window = make_window(example)
    monkeypatch.setattr(notify_module, "should_notify", lambda w: True)  # the window is in the background
    window._on_train_event(RunFinished("completed", 4, 40))
    assert window.statusBar().currentMessage() == "Run completed: 4 of 4 epochs done (40 steps in all)"
    assert shown == ["Run completed: 4 of 4 epochs done (40 steps in all)"]
    monkeypatch.setattr(notify_module, "should_notify", lambda w: False)  # the user is looking at it
    window._on_train_event(RunFinished("stopped", 1, 12))
    assert len(shown) == 1 and window.statusBar().currentMessage().startswith("Run stopped: 1 of 1 epochs")


def test_the_explorer_numbers_its_sample_rows_enlarges_a_click_and_says_why_a_grid_is_missing(qtbot):
    import torch

    from studio.core.explore import Layout
    from studio.gui.explorer.display import GridDisplay

    display = GridDisplay()
    qtbot.addWidget(display)
    rows, cols = 3, 4
    layout = Layout(torch.zeros(rows * cols, 2), rows, cols, ["blue eyes"] * rows, [f"hair {c}" for c in range(cols)])
    display.show_grid(_coloured_grid(rows, cols, 16), layout)
    frame = display.view.canvas._frame
    assert frame.row_captions == ["sample 1", "sample 2", "sample 3"]  # not "blue eyes" three times
    display.show()
    qtbot.waitExposed(display)
    canvas = display.view.canvas
    left, top, _ = canvas.margins()
    point = QPoint(int(left + (2 + 2 * 18 + 8) * canvas.zoom), int(top + (2 + 1 * 18 + 8) * canvas.zoom))
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=point)  # a click chooses a row ...
    assert display.findChild(QWidget, "enlargedSample") is None
    qtbot.mouseDClick(canvas, Qt.MouseButton.LeftButton, pos=point)  # ... a double-click enlarges the sample
    dialog = display.findChild(QWidget, "enlargedSample")
    assert dialog is not None and dialog.isVisible()
    assert dialog.caption.text() == "<b>blue eyes, hair 2</b>" and "row 2 of 3" in dialog.detail.text()
    display.zoom_combo.setCurrentIndex(display.zoom_combo.findData(3.0))
    assert display.view.zoom() == 3.0
    display.clear("No grid for these settings: no colour 'bleu'")
    assert display.view.canvas.placeholder.startswith("No grid for these settings")  # not "choose a run"
    display.clear()
    assert display.view.canvas.placeholder == GridDisplay.NO_RUN

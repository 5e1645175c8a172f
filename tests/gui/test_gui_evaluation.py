"""The evaluation panel in the window: scoring a run's generators, results kept and reopened, errors, the judge."""

from __future__ import annotations

import pytest
from gui_helpers import button
from helpers import random_dataset
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QSpinBox,
    QTableWidget,
    QWidget,
)

from studio.cli import main
from studio.core.events import CheckpointSaved
from studio.core.rundir import RunDirectory
from studio.data.dataset import dataset_space
from studio.eval.judge import default_judge_path, load_judge, save_judge, train_judge
from studio.eval.results import load_results


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A project with a two-epoch run of a tiny digits cGAN, a tiny digits judge and a judge of another set."""
    root = tmp_path_factory.mktemp("evaluation")
    project = root / "project"
    argv = ["new", str(project), "--preset", "tiny-demo", "--dataset", "builtin:digits"]
    for s in (
        "dataset_size=120",
        "image_size=32",
        "ngf=8",
        "ndf=8",
        "nz=8",
        "batch_size=20",
        "epochs=2",
        "ema=true",
        "precision=float32",
        "device=cpu",
    ):
        argv += ["--set", s]
    assert main(argv) == 0
    assert main(["train", str(project), "--quiet"]) == 0
    run = next((project / "runs").iterdir())
    judge = root / "digits-judge.pt"
    assert (
        main(
            [
                "judge",
                "train",
                "builtin:digits",
                "--size",
                "120",
                "--epochs",
                "1",
                "--width",
                "8",
                "--quiet",
                "--out",
                str(judge),
            ]
        )
        == 0
    )
    shapes = random_dataset(dataset_space("builtin:shapes"), n=24)
    other = root / "shapes-judge.pt"
    save_judge(train_judge(shapes, epochs=1, width=8, batch_size=8), other)
    return project, RunDirectory(run), judge, other


def open_panel(make_window, project, qtbot):
    window = make_window(project)
    panel = window.findChild(QWidget, "evaluationPanel")
    assert panel is window.evaluation_panel
    window.main_tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: panel.run is not None)  # the project opens at its latest run
    return window, panel


def click(qtbot, window, name: str) -> None:
    b = button(window, name)
    assert b is not None and b.isEnabled(), name
    qtbot.mouseClick(b, Qt.MouseButton.LeftButton)


def settle(qtbot, panel, timeout: int = 30_000) -> None:
    qtbot.waitUntil(lambda: not panel.busy, timeout=timeout)


def table_rows(window) -> list[tuple[str, ...]]:
    table = window.findChild(QTableWidget, "evaluationTable")
    return [tuple(table.item(r, c).text() for c in range(table.columnCount())) for r in range(table.rowCount())]


def test_evaluate_checkpoints_fills_table_and_plot_and_keeps_figures(make_window, tiny, qtbot):
    project, run, judge, _ = tiny
    before = len(load_results(run.path))
    window, panel = open_panel(make_window, project, qtbot)
    names = [panel.generator_list.item(i).text() for i in range(panel.generator_list.count())]
    assert names == ["epoch 1", "epoch 2", "EMA at epoch 2"]
    assert [str(r) for r in panel.selected_refs()] == ["epoch 2", "EMA at epoch 2"]  # last and EMA by default

    click(qtbot, window, "selectAllCheckpointsButton")
    assert [str(r) for r in panel.selected_refs()] == ["epoch 1", "epoch 2"]
    checks = window.findChild(QWidget, "evaluationMetricChecks")
    boxes = {b.text(): b for b in checks.findChildren(QCheckBox)}
    assert set(boxes) == {"Conditional accuracy", "FID", "KID", "IS", "Precision/recall", "Intra-class FID", "CAS"}
    assert boxes["Conditional accuracy"].isChecked() and boxes["FID"].isChecked()
    assert not any(boxes[b].isChecked() for b in ("KID", "IS", "Precision/recall", "Intra-class FID", "CAS"))
    assert boxes["CAS"].isEnabled() and boxes["Intra-class FID"].isEnabled()  # a labelled dataset
    window.findChild(QSpinBox, "evaluationNSpin").setValue(40)
    window.findChild(QLineEdit, "judgePathEdit").setText(str(judge))

    click(qtbot, window, "evaluateButton")
    assert panel.busy and not button(window, "evaluateButton").isEnabled()
    settle(qtbot, panel)

    saved = load_results(run.path)
    headline = [(r["generator"], r["metric"]) for r in saved[before:] if r["which"] == "g" and ":" not in r["metric"]]
    assert sorted(headline) == [
        ("epoch 1", "cond_acc"),
        ("epoch 1", "fid"),
        ("epoch 2", "cond_acc"),
        ("epoch 2", "fid"),
    ]
    rows = table_rows(window)
    assert len(rows) == len([r for r in saved if ":" not in r["metric"]])  # each class's accuracy hidden
    window.findChild(QCheckBox, "perClassCheck").setChecked(True)
    assert len(table_rows(window)) == len(saved)
    window.findChild(QCheckBox, "perClassCheck").setChecked(False)
    scored = {(r[0], r[1]) for r in rows}
    assert scored >= {("epoch 1", "cond_acc"), ("epoch 2", "cond_acc"), ("epoch 1", "fid"), ("epoch 2", "fid")}
    for _generator, metric, value, features, n, judge_name, _ in rows:
        assert judge_name == judge.name
        if metric == "cond_acc":
            assert 0.0 <= float(value) <= 1.0 and features == "–" and n == "40"
        else:  # N: generated / real images compared with
            assert float(value) >= 0.0 and features == "judge" and n == "40 / 120"  # all 120 images of the set
    plotted = panel.plotted()
    assert set(plotted) == {"cond_acc", "fid"}
    assert plotted["cond_acc"][0] == [1.0, 2.0]
    newest = {(r["epoch"], r["metric"]): r["value"] for r in saved if r["which"] == "g"}
    assert plotted["fid"][1] == pytest.approx([newest[(1, "fid")], newest[(2, "fid")]])
    assert panel.status.text().startswith("Scored 2 generators")
    assert "held-out" in panel.judge_info.text()  # the judge file named, with its held-out accuracy

    assert list(panel.plot_items) == ["cond_acc", "fid"]  # each on its own scale

    # Reopened, the window shows the figures kept in the run.
    window.shutdown()
    window.close()
    again, panel2 = open_panel(make_window, project, qtbot)
    assert table_rows(again) == rows
    assert set(panel2.plotted()) == {"cond_acc", "fid"}


def test_a_judge_of_another_dataset_is_refused_and_the_panel_stays_usable(make_window, tiny, qtbot):
    project, run, judge, other = tiny
    before = len(load_results(run.path))
    window, panel = open_panel(make_window, project, qtbot)
    window.findChild(QSpinBox, "evaluationNSpin").setValue(20)
    edit = window.findChild(QLineEdit, "judgePathEdit")
    edit.setText(str(other))
    edit.editingFinished.emit()
    assert "Judge file shapes-judge.pt" in panel.judge_info.text()
    click(qtbot, window, "evaluateButton")
    settle(qtbot, panel)
    assert "shapes-judge.pt" in window.last_error and "trained for" in window.last_error
    boxes = [b for b in window.findChildren(QMessageBox, "errorDialog") if b.isVisible()]
    assert boxes and "trained for" in boxes[-1].text()
    assert "trained for" in window.log_view.toPlainText()
    assert len(load_results(run.path)) == before  # nothing written
    assert panel.progress.value() == 0  # a failed job does not read as done
    for box in boxes:
        box.close()

    # Still usable: the right judge scores at once.
    assert button(window, "evaluateButton").isEnabled() and button(window, "trainJudgeButton").isEnabled()
    edit.setText(str(judge))
    panel.set_metrics(["cond_acc"])
    click(qtbot, window, "evaluateButton")
    settle(qtbot, panel)
    added = [(r["generator"], r["metric"]) for r in load_results(run.path)[before:] if r["which"] in ("g", "ema")]
    assert [a for a in added if ":" not in a[1]] == [("epoch 2", "cond_acc"), ("EMA at epoch 2", "cond_acc")]


def test_train_judge_stores_the_datasets_judge_and_shows_its_accuracy(make_window, tiny, qtbot, answers):
    project, run, _, _ = tiny
    window, panel = open_panel(make_window, project, qtbot)
    config = run.read_config()
    stored = default_judge_path(config.dataset, config.image_size, config.channels)
    existed = stored.exists()
    window.findChild(QSpinBox, "judgeEpochsSpin").setValue(1)
    click(qtbot, window, "trainJudgeButton")
    assert panel.busy and button(window, "evaluationCancelButton").isEnabled()
    settle(qtbot, panel)
    assert stored.is_file() and len(answers.asked) == int(existed)  # asks only before replacing one
    stored_judge = load_judge(stored)
    heldout = stored_judge.heldout
    assert stored_judge.heldout_n == 12 and 0.0 <= heldout["accuracy"] <= 1.0  # a tenth of the 120, never trained on
    assert f"accuracy {heldout['accuracy']:.3f} on 12 held-out images" in panel.judge_info.text()
    assert "held-out" in panel.status.text()

    # Asked again, a 'Cancel' keeps the stored judge as it is.
    before = stored.read_bytes()
    answers.next = [QMessageBox.StandardButton.Cancel]
    click(qtbot, window, "trainJudgeButton")
    assert not panel.busy and stored.read_bytes() == before


def test_every_k_epochs_scores_new_checkpoints_in_the_background(make_window, tiny, qtbot):
    project, run, judge, _ = tiny
    window, panel = open_panel(make_window, project, qtbot)
    window.findChild(QLineEdit, "judgePathEdit").setText(str(judge))
    window.findChild(QSpinBox, "evaluationNSpin").setValue(20)
    panel.set_metrics(["cond_acc"])
    every = window.findChild(QCheckBox, "evaluateEveryCheck")
    spin = window.findChild(QSpinBox, "evaluateEverySpin")
    assert not every.isChecked() and not spin.isEnabled()  # off by default
    [first, second] = [c.path for c in run.checkpoints()]
    before = len(load_results(run.path))

    window._on_train_event(CheckpointSaved(str(second), 2, 12))
    assert not panel.busy  # off: nothing runs

    every.setChecked(True)
    spin.setValue(2)
    window._on_train_event(CheckpointSaved(str(first), 1, 6))
    assert not panel.busy  # epoch 1 is not a multiple of 2
    window._on_train_event(CheckpointSaved(str(second), 2, 12))
    assert panel.busy
    window._on_train_event(CheckpointSaved(str(second), 2, 12))
    assert panel.skipped == [2]  # the previous one still runs: skipped, never queued
    assert "skipped" in window.log_view.toPlainText()
    settle(qtbot, panel)
    added = load_results(run.path)[before:]
    assert [
        (r["generator"], r["epoch"], r["metric"]) for r in added if r["which"] == "g" and ":" not in r["metric"]
    ] == [("epoch 2", 2, "cond_acc")]
    assert table_rows(window)[0][:2] == ("epoch 2", "cond_acc")
    plotted = panel.plotted()
    curve = plotted.get("cond_acc N=20", plotted.get("cond_acc"))  # apart from figures at another N, if any
    assert curve[0][-1] == 2.0


def test_every_control_is_named_and_explains_itself(make_window, tiny, qtbot):
    project, _, _, _ = tiny
    window, panel = open_panel(make_window, project, qtbot)
    for name in (
        "evaluationPanel",
        "evaluationGeneratorList",
        "evaluationMetricChecks",
        "evaluateButton",
        "trainJudgeButton",
        "evaluationTable",
        "metricsPlot",
        "evaluateEveryCheck",
        "evaluateEverySpin",
    ):
        assert len(window.findChildren(QWidget, name)) == 1, name
    assert isinstance(window.findChild(QWidget, "evaluationGeneratorList"), QListWidget)
    assert (
        window.findChild(QListWidget, "evaluationGeneratorList").selectionMode()
        == QAbstractItemView.SelectionMode.ExtendedSelection
    )
    kinds = (QAbstractButton, QComboBox, QAbstractSpinBox, QLineEdit, QAbstractItemView)
    for widget in panel.findChildren(QWidget):
        # A line edit's clear button, a combo's popup, the table's hidden row header are parts, not controls.
        part = isinstance(widget.parent(), QLineEdit) or widget.window() is not window or not widget.isVisibleTo(panel)
        if isinstance(widget, kinds) and not part and widget.objectName() != "qt_spinbox_lineedit":
            assert widget.toolTip(), f"{type(widget).__name__} {widget.objectName()!r} has no tooltip"


def test_cancel_stops_an_evaluation_and_writes_nothing(make_window, tiny, qtbot):
    project, run, judge, _ = tiny
    before = len(load_results(run.path))
    window, panel = open_panel(make_window, project, qtbot)
    window.findChild(QLineEdit, "judgePathEdit").setText(str(judge))
    window.findChild(QSpinBox, "evaluationNSpin").setValue(50_000)
    panel.set_metrics(["cond_acc"])
    click(qtbot, window, "evaluateButton")
    click(qtbot, window, "evaluationCancelButton")
    settle(qtbot, panel)
    assert panel.status.text() == "Evaluation cancelled"
    assert not window.last_error and len(load_results(run.path)) == before
    assert button(window, "evaluateButton").isEnabled()


def test_errors_name_the_panels_controls_not_command_line_flags(tmp_path, monkeypatch):
    import torch

    import studio.eval.evaluate as evaluate_module
    from studio.errors import StudioError
    from studio.eval.evaluate import EvaluationRequest, open_judge
    from studio.eval.quality import inception_features
    from studio.gui.evaluation import for_the_window

    texts, errors = [], []  # the messages, and the errors whose code and fields the window words
    weights = tmp_path / "not-inception.pth"
    torch.save({"x": torch.zeros(2)}, weights)
    with pytest.raises(StudioError) as offline:
        inception_features(weights, with_logits=False)
    texts.append(str(offline.value))
    errors.append(offline.value)
    with pytest.raises(StudioError) as no_features:
        EvaluationRequest(judge_torchscript="mine.pt", metrics=("fid",)).validate()
    texts.append(str(no_features.value))
    errors.append(no_features.value)

    class OtherJudge:  # the dataset's stored judge, trained for another condition space
        path, name, space = None, "stored", dataset_space("builtin:shapes")

    monkeypatch.setattr(evaluate_module, "judge_for", lambda *args: OtherJudge())
    config = type("Config", (), {"dataset": "table:/data/my anime/tags.csv"})()
    with pytest.raises(StudioError) as mismatch:
        open_judge(EvaluationRequest(), config, dataset_space("builtin:faces"), "cpu")
    texts.append(str(mismatch.value))
    errors.append(mismatch.value)

    assert "--" in "".join(texts)  # the core speaks to the command line...
    shown = [for_the_window(e) for e in errors]
    assert not any("--" in t or "python -m" in t for t in shown), shown  # ...the window to its own controls
    assert "Inception box" in shown[0] and "Inception features" in shown[1] and "Train judge" in shown[2]


def test_a_figure_stored_as_null_is_left_off_the_curves():
    from studio.gui.evaluation import curve_data

    def row(epoch, value):
        return {"which": "g", "epoch": epoch, "checkpoint": f"epoch_{epoch:04d}.pt", "metric": "kid", "value": value}

    # A figure that came out NaN is kept in results.json as null (strict JSON); the plot skips it.
    assert curve_data([row(1, 0.5), row(2, None), row(3, 0.25)]) == {"kid": ([1, 3], [0.5, 0.25])}

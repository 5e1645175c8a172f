"""The collapse alarm in the window: a banner on the dashboard, marks on the plots and the timeline."""

from __future__ import annotations

from helpers import SPACES, random_dataset, tiny_config

from studio.core.events import RunAlarm
from studio.core.rundir import RunDirectory
from studio.core.trainer import Trainer
from studio.gui.dashboard import TrainingDashboard, read_run_files

MESSAGE = "G's images of one condition differ 0.00 times as much as real ones: G is ignoring z (mode collapse)"


def _run_with_alarm(tmp_path) -> RunDirectory:
    cfg = tiny_config(family="acgan", epochs=3)
    run = RunDirectory.create(tmp_path, cfg, run_id="run")
    assert Trainer(cfg, random_dataset(SPACES["categorical"], n=16), run).run().reason == "completed"
    row = {"kind": "alarm", "epoch": 3, "step": 6, "alarm": "diversity", "since_epoch": 2, "message": MESSAGE}
    run.append_metrics([{**row, "action": "none", "marked": ""}])  # as the trainer writes it
    return run


def test_a_run_with_an_alarm_shows_the_banner_and_marks_its_epochs(qtbot, tmp_path):
    run = _run_with_alarm(tmp_path)
    dashboard = TrainingDashboard()
    qtbot.addWidget(dashboard)
    dashboard.show_run(run, read_run_files(run), "run")
    banner = dashboard.alarm_banner
    assert not banner.isHidden() and MESSAGE in banner.text() and "epoch 3" in banner.text()
    timeline = dashboard.timeline
    timeline.show_index(0)
    assert "alarm" not in timeline.epoch_label.text()  # epoch 1, before the collapse began
    timeline.show_index(1)
    assert "collapse alarm: this epoch" in timeline.epoch_label.text()
    timeline.show_index(2)
    assert "collapse alarm since epoch 2" in timeline.epoch_label.text()
    assert MESSAGE in timeline.epoch_label.toolTip()
    marks = [e for plot in dashboard.plots.plots.values() for e in plot.tools.events if e.kind == "alarm"]
    assert marks and all(e.x == 6 for e in marks)
    dashboard.grab().save(str(tmp_path / "alarm.png"))

    dashboard.show_empty("none")
    assert banner.isHidden()


def test_a_live_alarm_raises_the_banner_until_the_next_run(qtbot, tmp_path):
    run = _run_with_alarm(tmp_path)
    dashboard = TrainingDashboard()
    qtbot.addWidget(dashboard)
    dashboard.begin_live(str(run.path), "live")
    assert dashboard.alarm_banner.isHidden()
    dashboard.on_event(RunAlarm("d_gap", 3, 6, 2, "D wins outright", action="stop"))
    text = dashboard.alarm_banner.text()
    assert not dashboard.alarm_banner.isHidden() and "D wins outright" in text and "stops" in text
    assert dashboard.timeline.alarms and dashboard.timeline.alarms[0][0] == 2
    dashboard.begin_live(str(run.path), "next")
    assert dashboard.alarm_banner.isHidden() and not dashboard.timeline.alarms

"""The judge lent to a training run, and how an alarm reads in the log and on the command line."""

from __future__ import annotations

from helpers import SPACES, random_dataset, tiny_config

from studio.app.reporting import alarm_line
from studio.app.run_health import judging_for_run, run_alarms
from studio.core.events import RunAlarm
from studio.core.rundir import RunDirectory


def test_without_a_stored_judge_the_alarm_falls_back_to_pixels_and_says_so():
    said = []
    cfg = tiny_config(family="acgan", dataset="builtin:digits")
    assert judging_for_run(cfg, random_dataset(SPACES["categorical"]), "cpu", said.append) is None
    assert len(said) == 1 and "16x16 pixels" in said[0] and "judge train builtin:digits" in said[0]


def test_an_unlabelled_run_gets_no_judge_and_no_scores():
    said = []
    cfg = tiny_config(family="dcgan", score_every=2)
    assert judging_for_run(cfg, random_dataset(SPACES["none"]), "cpu", said.append) is None
    assert said and "no scores" in said[0]


def test_nothing_is_lent_when_the_alarm_and_scores_are_off():
    cfg = tiny_config(family="acgan", collapse_alarm=False)
    assert judging_for_run(cfg, random_dataset(SPACES["categorical"]), "cpu", print) is None


def test_an_alarm_line_says_what_was_seen_and_what_happens(tmp_path):
    alarm = RunAlarm("diversity", 7, 700, 6, "G is ignoring z", action="stop-and-mark-best", marked="best/x.pt")
    line = alarm_line(alarm)
    assert line.startswith("ALARM at epoch 7: G is ignoring z") and "stops" in line and "best/x.pt" in line
    assert alarm_line(RunAlarm("d_gap", 3, 30, 2, "D wins")) == "ALARM at epoch 3: D wins"
    run = RunDirectory.create(tmp_path, tiny_config(), run_id="r")
    run.append_metrics([{"kind": "epoch", "epoch": 1, "step": 4}, {"kind": "alarm", "epoch": 1, "message": "m"}])
    assert [r["message"] for r in run_alarms(run)] == ["m"]


def test_the_command_line_prints_an_alarm(capsys):
    from studio.cli import _progress_reporter

    report = _progress_reporter(quiet=True)
    report(RunAlarm("accuracy", 9, 900, 8, "the judge reads 0.40, down from 0.90"))
    assert "ALARM at epoch 9: the judge reads 0.40, down from 0.90" in capsys.readouterr().out


def test_a_followed_run_reports_its_alarms(tmp_path):
    from studio.app.follow import RunFollower
    from studio.core.trainer import Trainer

    config = tiny_config(family="acgan", epochs=1)
    run = RunDirectory.create(tmp_path, config)
    Trainer(config, random_dataset(SPACES["categorical"]), run).run()
    row = {"kind": "alarm", "epoch": 1, "step": 4, "alarm": "d_gap", "since_epoch": 1, "message": "D wins"}
    run.append_metrics([{**row, "action": "stop", "marked": ""}])
    alarms = [e for e in RunFollower(run).poll() if isinstance(e, RunAlarm)]
    assert [(a.kind, a.epoch, a.step, a.since_epoch, a.message, a.action) for a in alarms] == [
        ("d_gap", 1, 4, 1, "D wins", "stop")
    ]

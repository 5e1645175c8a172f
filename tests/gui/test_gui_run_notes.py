"""The runs list's disk use and notes, pinning in the lab, and 'Continue N more epochs' in the window."""

from __future__ import annotations

import json
import time

from helpers import random_dataset, tiny_config
from PySide6.QtWidgets import QApplication

from studio.core.rundir import RunDirectory
from studio.core.trainer import Trainer
from studio.data.dataset import dataset_space
from studio.gui.checkpoint_lab.pins import set_pinned
from studio.gui.run_actions import RunNotesDialog, continue_run
from studio.project import Project

DATASET = "builtin:faces"


def wait_until(condition, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not condition() and time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.01)
    assert condition()


def test_runs_list_notes_pins_and_continue(make_window, tmp_path):
    config = tiny_config(dataset=DATASET, family="acgan", epochs=3, dataset_size=64, keep_checkpoints=2)
    project = Project.create(tmp_path / "notes-project", config)
    run = RunDirectory.create(project.runs_dir, config)
    Trainer(config, random_dataset(dataset_space(DATASET), n=16), run).run()

    window = make_window(project.folder)
    item = window.runs_panel.tree.topLevelItem(0)
    assert item.text(5).endswith(("KB", "MB")) and item.text(6) == ""

    dialog = RunNotesDialog(run, window)
    dialog.tags_edit.setText("a, no spaces")
    assert not dialog.save() and "no spaces" in dialog.error.text()
    dialog.name_edit.setText("baseline")
    dialog.tags_edit.setText("a, b")
    dialog.note_edit.setPlainText("first try")
    assert dialog.save()
    window.refresh_runs()
    item = window.runs_panel.tree.topLevelItem(0)
    assert item.text(6) == "baseline [a, b]" and item.toolTip(6) == "first try"

    lab = window.checkpoint_lab
    lab.set_run(run)
    assert [e.resumable for e in lab.entries] == [False, True, True]
    assert set_pinned(lab, lab.entries[1], True)
    assert json.loads((run.path / "pins.json").read_text())["pinned"] == ["epoch_0002.pt"]
    assert lab.table.item(1, 1).text().endswith("· pinned") and lab.table.item(2, 1).text().endswith("· full")
    assert "·" not in lab.table.item(0, 1).text()

    window.runs_panel.select_run(run.path)
    assert continue_run(window, run, more=1)
    wait_until(lambda: len(run.snapshots()) == 4 and not window.training)
    assert json.loads(run.config_path.read_text())["epochs"] == 4
    assert [c.epoch for c in run.checkpoints()] == [2, 3, 4]  # pinned 2, and the last 2
    assert len(run.snapshots()) == 4
    assert window.runs_panel.tree.topLevelItem(0).text(3) == "4 of 4"

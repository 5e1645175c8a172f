"""note, pin, unpin, info's disk use and resume --more on the command line."""

import json

import pytest
from helpers import new_cli_project

from studio.cli import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny project trained for 3 epochs keeping 2 full checkpoints (once for the module)."""
    project = new_cli_project(
        tmp_path_factory.mktemp("cli_runs") / "demo", "--set", "epochs=3", "--set", "keep_checkpoints=2"
    )
    assert main(["train", str(project), "--quiet"]) == 0
    (run,) = (project / "runs").iterdir()
    return project, run


def test_note_pin_and_info(trained, capsys):
    project, run = trained
    capsys.readouterr()
    assert main(["note", str(run), "--name", "baseline", "--tag", "a", "--tag", "b", "--text", "first"]) == 0
    assert main(["note", str(run), "--untag", "a"]) == 0
    out = capsys.readouterr().out
    assert "name: baseline" in out and "tags: b" in out and "note: first" in out
    assert json.loads((run / "notes.json").read_text())["tags"] == ["b"]

    assert main(["pin", str(run), "2"]) == 0
    out = capsys.readouterr().out
    assert "pinned" in out and "epoch_0002.pt" in out and "2 full checkpoint(s) (keeps the last 2)" in out
    assert main(["pin", str(run), "1"]) == 2
    assert "no longer kept" in capsys.readouterr().err

    assert main(["info", str(run)]) == 0
    out = capsys.readouterr().out
    assert "name: baseline" in out and "disk: " in out and "3 generator snapshot(s)" in out
    lines = [line for line in out.splitlines() if line.strip().startswith("epoch_000")]
    assert [line.split()[3] for line in lines[:3]] == ["snap", "pinned", "full"]
    assert main(["info", str(project)]) == 0
    assert "(baseline)" in capsys.readouterr().out
    assert main(["info", str(run / "snapshots" / "epoch_0001.pt")]) == 0
    assert "a generator snapshot" in capsys.readouterr().out

    assert main(["unpin", str(run), "epoch_0002.pt"]) == 0
    assert main(["unpin", str(run), "2"]) == 2
    assert "not pinned" in capsys.readouterr().err
    assert main(["note", str(run), "--tag", "no spaces allowed"]) == 2
    assert "tag 'no spaces allowed'" in capsys.readouterr().err


def test_resume_more_extends_the_run_and_refuses_a_snapshot(trained, capsys):
    project, run = trained
    assert main(["resume", str(run / "snapshots" / "epoch_0003.pt")]) == 2
    assert "generator snapshot holds no training state" in capsys.readouterr().err
    assert main(["resume", str(run), "--more", "1", "--epochs", "9"]) == 2
    assert main(["resume", str(run), "--more", "1", "--quiet"]) == 0
    assert "done: 4 epochs" in capsys.readouterr().out
    assert json.loads((run / "config.json").read_text())["epochs"] == 4
    events = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [e["epochs"] for e in events if e.get("kind") == "epochs"] == [{"from": 3, "to": 4}]
    assert sorted(p.name for p in (run / "checkpoints").glob("epoch_*.pt")) == ["epoch_0003.pt", "epoch_0004.pt"]
    assert len(list((run / "snapshots").glob("epoch_*.pt"))) == 4

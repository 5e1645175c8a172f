"""The run directory: its writer's lock, stale temporary files, a damaged metrics log, outputs that would hit it."""

import json
import math
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from helpers import tiny_config

from studio.core.rundir import RunDirectory, guard_output
from studio.errors import RunBusyError, StudioError, StudioWarning


@pytest.fixture
def run(tmp_path):
    return RunDirectory.create(tmp_path / "runs", tiny_config())


def test_a_second_lock_is_refused_naming_the_holder_and_freed_on_release(run):
    holder = run.lock()
    try:
        assert run.writer()["pid"] == os.getpid()
        with pytest.raises(RunBusyError, match=f"being trained by process {os.getpid()} on ") as info:
            run.lock(timeout=0)
        assert str(run.path) in str(info.value)
    finally:
        holder.release()
    assert run.writer() is None and not run.writer_path.exists()
    run.lock(timeout=0).release()


def test_the_lock_of_a_killed_process_is_taken_over(run):
    script = textwrap.dedent(f"""
        import sys, time
        from studio.core.rundir import RunDirectory
        lock = RunDirectory({str(run.path)!r}).lock()
        print("locked", flush=True)
        time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "locked"
        assert run.writer()["pid"] == child.pid
        with pytest.raises(RunBusyError, match=f"process {child.pid}"):
            run.lock(timeout=0)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    assert run.writer() is None  # the OS freed the lock; the holder's note is stale
    with run.lock(timeout=0):
        assert run.writer()["pid"] == os.getpid()


def test_taking_the_lock_removes_temporary_files_of_a_killed_writer(run):
    stale = [
        run.checkpoints_dir / ".epoch_0055.pt.x1y2.tmp",
        run.samples_dir / ".epoch_0003.png.abc.tmp",
        run.path / ".metrics.jsonl.q.tmp",
    ]
    kept = [run.checkpoints_dir / ".average_epochs_0001-0002.pt.zz.tmp", run.checkpoints_dir / "notes.tmp"]
    for p in stale + kept:
        p.write_bytes(b"x" * 100)
    run.lock().release()
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in kept)  # not the trainer's: an average may be being written


def test_damaged_metrics_lines_are_skipped_with_a_warning_naming_file_and_line(run):
    good = json.dumps({"kind": "epoch", "epoch": 1, "step": 4})
    run.metrics_path.write_bytes(
        (good + "\n").encode()
        + b"\xff\xfe bad\n"
        + b"[1, 2]\n"
        + ("[" * 100_000).encode()
        + b"\n"
        + (good + "\n").encode()
        + b'{"kind": "step", "st'  # a torn last line: a crash mid-append
    )
    with pytest.warns(StudioWarning) as caught:
        rows = run.read_metrics()
    assert len(rows) == 2
    messages = [str(w.message) for w in caught]
    assert messages == [
        f"{run.metrics_path}: line 2 skipped (not UTF-8 text)",
        f"{run.metrics_path}: line 3 skipped (not an object but a JSON list)",
        f"{run.metrics_path}: line 4 skipped (not valid JSON)",
    ]
    with pytest.warns(StudioWarning):
        run.truncate_metrics(4)  # a resume rewrites the log from what could be read
    assert len(run.read_metrics()) == 2


def test_metrics_are_strict_json_with_non_finite_figures_as_null(run):
    run.append_metrics([{"kind": "step", "step": 1, "d_loss": math.nan, "g_loss": math.inf, "d_x": 0.5}])
    text = run.metrics_path.read_text()
    row = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in {text}"))
    assert row["d_loss"] is None and row["g_loss"] is None and row["d_x"] == 0.5


def test_a_run_config_nested_too_deeply_is_one_error(run):
    run.config_path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(StudioError, match="nested too deeply") as info:
        run.read_config()
    assert str(run.config_path) in str(info.value)


def test_outputs_never_overwrite_a_checkpoint_or_the_input(run, tmp_path):
    checkpoint = run.checkpoint_path(1)
    checkpoint.write_bytes(b"ck")
    other = run.checkpoint_path(2)
    other.write_bytes(b"ck2")
    for out, inputs, message in [
        (checkpoint, [checkpoint], "own input"),
        (other, [checkpoint], "inside the checkpoints of run"),
        (run.checkpoints_dir / "export.pt", [checkpoint], "inside the checkpoints of run"),
        (run.config_path, [checkpoint], "a file of run"),
        (run.checkpoints_dir / "best" / "epoch_0001_g.pt", [checkpoint], "inside the checkpoints of run"),
    ]:
        with pytest.raises(StudioError, match=message):
            guard_output(out, inputs)
    sample = run.sample_path(1)
    sample.write_bytes(b"png")
    with pytest.raises(StudioError, match="a file of run"):
        guard_output(sample, [checkpoint])
    guard_output(tmp_path / "grid.png", [checkpoint])  # anywhere else is fine
    guard_output(run.samples_dir / "mine.png", [checkpoint])  # a new file beside the samples too

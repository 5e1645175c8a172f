"""The reliability benchmark's own judges (benchmarks/reliability.py), without running the CLI."""

import importlib.util
import sys
from pathlib import Path

import torch

_SPEC = importlib.util.spec_from_file_location(
    "reliability", Path(__file__).resolve().parents[1] / "benchmarks" / "reliability.py"
)
rel = importlib.util.module_from_spec(_SPEC)
sys.modules.setdefault("reliability", rel)  # dataclasses look their module up
_SPEC.loader.exec_module(rel)


def test_one_line_error_accepts_warnings_then_one_error():
    ok = rel.Result(2, "", "warning: a.jsonl: line 3 skipped\nerror: p.json: damaged\n", 1.0)
    assert rel.one_line_error(ok, 2, ("p.json",)) == []


def test_one_line_error_names_each_defect():
    assert "accepted" in rel.one_line_error(rel.Result(0, "done\n", "", 1.0))[0]
    assert "timed out" in rel.one_line_error(rel.Result(None, "", "", 9.0))[0]
    crash = rel.Result(1, "", "Traceback (most recent call last):\n  File x\nValueError: bad\n", 1.0)
    problems = " ".join(rel.one_line_error(crash, 2))
    assert "exit 1" in problems and "traceback" in problems and "not one 'error:' line" in problems
    two = rel.Result(2, "", "error: one\nerror: two\n", 1.0)
    assert rel.one_line_error(two) and rel.one_line_error(rel.Result(2, "", "error: x\n", 1.0), 2, ("p.json",))


def test_file_changes_and_stop_lines(tmp_path):
    (tmp_path / "a").write_text("1")
    (tmp_path / ".lock").write_text("")
    before = rel.hashes(tmp_path)
    assert list(before) == ["a"]
    (tmp_path / "a").write_text("2")
    (tmp_path / "b").write_text("3")
    assert rel.file_changes(before, rel.hashes(tmp_path)) == ["changed a", "created b"]
    out = "run /x/runs/1\nstopped at epoch 3, step 35; latest checkpoint /x/c/epoch_0004_step_000005.pt\n"
    assert rel.run_from(out) == Path("/x/runs/1")
    assert rel.stopped_at(out) == (3, 35, Path("/x/c/epoch_0004_step_000005.pt"))


def test_flipped_bytes_change_only_that_tensor_and_still_load(tmp_path):
    path = tmp_path / "ck.pt"
    g = {"big": torch.arange(4096, dtype=torch.float32), "small": torch.ones(3)}
    torch.save({"g": g, "d": {"big": torch.arange(4096, dtype=torch.float32) + 1}}, path)
    rel.flip_tensor_bytes(path, "big")
    state = rel.load(path)
    assert not torch.equal(state["g"]["big"], g["big"]) and torch.equal(state["g"]["small"], g["small"])
    assert int((state["g"]["big"] != g["big"]).sum()) == 2  # 8 bytes: two float32 values
    assert torch.equal(torch.load(path, weights_only=True, mmap=True)["d"]["big"], state["d"]["big"])

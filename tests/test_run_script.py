"""./run.sh, the README's two commands: it makes .venv and installs on first use, then runs inside it.

A stand-in Python records what the script asks of it, so the logic is tested without installing anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "run.sh"

pytestmark = pytest.mark.skipif(
    sys.platform == "win32" or shutil.which("bash") is None, reason="run.sh needs bash (run.bat is its twin)"
)

# A stand-in for python: 'python -m venv DIR' makes DIR/bin/python (this same stand-in); any other call is logged.
STAND_IN = """#!/usr/bin/env bash
echo "$0 $*" >> "$LOG"
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin"
  cp "$SELF" "$3/bin/python"
  chmod +x "$3/bin/python"
fi
exit 0
"""


def _stand_in(tmp_path: Path) -> Path:
    path = tmp_path / "fake-python"
    path.write_text(STAND_IN)
    path.chmod(0o755)
    return path


def _run(tmp_path: Path, venv: Path, *args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    log = tmp_path / "log"
    log.write_text("")
    maker = _stand_in(tmp_path)
    env = {**os.environ, "STUDIO_VENV": str(venv), "PYTHON": str(maker), "LOG": str(log), "SELF": str(maker)}
    env.pop("QT_QPA_PLATFORM", None)
    result = subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)
    return result, log.read_text().splitlines()


def test_the_first_call_makes_the_venv_installs_and_runs_the_tests_in_it(tmp_path):
    venv = tmp_path / "venv"
    result, calls = _run(tmp_path, venv, "test", "-k", "quick")
    assert result.returncode == 0, result.stderr
    python = str(venv / "bin" / "python")
    assert calls[0].endswith(f"-m venv {venv}")
    assert f"{python} -m pip install -e {REPO}[dev]" in calls
    assert calls[-1] == f"{python} -m pytest -k quick"
    assert "first start" in result.stderr and (venv / ".gan-studio-installed").is_file()


def test_an_existing_venv_is_used_as_it_is_and_the_studio_opens_in_it(tmp_path):
    venv = tmp_path / "venv"
    _run(tmp_path, venv, "setup")  # installs once
    result, calls = _run(tmp_path, venv, "my-project")
    assert result.returncode == 0, result.stderr
    python = str(venv / "bin" / "python")
    assert calls == [f"{python} main.py my-project"]  # no venv made, nothing installed again
    result, calls = _run(tmp_path, venv, "test")
    assert calls == [f"{python} -m pytest"]


def test_a_changed_pyproject_installs_again(tmp_path):
    venv = tmp_path / "venv"
    _run(tmp_path, venv, "setup")
    (venv / ".gan-studio-installed").write_text("an older pyproject.toml\n")
    _, calls = _run(tmp_path, venv, "test")
    assert any("pip install -e" in c for c in calls) and calls[-1].endswith("-m pytest")
    assert not any("-m venv" in c for c in calls)


def test_a_missing_python_is_named(tmp_path):
    env = {**os.environ, "STUDIO_VENV": str(tmp_path / "none"), "PYTHON": "no-such-python-3"}
    result = subprocess.run(["bash", str(SCRIPT), "setup"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "no-such-python-3 not found" in result.stderr


def test_the_readme_opens_with_install_run_and_test_and_ci_runs_its_test_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands[1:] == ["python main.py", "python -m pytest"]
    assert 'pip install -e ".[dev]"' in commands[0]
    assert "`./run.sh`" in readme and "`./run.sh test`" in readme  # the one-command path stays documented
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert 'pip install -q -e ".[dev]"' in ci and "\npython -m pytest\n" in ci and "QT_QPA_PLATFORM=offscreen" in ci
    assert all(step in ci for step in ("ruff check .", "ruff format --check .", "lint-imports"))

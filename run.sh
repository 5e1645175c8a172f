#!/usr/bin/env bash
# GAN Studio in one command.
#
#   ./run.sh [PROJECT]      open the studio (python main.py inside .venv)
#   ./run.sh test [ARGS]    run the tests (python -m pytest ARGS inside .venv, Qt offscreen)
#   ./run.sh setup          only make .venv and install (what the first call of the others does)
#   ./run.sh --headless ... the command-line studio (python main.py --headless ...)
#
# The first call makes the virtual environment .venv beside this script and installs the studio into
# it with its test tools (pip install -e ".[dev]": PyTorch included, about 2.6 GB); later calls reuse
# it and install again only when pyproject.toml has changed since.
#   STUDIO_VENV=DIR   use that virtual environment instead of .venv (made there when missing)
#   PYTHON=python3.12 the Python that makes a new environment (default: python3)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${STUDIO_VENV:-$here/.venv}"
maker="${PYTHON:-python3}"
stamp="$venv/.gan-studio-installed"

fingerprint() {
  # What the install depends on: pyproject.toml's text.
  cksum <"$here/pyproject.toml" | cut -d' ' -f1
}

install() {
  echo "GAN Studio: installing into $venv (pip install -e \".[dev]\"; PyTorch included, a few minutes)" >&2
  "$venv/bin/python" -m pip install --upgrade pip >&2
  "$venv/bin/python" -m pip install -e "$here[dev]" >&2
  fingerprint >"$stamp"
}

ensure_venv() {
  if [ ! -x "$venv/bin/python" ]; then
    if ! command -v "$maker" >/dev/null 2>&1; then
      echo "error: $maker not found; install Python 3.10 or newer, or name one with PYTHON=..." >&2
      exit 2
    fi
    echo "GAN Studio: first start, making the virtual environment $venv" >&2
    "$maker" -m venv "$venv"
    install
  elif [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$(fingerprint)" ]; then
    install
  fi
}

ensure_venv
cd "$here"
case "${1:-}" in
  setup)
    echo "GAN Studio is installed in $venv" >&2
    ;;
  test)
    shift
    export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
    exec "$venv/bin/python" -m pytest "$@"
    ;;
  *)
    exec "$venv/bin/python" main.py "$@"
    ;;
esac

#!/usr/bin/env bash
# Build the Python package (PyO3 + maturin) into python/.venv and run its
# tests: NumPy semantics, masks equal to the Rust/candle fixture, the same
# bits on 1 and 2 threads, the variants; the PyTorch tests skip when torch is
# not installed (it is not, in CI: a very large download).
set -euo pipefail
cd "$(dirname "$0")"
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check "maturin>=1.7,<2" "numpy>=1.21" "pytest>=7"
.venv/bin/maturin develop --release -q
.venv/bin/python -m pytest -q tests --doctest-modules dropout_lab/__init__.py "$@"

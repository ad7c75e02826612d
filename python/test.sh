#!/usr/bin/env bash
# Test the Python package as users get it: build the wheel once (maturin, from
# a build venv kept in target/build-venv), install it into a fresh venv
# (target/test-venv, recreated every run, with numpy and pytest from PyPI) and
# run the tests in tests/ and the doctests of the installed dropout_lab.
# Checks: NumPy semantics, masks equal to the Rust/candle fixture, the same
# bits on 1 and 2 threads, the variants. The PyTorch tests and doctests skip
# when torch is not installed (it is not, in CI: a very large download);
# WITH_TORCH=1 installs the wheel's torch extra to run them.
# Extra arguments go to pytest; the exit status is pytest's (or the build's).
set -euo pipefail
cd "$(dirname "$0")"
PY="${PYTHON:-python3}"
PIP=(-m pip install -q --disable-pip-version-check)

if [ ! -x target/build-venv/bin/maturin ]; then
  rm -rf target/build-venv
  "$PY" -m venv target/build-venv
  target/build-venv/bin/python "${PIP[@]}" "maturin>=1.7,<2"
fi

rm -rf target/test-wheel target/test-venv
target/build-venv/bin/maturin build --release -q -i "$(command -v "$PY")" --out target/test-wheel
wheels=(target/test-wheel/*.whl)
[ "${#wheels[@]}" -eq 1 ] || { echo "expected one wheel, got: ${wheels[*]}" >&2; exit 1; }
wheel="${wheels[0]}"
if [ "${WITH_TORCH:-0}" = 1 ]; then wheel="$wheel[torch]"; fi

"$PY" -m venv target/test-venv
target/test-venv/bin/python "${PIP[@]}" "numpy>=1.21" "pytest>=7" "$wheel"

# The doctests come from the installed module (--pyargs); a module that cannot
# be imported (dropout_lab.torch without torch) is reported as skipped.
target/test-venv/bin/python -m pytest -q \
  --doctest-modules --doctest-ignore-import-errors --pyargs dropout_lab tests "$@"

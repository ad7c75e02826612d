"""Shared fixtures: the golden masks, and a runner for code that must run in its own process."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap

import pytest

DATA = pathlib.Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def golden():
    """Masks the Rust crate, its reference and the candle op produce (crates/dropout-candle/tests/golden.rs)."""
    return json.loads((DATA / "masks.json").read_text())["cases"]


@pytest.fixture(scope="session")
def golden_all():
    """The whole fixture: plain masks (`cases`), attention and DropHead masks."""
    return json.loads((DATA / "masks.json").read_text())


@pytest.fixture
def run_python(tmp_path):
    """Run `code` in a fresh interpreter in its own session, with a timeout.

    Returns the CompletedProcess (text stdout/stderr). A run past `timeout`
    (a hang) fails the test after killing the whole session, forked children
    included, so nothing is left behind.
    """

    def run(code, *, env=None, timeout=60):
        script = tmp_path / "probe.py"
        script.write_text(textwrap.dedent(code))
        full_env = dict(os.environ)
        full_env.update(env or {})
        proc = subprocess.Popen(
            [sys.executable, str(script)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=full_env,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            pytest.fail(f"hung: no exit within {timeout} s\nstdout:\n{out}\nstderr:\n{err[-3000:]}")
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    return run

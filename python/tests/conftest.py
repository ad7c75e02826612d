import json
import pathlib

import pytest

DATA = pathlib.Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def golden():
    """Masks the Rust crate, its reference and the candle op produce (crates/dropout-candle/tests/golden.rs)."""
    return json.loads((DATA / "masks.json").read_text())["cases"]

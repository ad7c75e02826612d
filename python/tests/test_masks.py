"""The same key gives the same mask here as in Rust and candle, on any thread count."""

import os
import subprocess
import sys

import numpy as np

import dropout_lab as dl
from philox_ref import keep, philox4x32_10


def words_of(bools):
    n = len(bools)
    out = []
    for w in range((n + 63) // 64):
        v = 0
        for b, k in enumerate(bools[64 * w : 64 * w + 64]):
            v |= int(k) << b
        out.append(f"{v:016x}")
    return out


def test_python_philox_matches_random123_known_answers():
    assert philox4x32_10((0, 0, 0, 0), (0, 0)) == (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)
    ones = 0xFFFFFFFF
    assert philox4x32_10((ones,) * 4, (ones, ones)) == (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)


def test_packed_masks_equal_the_rust_and_candle_fixture(golden):
    for c in golden:
        key = dl.MaskKey(c["seed"], c["stream"], c["step"])
        m = dl.mask(c["p"], key, c["n"])
        assert [f"{w:016x}" for w in m.words().tolist()] == c["keep_words"], c
        assert m.kept == c["kept"] and len(m) == c["n"]
        assert m.scale == np.float32(c["scale"])


def test_dropout_output_equals_the_fixture_and_the_python_reference(golden):
    for c in golden:
        n = c["n"]
        x = np.arange(1, n + 1, dtype=np.float32)
        y = dl.dropout(x, c["p"], (c["seed"], c["stream"], c["step"]))
        kept = (y != 0).tolist()
        assert words_of(kept) == c["keep_words"], c
        assert kept == keep(c["p"], c["seed"], c["stream"], c["step"], n), c
        want = np.where(y != 0, x * np.float32(c["scale"]), np.float32(0))
        assert np.array_equal(y.view(np.uint32), want.astype(np.float32).view(np.uint32))


SCRIPT = """
import hashlib, numpy as np, dropout_lab as dl
x = np.linspace(-3, 3, 1_000_003, dtype=np.float32)
h = hashlib.sha256()
for p in (0.1, 0.5, 0.9):
    h.update(dl.dropout(x, p, (42, 1, 7)).tobytes())
    h.update(dl.gaussian_dropout(x, p, (42, 1, 7)).tobytes())
    h.update(dl.alpha_dropout(x, p, (42, 1, 7)).tobytes())
print(dl.num_threads(), h.hexdigest())
"""


def test_same_bits_on_one_and_two_threads():
    out = {}
    for threads in ("1", "2"):
        env = dict(os.environ, RAYON_NUM_THREADS=threads)
        r = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True, timeout=60)
        got_threads, digest = r.stdout.split()
        assert got_threads == threads
        out[threads] = digest
    assert out["1"] == out["2"]

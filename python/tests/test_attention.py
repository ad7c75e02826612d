"""Attention-probability dropout and DropHead: the shared fixture's masks
(the engine's, candle's and the reference's bits), a NumPy softmax, and the
backward against a NumPy formula and finite differences."""

import numpy as np
import pytest

import dropout_lab as dl


def unpack(words, n):
    bits = []
    for w in words:
        v = int(w, 16)
        bits.extend((v >> b) & 1 for b in range(64))
    return np.array(bits[:n], dtype=bool)


def softmax(s, causal):
    t = s.shape[-1]
    if causal:
        s = np.where(np.triu(np.ones((t, t), dtype=bool), 1), -np.inf, s)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_attention_masks_equal_the_shared_fixture(golden_all):
    for c in golden_all["attention"]:
        n, h, t, p = c["n"], c["heads"], c["t"], c["p"]
        key = (c["seed"], c["stream"], c["step"])
        a = dl.attention_dropout(np.zeros((n, h, t, t), np.float32), p, key)
        keep = unpack(c["keep_words"], n * h * t * t).reshape(n, h, t, t)
        assert np.array_equal(a != 0, keep)
        assert int(keep.sum()) == c["kept"]
        # Equal scores: a kept probability is 1/T, scaled by 1/(1 − p).
        assert np.allclose(a[keep], np.float32(1.0 / t) * np.float32(1.0 / (1.0 - p)), rtol=1e-6)


def test_drophead_masks_equal_the_shared_fixture(golden_all):
    for c in golden_all["drophead"]:
        n, h, p = c["n"], c["heads"], c["p"]
        key = (c["seed"], c["stream"], c["step"])
        y = dl.Variant("head", p).forward(np.ones((n, h, 5), np.float32), key)
        keep = unpack(c["keep_words"], n * h).reshape(n, h)
        assert np.array_equal(y[..., 0] != 0, keep)
        assert np.all((y == 0) | np.isclose(y, 1.0 / (1.0 - p)))


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("p", [0.0, 0.3])
def test_forward_and_backward_against_numpy(causal, p):
    rng = np.random.default_rng(3)
    s = rng.normal(size=(2, 3, 7, 7)).astype(np.float32)
    key = (5, 1, 9)
    a = dl.attention_dropout(s, p, key, causal=causal)
    probs = softmax(s.astype(np.float64), causal)
    keep = a != 0
    assert np.allclose(a, np.where(keep, probs / (1 - p), 0), atol=1e-6)
    if p == 0.0:
        assert keep.sum() == (np.tril(np.ones((7, 7))).sum() * 6 if causal else 6 * 49)
    da = rng.normal(size=s.shape).astype(np.float32)
    ds = dl.attention_dropout_backward(s, da, p, key, causal=causal)
    dp = np.where(keep, da / (1 - p), 0)
    want = probs * (dp - (probs * dp).sum(axis=-1, keepdims=True))
    assert np.allclose(ds, want, atol=1e-5)
    # Finite differences of L = Σ A ⊙ da at a few scores (the mask is fixed by the key).
    for idx in [(0, 0, 3, 1), (1, 2, 6, 6), (0, 1, 4, 0)]:
        up, down = s.copy(), s.copy()
        up[idx] += 1e-2
        down[idx] -= 1e-2
        num = ((dl.attention_dropout(up, p, key, causal=causal) * da).sum()
               - (dl.attention_dropout(down, p, key, causal=causal) * da).sum()) / 2e-2
        assert abs(num - ds[idx]) < 2e-3 + 2e-2 * abs(num), (idx, num, ds[idx])


def test_bad_shapes_are_value_errors():
    with pytest.raises(ValueError, match=r"\(…, T, T\)"):
        dl.attention_dropout(np.zeros((2, 3, 4), np.float32), 0.1, (1, 0, 0))
    with pytest.raises(ValueError):
        dl.attention_dropout(np.zeros((4, 4), np.float32), 1.5, (1, 0, 0))

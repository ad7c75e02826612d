"""The dropout family on NumPy arrays: each forward's defining property and its backward."""

import numpy as np
import pytest

import dropout_lab as dl

KEY = (77, 1, 3)


def normal(n, seed=0):
    return np.random.default_rng(seed).standard_normal(n, dtype=np.float32)


def test_alpha_dropout_keeps_selu_moments_and_backward_matches():
    x = normal(1_000_000)
    for p in (0.1, 0.3):
        y = dl.alpha_dropout(x, p, KEY)
        assert abs(y.mean()) < 0.01 and abs(y.var() - 1) < 0.02, (p, y.mean(), y.var())
        dx = dl.alpha_dropout_backward(np.ones_like(x), p, KEY)
        kept = dx != 0
        a = dx[kept][0]
        assert np.all(dx[kept] == a) and abs((~kept).mean() - p) < 0.005
        assert np.unique(y[~kept]).size == 1  # dropped units all take a·α' + b
        b = y[kept] - a * x[kept]
        assert np.allclose(b, b[0], atol=1e-5)
    chan = dl.alpha_dropout(normal(2 * 4 * 9).reshape(2, 4, 3, 3), 0.5, KEY, noise_shape=(2, 4, 1, 1))
    const = np.unique(chan[dl.alpha_dropout_backward(np.ones_like(chan), 0.5, KEY, noise_shape=(2, 4, 1, 1)) == 0])
    assert const.size == 1


def test_gaussian_dropout_has_mean_one_and_variance_p_over_1_minus_p():
    x = np.full(1_000_000, 2.0, dtype=np.float32)
    for p in (0.2, 0.5):
        f = dl.gaussian_dropout(x, p, KEY) / 2.0
        assert abs(f.mean() - 1) < 0.005 and abs(f.var() - p / (1 - p)) < 0.01 * p / (1 - p) + 0.005
        dx = dl.gaussian_dropout_backward(np.ones_like(x), p, KEY)
        assert np.array_equal(dx * x, dl.gaussian_dropout(x, p, KEY))
    assert np.array_equal(dl.gaussian_dropout(x, 0.5, KEY, train=False), x)


def test_gaussian_noise_adds_sigma_normals():
    x = normal(1_000_000, seed=1)
    e = dl.gaussian_noise(x, 0.3, KEY) - x
    assert abs(e.mean()) < 0.002 and abs(e.std() - 0.3) < 0.003
    m = dl.gaussian_noise(np.zeros((50, 20, 4), np.float32), 1.0, KEY, noise_shape=(50, 1, 4))
    assert np.all(m == m[:, :1, :])


def test_dropblock_drops_square_blocks_and_backward_reuses_them():
    x = np.ones((4, 3, 20, 20), dtype=np.float32)
    y = dl.dropblock(x, 0.2, 3, KEY)
    dx = dl.dropblock_backward(np.ones_like(x), 0.2, 3, KEY)
    assert np.array_equal(y, dx)
    dropped = y == 0
    assert 0.1 < dropped.mean() < 0.3, dropped.mean()
    scale = np.unique(y[~dropped])
    assert scale.size == 1 and scale[0] > 1  # survivors rescaled by one factor per call
    # Every dropped pixel lies in some fully dropped 3×3 window (blocks are 3×3 squares, clipped at edges).
    d = np.pad(dropped, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=True)
    win = np.zeros_like(dropped, dtype=bool)
    for dy in (-1, 0, 1):
        for dxo in (-1, 0, 1):
            full = np.ones_like(dropped, dtype=bool)
            for i in (-1, 0, 1):
                for j in (-1, 0, 1):
                    full &= np.roll(np.roll(d, dy + i, axis=2), dxo + j, axis=3)[:, :, 1:-1, 1:-1]
            win |= full
    assert np.all(win[dropped])


def test_drop_path_drops_whole_rows_of_the_branch():
    r = normal(64 * 10).reshape(64, 10)
    b = normal(64 * 10, seed=2).reshape(64, 10)
    y = dl.drop_path(r, b, 0.5, KEY)
    g = dl.drop_path_backward(np.ones_like(r), 0.5, KEY)
    kept_rows = g[:, 0] != 0
    assert 10 < kept_rows.sum() < 54
    assert np.array_equal(y[~kept_rows], r[~kept_rows])
    assert np.allclose(y[kept_rows], r[kept_rows] + 2 * b[kept_rows])
    assert np.all(g[kept_rows] == 2) and not np.any(g[~kept_rows])
    yb = dl.drop_path(r, b, 0.5, KEY, scope="batch")
    assert np.array_equal(yb, r) or np.allclose(yb, r + 2 * b)


def test_concrete_dropout_gradient_in_p_matches_finite_differences():
    x = normal(200_000, seed=3)
    dy = normal(200_000, seed=4)
    p, h = 0.3, 1e-3
    dx, dp = dl.concrete_dropout_backward(x, dy, p, KEY)
    y = dl.concrete_dropout(x, p, KEY)
    assert np.allclose(dx * x, dy * y, rtol=1e-5, atol=1e-6)
    loss = lambda q: float(np.dot(dy.astype(np.float64), dl.concrete_dropout(x, q, KEY).astype(np.float64)))
    fd = (loss(p + h) - loss(p - h)) / (2 * h)
    assert abs(fd - dp) < 0.005 * abs(dp), (fd, dp)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        dl.concrete_dropout(x, 0.0, KEY)

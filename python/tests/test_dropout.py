"""dropout / dropout_backward / mask on NumPy arrays: semantics, statistics and errors."""

import numpy as np
import pytest

import dropout_lab as dl

KEY = dl.MaskKey(seed=1234, stream=2, step=5)


def ramp(*shape):
    n = int(np.prod(shape))
    return (np.sin(np.arange(n, dtype=np.float32) * 0.37) + 0.01 * np.arange(n, dtype=np.float32)).reshape(shape)


def test_forward_keeps_or_scales_and_backward_uses_the_same_mask():
    x = ramp(64, 33) + 5.0
    for p in (0.1, 0.5, 0.9):
        y = dl.dropout(x, p, KEY)
        assert y.shape == x.shape and y.dtype == np.float32
        s = np.float32(1 / (1 - np.float64(np.float32(p))))
        assert np.array_equal(y[y != 0], x[y != 0] * s)
        dx = dl.dropout_backward(np.ones_like(x), p, KEY)
        assert np.array_equal(dx != 0, y != 0)
        assert np.all(dx[dx != 0] == s)


def test_tuple_and_maskkey_give_the_same_mask_and_keys_differ():
    x = ramp(1000) + 3.0
    assert np.array_equal(dl.dropout(x, 0.5, KEY), dl.dropout(x, 0.5, (1234, 2, 5)))
    for other in ((1235, 2, 5), (1234, 3, 5), KEY.next()):
        assert not np.array_equal(dl.dropout(x, 0.5, KEY) != 0, dl.dropout(x, 0.5, other) != 0)
    assert KEY.next() == dl.MaskKey(1234, 2, 6) and repr(KEY) == "MaskKey(seed=1234, stream=2, step=5)"


def test_drop_rate_within_the_binomial_bound():
    n = 2_000_000
    x = np.ones(n, dtype=np.float32)
    for p in (0.1, 0.3, 0.5, 0.9):
        dropped = np.count_nonzero(dl.dropout(x, p, (9, 0, 0)) == 0)
        sd = np.sqrt(n * p * (1 - p))
        assert abs(dropped - n * p) < 4 * sd, (p, dropped)


def test_eval_p0_p1():
    x = ramp(10, 10)
    assert dl.dropout(x, 0.5, KEY, train=False) is x
    assert dl.dropout_backward(x, 0.5, KEY, train=False) is x
    assert np.array_equal(dl.dropout(x, 0.0, KEY), x)
    assert not np.any(dl.dropout(x, 1.0, KEY))


def test_inplace_changes_the_array_itself():
    x = ramp(3, 500) + 2.0
    want = dl.dropout(x, 0.4, KEY)
    ptr = x.__array_interface__["data"][0]
    out = dl.dropout(x, 0.4, KEY, inplace=True)
    assert out is x and x.__array_interface__["data"][0] == ptr
    assert np.array_equal(x, want)


def test_read_only_and_offset_contiguous_views_are_accepted():
    x = ramp(100, 40)
    x.setflags(write=False)
    y = dl.dropout(x, 0.5, KEY)
    rows = ramp(200, 40)[100:]  # a C-contiguous view at an offset
    assert rows.flags.c_contiguous and not rows.flags.owndata
    assert np.array_equal(dl.dropout(np.ascontiguousarray(rows), 0.5, KEY) != 0, dl.dropout(rows, 0.5, KEY) != 0)
    assert y.shape == x.shape


def test_noise_shape_shares_draws_along_broadcast_dims():
    x = ramp(4, 6, 5, 5) + 10.0
    y = dl.dropout(x, 0.5, KEY, noise_shape=(4, 6, 1, 1))
    per_channel = (y != 0).reshape(4, 6, 25)
    assert np.all(per_channel.all(axis=2) | ~per_channel.any(axis=2))
    dx = dl.dropout_backward(np.ones_like(x), 0.5, KEY, noise_shape=(4, 6, 1, 1))
    assert np.array_equal(dx != 0, y != 0)
    z = x.copy()
    dl.dropout(z, 0.5, KEY, noise_shape=(4, 6, 1, 1), inplace=True)
    assert np.array_equal(z, y)


def test_packed_mask_applies_like_the_kernel():
    x = ramp(7, 129)
    m = dl.mask(0.3, KEY, x.size)
    assert np.array_equal(m.apply(x), dl.dropout(x, 0.3, KEY))
    keep = m.unpack()
    assert keep.dtype == np.bool_ and keep.size == x.size and keep.sum() == m.kept
    assert m.nbytes == 8 * ((x.size + 63) // 64) and "PackedMask(len=903" in repr(m)
    with pytest.raises(ValueError, match="mask covers 903"):
        m.apply(ramp(10))


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: dl.dropout(np.ones(4), 0.5, KEY), TypeError, r"float32 array, got an array of dtype float64.*np.asarray"),
        (lambda: dl.dropout([1.0, 2.0], 0.5, KEY), TypeError, r"float32 array, got a <class 'list'>"),
        (lambda: dl.dropout(np.ones((4, 3), np.float32).T, 0.5, KEY), ValueError, r"not C-contiguous.*np.ascontiguousarray"),
        (lambda: dl.dropout(np.ones(4, np.float32)[::2], 0.5, KEY), ValueError, r"not C-contiguous"),
        (lambda: dl.dropout(np.ones(4, np.float32), 1.5, KEY), ValueError, r"1.5"),
        (lambda: dl.dropout(np.ones(4, np.float32), float("nan"), KEY), ValueError, r"NaN"),
        (lambda: dl.dropout(np.ones(4, np.float32), 0.5, (1, 2)), TypeError, r"key must be dropout_lab.MaskKey"),
        (lambda: dl.dropout(np.ones(4, np.float32), 0.5, (-1, 0, 0)), TypeError, r"non-negative"),
        (lambda: dl.dropout(np.ones((2, 3), np.float32), 0.5, KEY, noise_shape=(2, 2)), ValueError, r"noise"),
        (lambda: dl.MaskKey(1, 0, 2**32 - 1).next(), ValueError, r"last one"),
    ],
)
def test_bad_input_is_a_clear_error(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_a_read_only_array_cannot_be_changed_in_place():
    x = np.ones(8, np.float32)
    x.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        dl.dropout(x, 0.5, KEY, inplace=True)


def test_out_fills_the_callers_array():
    x = ramp(16, 40) + 1.0
    out = np.full_like(x, np.nan)
    got = dl.dropout(x, 0.3, KEY, out=out)
    assert got is out and np.array_equal(out, dl.dropout(x, 0.3, KEY))
    dx = np.empty_like(x)
    assert dl.dropout_backward(x, 0.3, KEY, out=dx) is dx
    assert np.array_equal(dx, dl.dropout_backward(x, 0.3, KEY))
    ns = (16, 1)
    dl.dropout(x, 0.3, KEY, noise_shape=ns, out=out)
    assert np.array_equal(out, dl.dropout(x, 0.3, KEY, noise_shape=ns))
    dl.dropout(x, 0.3, KEY, train=False, out=out)
    assert np.array_equal(out, x)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"out": np.zeros((16, 41), np.float32)}, ValueError, r"out has shape \[16, 41\] but x has shape \[16, 40\]"),
        ({"out": np.zeros((16, 40))}, TypeError, r"out must be a NumPy float32 array"),
        ({"out": np.zeros((16, 40), np.float32), "inplace": True}, ValueError, r"either out= or inplace=True"),
    ],
)
def test_bad_out_is_a_clear_error(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        dl.dropout(ramp(16, 40), 0.3, KEY, **kwargs)


def test_an_out_overlapping_the_input_is_refused():
    buf = ramp(2, 64)
    with pytest.raises(ValueError, match="shares no memory"):
        dl.dropout(buf[0], 0.5, KEY, out=buf[0])

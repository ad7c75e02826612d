"""The one class of the family, dl.Variant, through the NumPy path: every kind's forward and
backward (eval identity, reproducible draws, backward = the forward's Jacobian transposed), the
same bits as the per-member functions and as plain dropout, offsets, and typed errors."""

import math

import numpy as np
import pytest

import dropout_lab as dl

KEY = dl.MaskKey(seed=99, stream=4, step=2)
SHAPES = {"elements": (6, 5, 7), "rows": (12, 4, 3), "maps": (2, 3, 6, 6), "heads": (5, 4, 3, 2)}


def ramp(*shape, shift=0.0):
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.float32)
    return (np.sin(i * 0.37 + shift) + 0.01 * i).astype(np.float32).reshape(shape)


def test_every_kind_is_listed_and_built():
    assert dl.VARIANT_KINDS == (
        "plain",
        "alpha",
        "gaussian",
        "noise",
        "concrete",
        "block",
        "path",
        "head",
    )
    for kind in dl.VARIANT_KINDS:
        v = dl.Variant(kind, 0.3)
        assert (v.kind, v.layout in SHAPES) == (kind, True)
        assert abs(v.p - 0.3) < 1e-7 and kind in repr(v)
    assert dl.Variant("block", 0.2, block=2).block == 2
    path = dl.Variant("path", 0.2, scope="batch", group=3)
    assert (path.scope, path.group, path.block) == ("batch", 3, None)
    assert abs(dl.Variant("concrete", 0.2, temperature=0.5).temperature - 0.5) < 1e-7
    assert dl.Variant("alpha", 0.2) == dl.Variant("alpha", 0.2) != dl.Variant("alpha", 0.3)


@pytest.mark.parametrize("kind", dl.VARIANT_KINDS)
def test_forward_and_backward_of_every_kind(kind):
    v = dl.Variant(kind, 0.3)
    shape = SHAPES[v.layout]
    x, x2, dy = ramp(*shape), ramp(*shape, shift=1.0), ramp(*shape, shift=2.0)
    y = v.forward(x, KEY)
    assert y.shape == x.shape and y.dtype == np.float32
    # Reproducible from the key, and another step draws anew.
    assert np.array_equal(v.forward(x, (99, 4, 2)), y)
    assert not np.array_equal(v.forward(x, (99, 4, 3)), y)
    # Eval is the identity (a copy), in both passes.
    assert np.array_equal(v.forward(x, KEY, train=False), x)
    assert np.array_equal(v.backward(dy, KEY, train=False), dy)
    # Every member is affine per element, y = a·x + c, and backward gives a·dy:
    # f(x2) − f(x) = a·(x2 − x) = backward(x2 − x), to rounding.
    diff = v.forward(x2, KEY) - y
    assert np.allclose(diff, v.backward(x2 - x, KEY), rtol=1e-4, atol=1e-4), kind
    dx = v.backward(dy, KEY)
    assert dx.shape == dy.shape and np.all(np.isfinite(dx))


def test_the_class_equals_the_per_member_functions_bit_for_bit():
    x, dy = ramp(2, 3, 6, 6), ramp(2, 3, 6, 6, shift=1.0)
    ns = (2, 3, 1, 1)
    same = np.testing.assert_array_equal
    same(dl.Variant("plain", 0.3).forward(x, KEY), dl.dropout(x, 0.3, KEY))
    same(dl.Variant("plain", 0.3).backward(dy, KEY, noise_shape=ns), dl.dropout_backward(dy, 0.3, KEY, noise_shape=ns))
    a = dl.Variant("alpha", 0.3)
    same(a.forward(x, KEY), dl.alpha_dropout(x, 0.3, KEY))
    same(a.forward(x, KEY, noise_shape=ns), dl.alpha_dropout(x, 0.3, KEY, noise_shape=ns))
    same(a.backward(dy, KEY), dl.alpha_dropout_backward(dy, 0.3, KEY))
    g = dl.Variant("gaussian", 0.3)
    same(g.forward(x, KEY), dl.gaussian_dropout(x, 0.3, KEY))
    same(g.backward(dy, KEY, noise_shape=ns), dl.gaussian_dropout_backward(dy, 0.3, KEY, noise_shape=ns))
    # Noise at rate p has σ = √(p/(1 − p)), computed from p as a float32, rounded once.
    p32 = float(np.float32(0.3))
    sigma = float(np.float32(math.sqrt(p32 / (1 - p32))))
    same(dl.Variant("noise", 0.3).forward(x, KEY), dl.gaussian_noise(x, sigma, KEY))
    same(dl.Variant("noise", 0.3).backward(dy, KEY), dy)
    b = dl.Variant("block", 0.2, block=3)
    same(b.forward(x, KEY), dl.dropblock(x, 0.2, 3, KEY))
    same(b.backward(dy, KEY), dl.dropblock_backward(dy, 0.2, 3, KEY))
    rows = x.reshape(6, 36)
    path = dl.Variant("path", 0.5, scope="sample")
    assert np.array_equal(path.forward(rows, KEY), dl.drop_path(np.zeros_like(rows), rows, 0.5, KEY))
    same(path.backward(rows, KEY), dl.drop_path_backward(rows, 0.5, KEY))
    c = dl.Variant("concrete", 0.3)
    same(c.forward(x, KEY), dl.concrete_dropout(x, 0.3, KEY))
    same(c.backward(dy, KEY), dl.concrete_dropout_backward(x, dy, 0.3, KEY)[0])


def test_the_plain_variant_gives_the_shared_fixture_masks(golden):
    for c in golden:
        key = (c["seed"], c["stream"], c["step"])
        kept = dl.Variant("plain", c["p"]).forward(np.ones(c["n"], dtype=np.float32), key) != 0
        assert int(kept.sum()) == c["kept"], c
        assert np.array_equal(kept, dl.mask(c["p"], key, c["n"]).unpack()), c


ELEMENTWISE = [k for k in dl.VARIANT_KINDS if dl.Variant(k, 0.3).layout == "elements"]


@pytest.mark.parametrize("kind", ELEMENTWISE)
def test_an_offset_gives_that_slice_of_the_whole(kind):
    v = dl.Variant(kind, 0.3)
    x = ramp(3000)
    whole = v.forward(x, KEY)
    np.testing.assert_array_equal(v.forward(x[1000:2000], KEY, offset=1000), whole[1000:2000])
    np.testing.assert_array_equal(
        v.backward(x[1000:2000], KEY, offset=1000), v.backward(x, KEY)[1000:2000]
    )


def test_misuse_is_a_value_error():
    x = ramp(4, 4)
    with pytest.raises(ValueError, match="unknown dropout variant"):
        dl.Variant("dropblock", 0.3)
    with pytest.raises(ValueError, match="has no block size"):
        dl.Variant("plain", 0.3, block=3)
    with pytest.raises(ValueError, match="DropPath scope"):
        dl.Variant("path", 0.3, scope="row")
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        dl.Variant("concrete", 0.0)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        dl.Variant("noise", 1.0)
    with pytest.raises(ValueError, match="not element-wise"):
        dl.Variant("block", 0.3).forward(x, KEY, offset=0)
    with pytest.raises(ValueError, match="takes no noise shape"):
        dl.Variant("path", 0.3).forward(x, KEY, noise_shape=(4, 1))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        dl.Variant("block", 0.3).forward(x, KEY)
    with pytest.raises(ValueError, match="not both"):
        dl.Variant("plain", 0.3).forward(x, KEY, offset=3, noise_shape=(4, 1))
    with pytest.raises(ValueError, match="C-contiguous"):
        dl.Variant("alpha", 0.3).forward(x.T, KEY)

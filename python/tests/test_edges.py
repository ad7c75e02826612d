"""Edges of the NumPy surface: out= sharing memory with the input through any
view of one buffer, allocation bounds (ValueError above a cap, MemoryError
when memory runs out, never an abort), and messages for NumPy scalars and
misaligned views that say what is wrong and how to fix it."""

import sys

import numpy as np
import pytest

import dropout_lab as dl

KEY = dl.MaskKey(seed=99, stream=1, step=4)
N = 1 << 16


def views(k):
    """Two float32 views of N elements of one bytearray, the second `k` elements after the first."""
    ba = bytearray(4 * (N + abs(k)))
    xo, oo = (0, 4 * k) if k >= 0 else (-4 * k, 0)
    x = np.frombuffer(ba, np.float32, count=N, offset=xo)
    o = np.frombuffer(ba, np.float32, count=N, offset=oo)
    x[:] = np.arange(N, dtype=np.float32) + 1.0
    return ba, x, o


@pytest.mark.parametrize("k", [1, 3, N // 2, N - 1, -1, -(N - 1)])
def test_out_overlapping_x_through_another_view_of_one_buffer_is_refused(k):
    ba, x, o = views(k)
    before = bytes(ba)
    with pytest.raises(ValueError, match=r"out overlaps x in memory \(\d+ shared bytes.*shares no memory with x"):
        dl.dropout(x, 0.5, KEY, out=o)
    with pytest.raises(ValueError, match=r"out overlaps dy in memory"):
        dl.dropout_backward(x, 0.5, KEY, out=o)
    with pytest.raises(ValueError, match=r"out overlaps x"):
        dl.dropout(x, 0.5, KEY, out=o, noise_shape=(1,))
    assert bytes(ba) == before, "nothing may be written when out is refused"


def test_out_overlapping_x_through_two_memoryviews_is_refused():
    ba = bytearray(4 * 1000)
    mv = memoryview(ba).cast("f")
    x, o = np.asarray(mv[:900]), np.asarray(mv[100:])
    assert x.base is not o.base
    with pytest.raises(ValueError, match=r"out overlaps x in memory \(3200 shared bytes"):
        dl.dropout(x, 0.5, KEY, out=o)


def test_out_overlapping_x_through_two_slices_of_one_array_is_refused():
    buf = np.ones(200, np.float32)
    with pytest.raises(ValueError, match=r"out overlaps x in memory \(396 shared bytes"):
        dl.dropout(buf[:100], 0.5, KEY, out=buf[1:101])


def test_out_that_is_x_itself_is_refused_with_the_inplace_hint():
    ba = bytearray(4 * 64)
    x, same = np.frombuffer(ba, np.float32), np.frombuffer(ba, np.float32)
    for out in (x, same):
        with pytest.raises(ValueError, match=r"out is the same memory as x; to change x in place use inplace=True"):
            dl.dropout(x, 0.5, KEY, out=out)
    with pytest.raises(ValueError, match=r"out is the same memory as dy; pass an out that shares no memory with dy"):
        dl.dropout_backward(x, 0.5, KEY, out=same)


def test_adjacent_views_of_one_buffer_are_accepted():
    ba, x, o = views(N)
    want = dl.dropout(x.copy(), 0.5, KEY)
    assert dl.dropout(x, 0.5, KEY, out=o) is o
    assert np.array_equal(o, want)
    _, x, o = views(-N)
    assert np.array_equal(dl.dropout_backward(x, 0.5, KEY, out=o), want)


def test_disjoint_rows_of_one_array_are_accepted():
    buf = np.arange(128, dtype=np.float32).reshape(2, 64) + 1.0
    want = dl.dropout(buf[0].copy(), 0.5, KEY)
    assert np.array_equal(dl.dropout(buf[0], 0.5, KEY, out=buf[1]), want)


def test_empty_views_never_overlap():
    ba = bytearray(16)
    x, o = np.frombuffer(ba, np.float32, count=0), np.frombuffer(ba, np.float32, count=0)
    assert dl.dropout(x, 0.5, KEY, out=o).size == 0


CAP = 2**34


def test_masks_above_the_cap_are_a_value_error_naming_it(run_python):
    # In a process of its own: before the cap these aborted the interpreter (SIGABRT).
    r = run_python(
        """
        import dropout_lab as dl
        for n in (2**34 + 1, 2**35, 2**40, 2**62, 2**64 - 1):
            try:
                dl.mask(0.5, (1, 0, 0), n=n)
                print(n, "no error")
            except BaseException as e:
                print(n, type(e).__name__, e)
        """,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert len(lines) == 5, r.stdout
    for line in lines:
        assert f"ValueError n = {line.split()[0]} is above the cap of {CAP} elements (2**34" in line, line
        assert "dropout(x, p, key)" in line, line


def test_a_mask_at_the_edge_of_a_word_and_zero_elements_still_work():
    for n in (0, 1, 63, 64, 65):
        m = dl.mask(0.5, KEY, n)
        assert len(m) == n and m.unpack().size == n and m.words().size == (n + 63) // 64


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc are Linux's")
def test_allocations_that_cannot_be_had_raise_memory_error(run_python):
    # The address space is limited to what the process has plus 64 MiB, then
    # each call asks for more: a MemoryError each time, no abort, no PanicException.
    r = run_python(
        """
        import resource
        import numpy as np
        import dropout_lab as dl

        key = (1, 0, 0)
        x = np.ones(1 << 26, np.float32)                  # 256 MiB input
        m = dl.mask(0.5, key, 1 << 27)                    # unpack: 128 MiB of bools
        dl.dropout(np.ones(1 << 20, np.float32), 0.5, key)  # the pool is running
        vm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmSize:"))
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (vm * 1024 + (64 << 20), hard))
        calls = {
            "dropout": lambda: dl.dropout(x, 0.5, key),
            "dropout_noise_shape": lambda: dl.dropout(x, 0.5, key, noise_shape=(1,)),
            "gaussian_dropout": lambda: dl.gaussian_dropout(x, 0.5, key),
            "unpack": m.unpack,
            "mask": lambda: dl.mask(0.5, key, 1 << 33),   # 1 GiB of words
        }
        for name, call in calls.items():
            try:
                call()
                print(name, "no error")
            except MemoryError:
                print(name, "MemoryError")
            except BaseException as e:
                print(name, type(e).__name__, e)
        print("alive", float(dl.dropout(np.ones(4, np.float32), 0.0, key).sum()))
        """,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split("\n")[:6] == [
        "dropout MemoryError",
        "dropout_noise_shape MemoryError",
        "gaussian_dropout MemoryError",
        "unpack MemoryError",
        "mask MemoryError",
        "alive 4.0",
    ], r.stdout


@pytest.mark.parametrize(
    "value, match",
    [
        (np.float32(1.0), r"got a NumPy float32 scalar \(not an array\); pass np.atleast_1d\(x\) .*np.asarray\(x\) \(a 0-d array\)"),
        (np.float64(1.0), r"got a NumPy float64 scalar \(not an array\); pass np.asarray\(x, dtype=np.float32\)"),
        (np.int32(3), r"got a NumPy int32 scalar"),
    ],
)
def test_a_numpy_scalar_is_named_as_a_scalar_with_the_fix(value, match):
    with pytest.raises(TypeError, match=match):
        dl.dropout(value, 0.5, KEY)


def test_the_fixes_the_scalar_message_names_work():
    s = np.float32(3.0)
    assert dl.dropout(np.atleast_1d(s), 0.0, KEY).shape == (1,)
    assert dl.dropout(np.asarray(s), 0.0, KEY).shape == ()
    assert dl.dropout(np.asarray(np.float64(3.0), dtype=np.float32), 0.0, KEY).shape == ()


def test_a_misaligned_view_names_the_misalignment_and_the_fix():
    u = np.frombuffer(bytearray(4 * 16 + 1), np.float32, count=16, offset=1)
    assert u.flags.c_contiguous and not u.flags.aligned
    fix = r"np.require\(x, requirements='CA'\) or x.copy\(\)"
    with pytest.raises(ValueError, match=r"x is C-contiguous but misaligned.*" + fix):
        dl.dropout(u, 0.5, KEY)
    with pytest.raises(ValueError, match=r"out is C-contiguous but misaligned.*np.require\(out"):
        dl.dropout(np.ones(16, np.float32), 0.5, KEY, out=u)
    fixed = np.require(u, requirements="CA")
    assert fixed.flags.aligned
    assert np.array_equal(dl.dropout(fixed, 0.5, KEY), dl.dropout(u.copy(), 0.5, KEY))

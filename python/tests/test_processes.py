"""The thread pool across processes and environments: a forked child (os.fork,
multiprocessing's fork start method, as PyTorch DataLoader workers are made)
gets a working pool after the parent used its own; RAYON_NUM_THREADS is
capped with a warning instead of a PanicException; a panic in a kernel is a
RuntimeError. Each case runs in a process of its own with a timeout, so a
hang fails the test instead of hanging the suite."""

import sys

import pytest

import dropout_lab as dl

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork start method tests run on Linux")

BIG = 1 << 22  # 4M elements: many chunks, so the kernels use the pool


def test_a_forked_child_runs_kernels_after_the_parent_used_the_pool(run_python):
    r = run_python(
        f"""
        import os, signal
        import numpy as np
        import dropout_lab as dl

        x = np.ones({BIG}, np.float32)
        want = dl.dropout(x, 0.5, (1, 0, 0))         # the parent's pool runs
        for _ in range(2):                            # twice: a child of a child too
            pid = os.fork()
            if pid == 0:
                signal.alarm(20)                      # a hung child dies instead of lingering
                got = dl.dropout(x, 0.5, (1, 0, 0))
                dx = dl.dropout_backward(x, 0.5, (1, 0, 0))
                m = dl.mask(0.5, (1, 0, 0), {BIG}).unpack()
                ok = np.array_equal(got, want) and np.array_equal(dx, want) and np.array_equal(m, want != 0)
                if os.fork() == 0:
                    signal.alarm(20)
                    os._exit(0 if np.array_equal(dl.dropout(x, 0.5, (1, 0, 0)), want) else 3)
                _, st = os.wait()
                os._exit(0 if ok and os.waitstatus_to_exitcode(st) == 0 else 3)
            _, status = os.waitpid(pid, 0)
            print("child", os.waitstatus_to_exitcode(status))
        print("parent", np.array_equal(dl.dropout(x, 0.5, (1, 0, 0)), want), dl.num_threads() >= 1)
        """,
        env={"RAYON_NUM_THREADS": "2"},
        timeout=60,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split("\n")[:3] == ["child 0", "child 0", "parent True True"], (r.stdout, r.stderr[-2000:])


def test_a_multiprocessing_fork_pool_runs_kernels_after_the_parent_used_the_pool(run_python):
    r = run_python(
        f"""
        import multiprocessing as mp
        import numpy as np
        import dropout_lab as dl

        def work(seed):
            return int(np.count_nonzero(dl.dropout(np.ones({BIG}, np.float32), 0.5, (seed, 0, 0))))

        if __name__ == "__main__":
            want = [work(s) for s in range(4)]        # the parent's pool runs
            pool = mp.get_context("fork").Pool(2)
            try:
                got = pool.map_async(work, range(4)).get(timeout=30)
                print("same", got == want)
            except mp.TimeoutError:
                print("hung")
            finally:
                pool.terminate()
        """,
        env={"RAYON_NUM_THREADS": "2"},
        timeout=60,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split("\n")[0] == "same True", (r.stdout, r.stderr[-2000:])


THREADS_PROBE = f"""
    import warnings
    import numpy as np
    import dropout_lab as dl

    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        y = dl.dropout(np.ones({BIG}, np.float32), 0.5, (1, 0, 0))
    print(dl.num_threads(), int(np.count_nonzero(y) > 0))
    for m in w:
        print(m.category.__name__, m.message)
"""


def test_rayon_num_threads_far_above_the_cap_is_capped_with_a_warning(run_python):
    r = run_python(THREADS_PROBE, env={"RAYON_NUM_THREADS": "100000"}, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    first, *warned = r.stdout.splitlines()
    n, ran = map(int, first.split())
    assert 1 <= n <= 256 and ran == 1, r.stdout
    assert len(warned) == 1, r.stdout
    assert warned[0].startswith(f"RuntimeWarning RAYON_NUM_THREADS=100000 is above dropout_lab's cap of {n} threads")
    assert warned[0].endswith(f"CPUs here); using {n}"), r.stdout


def test_rayon_num_threads_that_is_not_a_number_warns_and_uses_the_cpus(run_python):
    r = run_python(THREADS_PROBE, env={"RAYON_NUM_THREADS": "lots"}, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    first, *warned = r.stdout.splitlines()
    n = int(first.split()[0])
    assert len(warned) == 1 and f"RAYON_NUM_THREADS=\"lots\" is not a whole number; using {n} threads" in warned[0]


def test_rayon_num_threads_within_the_cap_is_used_as_given(run_python):
    r = run_python(THREADS_PROBE, env={"RAYON_NUM_THREADS": "3"}, timeout=60)
    assert r.returncode == 0 and r.stdout.splitlines() == ["3 1"], (r.stdout, r.stderr[-2000:])


def test_a_panic_in_a_kernel_is_a_runtime_error_and_the_pool_keeps_working():
    import numpy as np

    with pytest.raises(RuntimeError, match=r"internal error in a kernel \(a deliberate panic"):
        dl._native._panic_in_kernel()
    x = np.ones(BIG, np.float32)
    assert np.array_equal(dl.dropout(x, 0.5, (1, 0, 0)), dl.dropout(x, 0.5, (1, 0, 0)))

//! Matrix products through `faer` (chosen by benchmark over `gemm` and
//! `matrixmultiply` on our shapes: see README).
//!
//! `C (m × n) = op(A) · op(B)` (or `C += …`), all row-major, where
//! `op(A)` is `A` (stored m × k) or `Aᵀ` (stored k × m), likewise `B`. The
//! transposes are free: they are strides handed to faer. faer splits the
//! work over rayon threads by output blocks, not over `k`, so each output is
//! summed in the same order on 1 or N threads (the determinism test of the
//! engine checks this end to end).
//!
//! [`gemm_time`] accounts the wall time spent in these products, off unless a
//! benchmark turns it on, so a step can be compared with its GEMM-only bound
//! measured in the same run.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

static TIMING: AtomicBool = AtomicBool::new(false);
static NANOS: AtomicU64 = AtomicU64::new(0);

/// GEMM time accounting for benchmarks.
pub mod gemm_time {
    use super::*;

    /// Start (or stop) adding the time of every [`matmul`] call to a counter.
    pub fn enable(on: bool) {
        TIMING.store(on, Ordering::Relaxed);
    }

    /// The time accounted since the last call, and reset the counter.
    pub fn take() -> Duration {
        Duration::from_nanos(NANOS.swap(0, Ordering::Relaxed))
    }
}

/// Which operand is stored transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trans {
    /// `A` is stored `k × m`.
    pub a: bool,
    /// `B` is stored `n × k`.
    pub b: bool,
}

/// `C = op(A)·op(B)` (`accumulate = false`) or `C += op(A)·op(B)`.
///
/// # Panics
/// If a slice is shorter than its matrix (a bug in the calling layer; layers
/// check shapes before they get here).
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    t: Trans,
    accumulate: bool,
) {
    let threads = rayon::current_num_threads();
    let par = if threads > 1 && m * n * k >= 1 << 18 {
        faer::Par::rayon(threads)
    } else {
        faer::Par::Seq
    };
    product(m, k, n, a, b, c, t, accumulate, par);
}

/// [`matmul`] on the calling thread alone: for the many small products of
/// a loop that is itself parallel (attention's per-head products).
///
/// # Panics
/// As [`matmul`].
#[allow(clippy::too_many_arguments)]
pub fn matmul_seq(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    t: Trans,
    accumulate: bool,
) {
    product(m, k, n, a, b, c, t, accumulate, faer::Par::Seq);
}

#[allow(clippy::too_many_arguments)]
fn product(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    t: Trans,
    accumulate: bool,
    par: faer::Par,
) {
    assert!(
        a.len() >= m * k && b.len() >= k * n && c.len() >= m * n,
        "matmul operand too short"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    // (row stride, column stride) of op(A) and op(B).
    let (a_rs, a_cs) = if t.a {
        (1, m as isize)
    } else {
        (k as isize, 1)
    };
    let (b_rs, b_cs) = if t.b {
        (1, k as isize)
    } else {
        (n as isize, 1)
    };
    // SAFETY: the pointers cover the matrices with these strides (checked above).
    let (a, b, c) = unsafe {
        (
            faer::MatRef::from_raw_parts(a.as_ptr(), m, k, a_rs, a_cs),
            faer::MatRef::from_raw_parts(b.as_ptr(), k, n, b_rs, b_cs),
            faer::MatMut::from_raw_parts_mut(c.as_mut_ptr(), m, n, n as isize, 1),
        )
    };
    let accum = if accumulate {
        faer::Accum::Add
    } else {
        faer::Accum::Replace
    };
    let t0 = TIMING.load(Ordering::Relaxed).then(Instant::now);
    faer::linalg::matmul::matmul(c, accum, a, b, 1.0f32, par);
    if let Some(t0) = t0 {
        NANOS.fetch_add(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], t: Trans) -> Vec<f64> {
        let mut c = vec![0.0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    let av = if t.a { a[p * m + i] } else { a[i * k + p] };
                    let bv = if t.b { b[j * k + p] } else { b[p * n + j] };
                    c[i * n + j] += f64::from(av) * f64::from(bv);
                }
            }
        }
        c
    }

    #[test]
    fn all_transpose_combinations_match_naive() {
        let mut r = crate::rng::Rng::new(5);
        for (m, k, n) in [(1, 1, 1), (3, 5, 7), (64, 70, 33), (128, 100, 10)] {
            let a: Vec<f32> = (0..m * k).map(|_| r.normal() as f32).collect();
            let b: Vec<f32> = (0..k * n).map(|_| r.normal() as f32).collect();
            for ta in [false, true] {
                for tb in [false, true] {
                    let t = Trans { a: ta, b: tb };
                    let want = naive(m, k, n, &a, &b, t);
                    let mut c = vec![1.0f32; m * n];
                    matmul(m, k, n, &a, &b, &mut c, t, false);
                    let mut acc = vec![1.0f32; m * n];
                    matmul(m, k, n, &a, &b, &mut acc, t, true);
                    for i in 0..m * n {
                        let tol = 1e-4 * (k as f64).sqrt() * 4.0;
                        assert!((f64::from(c[i]) - want[i]).abs() < tol, "{m}x{k}x{n} {t:?}");
                        assert!((f64::from(acc[i]) - want[i] - 1.0).abs() < tol);
                    }
                }
            }
        }
    }
}

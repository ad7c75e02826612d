//! Matrix products through `faer` (chosen by benchmark over `gemm` and
//! `matrixmultiply` on our shapes: see README).
//!
//! `C (m × n) = op(A) · op(B)` (or `C += …`), all row-major, where
//! `op(A)` is `A` (stored m × k) or `Aᵀ` (stored k × m), likewise `B`. The
//! transposes are free: they are strides handed to faer.
//!
//! Threads: [`matmul`] cuts `C` into row blocks, a number fixed by the shape
//! alone (`blocks = min(8, m/16, m·n·k / 2¹⁷)`, at least 1), and runs each
//! block as one sequential faer product on a rayon task. Each output is then
//! summed over `k` in the same order on 1 or N threads (the determinism test
//! of the engine checks this end to end), and no second thread pool runs
//! beside rayon's: faer's own parallel products spin and sleep on barriers of
//! their own, which cost more than the work on the small products of a
//! Transformer step.
//!
//! [`gemm_time`] accounts the wall time spent in these products, off unless a
//! benchmark turns it on, so a step can be compared with its GEMM-only bound
//! measured in the same run.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;

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

/// Row blocks of an `m × k` by `k × n` product: fixed by the shape alone.
fn blocks(m: usize, k: usize, n: usize) -> usize {
    (m.saturating_mul(n).saturating_mul(k) >> 17)
        .min(m / 16)
        .clamp(1, 8)
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
    let blocks = blocks(m, k, n);
    if blocks == 1 {
        return matmul_seq(m, k, n, a, b, c, t, accumulate);
    }
    check(m, k, n, a, b, c);
    let rows = m.div_ceil(blocks);
    let t0 = TIMING.load(Ordering::Relaxed).then(Instant::now);
    c[..m * n]
        .par_chunks_mut(rows * n)
        .enumerate()
        .for_each(|(i, c)| {
            let r0 = i * rows;
            // op(A)'s rows r0.. start at row r0 of A, or at column r0 of Aᵀ.
            let a = if t.a { &a[r0..] } else { &a[r0 * k..] };
            product(c.len() / n, k, n, m, a, b, c, t, accumulate);
        });
    if let Some(t0) = t0 {
        NANOS.fetch_add(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }
}

/// [`matmul`] on the calling thread alone, in one block: for the many small
/// products of a loop that is itself parallel (attention's per-head
/// products).
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
    check(m, k, n, a, b, c);
    let t0 = TIMING.load(Ordering::Relaxed).then(Instant::now);
    product(m, k, n, m, a, b, c, t, accumulate);
    if let Some(t0) = t0 {
        NANOS.fetch_add(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }
}

fn check(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &[f32]) {
    assert!(
        a.len() >= m * k && b.len() >= k * n && c.len() >= m * n,
        "matmul operand too short"
    );
}

/// `m` rows of `C` from `m` rows of `op(A)`; a transposed `A` is stored
/// `k × lda` (its row stride, the whole product's `m`).
#[allow(clippy::too_many_arguments)]
fn product(
    m: usize,
    k: usize,
    n: usize,
    lda: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    t: Trans,
    accumulate: bool,
) {
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
        (1, lda as isize)
    } else {
        (k as isize, 1)
    };
    let (b_rs, b_cs) = if t.b {
        (1, k as isize)
    } else {
        (n as isize, 1)
    };
    assert!(
        (if t.a { (k - 1) * lda + m } else { m * k }) <= a.len(),
        "matmul operand too short"
    );
    // SAFETY: the pointers cover the matrices with these strides (checked
    // above for A, by `check` for B and C).
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
    faer::linalg::matmul::matmul(c, accum, a, b, 1.0f32, faer::Par::Seq);
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
        for (m, k, n) in [
            (1, 1, 1),
            (3, 5, 7),
            (64, 70, 33),
            (128, 100, 10),
            (250, 130, 70),
        ] {
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

    /// The row blocks change no bit: a split product equals the one-block
    /// product, so results do not depend on how the blocks meet threads.
    #[test]
    fn row_blocks_give_the_one_block_bits() {
        let mut r = crate::rng::Rng::new(6);
        for (m, k, n) in [
            (250, 130, 70),
            (768, 128, 384),
            (384, 768, 128),
            (85, 768, 128),
        ] {
            assert!(blocks(m, k, n) > 1, "{m}x{k}x{n} is not split");
            let a: Vec<f32> = (0..m * k).map(|_| r.normal() as f32).collect();
            let b: Vec<f32> = (0..k * n).map(|_| r.normal() as f32).collect();
            for ta in [false, true] {
                for tb in [false, true] {
                    let t = Trans { a: ta, b: tb };
                    let (mut split, mut one) = (vec![0.5f32; m * n], vec![0.5f32; m * n]);
                    matmul(m, k, n, &a, &b, &mut split, t, true);
                    matmul_seq(m, k, n, &a, &b, &mut one, t, true);
                    assert!(split == one, "{m}x{k}x{n} {t:?}");
                }
            }
        }
    }
}

//! Matrix products through `faer` (chosen by benchmark over `gemm` and
//! `matrixmultiply` on our shapes: see README).
//!
//! `C (m × n) = op(A) · op(B)` (or `C += …`), all row-major, where
//! `op(A)` is `A` (stored m × k) or `Aᵀ` (stored k × m), likewise `B`. The
//! transposes are free: they are strides handed to faer.
//!
//! Threads: [`matmul`] cuts `C` into blocks along its longer side (rows or
//! columns), their number fixed by the shape alone (`blocks = min(8,
//! max(m, n)/16, m·n·k / 2¹⁷)`, at least 1), halves them recursively with
//! `rayon::join` and runs each block as one sequential faer product. Each
//! output is then summed over `k` in the same order on 1 or N threads (the
//! determinism test of the engine checks this end to end), and no second
//! thread pool runs beside rayon's: faer's own parallel products spin and
//! sleep on barriers of their own, which cost more than the work on the
//! small products of a Transformer step.
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

/// Blocks of an `m × k` by `k × n` product: fixed by the shape alone.
fn blocks(m: usize, k: usize, n: usize) -> usize {
    (m.saturating_mul(n).saturating_mul(k) >> 17)
        .min(m.max(n) / 16)
        .clamp(1, 8)
}

type View<'a> = faer::MatRef<'a, f32, usize, usize, isize, isize>;
type ViewMut<'a> = faer::MatMut<'a, f32, usize, usize, isize, isize>;

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
    let pieces = blocks(m, k, n);
    if pieces == 1 || k == 0 {
        return matmul_seq(m, k, n, a, b, c, t, accumulate);
    }
    check(m, k, n, a, b, c);
    timed(|| {
        let (a, b, c) = views(m, k, n, a, b, c, Lead::packed(m, k, n, t), t);
        split(a, b, c, pieces, n > m, accumulate);
    });
}

/// Run `f`, adding its wall time to the [`gemm_time`] counter when it is on.
fn timed(f: impl FnOnce()) {
    let t0 = TIMING.load(Ordering::Relaxed).then(Instant::now);
    f();
    if let Some(t0) = t0 {
        NANOS.fetch_add(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }
}

/// `C = op(A)·op(B)` in `pieces` blocks of `C`'s columns (`by_cols`) or
/// rows, halved recursively on rayon; each block one sequential product.
fn split(a: View<'_>, b: View<'_>, c: ViewMut<'_>, pieces: usize, by_cols: bool, acc: bool) {
    if pieces == 1 {
        let accum = if acc {
            faer::Accum::Add
        } else {
            faer::Accum::Replace
        };
        faer::linalg::matmul::matmul(c, accum, a, b, 1.0f32, faer::Par::Seq);
        return;
    }
    let left = pieces / 2;
    let len = if by_cols { c.ncols() } else { c.nrows() };
    let at = len * left / pieces;
    if by_cols {
        let (c0, c1) = c.split_at_col_mut(at);
        let (b0, b1) = (b.subcols(0, at), b.subcols(at, len - at));
        rayon::join(
            || split(a, b0, c0, left, by_cols, acc),
            || split(a, b1, c1, pieces - left, by_cols, acc),
        );
    } else {
        let (c0, c1) = c.split_at_row_mut(at);
        let (a0, a1) = (a.subrows(0, at), a.subrows(at, len - at));
        rayon::join(
            || split(a0, b, c0, left, by_cols, acc),
            || split(a1, b, c1, pieces - left, by_cols, acc),
        );
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
    let ld = Lead::packed(m, k, n, t);
    matmul_strided(m, k, n, a, b, c, ld, t, accumulate);
}

/// The row strides ("leading dimensions") of the stored `A`, `B` and `C`:
/// a matrix stored `r × c` with row stride `ld ≥ c` has element `(i, j)` at
/// `i·ld + j`. Views into wider rows (one head's columns of a `Q K V` row)
/// need no copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lead {
    /// Row stride of `A` as stored (`m × k`, or `k × m` when transposed).
    pub a: usize,
    /// Row stride of `B` as stored (`k × n`, or `n × k` when transposed).
    pub b: usize,
    /// Row stride of `C` (`m × n`).
    pub c: usize,
}

impl Lead {
    /// The strides of densely stored operands.
    pub fn packed(m: usize, k: usize, n: usize, t: Trans) -> Self {
        Self {
            a: if t.a { m } else { k },
            b: if t.b { k } else { n },
            c: n,
        }
    }
}

/// [`matmul_seq`] on operands stored with the row strides `ld`.
///
/// # Panics
/// If a slice does not reach its matrix's last element, or a stride is
/// shorter than its row.
#[allow(clippy::too_many_arguments)]
pub fn matmul_strided(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    ld: Lead,
    t: Trans,
    accumulate: bool,
) {
    timed(|| {
        let (a, b, mut c) = views(m, k, n, a, b, c, ld, t);
        if m == 0 || n == 0 {
            return;
        }
        if k == 0 {
            if !accumulate {
                c.fill(0.0);
            }
            return;
        }
        split(a, b, c, 1, false, accumulate);
    });
}

fn check(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &[f32]) {
    assert!(
        a.len() >= m * k && b.len() >= k * n && c.len() >= m * n,
        "matmul operand too short"
    );
}

/// Elements a stored `rows × cols` matrix with row stride `ld` spans.
fn extent(rows: usize, cols: usize, ld: usize) -> usize {
    assert!(
        ld >= cols,
        "matmul row stride {ld} shorter than a row of {cols}"
    );
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * ld + cols
    }
}

/// faer views of the stored operands, after checking that each slice
/// reaches its matrix's last element.
#[allow(clippy::too_many_arguments)]
fn views<'a>(
    m: usize,
    k: usize,
    n: usize,
    a: &'a [f32],
    b: &'a [f32],
    c: &'a mut [f32],
    ld: Lead,
    t: Trans,
) -> (View<'a>, View<'a>, ViewMut<'a>) {
    let (a_rows, a_cols) = if t.a { (k, m) } else { (m, k) };
    let (b_rows, b_cols) = if t.b { (n, k) } else { (k, n) };
    assert!(
        extent(a_rows, a_cols, ld.a) <= a.len()
            && extent(b_rows, b_cols, ld.b) <= b.len()
            && extent(m, n, ld.c) <= c.len(),
        "matmul operand too short"
    );
    // (row stride, column stride) of op(A) and op(B).
    let (a_rs, a_cs) = if t.a {
        (1, ld.a as isize)
    } else {
        (ld.a as isize, 1)
    };
    let (b_rs, b_cs) = if t.b {
        (1, ld.b as isize)
    } else {
        (ld.b as isize, 1)
    };
    // SAFETY: the pointers cover the matrices with these strides (checked
    // above; an empty matrix touches nothing).
    unsafe {
        (
            faer::MatRef::from_raw_parts(a.as_ptr(), m, k, a_rs, a_cs),
            faer::MatRef::from_raw_parts(b.as_ptr(), k, n, b_rs, b_cs),
            faer::MatMut::from_raw_parts_mut(c.as_mut_ptr(), m, n, ld.c as isize, 1),
        )
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

    /// The blocks change no bit: a product split by rows or by columns
    /// equals the one-block product (so blocks could even follow the thread
    /// count without changing results; they follow the shape regardless).
    #[test]
    fn blocks_give_the_one_block_bits() {
        let mut r = crate::rng::Rng::new(6);
        for (m, k, n) in [
            (128, 784, 1024),
            (70, 130, 250),
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

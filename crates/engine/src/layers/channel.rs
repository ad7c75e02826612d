//! Per-channel passes over `(N, C)` and `(N, C, H, W)` tensors, for
//! BatchNorm: channel `ch` of sample `i` is the run of `s = H·W` values at
//! offset `(i·C + ch)·s`.
//!
//! ```text
//! reduce / sum_runs / dense_reduce:  acc[ch] = Σ_i (fold of run (i, ch)),  i in order
//! map:                               out[run (i, ch)] = f(ch, run)         in parallel over samples
//! ```
//! Every reduction adds each channel's terms in sample order, whatever the
//! thread count and whichever function computes it, so the sums are the same
//! bits on 1 or N threads and on the dense and the general path.

use rayon::prelude::*;

use crate::wide::wide;

/// A per-channel reduction, in parallel over blocks of channels:
/// `acc[ch] = 0`, then `f(ch, offset, len, &mut acc[ch])` for each
/// `(sample, channel)` run of `len` values at `offset`, in sample order —
/// the order of a sequential loop, so the sums do not depend on the
/// thread count. (A [`dense_reduce`] whose row step visits each channel's run.)
pub(crate) fn reduce(
    shape: &[usize],
    c: usize,
    acc: &mut [f64],
    f: impl Fn(usize, usize, usize, &mut f64) + Sync,
) {
    let s: usize = shape[2..].iter().product();
    dense_reduce(
        shape[0],
        c,
        acc,
        #[inline(always)]
        |acc, c0, i| {
            for (k, a) in acc.iter_mut().enumerate() {
                let ch = c0 + k;
                f(ch, (i * c + ch) * s, s, a);
            }
        },
    );
}

/// `acc = 0`, then `f(acc_block, first_channel, i)` folds sample `i` into
/// a block of channels, samples in order, in parallel over blocks of about
/// four per thread. Each channel's additions come in sample order whatever
/// the blocks, so the sums are the same bits as a sequential loop (and as
/// [`sum_runs`]); for `(N, C)` inputs the row step is contiguous and
/// vectorises across channels.
pub(crate) fn dense_reduce(
    n: usize,
    c: usize,
    acc: &mut [f64],
    f: impl Fn(&mut [f64], usize, usize) + Sync,
) {
    let block = c.div_ceil(4 * rayon::current_num_threads()).max(8);
    acc.par_chunks_mut(block)
        .enumerate()
        .for_each(|(blk, acc)| {
            wide(
                #[inline(always)]
                || {
                    acc.fill(0.0);
                    for i in 0..n {
                        f(acc, blk * block, i);
                    }
                },
            )
        });
}

/// `acc[ch] = Σ_i f(ch, offset, len)` over samples i in order, where each
/// run's value `f` is computed in parallel over samples into `parts`
/// first: the same additions in the same order as a sequential loop.
pub(crate) fn sum_runs(
    shape: &[usize],
    c: usize,
    acc: &mut [f64],
    parts: &mut Vec<f64>,
    f: impl Fn(usize, usize, usize) -> f64 + Sync,
) {
    let n = shape[0];
    let s: usize = shape[2..].iter().product();
    parts.resize(n * c, 0.0);
    parts.par_chunks_mut(c).enumerate().for_each(|(i, p)| {
        wide(
            #[inline(always)]
            || {
                for (ch, v) in p.iter_mut().enumerate() {
                    *v = f(ch, (i * c + ch) * s, s);
                }
            },
        )
    });
    acc.fill(0.0);
    for p in parts.chunks(c) {
        for (a, &v) in acc.iter_mut().zip(p) {
            *a += v;
        }
    }
}

/// An element-wise pass, in parallel over samples: `f(ch, offset, run)`
/// for each `(sample, channel)` run, `run` its slice of `out`.
pub(crate) fn map(
    shape: &[usize],
    c: usize,
    out: &mut [f32],
    f: impl Fn(usize, usize, &mut [f32]) + Sync,
) {
    let s: usize = shape[2..].iter().product::<usize>().max(1);
    out.par_chunks_mut(c * s)
        .enumerate()
        .for_each(|(i, sample)| {
            wide(
                #[inline(always)]
                || {
                    for (ch, run) in sample.chunks_mut(s).enumerate() {
                        f(ch, (i * c + ch) * s, run);
                    }
                },
            )
        });
}

//! DropBlock (Ghiasi, Lin & Le 2018): drop contiguous b × b blocks of a
//! feature map instead of single units, so the dropped information cannot be
//! recovered from correlated neighbours.
//!
//! For data `(N, C, H, W)`, block size b and drop rate p (the target share of
//! dropped units), one mask per (sample, channel):
//! ```text
//! γ = p / b² · H·W / ((H − b + 1)(W − b + 1))                     (the paper's eq. 1, for H × W maps)
//! seed at (n, c, i, j), i ≤ H − b, j ≤ W − b:  Philox word of element ((n·C + c)·H + i)·W + j < round(γ·2^32)
//! dropped(n, c, y, x) = a seed (i, j) with i ≤ y < i + b and j ≤ x < j + b   (block = b × b from its corner)
//! forward:  y = dropped ? 0 : x · s,   s = (N·C·H·W) / (number kept)   (0 when nothing is kept; f64 → f32 once)
//! backward: dx = dropped ? 0 : dy · s  (mask and s recomputed from the key; nothing stored)
//! p = 0 or eval: the identity
//! ```
//! The fast path dilates the seeds separably (rows, then columns), planes in
//! parallel; [`reference`](crate::reference) checks every window directly.
//! A linear ramp of p is `--dropout-schedule ramp:E` in the lab.

use rayon::prelude::*;

use crate::error::{check_len, DropoutError};
use crate::philox::MaskKey;
use crate::rule::{Dropout, Mode, Plan};

/// The block size b unless one is given (the engine's `--drop-block-size`
/// default; the paper uses 7 on ResNet-50's larger maps).
pub const DEFAULT_BLOCK: usize = 3;

/// A validated DropBlock.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DropBlock {
    p: f32,
    block: usize,
}

/// (N, C, H, W) of a shape, or the error.
fn maps(shape: &[usize]) -> Result<[usize; 4], DropoutError> {
    match shape {
        &[n, c, h, w] => Ok([n, c, h, w]),
        _ => Err(DropoutError::NotMaps {
            shape: shape.to_vec(),
        }),
    }
}

impl DropBlock {
    /// DropBlock with drop rate `p ∈ [0, 1]` and block size `block ≥ 1`.
    ///
    /// # Errors
    /// [`DropoutError::InvalidProbability`], [`DropoutError::ZeroBlock`].
    pub fn new(p: f32, block: usize) -> Result<Self, DropoutError> {
        Dropout::new(p)?;
        if block == 0 {
            return Err(DropoutError::ZeroBlock);
        }
        Ok(Self { p, block })
    }

    /// The drop rate.
    pub fn p(&self) -> f32 {
        self.p
    }

    /// The block size.
    pub fn block(&self) -> usize {
        self.block
    }

    /// The seed rule for `H × W` maps: the keep rule at rate γ (clamped to 1);
    /// `None` when nothing is drawn (eval, p = 0).
    ///
    /// # Errors
    /// [`DropoutError::BadBlock`] if the block is larger than the map.
    pub fn seed_rule(
        &self,
        mode: Mode,
        h: usize,
        w: usize,
    ) -> Result<Option<Dropout>, DropoutError> {
        let b = self.block;
        if b > h || b > w {
            return Err(DropoutError::BadBlock {
                block: b,
                height: h,
                width: w,
            });
        }
        if mode == Mode::Eval || self.p == 0.0 {
            return Ok(None);
        }
        let valid = ((h - b + 1) * (w - b + 1)) as f64;
        let gamma = f64::from(self.p) / (b * b) as f64 * (h * w) as f64 / valid;
        Ok(Some(Dropout::new(gamma.min(1.0) as f32)?))
    }

    /// The block mask (1 = dropped) of data `shape` into `out`, and the scale s;
    /// `None` for the identity.
    ///
    /// # Errors
    /// As [`seed_rule`](Self::seed_rule); [`DropoutError::NotMaps`].
    pub fn mask(
        &self,
        key: MaskKey,
        mode: Mode,
        shape: &[usize],
        out: &mut Vec<u8>,
    ) -> Result<Option<f32>, DropoutError> {
        let [n, c, h, w] = maps(shape)?;
        let Some(rule) = self.seed_rule(mode, h, w)? else {
            return Ok(None);
        };
        let b = self.block;
        out.clear();
        out.resize(n * c * h * w, 0);
        out.par_chunks_mut(h * w)
            .enumerate()
            .for_each(|(plane, m)| {
                let seeded = |i: usize, j: usize| match rule.plan(Mode::Train) {
                    Plan::Identity => false,
                    Plan::DropAll => true,
                    Plan::Threshold { t, .. } => key.word(((plane * h + i) * w + j) as u64) < t,
                };
                // Rows: r[i][x] = a seed in row i with j ≤ x < j + b (j ≤ W − b).
                let mut rows = vec![0u8; (h - b + 1) * w];
                for i in 0..=h - b {
                    for j in (0..=w - b).filter(|&j| seeded(i, j)) {
                        rows[i * w + j..i * w + j + b].fill(1);
                    }
                }
                // Columns: dropped[y][x] = r[i][x] for some i ≤ y < i + b.
                for i in 0..=h - b {
                    for x in (0..w).filter(|&x| rows[i * w + x] == 1) {
                        for y in i..i + b {
                            m[y * w + x] = 1;
                        }
                    }
                }
            });
        let kept = out.iter().filter(|&&d| d == 0).count();
        Ok(Some(if kept == 0 {
            0.0
        } else {
            (out.len() as f64 / kept as f64) as f32
        }))
    }

    /// `y = dropped ? 0 : x · s` over `(N, C, H, W)` data.
    ///
    /// # Errors
    /// As [`mask`](Self::mask); [`DropoutError::LengthMismatch`].
    pub fn forward(
        &self,
        key: MaskKey,
        mode: Mode,
        shape: &[usize],
        x: &[f32],
        y: &mut [f32],
    ) -> Result<(), DropoutError> {
        let n: usize = maps(shape)?.iter().product();
        check_len("input", x.len(), n)?;
        check_len("output", y.len(), n)?;
        let mut m = Vec::new();
        match self.mask(key, mode, shape, &mut m)? {
            None => y.copy_from_slice(x),
            Some(s) => y
                .par_iter_mut()
                .zip(x.par_iter().zip(m.par_iter()))
                .for_each(|(y, (&x, &d))| *y = if d == 1 { 0.0 } else { x * s }),
        }
        Ok(())
    }

    /// `dx = dropped ? 0 : dy · s`, the mask recomputed from the key.
    ///
    /// # Errors
    /// As [`forward`](Self::forward).
    pub fn backward(
        &self,
        key: MaskKey,
        mode: Mode,
        shape: &[usize],
        dy: &[f32],
        dx: &mut [f32],
    ) -> Result<(), DropoutError> {
        self.forward(key, mode, shape, dy, dx)
    }
}

//! DropPath / stochastic depth (Huang et al. 2016, "Deep Networks with
//! Stochastic Depth"; the "drop_path" of timm): a residual block's branch is
//! dropped for a whole sample, and kept branches are scaled by 1/(1 − p).
//!
//! ```text
//! y[n, :]        = r[n, :] + b[n, :] · s      if keep(n)      (s = 1/(1 − p); the product rounded, then the sum)
//!                = r[n, :]                    otherwise
//! keep(n)        = word(⌊n/g⌋) ≥ t            per sample: row n takes element n of the key (g = 1),
//!                                             or blocks of g rows share one ([`DropPath::with_group`])
//!                = word(0) ≥ t                per batch: one coin for every row
//! ∂L/∂r = dy,    ∂L/∂b[n, :] = keep(n) ? dy[n, :] · s : 0      (bits recomputed from the key)
//! eval or p = 0: y = r + b·1 = r + b;  p = 1: y = r, ∂L/∂b = 0
//! depth rule:    block l of L (l = 1 … L) gets p_l = p · l / L     (Huang et al. 2016, eq. 4)
//! ```
//! The keep rule and its exact probability are [`Dropout`]'s; one bit per
//! row is drawn, so the cost is the add itself (rows run in parallel).

use std::fmt;
use std::str::FromStr;

use rayon::prelude::*;

use crate::error::{check_shape, DropoutError};
use crate::philox::MaskKey;
use crate::rule::{Dropout, Mode, Plan};

/// Whose coin decides: each sample's own, or one for the whole batch. Its
/// names are `sample` and `batch` ([`FromStr`], [`Display`](fmt::Display),
/// and serde with the `serde` feature): the lab's `--drop-path-scope`, a
/// run's `config.json` and the Python package's `scope=` all use them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum PathScope {
    /// One bit per sample (row) — stochastic depth as Huang et al. and timm define it.
    #[default]
    Sample,
    /// One bit for the whole batch (the whole block is skipped for a step).
    Batch,
}

impl PathScope {
    /// Its name: `sample` or `batch`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sample => "sample",
            Self::Batch => "batch",
        }
    }
}

impl fmt::Display for PathScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PathScope {
    type Err = DropoutError;

    fn from_str(s: &str) -> Result<Self, DropoutError> {
        match s {
            "sample" => Ok(Self::Sample),
            "batch" => Ok(Self::Batch),
            _ => Err(DropoutError::UnknownName {
                what: "DropPath scope",
                got: s.to_string(),
                expected: "sample (one coin per sample) or batch (one for the whole batch)",
            }),
        }
    }
}

/// A validated DropPath.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DropPath {
    rule: Dropout,
    scope: PathScope,
    group: usize,
}

/// Rows per parallel task at least (a row is one add of `cols` floats).
const MIN_ROWS: usize = 16;

impl DropPath {
    /// DropPath at rate `p ∈ [0, 1]` with the given scope.
    ///
    /// # Errors
    /// [`DropoutError::InvalidProbability`] if `p` is NaN or outside `[0, 1]`.
    pub fn new(p: f32, scope: PathScope) -> Result<Self, DropoutError> {
        Ok(Self {
            rule: Dropout::new(p)?,
            scope,
            group: 1,
        })
    }

    /// Blocks of `g` consecutive rows share one coin (row `n` takes the coin of
    /// `⌊n/g⌋`; MC dropout with the same mask for every input of a sample).
    /// `g = 0` counts as 1.
    pub fn with_group(self, g: usize) -> Self {
        Self {
            group: g.max(1),
            ..self
        }
    }

    /// Rows per coin.
    pub fn group(&self) -> usize {
        self.group
    }

    /// The rate.
    pub fn p(&self) -> f32 {
        self.rule.p()
    }

    /// The scope.
    pub fn scope(&self) -> PathScope {
        self.scope
    }

    /// The factor on row `n`'s branch: `s` or 0 in training, 1 in the identity plans.
    pub fn row_scale(&self, key: MaskKey, mode: Mode, n: u64) -> f32 {
        match self.rule.plan(mode) {
            Plan::Identity => 1.0,
            Plan::DropAll => 0.0,
            Plan::Threshold { t, s } => {
                let e = if self.scope == PathScope::Batch {
                    0
                } else {
                    n / self.group as u64
                };
                if key.word(e) >= t {
                    s
                } else {
                    0.0
                }
            }
        }
    }

    /// `y = r + drop_path(b)` over `rows × cols`, row-major.
    ///
    /// # Errors
    /// [`DropoutError::ShapeMismatch`] if a buffer does not hold `rows × cols`.
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &self,
        key: MaskKey,
        mode: Mode,
        rows: usize,
        cols: usize,
        residual: &[f32],
        branch: &[f32],
        y: &mut [f32],
    ) -> Result<(), DropoutError> {
        check_shape("residual", residual.len(), rows, cols)?;
        check_shape("branch", branch.len(), rows, cols)?;
        check_shape("output", y.len(), rows, cols)?;
        if cols == 0 {
            return Ok(());
        }
        y.par_chunks_mut(cols)
            .with_min_len(MIN_ROWS)
            .zip(residual.par_chunks(cols).zip(branch.par_chunks(cols)))
            .enumerate()
            .for_each(|(n, (yr, (rr, br)))| {
                let s = self.row_scale(key, mode, n as u64);
                if s == 0.0 {
                    yr.copy_from_slice(rr);
                } else {
                    // (b · 1 = b exactly, so the identity plans take the same loop.)
                    yr.iter_mut()
                        .zip(rr.iter().zip(br))
                        .for_each(|(o, (r, b))| *o = r + b * s);
                }
            });
        Ok(())
    }

    /// The branch's gradient `∂L/∂b = keep ? dy · s : 0` (the residual's is `dy`).
    ///
    /// # Errors
    /// [`DropoutError::ShapeMismatch`] if a buffer does not hold `rows × cols`.
    pub fn backward_branch(
        &self,
        key: MaskKey,
        mode: Mode,
        rows: usize,
        cols: usize,
        dy: &[f32],
        d_branch: &mut [f32],
    ) -> Result<(), DropoutError> {
        check_shape("output gradient", dy.len(), rows, cols)?;
        check_shape("branch gradient", d_branch.len(), rows, cols)?;
        if cols == 0 {
            return Ok(());
        }
        d_branch
            .par_chunks_mut(cols)
            .with_min_len(MIN_ROWS)
            .zip(dy.par_chunks(cols))
            .enumerate()
            .for_each(|(n, (g, d))| {
                let s = self.row_scale(key, mode, n as u64);
                if s == 0.0 {
                    g.fill(0.0);
                } else {
                    g.iter_mut().zip(d).for_each(|(o, v)| *o = v * s);
                }
            });
        Ok(())
    }
}

/// The linear-by-depth rule: the rate of block `l` of `blocks` (l = 1 … L) is `p · l / L`.
pub fn depth_rate(p: f32, l: usize, blocks: usize) -> f32 {
    if blocks == 0 {
        return 0.0;
    }
    (f64::from(p) * l as f64 / blocks as f64) as f32
}

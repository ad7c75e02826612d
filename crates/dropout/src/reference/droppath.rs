//! Reference of DropPath: the row's bit straight from the key.
//!
//! ```text
//! y[n, c] = keep(n) ? r[n, c] + b[n, c] · s : r[n, c]     keep(n) = word(⌊n/g⌋ or 0) ≥ t
//! ```

use crate::droppath::{DropPath, PathScope};
use crate::error::{check_shape, DropoutError};
use crate::philox::MaskKey;
use crate::rule::{Mode, Plan};

/// Row `n`'s factor from the definition.
fn factor(d: &DropPath, key: MaskKey, mode: Mode, n: usize) -> f32 {
    let rule = crate::rule::Dropout::new(d.p()).expect("validated rate");
    match rule.plan(mode) {
        Plan::Identity => 1.0,
        Plan::DropAll => 0.0,
        Plan::Threshold { t, s } => {
            let e = match d.scope() {
                PathScope::Sample => (n / d.group()) as u64,
                PathScope::Batch => 0,
            };
            if key.word(e) >= t {
                s
            } else {
                0.0
            }
        }
    }
}

/// Reference of [`DropPath::forward`].
///
/// # Errors
/// As the fast version.
#[allow(clippy::too_many_arguments)]
pub fn droppath_forward(
    d: &DropPath,
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
    for n in 0..rows {
        let f = factor(d, key, mode, n);
        for c in 0..cols {
            let i = n * cols + c;
            y[i] = if f == 0.0 {
                residual[i]
            } else {
                residual[i] + branch[i] * f
            };
        }
    }
    Ok(())
}

/// Reference of [`DropPath::backward_branch`].
///
/// # Errors
/// As the fast version.
pub fn droppath_backward_branch(
    d: &DropPath,
    key: MaskKey,
    mode: Mode,
    rows: usize,
    cols: usize,
    dy: &[f32],
    d_branch: &mut [f32],
) -> Result<(), DropoutError> {
    check_shape("output gradient", dy.len(), rows, cols)?;
    check_shape("branch gradient", d_branch.len(), rows, cols)?;
    for n in 0..rows {
        let f = factor(d, key, mode, n);
        for c in 0..cols {
            let i = n * cols + c;
            d_branch[i] = if f == 0.0 { 0.0 } else { dy[i] * f };
        }
    }
    Ok(())
}

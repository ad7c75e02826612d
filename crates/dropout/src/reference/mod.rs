//! The scalar reference: every kernel of the crate written the slow, obvious
//! way — one Philox block per element, straight from docs/design.md §3 — so the
//! fast paths can be checked against it bit for bit.
//!
//! ```text
//! keep(e) = mode = eval ∨ p = 0  ? true
//!         : p = 1                ? false
//!         : word(e) ≥ round(p · 2^32)
//! z(e)    = normal::draw(key, e)       (Gaussian dropout and noise)
//! ```

// Index loops are the obvious form of these formulas.
#![allow(clippy::needless_range_loop)]

mod concrete;
mod droppath;
mod gaussian;
pub use concrete::*;
pub use droppath::*;
pub use gaussian::*;

use crate::alpha::{AlphaDropout, SELU_SATURATION};
use crate::broadcast::{noise_strides, validate};
use crate::dropblock::DropBlock;
use crate::error::{check_len, check_shape, DropoutError};
use crate::fused::{Act, BiasActDropout, ResidualDropout};
use crate::philox::MaskKey;
use crate::rule::{Dropout, Mode, Plan};

/// Whether element `e` is kept, and the survivor scale.
pub fn keep(d: &Dropout, key: MaskKey, mode: Mode, e: u64) -> (bool, f32) {
    match d.plan(mode) {
        Plan::Identity => (true, 1.0),
        Plan::DropAll => (false, 0.0),
        Plan::Threshold { t, s } => (key.word(e) >= t, s),
    }
}

/// Plain dropout: `y[i] = x[i]` (identity plans) or `keep(offset + i) ? x[i] · s : 0`.
///
/// # Errors
/// [`DropoutError::LengthMismatch`] if the lengths differ.
pub fn forward_at(
    d: &Dropout,
    key: MaskKey,
    mode: Mode,
    offset: u64,
    x: &[f32],
    y: &mut [f32],
) -> Result<(), DropoutError> {
    check_len("output", y.len(), x.len())?;
    let identity = d.plan(mode) == Plan::Identity;
    for (i, (yi, &xi)) in y.iter_mut().zip(x).enumerate() {
        let (k, s) = keep(d, key, mode, offset + i as u64);
        *yi = if identity {
            xi
        } else if k {
            xi * s
        } else {
            0.0
        };
    }
    Ok(())
}

/// The keep mask as booleans.
pub fn mask(d: &Dropout, key: MaskKey, mode: Mode, len: usize) -> Vec<bool> {
    (0..len as u64).map(|e| keep(d, key, mode, e).0).collect()
}

/// The row-major multi-index of element `i` of `shape`, mapped to its index
/// in the noise shape (`strides` from `noise_strides`).
fn noise_index(shape: &[usize], strides: &[usize], i: usize) -> usize {
    let (mut rest, mut j) = (i, 0);
    for dim in (0..shape.len()).rev() {
        j += (rest % shape[dim]) * strides[dim];
        rest /= shape[dim];
    }
    j
}

/// Broadcast dropout: element `i` uses mask index `noise_index(i)`.
///
/// # Errors
/// As [`Dropout::forward_broadcast`].
pub fn forward_broadcast(
    d: &Dropout,
    key: MaskKey,
    mode: Mode,
    shape: &[usize],
    noise: &[usize],
    x: &[f32],
    y: &mut [f32],
) -> Result<(), DropoutError> {
    let (n, _) = validate(shape, noise)?;
    check_len("input", x.len(), n)?;
    check_len("output", y.len(), n)?;
    let strides = noise_strides(shape, noise);
    let identity = d.plan(mode) == Plan::Identity;
    for i in 0..n {
        let (k, s) = keep(d, key, mode, noise_index(shape, &strides, i) as u64);
        y[i] = if identity {
            x[i]
        } else if k {
            x[i] * s
        } else {
            0.0
        };
    }
    Ok(())
}

/// Reference of [`BiasActDropout::forward`].
///
/// # Errors
/// As the fast version.
pub fn bias_act_forward(
    f: &BiasActDropout,
    x: &[f32],
    bias: &[f32],
    y: &mut [f32],
) -> Result<(), DropoutError> {
    check_shape("input", x.len(), f.rows, f.cols)?;
    check_shape("output", y.len(), f.rows, f.cols)?;
    check_len("bias", bias.len(), f.cols)?;
    for r in 0..f.rows {
        for c in 0..f.cols {
            let e = r * f.cols + c;
            let z = x[e] + bias[c];
            let a = match f.act {
                Act::Identity => z,
                Act::Relu => {
                    if z > 0.0 {
                        z
                    } else {
                        0.0
                    }
                }
            };
            let (k, s) = keep(&f.dropout, f.key, f.mode, e as u64);
            y[e] = if k { a * s } else { 0.0 };
        }
    }
    Ok(())
}

/// Reference of [`BiasActDropout::backward`].
///
/// # Errors
/// As the fast version.
pub fn bias_act_backward(
    f: &BiasActDropout,
    y: &[f32],
    dy: &[f32],
    dx: &mut [f32],
    dbias: &mut [f32],
) -> Result<(), DropoutError> {
    for (what, len) in [
        ("forward output", y.len()),
        ("gradient", dy.len()),
        ("input gradient", dx.len()),
    ] {
        check_shape(what, len, f.rows, f.cols)?;
    }
    check_len("bias", dbias.len(), f.cols)?;
    dbias.fill(0.0);
    for r in 0..f.rows {
        for c in 0..f.cols {
            let e = r * f.cols + c;
            let (k, s) = keep(&f.dropout, f.key, f.mode, e as u64);
            let active = match f.act {
                Act::Identity => true,
                Act::Relu => y[e] > 0.0,
            };
            dx[e] = if k && active { dy[e] * s } else { 0.0 };
            dbias[c] += dx[e];
        }
    }
    Ok(())
}

/// Reference of [`ResidualDropout::forward`].
///
/// # Errors
/// As the fast version.
pub fn residual_forward(
    f: &ResidualDropout,
    x: &[f32],
    bias: &[f32],
    residual: &[f32],
    y: &mut [f32],
) -> Result<(), DropoutError> {
    for (what, len) in [
        ("input", x.len()),
        ("residual", residual.len()),
        ("output", y.len()),
    ] {
        check_shape(what, len, f.rows, f.cols)?;
    }
    check_len("bias", bias.len(), f.cols)?;
    for r in 0..f.rows {
        for c in 0..f.cols {
            let e = r * f.cols + c;
            let (k, s) = keep(&f.dropout, f.key, f.mode, e as u64);
            let d = if k { (x[e] + bias[c]) * s } else { 0.0 };
            y[e] = residual[e] + d;
        }
    }
    Ok(())
}

/// Reference of [`AlphaDropout`]: element `i` uses mask index `index(i)`;
/// kept `x·a + b`, dropped `f`; identity plans copy, drop-all gives α'.
fn alpha_map(
    d: &AlphaDropout,
    key: MaskKey,
    mode: Mode,
    x: &[f32],
    y: &mut [f32],
    index: impl Fn(usize) -> u64,
) {
    let (a, b, f) = d.constants();
    for (i, (yi, &xi)) in y.iter_mut().zip(x).enumerate() {
        *yi = match d.rule().plan(mode) {
            Plan::Identity => xi,
            Plan::DropAll => SELU_SATURATION as f32,
            Plan::Threshold { t, .. } if key.word(index(i)) >= t => xi * a + b,
            Plan::Threshold { .. } => f,
        };
    }
}

/// Reference of [`AlphaDropout::forward_at`].
///
/// # Errors
/// As the fast version.
pub fn alpha_forward_at(
    d: &AlphaDropout,
    key: MaskKey,
    mode: Mode,
    offset: u64,
    x: &[f32],
    y: &mut [f32],
) -> Result<(), DropoutError> {
    check_len("output", y.len(), x.len())?;
    alpha_map(d, key, mode, x, y, |i| offset + i as u64);
    Ok(())
}

/// Reference of [`AlphaDropout::backward`]: `dx = keep ? dy·a : 0`.
///
/// # Errors
/// As the fast version.
pub fn alpha_backward(
    d: &AlphaDropout,
    key: MaskKey,
    mode: Mode,
    dy: &[f32],
    dx: &mut [f32],
) -> Result<(), DropoutError> {
    check_len("output", dx.len(), dy.len())?;
    let a = d.constants().0;
    for (i, (g, &v)) in dx.iter_mut().zip(dy).enumerate() {
        *g = match d.rule().plan(mode) {
            Plan::Identity => v,
            Plan::DropAll => 0.0,
            Plan::Threshold { t, .. } if key.word(i as u64) >= t => v * a,
            Plan::Threshold { .. } => 0.0,
        };
    }
    Ok(())
}

/// Reference of [`AlphaDropout::forward_broadcast`] (FeatureAlphaDropout).
///
/// # Errors
/// As the fast version.
pub fn alpha_forward_broadcast(
    d: &AlphaDropout,
    key: MaskKey,
    mode: Mode,
    shape: &[usize],
    noise: &[usize],
    x: &[f32],
    y: &mut [f32],
) -> Result<(), DropoutError> {
    let (n, _) = validate(shape, noise)?;
    check_len("input", x.len(), n)?;
    check_len("output", y.len(), n)?;
    let strides = noise_strides(shape, noise);
    alpha_map(d, key, mode, x, y, |i| {
        noise_index(shape, &strides, i) as u64
    });
    Ok(())
}

/// Reference of [`DropBlock::forward`]: every unit checks its own window of
/// possible seeds directly.
///
/// # Errors
/// As the fast version.
pub fn dropblock_forward(
    d: &DropBlock,
    key: MaskKey,
    mode: Mode,
    shape: &[usize],
    x: &[f32],
    y: &mut [f32],
) -> Result<(), DropoutError> {
    let &[n, c, h, w] = shape else {
        return Err(DropoutError::NotMaps {
            shape: shape.to_vec(),
        });
    };
    let len = n * c * h * w;
    check_len("input", x.len(), len)?;
    check_len("output", y.len(), len)?;
    let Some(rule) = d.seed_rule(mode, h, w)? else {
        y.copy_from_slice(x);
        return Ok(());
    };
    let b = d.block();
    let seeded = |plane: usize, i: usize, j: usize| match rule.plan(Mode::Train) {
        Plan::Identity => false,
        Plan::DropAll => true,
        Plan::Threshold { t, .. } => key.word(((plane * h + i) * w + j) as u64) < t,
    };
    let mut dropped = vec![false; len];
    for plane in 0..n * c {
        for r in 0..h {
            for col in 0..w {
                let hit = (r.saturating_sub(b - 1)..=r.min(h - b)).any(|i| {
                    (col.saturating_sub(b - 1)..=col.min(w - b)).any(|j| seeded(plane, i, j))
                });
                dropped[(plane * h + r) * w + col] = hit;
            }
        }
    }
    let kept = dropped.iter().filter(|&&v| !v).count();
    let s = if kept == 0 {
        0.0
    } else {
        (len as f64 / kept as f64) as f32
    };
    for i in 0..len {
        y[i] = if dropped[i] { 0.0 } else { x[i] * s };
    }
    Ok(())
}

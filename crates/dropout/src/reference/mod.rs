//! The scalar reference: every kernel of the crate written the slow, obvious
//! way — one Philox block per element, straight from docs/src/design.md §3 — so the
//! fast paths can be checked against it bit for bit.
//!
//! ```text
//! keep(e) = mode = eval ∨ p = 0  ? true
//!         : p = 1                ? false
//!         : word(e) ≥ round(p · 2^32)
//! z(e)    = normal::draw(key, e)       (Gaussian dropout and noise)
//! ```
//! [`variant_apply`] and [`variant_apply_at`] are the references of
//! [`Variant`]'s calls: each member's own reference, picked by its kind.

// Index loops are the obvious form of these formulas.
#![allow(clippy::needless_range_loop)]

mod alpha;
mod attention;
mod concrete;
mod droppath;
mod gaussian;
pub use alpha::*;
pub use attention::*;
pub use concrete::*;
pub use droppath::*;
pub use gaussian::*;

use crate::broadcast::{noise_strides, validate};
use crate::dropblock::DropBlock;
use crate::error::{check_len, check_shape, DropoutError};
use crate::fused::{Act, BiasActDropout, ResidualDropout};
use crate::philox::MaskKey;
use crate::rule::{Dropout, Mode, Plan};
use crate::shape::Shape;
use crate::variant::{Map, Pass, Variant};

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
pub(crate) fn noise_index(shape: &[usize], strides: &[usize], i: usize) -> usize {
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

/// Reference of [`Variant::forward_at`] / [`Variant::backward_at`].
///
/// # Errors
/// As the fast version.
pub fn variant_apply_at(
    v: &Variant,
    pass: Pass,
    key: MaskKey,
    mode: Mode,
    offset: u64,
    x: &[f32],
    y: &mut [f32],
) -> Result<(), DropoutError> {
    if matches!(v.map(), Map::Block(_) | Map::Path(_) | Map::Head(_)) {
        return Err(v.not_elementwise());
    }
    check_len("output", y.len(), x.len())?;
    match (v.map(), pass) {
        (Map::Plain(d), _) => forward_at(&d, key, mode, offset, x, y),
        (Map::Alpha(d), Pass::Forward) => alpha_forward_at(&d, key, mode, offset, x, y),
        (Map::Alpha(d), Pass::Backward) => alpha_backward_at(&d, key, mode, offset, x, y),
        (Map::Gaussian(d), _) => gaussian_forward_at(&d, key, mode, offset, x, y),
        (Map::Noise(d), Pass::Forward) => noise_forward_at(&d, key, mode, offset, x, y),
        (Map::Noise(_), Pass::Backward) => {
            y.copy_from_slice(x);
            Ok(())
        }
        (Map::Concrete(c), _) => {
            match mode {
                Mode::Eval => y.copy_from_slice(x),
                Mode::Train => y.copy_from_slice(&concrete_forward_at(&c, key, offset, v.p(), x)),
            }
            Ok(())
        }
        (Map::Block(_) | Map::Path(_) | Map::Head(_), _) => unreachable!("refused above"),
    }
}

/// Reference of [`Variant::apply`] (its forward and backward).
///
/// # Errors
/// As the fast version.
pub fn variant_apply(
    v: &Variant,
    pass: Pass,
    key: MaskKey,
    mode: Mode,
    shape: Shape<'_>,
    x: &[f32],
    y: &mut [f32],
) -> Result<(), DropoutError> {
    let n = shape.len().ok_or_else(|| shape.too_large())?;
    let dims = shape.dims;
    match (v.map(), pass, shape.noise) {
        (Map::Block(b), _, None) => dropblock_forward(&b, key, mode, dims, x, y),
        (Map::Path(d), _, None) => {
            let (rows, cols) = shape.rows_cols().ok_or_else(|| shape.too_large())?;
            droppath_backward_branch(&d, key, mode, rows, cols, x, y)
        }
        (Map::Head(d), _, None) => drophead_forward(&d, key, mode, dims, x, y),
        (Map::Concrete(_) | Map::Block(_) | Map::Path(_) | Map::Head(_), _, Some(_)) => {
            Err(v.no_noise_shape())
        }
        (_, _, None) => {
            check_len("input", x.len(), n)?;
            variant_apply_at(v, pass, key, mode, 0, x, y)
        }
        (Map::Plain(d), _, Some(ns)) => forward_broadcast(&d, key, mode, dims, ns, x, y),
        (Map::Alpha(d), Pass::Forward, Some(ns)) => {
            alpha_forward_broadcast(&d, key, mode, dims, ns, x, y)
        }
        (Map::Alpha(d), Pass::Backward, Some(ns)) => {
            alpha_backward_broadcast(&d, key, mode, dims, ns, x, y)
        }
        (Map::Gaussian(d), _, Some(ns)) => {
            gaussian_forward_broadcast(&d, key, mode, dims, ns, x, y)
        }
        (Map::Noise(d), Pass::Forward, Some(ns)) => {
            noise_forward_broadcast(&d, key, mode, dims, ns, x, y)
        }
        (Map::Noise(_), Pass::Backward, Some(ns)) => {
            let (n, _) = validate(dims, ns)?;
            check_len("input", x.len(), n)?;
            check_len("output", y.len(), n)?;
            y.copy_from_slice(x);
            Ok(())
        }
    }
}

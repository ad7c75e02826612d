//! Reference of AlphaDropout and FeatureAlphaDropout: each element's bit
//! straight from the key.
//!
//! ```text
//! y[i]  = keep(j) ? x[i]·a + b : aα' + b      dx[i] = keep(j) ? dy[i]·a : 0
//! j = offset + i (element-wise)  or  the noise index of i (broadcast, see crate::broadcast)
//! ```

use super::noise_index;
use crate::alpha::{AlphaDropout, SELU_SATURATION};
use crate::broadcast::{noise_strides, validate};
use crate::error::{check_len, DropoutError};
use crate::philox::MaskKey;
use crate::rule::{Mode, Plan};

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
    alpha_backward_at(d, key, mode, 0, dy, dx)
}

/// Reference of [`AlphaDropout::backward_at`]: `dx[i] = keep(offset + i) ? dy[i]·a : 0`.
///
/// # Errors
/// As the fast version.
pub fn alpha_backward_at(
    d: &AlphaDropout,
    key: MaskKey,
    mode: Mode,
    offset: u64,
    dy: &[f32],
    dx: &mut [f32],
) -> Result<(), DropoutError> {
    check_len("output", dx.len(), dy.len())?;
    alpha_grad(d, key, mode, dy, dx, |i| offset + i as u64);
    Ok(())
}

/// `dx[i] = keep(index(i)) ? dy[i]·a : 0`; identity plans copy, drop-all gives 0.
fn alpha_grad(
    d: &AlphaDropout,
    key: MaskKey,
    mode: Mode,
    dy: &[f32],
    dx: &mut [f32],
    index: impl Fn(usize) -> u64,
) {
    let a = d.constants().0;
    for (i, (g, &v)) in dx.iter_mut().zip(dy).enumerate() {
        *g = match d.rule().plan(mode) {
            Plan::Identity => v,
            Plan::DropAll => 0.0,
            Plan::Threshold { t, .. } if key.word(index(i)) >= t => v * a,
            Plan::Threshold { .. } => 0.0,
        };
    }
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

/// Reference of [`AlphaDropout::backward_broadcast`].
///
/// # Errors
/// As the fast version.
pub fn alpha_backward_broadcast(
    d: &AlphaDropout,
    key: MaskKey,
    mode: Mode,
    shape: &[usize],
    noise: &[usize],
    dy: &[f32],
    dx: &mut [f32],
) -> Result<(), DropoutError> {
    let (n, _) = validate(shape, noise)?;
    check_len("input", dy.len(), n)?;
    check_len("output", dx.len(), n)?;
    let strides = noise_strides(shape, noise);
    alpha_grad(d, key, mode, dy, dx, |i| {
        noise_index(shape, &strides, i) as u64
    });
    Ok(())
}

//! References of Gaussian dropout and Gaussian noise: one draw per element,
//! `z(e) = normal::draw(key, e)`, straight from the definitions.
//!
//! ```text
//! Gaussian dropout:  y[i] = x[i] · (1 + σ z(j)),   Gaussian noise:  y[i] = x[i] + (0 + σ z(j))
//! j = offset + i (element-wise)  or  the noise index of i (broadcast, see crate::broadcast)
//! ```
//! (`0 + σz` turns a −0 draw into +0, as the fast path's noise buffer does.)

use crate::broadcast::{noise_strides, validate};
use crate::error::{check_len, DropoutError};
use crate::gaussian::{GaussianDropout, GaussianNoise};
use crate::normal;
use crate::philox::MaskKey;
use crate::rule::Mode;

/// Reference of [`GaussianDropout::forward_at`] (and its backward):
/// `y[i] = x[i] · (1 + σ z(offset + i))`, the identity in eval or at p = 0.
///
/// # Errors
/// As the fast version.
pub fn gaussian_forward_at(
    d: &GaussianDropout,
    key: MaskKey,
    mode: Mode,
    offset: u64,
    x: &[f32],
    y: &mut [f32],
) -> Result<(), DropoutError> {
    check_len("output", y.len(), x.len())?;
    let train = mode == Mode::Train && d.p() > 0.0;
    for (i, (yi, &xi)) in y.iter_mut().zip(x).enumerate() {
        *yi = if train {
            xi * (1.0 + d.sigma() * normal::draw(key, offset + i as u64))
        } else {
            xi
        };
    }
    Ok(())
}

/// Reference of [`GaussianNoise::forward_at`]: `y[i] = x[i] + σ z(offset + i)`.
///
/// # Errors
/// As the fast version.
pub fn noise_forward_at(
    d: &GaussianNoise,
    key: MaskKey,
    mode: Mode,
    offset: u64,
    x: &[f32],
    y: &mut [f32],
) -> Result<(), DropoutError> {
    check_len("output", y.len(), x.len())?;
    let train = mode == Mode::Train && d.sigma() > 0.0;
    for (i, (yi, &xi)) in y.iter_mut().zip(x).enumerate() {
        *yi = if train {
            xi + d.sigma() * normal::draw(key, offset + i as u64)
        } else {
            xi
        };
    }
    Ok(())
}

/// The noise index of every element of `shape` (row-major), by division.
fn noise_indices(shape: &[usize], noise: &[usize]) -> Vec<u64> {
    let strides = noise_strides(shape, noise);
    let n: usize = shape.iter().product();
    (0..n)
        .map(|mut i| {
            let mut j = 0;
            for d in (0..shape.len()).rev() {
                j += (i % shape[d]) * strides[d];
                i /= shape[d];
            }
            j as u64
        })
        .collect()
}

/// Reference of [`GaussianDropout::forward_broadcast`].
///
/// # Errors
/// As the fast version.
pub fn gaussian_forward_broadcast(
    d: &GaussianDropout,
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
    let train = mode == Mode::Train && d.p() > 0.0;
    for ((yi, &xi), j) in y.iter_mut().zip(x).zip(noise_indices(shape, noise)) {
        *yi = if train {
            xi * (1.0 + d.sigma() * normal::draw(key, j))
        } else {
            xi
        };
    }
    Ok(())
}

/// Reference of [`GaussianNoise::forward_broadcast`].
///
/// # Errors
/// As the fast version.
pub fn noise_forward_broadcast(
    d: &GaussianNoise,
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
    let train = mode == Mode::Train && d.sigma() > 0.0;
    for ((yi, &xi), j) in y.iter_mut().zip(x).zip(noise_indices(shape, noise)) {
        *yi = if train {
            xi + (0.0 + d.sigma() * normal::draw(key, j))
        } else {
            xi
        };
    }
    Ok(())
}

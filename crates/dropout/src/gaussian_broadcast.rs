//! Gaussian dropout and Gaussian noise with a broadcast noise shape — one
//! draw shared by a slice of the tensor, as spatial and locked dropout share
//! one mask bit (the index convention of [`crate::broadcast`]):
//!
//! ```text
//! y[i] = x[i] · ξ(noise_index(i))     or     x[i] + σ z(noise_index(i))
//! ξ(j) = 1 + σ z(j),  z(j) = normal::draw(key, j)
//! ```
//! The draws of the noise tensor come from the element-wise kernels applied to
//! ones (`1 · ξ = ξ`) or zeros (`0 + σz = σz`), both exact, into a buffer of
//! the noise shape's size (the only allocation); the data is then walked once.
//! Eval, p = 0 and σ = 0 copy `x` unchanged.

use crate::broadcast::{noise_strides, validate};
use crate::error::{check_len, DropoutError};
use crate::gaussian::{GaussianDropout, GaussianNoise};
use crate::philox::MaskKey;
use crate::rule::Mode;

/// `y[i] = f(x[i], draws[noise_index(i)])` over a validated `shape`.
fn walk(
    shape: &[usize],
    noise: &[usize],
    draws: &[f32],
    x: &[f32],
    y: &mut [f32],
    f: impl Fn(f32, f32) -> f32,
) {
    let strides = noise_strides(shape, noise);
    let Some(last) = shape.len().checked_sub(1) else {
        // A 0-d tensor: one element, one draw.
        if let (Some(v), Some(o), Some(&n)) = (x.first(), y.first_mut(), draws.first()) {
            *o = f(*v, n);
        }
        return;
    };
    let run = shape[last];
    if run == 0 {
        return;
    }
    let mut idx = vec![0usize; last];
    for (xs, ys) in x.chunks(run).zip(y.chunks_mut(run)) {
        let base: usize = idx.iter().zip(&strides).map(|(i, s)| i * s).sum();
        for (k, (v, o)) in xs.iter().zip(ys.iter_mut()).enumerate() {
            *o = f(*v, draws[base + k * strides[last]]);
        }
        for d in (0..last).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

/// Validate shapes and buffers; the noise tensor's element count.
fn check(shape: &[usize], noise: &[usize], x: &[f32], y: &[f32]) -> Result<usize, DropoutError> {
    let (n, m) = validate(shape, noise)?;
    check_len("input", x.len(), n)?;
    check_len("output", y.len(), n)?;
    Ok(m)
}

impl GaussianDropout {
    /// Gaussian dropout with one draw per element of the noise shape.
    ///
    /// # Errors
    /// [`DropoutError::BadNoiseShape`] if `noise` cannot broadcast over
    /// `shape`; [`DropoutError::LengthMismatch`] if a buffer does not hold
    /// `shape`'s element count.
    pub fn forward_broadcast(
        &self,
        key: MaskKey,
        mode: Mode,
        shape: &[usize],
        noise: &[usize],
        x: &[f32],
        y: &mut [f32],
    ) -> Result<(), DropoutError> {
        let m = check(shape, noise, x, y)?;
        if mode == Mode::Eval || self.p() == 0.0 {
            y.copy_from_slice(x);
            return Ok(());
        }
        let mut xi = vec![1.0f32; m];
        self.forward_inplace(key, mode, &mut xi);
        walk(shape, noise, &xi, x, y, |v, w| v * w);
        Ok(())
    }

    /// Backward of [`forward_broadcast`](Self::forward_broadcast): the same map on `dy`.
    ///
    /// # Errors
    /// As [`forward_broadcast`](Self::forward_broadcast).
    pub fn backward_broadcast(
        &self,
        key: MaskKey,
        mode: Mode,
        shape: &[usize],
        noise: &[usize],
        dy: &[f32],
        dx: &mut [f32],
    ) -> Result<(), DropoutError> {
        self.forward_broadcast(key, mode, shape, noise, dy, dx)
    }
}

impl GaussianNoise {
    /// Additive noise with one draw per element of the noise shape (the
    /// backward is [`GaussianNoise::backward`], a copy).
    ///
    /// # Errors
    /// As [`GaussianDropout::forward_broadcast`].
    pub fn forward_broadcast(
        &self,
        key: MaskKey,
        mode: Mode,
        shape: &[usize],
        noise: &[usize],
        x: &[f32],
        y: &mut [f32],
    ) -> Result<(), DropoutError> {
        let m = check(shape, noise, x, y)?;
        if mode == Mode::Eval || self.sigma() == 0.0 {
            y.copy_from_slice(x);
            return Ok(());
        }
        let mut sz = vec![0.0f32; m];
        self.forward_inplace(key, mode, &mut sz);
        walk(shape, noise, &sz, x, y, |v, w| v + w);
        Ok(())
    }
}

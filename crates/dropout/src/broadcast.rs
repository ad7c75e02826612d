//! Broadcast ("noise shape") masks: one mask element shared by a whole slice
//! of the tensor, as spatial dropout and locked (variational) dropout need.
//!
//! For data of shape `(d_0, …, d_{k-1})` and a noise shape `(n_0, …, n_{k-1})`
//! with every `n_i ∈ {d_i, 1}`, element `(i_0, …, i_{k-1})` uses the mask
//! element whose index is the row-major index of `(j_0, …, j_{k-1})` in the
//! noise shape, `j_i = i_i` if `n_i = d_i` else `0`:
//!
//! ```text
//! y[i] = keep(noise_index(i)) ? x[i] · s : 0
//! ```
//!
//! * spatial dropout over `(N, C, H, W)`: noise `(N, C, 1, 1)` — whole channels;
//! * locked dropout over `(T, N, D)`: noise `(1, N, D)` — the same units at
//!   every time step.
//!
//! The backward pass is the same map on `dy`, with the mask recomputed.
//! At most [`MAX_DIMS`] dimensions; nothing is allocated.
//!
//! ```
//! use dropout::{Dropout, MaskKey, Mode};
//! let d = Dropout::new(0.5).unwrap();
//! let (shape, noise) = ([2, 3, 4, 4], [2, 3, 1, 1]);
//! let x = vec![1.0f32; 96];
//! let mut y = vec![0.0; 96];
//! d.forward_broadcast(MaskKey::new(1, 0, 0), Mode::Train, &shape, &noise, &x, &mut y).unwrap();
//! for plane in y.chunks(16) {
//!     assert!(plane.iter().all(|&v| v == plane[0])); // a channel is all kept or all dropped
//! }
//! ```

use crate::error::{check_len, DropoutError};
use crate::philox::MaskKey;
use crate::rule::{Dropout, Mode, Plan};
use crate::simd;
use crate::tiles::{for_each_tile, Bits};

/// Check `noise` against `shape`; return the number of elements of each.
pub(crate) fn validate(shape: &[usize], noise: &[usize]) -> Result<(usize, usize), DropoutError> {
    let bad = || DropoutError::BadNoiseShape {
        shape: shape.to_vec(),
        noise: noise.to_vec(),
    };
    if shape.len() != noise.len()
        || shape.len() > MAX_DIMS
        || shape.iter().zip(noise).any(|(&d, &n)| n != d && n != 1)
    {
        return Err(bad());
    }
    let count = |dims: &[usize]| dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    Ok((count(shape).ok_or_else(bad)?, count(noise).ok_or_else(bad)?))
}

/// Most dimensions a broadcast call takes (so no call allocates).
pub const MAX_DIMS: usize = 8;

/// Row-major strides of the noise shape, 0 on broadcast dimensions, into `out`.
pub(crate) fn noise_strides_into(shape: &[usize], noise: &[usize], out: &mut [usize]) {
    let mut acc = 1;
    for d in (0..noise.len()).rev() {
        out[d] = if noise[d] == shape[d] { acc } else { 0 };
        acc *= noise[d];
    }
}

/// Row-major strides of the noise shape, 0 on broadcast dimensions.
pub(crate) fn noise_strides(shape: &[usize], noise: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; noise.len()];
    noise_strides_into(shape, noise, &mut strides);
    strides
}

impl Dropout {
    /// Dropout with a broadcast mask (see the module docs).
    ///
    /// # Errors
    /// [`DropoutError::BadNoiseShape`] if `noise` cannot broadcast over
    /// `shape`; [`DropoutError::LengthMismatch`] if `x` or `y` does not hold
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
        let (n, _) = validate(shape, noise)?;
        check_len("input", x.len(), n)?;
        check_len("output", y.len(), n)?;
        // SAFETY: distinct buffers of n elements.
        unsafe { self.broadcast_raw(key, mode, shape, noise, n, x.as_ptr(), y.as_mut_ptr()) };
        Ok(())
    }

    /// In-place [`forward_broadcast`](Self::forward_broadcast); also the
    /// in-place backward pass.
    ///
    /// # Errors
    /// As [`forward_broadcast`](Self::forward_broadcast).
    pub fn forward_broadcast_inplace(
        &self,
        key: MaskKey,
        mode: Mode,
        shape: &[usize],
        noise: &[usize],
        x: &mut [f32],
    ) -> Result<(), DropoutError> {
        let (n, _) = validate(shape, noise)?;
        check_len("input", x.len(), n)?;
        let p = x.as_mut_ptr();
        // SAFETY: in place; each element is read before it is written.
        unsafe { self.broadcast_raw(key, mode, shape, noise, n, p, p) };
        Ok(())
    }

    /// Backward of [`forward_broadcast`](Self::forward_broadcast): the same
    /// recomputed mask applied to `dy`.
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

    /// # Safety
    /// Shapes validated, `n` their element count; `x` readable and `y`
    /// writable for `n` elements, equal or disjoint.
    #[allow(clippy::too_many_arguments)]
    unsafe fn broadcast_raw(
        &self,
        key: MaskKey,
        mode: Mode,
        shape: &[usize],
        noise: &[usize],
        n: usize,
        x: *const f32,
        y: *mut f32,
    ) {
        let (t, s) = match self.plan(mode) {
            Plan::Identity => {
                if x != y.cast_const() {
                    std::ptr::copy_nonoverlapping(x, y, n);
                }
                return;
            }
            Plan::DropAll => {
                std::slice::from_raw_parts_mut(y, n).fill(0.0);
                return;
            }
            Plan::Threshold { t, s } => (t, s),
        };
        broadcast_map(self.backend(), key, t, Map::Scale(s), shape, noise, n, x, y);
    }
}

/// What a broadcast pass does to a kept element and a dropped one.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Map {
    /// kept: x · s, dropped: 0.
    Scale(f32),
    /// kept: x · s + a, dropped: f (AlphaDropout).
    Affine { s: f32, a: f32, f: f32 },
}

/// The broadcast pass of threshold `t` with `map` (see the module docs).
///
/// # Safety
/// As `Dropout::broadcast_raw`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn broadcast_map(
    backend: crate::simd::Backend,
    key: MaskKey,
    t: u32,
    map: Map,
    shape: &[usize],
    noise: &[usize],
    n: usize,
    x: *const f32,
    y: *mut f32,
) {
    if n == 0 {
        return;
    }
    // Split the dims into outer dims and one trailing run of dims that are
    // all matched (consecutive noise indices) or all broadcast (one index).
    // Size-1 dims fit either kind.
    let mut split = shape.len();
    let mut run = 1usize;
    let mut kind: Option<bool> = None; // Some(true) = broadcast run
    while split > 0 {
        let d = split - 1;
        if shape[d] != 1 {
            let b = noise[d] == 1;
            match kind {
                None => kind = Some(b),
                Some(k) if k != b => break,
                _ => {}
            }
            run *= shape[d];
        }
        split = d;
    }
    let broadcast_run = kind == Some(true);
    let mut strides = [0usize; MAX_DIMS];
    noise_strides_into(shape, noise, &mut strides);
    let outer = &shape[..split];
    let mut idx = [0usize; MAX_DIMS];
    let mut base = 0usize; // noise index of the run's first element
    let bits = Bits::Philox { key, t };
    for r in 0..n / run {
        let (xo, yo) = (x.add(r * run), y.add(r * run));
        // One Philox word per broadcast run; a matched run draws its own bits.
        let kept = broadcast_run && key.word(base as u64) >= t;
        match (map, broadcast_run) {
            (Map::Scale(s), true) => simd::uniform(backend, xo, yo, run, kept, s),
            (Map::Affine { f, .. }, true) if !kept => {
                std::slice::from_raw_parts_mut(yo, run).fill(f)
            }
            (Map::Affine { s, a, f }, true) => {
                for_each_tile(backend, &Bits::AllKeep, 0, run, |o, l, b| {
                    simd::affine(backend, xo.add(o), yo.add(o), l, b, s, a, f)
                })
            }
            (Map::Scale(s), false) => for_each_tile(backend, &bits, base as u64, run, |o, l, b| {
                simd::scale(backend, xo.add(o), yo.add(o), l, b, s)
            }),
            (Map::Affine { s, a, f }, false) => {
                for_each_tile(backend, &bits, base as u64, run, |o, l, b| {
                    simd::affine(backend, xo.add(o), yo.add(o), l, b, s, a, f)
                })
            }
        }
        // Odometer over the outer dims, keeping `base` in step.
        for d in (0..outer.len()).rev() {
            idx[d] += 1;
            base += strides[d];
            if idx[d] < outer[d] {
                break;
            }
            base -= strides[d] * idx[d];
            idx[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert_eq!(validate(&[2, 3, 4], &[2, 1, 4]), Ok((24, 8)));
        assert!(matches!(
            validate(&[2, 3], &[2, 2]),
            Err(DropoutError::BadNoiseShape { .. })
        ));
        assert!(validate(&[2, 3], &[2]).is_err());
        assert!(validate(&[usize::MAX, 3], &[1, 1]).is_err());
        assert!(validate(&[1; 9], &[1; 9]).is_err());
        assert_eq!(noise_strides(&[2, 3, 4], &[2, 1, 4]), vec![4, 0, 1]);
    }
}

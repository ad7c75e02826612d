//! The fast path of plain dropout: forward, backward and their in-place forms.
//!
//! ```text
//! forward:  y_e  = 0 if r_e < t else x_e · s        (r_e = Philox word of e)
//! backward: dx_e = 0 if r_e < t else dy_e · s       (same key → same mask)
//! ```
//!
//! Backward recomputes the mask from `(seed, stream, step)`: nothing is stored
//! between the two passes (regenerating costs ~1 cycle per element with
//! AVX-512, far below the memory traffic of the pass itself). Eval mode and
//! `p = 0` copy the input bit for bit without drawing a random number; `p = 1`
//! writes zeros.
//!
//! ```
//! use dropout::{Dropout, MaskKey, Mode};
//! let d = Dropout::new(0.5).unwrap();
//! let key = MaskKey::new(42, 0, 0);
//! let x = vec![1.0f32; 1000];
//! let mut y = vec![0.0; 1000];
//! d.forward(key, Mode::Train, &x, &mut y).unwrap();
//! assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));
//! // The backward pass sees exactly the forward's mask.
//! let mut dx = vec![0.0; 1000];
//! d.backward(key, Mode::Train, &x, &mut dx).unwrap();
//! assert_eq!(y, dx);
//! ```

use std::mem::MaybeUninit;

use crate::error::{check_len, DropoutError};
use crate::philox::MaskKey;
use crate::rule::{Dropout, Mode, Plan};
use crate::simd;
use crate::tiles::{for_each_tile, par_chunks, Bits, Shared, CHUNK};

impl Dropout {
    /// `y = dropout(x)` for a buffer whose element 0 has mask index 0.
    ///
    /// # Errors
    /// [`DropoutError::LengthMismatch`] if `y.len() != x.len()`.
    pub fn forward(
        &self,
        key: MaskKey,
        mode: Mode,
        x: &[f32],
        y: &mut [f32],
    ) -> Result<(), DropoutError> {
        self.forward_at(key, mode, 0, x, y)
    }

    /// `y = dropout(x)` where `x[i]` has mask index `offset + i`: lets a caller
    /// process a slice of a larger tensor and still get that tensor's mask.
    ///
    /// # Errors
    /// [`DropoutError::LengthMismatch`] if `y.len() != x.len()`.
    pub fn forward_at(
        &self,
        key: MaskKey,
        mode: Mode,
        offset: u64,
        x: &[f32],
        y: &mut [f32],
    ) -> Result<(), DropoutError> {
        check_len("output", y.len(), x.len())?;
        match self.plan(mode) {
            Plan::Identity => y.copy_from_slice(x),
            Plan::DropAll => y.fill(0.0),
            // SAFETY: x and y are valid, distinct buffers of x.len() elements.
            Plan::Threshold { t, s } => unsafe {
                self.scale_raw(key, t, s, offset, x.as_ptr(), y.as_mut_ptr(), x.len())
            },
        }
        Ok(())
    }

    /// [`forward`](Self::forward) into memory that need not be initialised
    /// (a fresh allocation: no zeroing pass before the kernel writes every
    /// element). Returns `y`, now initialised.
    ///
    /// # Errors
    /// [`DropoutError::LengthMismatch`] if `y.len() != x.len()`.
    pub fn forward_uninit<'a>(
        &self,
        key: MaskKey,
        mode: Mode,
        x: &[f32],
        y: &'a mut [MaybeUninit<f32>],
    ) -> Result<&'a mut [f32], DropoutError> {
        check_len("output", y.len(), x.len())?;
        let (n, out) = (x.len(), y.as_mut_ptr().cast::<f32>());
        // SAFETY: `out` is writable for n elements and does not overlap `x`
        // (a `&mut` borrow); every branch writes all n elements, so the slice
        // returned is initialised.
        unsafe {
            match self.plan(mode) {
                Plan::Identity => std::ptr::copy_nonoverlapping(x.as_ptr(), out, n),
                Plan::DropAll => std::ptr::write_bytes(out, 0, n),
                Plan::Threshold { t, s } => self.scale_raw(key, t, s, 0, x.as_ptr(), out, n),
            }
            Ok(std::slice::from_raw_parts_mut(out, n))
        }
    }

    /// In-place forward: `x ← dropout(x)`.
    pub fn forward_inplace(&self, key: MaskKey, mode: Mode, x: &mut [f32]) {
        self.forward_at_inplace(key, mode, 0, x)
    }

    /// In-place forward where element `i` has mask index `offset + i`.
    pub fn forward_at_inplace(&self, key: MaskKey, mode: Mode, offset: u64, x: &mut [f32]) {
        match self.plan(mode) {
            Plan::Identity => {}
            Plan::DropAll => x.fill(0.0),
            Plan::Threshold { t, s } => {
                let p = x.as_mut_ptr();
                // SAFETY: every op reads element i before writing element i.
                unsafe { self.scale_raw(key, t, s, offset, p, p, x.len()) }
            }
        }
    }

    /// `dx = dropout'(dy)`: the mask of the forward call with the same key,
    /// recomputed. Eval mode and `p = 0` copy `dy`; `p = 1` gives zeros.
    ///
    /// # Errors
    /// [`DropoutError::LengthMismatch`] if `dx.len() != dy.len()`.
    pub fn backward(
        &self,
        key: MaskKey,
        mode: Mode,
        dy: &[f32],
        dx: &mut [f32],
    ) -> Result<(), DropoutError> {
        // d/dx (keep · x · s) = keep · s: the same map as the forward pass.
        self.forward_at(key, mode, 0, dy, dx)
    }

    /// In-place backward: `g ← dropout'(g)`.
    pub fn backward_inplace(&self, key: MaskKey, mode: Mode, g: &mut [f32]) {
        self.forward_inplace(key, mode, g)
    }

    /// The threaded, tiled scale op over raw pointers.
    ///
    /// # Safety
    /// `x` readable and `y` writable for `n` elements; they are equal or do
    /// not overlap.
    #[allow(clippy::too_many_arguments)]
    unsafe fn scale_raw(
        &self,
        key: MaskKey,
        t: u32,
        s: f32,
        offset: u64,
        x: *const f32,
        y: *mut f32,
        n: usize,
    ) {
        let backend = self.backend();
        let bits = Bits::Philox { key, t };
        let (xs, ys) = (Shared(x.cast_mut()), Shared(y));
        par_chunks(n, CHUNK, |c0, len| {
            for_each_tile(backend, &bits, offset + c0 as u64, len, |o, l, b| {
                // SAFETY: [c0 + o, c0 + o + l) lies in this task's chunk.
                unsafe { simd::scale(backend, xs.at(c0 + o), ys.at(c0 + o), l, b, s) }
            });
        });
    }
}

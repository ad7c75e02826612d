//! AlphaDropout and FeatureAlphaDropout (Klambauer et al. 2017,
//! "Self-Normalizing Neural Networks", §"New Dropout Technique").
//!
//! For SELU networks a dropped unit is set to SELU's negative saturation
//! α' = −λα ≈ −1.7581 instead of 0, and an affine map restores the mean 0 and
//! variance 1 of inputs that had them. With q = 1 − P(drop) the *exact* keep
//! probability of the keep rule (1 − t/2^32, see [`crate::Dropout`]):
//!
//! ```text
//! z = keep ? x : α'                 E[z] = (1 − q) α',  Var[z] = q + q (1 − q) α'²   (x: mean 0, var 1)
//! a = (q + α'² q (1 − q))^(−1/2)    b = −a (1 − q) α'
//! forward:  y  = keep ? x·a + b : f,   f = a α' + b   (x·a rounded, then + b; f from f64)
//! backward: dx = keep ? dy·a : 0                       (mask recomputed from the key)
//! p = 0 or eval: the identity; p = 1: y = α' everywhere (the saturation value, no NaN), dx = 0
//! ```
//! FeatureAlphaDropout is the same map with a broadcast mask — one keep bit
//! per (sample, channel) over `(N, C, H, W)`, noise shape `(N, C, 1, 1)`.

use crate::broadcast::{broadcast_map, validate, Map};
use crate::error::{check_len, DropoutError};
use crate::philox::MaskKey;
use crate::rule::{Dropout, Mode, Plan};
use crate::simd::{self, Backend};
use crate::tiles::{for_each_tile, par_chunks, Bits, Shared, CHUNK};

/// SELU's α' = −λα (Klambauer et al. 2017, eq. 2 constants).
pub const SELU_SATURATION: f64 = -1.050_700_987_355_480_5 * 1.673_263_242_354_377_3;

/// A validated AlphaDropout: the keep rule of [`Dropout`] and its affine constants.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AlphaDropout {
    rule: Dropout,
    a: f32,
    b: f32,
    fill: f32,
}

impl AlphaDropout {
    /// AlphaDropout with drop probability `p ∈ [0, 1]`.
    ///
    /// # Errors
    /// [`DropoutError::InvalidProbability`] if `p` is NaN or outside `[0, 1]`.
    pub fn new(p: f32) -> Result<Self, DropoutError> {
        let rule = Dropout::new(p)?;
        let q = 1.0 - rule.exact_drop_probability();
        let s = SELU_SATURATION;
        let (a, b, fill) = if q <= 0.0 {
            (0.0, 0.0, s)
        } else {
            let a = (q + s * s * q * (1.0 - q)).powf(-0.5);
            let b = -a * (1.0 - q) * s;
            (a, b, a * s + b)
        };
        Ok(Self {
            rule,
            a: a as f32,
            b: b as f32,
            fill: fill as f32,
        })
    }

    /// The same on a chosen kernel backend (output does not depend on it).
    ///
    /// # Errors
    /// [`DropoutError::UnsupportedBackend`] if this CPU cannot run it.
    pub fn with_backend(self, backend: Backend) -> Result<Self, DropoutError> {
        Ok(Self {
            rule: self.rule.with_backend(backend)?,
            ..self
        })
    }

    /// The drop probability.
    pub fn p(&self) -> f32 {
        self.rule.p()
    }

    /// The keep rule (threshold, exact probability).
    pub fn rule(&self) -> &Dropout {
        &self.rule
    }

    /// The affine constants (a, b) and the dropped value f = aα' + b.
    pub fn constants(&self) -> (f32, f32, f32) {
        (self.a, self.b, self.fill)
    }

    /// Forward over `x` whose element `i` has mask index `offset + i`.
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
        // SAFETY: x and y are distinct buffers of x.len() elements.
        unsafe { self.forward_raw(key, mode, offset, x.as_ptr(), y.as_mut_ptr(), x.len()) };
        Ok(())
    }

    /// In-place forward: `x ← alpha_dropout(x)`.
    pub fn forward_inplace(&self, key: MaskKey, mode: Mode, x: &mut [f32]) {
        let p = x.as_mut_ptr();
        // SAFETY: in place; every element is read before it is written.
        unsafe { self.forward_raw(key, mode, 0, p, p, x.len()) }
    }

    /// # Safety
    /// `x` readable and `y` writable for `n` elements, equal or disjoint.
    unsafe fn forward_raw(
        &self,
        key: MaskKey,
        mode: Mode,
        offset: u64,
        x: *const f32,
        y: *mut f32,
        n: usize,
    ) {
        match self.rule.plan(mode) {
            Plan::Identity => {
                if x != y.cast_const() {
                    std::ptr::copy_nonoverlapping(x, y, n);
                }
            }
            Plan::DropAll => std::slice::from_raw_parts_mut(y, n).fill(SELU_SATURATION as f32),
            Plan::Threshold { t, .. } => {
                let backend = self.rule.backend();
                let bits = Bits::Philox { key, t };
                let (xs, ys) = (Shared(x.cast_mut()), Shared(y));
                let (a, b, f) = (self.a, self.b, self.fill);
                par_chunks(n, CHUNK, |c0, len| {
                    for_each_tile(backend, &bits, offset + c0 as u64, len, |o, l, w| {
                        // SAFETY: [c0 + o, c0 + o + l) lies in this task's chunk of x and y.
                        unsafe {
                            simd::affine(backend, xs.at(c0 + o), ys.at(c0 + o), l, w, a, b, f)
                        }
                    });
                });
            }
        }
    }

    /// Forward from mask index 0.
    ///
    /// # Errors
    /// As [`forward_at`](Self::forward_at).
    pub fn forward(
        &self,
        key: MaskKey,
        mode: Mode,
        x: &[f32],
        y: &mut [f32],
    ) -> Result<(), DropoutError> {
        self.forward_at(key, mode, 0, x, y)
    }

    /// `dx = keep ? dy·a : 0` (identity in eval and at p = 0; zeros at p = 1).
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
        self.backward_at(key, mode, 0, dy, dx)
    }

    /// [`backward`](Self::backward) where `dy[i]` has mask index `offset + i`.
    ///
    /// # Errors
    /// [`DropoutError::LengthMismatch`] if `dx.len() != dy.len()`.
    pub fn backward_at(
        &self,
        key: MaskKey,
        mode: Mode,
        offset: u64,
        dy: &[f32],
        dx: &mut [f32],
    ) -> Result<(), DropoutError> {
        self.scaled_rule(mode).forward_at(key, mode, offset, dy, dx)
    }

    /// FeatureAlphaDropout: the forward map with a broadcast mask (see
    /// [`Dropout::forward_broadcast`] for shapes).
    ///
    /// # Errors
    /// [`DropoutError::BadNoiseShape`], [`DropoutError::LengthMismatch`].
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
        match self.rule.plan(mode) {
            Plan::Identity => y.copy_from_slice(x),
            Plan::DropAll => y.fill(SELU_SATURATION as f32),
            Plan::Threshold { t, .. } => {
                let map = Map::Affine {
                    s: self.a,
                    a: self.b,
                    f: self.fill,
                };
                // SAFETY: shapes validated; x and y are distinct buffers of n elements.
                unsafe {
                    broadcast_map(
                        self.rule.backend(),
                        key,
                        t,
                        map,
                        shape,
                        noise,
                        n,
                        x.as_ptr(),
                        y.as_mut_ptr(),
                    )
                }
            }
        }
        Ok(())
    }

    /// Backward of [`forward_broadcast`](Self::forward_broadcast).
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
        self.scaled_rule(mode)
            .forward_broadcast(key, mode, shape, noise, dy, dx)
    }

    /// The plain rule with survivors scaled by a instead of 1/(1 − p): the backward map.
    pub(crate) fn scaled_rule(&self, mode: Mode) -> Dropout {
        match self.rule.plan(mode) {
            Plan::Threshold { .. } => self.rule.with_scale(self.a),
            _ => self.rule,
        }
    }
}

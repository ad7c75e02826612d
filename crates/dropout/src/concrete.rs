//! Concrete dropout (Gal, Hron & Kendall 2017): the drop rate p is learned,
//! through the relaxed ("concrete") Bernoulli mask, from uniforms drawn from
//! the same Philox key as the masks.
//!
//! ```text
//! u_e = (word(e) + ½) / 2^32 ∈ (0, 1)
//! z_e = σ((ln p − ln(1 − p) + ln(u_e/(1 − u_e))) / τ)          the relaxed drop indicator (→ Bernoulli(p) as τ → 0)
//! y_e = x_e · f_e,   f_e = (1 − z_e) / (1 − p)
//! ∂L/∂x_e = ∂L/∂y_e · f_e
//! ∂L/∂p   = Σ_e ∂L/∂y_e · x_e · ∂f_e/∂p,   ∂f/∂p = (1 − z)/(1 − p)² − z (1 − z) / (τ p (1 − p)²)
//! regulariser (added by the layer that owns the weights W of K inputs, N training samples):
//!   R(p, W) = λ_w ‖W‖² / (1 − p) + λ_d K (p ln p + (1 − p) ln(1 − p)),   λ_w = l²/N, λ_d = 2/N
//! eval: the identity
//! ```
//! The arithmetic is f32 except the sums, which run in f64 over fixed chunks
//! added in chunk order, so ∂L/∂p is the same on any number of threads. The
//! fast path is these scalar formulas on rayon chunks (no SIMD: they are
//! transcendental); [`crate::reference`] evaluates them one element at a time.

use rayon::prelude::*;

use crate::error::{check_len, DropoutError};
use crate::philox::MaskKey;
use crate::rule::Mode;

/// Elements per parallel chunk (fixed, so the sums do not depend on threads).
const CHUNK: usize = 1 << 14;

/// Concrete dropout with temperature τ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConcreteDropout {
    tau: f32,
}

/// `ln p − ln(1 − p)`, computed once per call.
#[inline]
pub fn logit(p: f32) -> f32 {
    p.ln() - (1.0 - p).ln()
}

/// The relaxed drop indicator of element `e`, given `logit(p)`:
/// `σ((logit p + ln(u/(1 − u)))/τ)`.
#[inline]
pub fn relaxed(key: MaskKey, e: u64, logit_p: f32, tau: f32) -> f32 {
    relaxed_word(key.word(e), logit_p, tau)
}

/// [`relaxed`] from the element's Philox word.
#[inline]
fn relaxed_word(w: u32, logit_p: f32, tau: f32) -> f32 {
    let u = (w as f32 + 0.5) * (1.0 / 4_294_967_296.0);
    let u = u.clamp(f32::MIN_POSITIVE, 1.0 - f32::EPSILON);
    let a = (logit_p + (u / (1.0 - u)).ln()) / tau;
    1.0 / (1.0 + (-a).exp())
}

/// Element words in order, one Philox block per four elements.
struct Words {
    key: MaskKey,
    block: u64,
    words: [u32; 4],
}

impl Words {
    fn new(key: MaskKey) -> Self {
        Self {
            key,
            block: u64::MAX,
            words: [0; 4],
        }
    }

    #[inline]
    fn at(&mut self, e: u64) -> u32 {
        if e / 4 != self.block {
            self.block = e / 4;
            self.words = self.key.block(self.block);
        }
        self.words[(e % 4) as usize]
    }
}

impl ConcreteDropout {
    /// Concrete dropout at temperature `τ > 0` (the paper uses 0.1).
    ///
    /// # Errors
    /// [`DropoutError::InvalidTemperature`] if `τ` is not a finite number > 0.
    pub fn new(tau: f32) -> Result<Self, DropoutError> {
        if !(tau.is_finite() && tau > 0.0) {
            return Err(DropoutError::InvalidTemperature { tau });
        }
        Ok(Self { tau })
    }

    /// τ.
    pub fn temperature(&self) -> f32 {
        self.tau
    }

    fn check_p(p: f32) -> Result<(), DropoutError> {
        if p > 0.0 && p < 1.0 {
            Ok(())
        } else {
            Err(DropoutError::InvalidProbability { p })
        }
    }

    /// `y = x · f` with draws `offset ..`; the identity in eval.
    ///
    /// # Errors
    /// [`DropoutError::InvalidProbability`] unless `0 < p < 1`;
    /// [`DropoutError::LengthMismatch`] if `y.len() != x.len()`.
    pub fn forward_at(
        &self,
        key: MaskKey,
        mode: Mode,
        offset: u64,
        p: f32,
        x: &[f32],
        y: &mut [f32],
    ) -> Result<(), DropoutError> {
        Self::check_p(p)?;
        check_len("output", y.len(), x.len())?;
        if mode == Mode::Eval {
            y.copy_from_slice(x);
            return Ok(());
        }
        let (tau, lp) = (self.tau, logit(p));
        y.par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK))
            .enumerate()
            .for_each(|(c, (ys, xs))| {
                let base = offset + (c * CHUNK) as u64;
                let mut words = Words::new(key);
                for (i, (o, &v)) in ys.iter_mut().zip(xs).enumerate() {
                    let z = relaxed_word(words.at(base + i as u64), lp, tau);
                    *o = v * ((1.0 - z) / (1.0 - p));
                }
            });
        Ok(())
    }

    /// Backward: `dx = dy · f`, and `∂L/∂p` returned (0 in eval).
    ///
    /// # Errors
    /// As [`forward_at`](Self::forward_at), for `x`, `dy` and `dx`.
    #[allow(clippy::too_many_arguments)]
    pub fn backward_at(
        &self,
        key: MaskKey,
        mode: Mode,
        offset: u64,
        p: f32,
        x: &[f32],
        dy: &[f32],
        dx: &mut [f32],
    ) -> Result<f64, DropoutError> {
        Self::check_p(p)?;
        check_len("output gradient", dy.len(), x.len())?;
        check_len("input gradient", dx.len(), x.len())?;
        if mode == Mode::Eval {
            dx.copy_from_slice(dy);
            return Ok(0.0);
        }
        let (tau, lp) = (self.tau, logit(p));
        let q = 1.0 - p;
        let partial: Vec<f64> = dx
            .par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK).zip(dy.par_chunks(CHUNK)))
            .enumerate()
            .map(|(c, (gs, (xs, ds)))| {
                let base = offset + (c * CHUNK) as u64;
                let mut words = Words::new(key);
                let mut dp = 0.0f64;
                for (i, (g, (&v, &d))) in gs.iter_mut().zip(xs.iter().zip(ds)).enumerate() {
                    let z = relaxed_word(words.at(base + i as u64), lp, tau);
                    *g = d * ((1.0 - z) / q);
                    let df = (1.0 - z) / (q * q) - z * (1.0 - z) / (tau * p * q * q);
                    dp += f64::from(d) * f64::from(v) * f64::from(df);
                }
                dp
            })
            .collect();
        Ok(partial.iter().sum())
    }
}

/// The regulariser R(p, W) of the module docs and its partial derivatives
/// `(R, ∂R/∂p, ∂R/∂W = factor · W)` for `‖W‖² = w2` over `k` inputs.
pub fn regulariser(p: f32, w2: f64, k: usize, lambda_w: f64, lambda_d: f64) -> (f64, f64, f64) {
    let (p, q) = (f64::from(p), 1.0 - f64::from(p));
    let k = k as f64;
    let r = lambda_w * w2 / q + lambda_d * k * (p * p.ln() + q * q.ln());
    let dp = lambda_w * w2 / (q * q) + lambda_d * k * (p.ln() - q.ln());
    (r, dp, 2.0 * lambda_w / q)
}

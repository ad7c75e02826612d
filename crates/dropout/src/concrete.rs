//! Concrete dropout (Gal, Hron & Kendall 2017): the drop rate p is learned,
//! through the relaxed ("concrete") Bernoulli mask, from uniforms drawn from
//! the same Philox key as the masks.
//!
//! ```text
//! u_e = (w_e + ½) / 2^32 ∈ (0, 1),   w_e: element e = 256g + 64w + l takes word w of block 64g + l
//!                                    (the layout of crate::normal, so vector lanes are elements)
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
//! logarithm and exponential are [`crate::fastmath`]'s, so the relaxed
//! indicators are computed by the same code vectorised for AVX2/AVX-512 and,
//! one element at a time, by [`crate::reference`] — the same bits.

use rayon::prelude::*;

use crate::error::{check_len, DropoutError};
use crate::fastmath;
use crate::philox::MaskKey;
use crate::rule::Mode;
use crate::simd::{self, Backend};

/// Elements per parallel chunk (fixed, so the sums do not depend on threads).
const CHUNK: usize = 1 << 14;
/// Indicators computed at a time, on the stack (a multiple of the 256-element group).
const TILE: usize = 1024;

/// The temperature the paper uses (and [`crate::Variant`] starts from).
pub const DEFAULT_TEMPERATURE: f32 = 0.1;

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

/// The Philox word of element `e` (the group layout above).
pub fn word(key: MaskKey, e: u64) -> u32 {
    let (g, i) = (e / 256, (e % 256) as usize);
    key.block(g * 64 + (i % 64) as u64)[i / 64]
}

/// The relaxed drop indicator of element `e`, given `logit(p)`:
/// `σ((logit p + ln(u/(1 − u)))/τ)`.
pub fn relaxed(key: MaskKey, e: u64, logit_p: f32, tau: f32) -> f32 {
    relaxed_word(word(key, e), logit_p, tau)
}

/// [`relaxed`] from the element's Philox word.
#[inline(always)]
fn relaxed_word(w: u32, logit_p: f32, tau: f32) -> f32 {
    let u = (w as f32 + 0.5) * (1.0 / 4_294_967_296.0);
    let u = u.clamp(f32::MIN_POSITIVE, 1.0 - f32::EPSILON);
    let a = (logit_p + fastmath::ln(u / (1.0 - u))) / tau;
    1.0 / (1.0 + fastmath::exp(-a))
}

/// The indicators of elements `start .. start + z.len()`.
#[inline(always)]
fn fill_generic(backend: Backend, key: MaskKey, start: u64, lp: f32, tau: f32, z: &mut [f32]) {
    let mut words = [[0u32; 64]; 4];
    let mut g = [0f32; 256];
    let end = start + z.len() as u64;
    let mut e = start;
    while e < end {
        let gi = e / 256;
        // SAFETY: the backend was checked when the caller's rule was built.
        unsafe { simd::words64(backend, key, gi * 64, &mut words) };
        for (w, ws) in words.iter().enumerate() {
            for (l, &v) in ws.iter().enumerate() {
                g[64 * w + l] = relaxed_word(v, lp, tau);
            }
        }
        let lo = (e - gi * 256) as usize;
        let hi = ((end - gi * 256) as usize).min(256);
        let at = (e - start) as usize;
        z[at..at + hi - lo].copy_from_slice(&g[lo..hi]);
        e += (hi - lo) as u64;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn fill_avx512(key: MaskKey, start: u64, lp: f32, tau: f32, z: &mut [f32]) {
    fill_generic(Backend::Avx512, key, start, lp, tau, z)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn fill_avx2(key: MaskKey, start: u64, lp: f32, tau: f32, z: &mut [f32]) {
    fill_generic(Backend::Avx2, key, start, lp, tau, z)
}

/// [`fill_generic`] compiled for the best backend of this CPU.
fn fill(key: MaskKey, start: u64, lp: f32, tau: f32, z: &mut [f32]) {
    match Backend::best() {
        // SAFETY: `best` is supported by this CPU.
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 => unsafe { fill_avx512(key, start, lp, tau, z) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => unsafe { fill_avx2(key, start, lp, tau, z) },
        _ => fill_generic(Backend::Portable, key, start, lp, tau, z),
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

    pub(crate) fn check_p(p: f32) -> Result<(), DropoutError> {
        if p > 0.0 && p < 1.0 {
            Ok(())
        } else {
            Err(DropoutError::OpenProbability { p })
        }
    }

    /// `y = x · f` with draws `offset ..`; the identity in eval.
    ///
    /// # Errors
    /// [`DropoutError::OpenProbability`] unless `0 < p < 1`;
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
                let mut z = [0f32; TILE];
                for (t, (yt, xt)) in ys.chunks_mut(TILE).zip(xs.chunks(TILE)).enumerate() {
                    let z = &mut z[..yt.len()];
                    fill(key, offset + (c * CHUNK + t * TILE) as u64, lp, tau, z);
                    for ((o, &v), &zi) in yt.iter_mut().zip(xt).zip(z.iter()) {
                        *o = v * ((1.0 - zi) / (1.0 - p));
                    }
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
                let mut zt = [0f32; TILE];
                let mut dp = 0.0f64;
                for (t, (gt, (xt, dt))) in gs
                    .chunks_mut(TILE)
                    .zip(xs.chunks(TILE).zip(ds.chunks(TILE)))
                    .enumerate()
                {
                    let zt = &mut zt[..gt.len()];
                    fill(key, offset + (c * CHUNK + t * TILE) as u64, lp, tau, zt);
                    for ((g, (&v, &d)), &z) in gt.iter_mut().zip(xt.iter().zip(dt)).zip(zt.iter()) {
                        *g = d * ((1.0 - z) / q);
                        let df = (1.0 - z) / (q * q) - z * (1.0 - z) / (tau * p * q * q);
                        dp += f64::from(d) * f64::from(v) * f64::from(df);
                    }
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

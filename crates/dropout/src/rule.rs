//! The keep rule: which elements are dropped, and how survivors are scaled.
//!
//! For a drop probability `p` the threshold is `t = round(p · 2^32)` and element
//! `e` is dropped iff its Philox word `r_e < t`. Since `r_e` is uniform on
//! `[0, 2^32)`, `P(drop) = t / 2^32`, and rounding gives `|P(drop) − p| ≤ 2^-33`:
//! the rate is exact up to the precision of `p` itself (an 8-bit rule such as
//! FlashAttention's would be off by 0.17 % at `p = 0.1`).
//!
//! Survivors are multiplied by `s = 1 / (1 − p)` (computed in f64, rounded once
//! to f32), so `E[h'] = (1 − p) · s · h = h` — "inverted dropout": the test-time
//! network is the plain one, with no rescaling.
//!
//! Special cases (docs/src/design.md §3):
//! * `p = 0` in train, and any `p` in eval: the identity, bit for bit; no random
//!   number is drawn.
//! * `p = 1` in train (or `p` so close to 1 that `t` rounds to `2^32`): every
//!   element is dropped, output and gradient are exactly 0, never NaN.
//! * `p` NaN or outside `[0, 1]`: [`DropoutError::InvalidProbability`] from
//!   [`Dropout::new`], so no kernel ever sees a bad `p`.
//!
//! ```
//! use dropout::Dropout;
//! let d = Dropout::new(0.5).unwrap();
//! assert_eq!(d.threshold(), Some(1 << 31));
//! assert_eq!(d.scale(), 2.0);
//! assert!(Dropout::new(1.5).is_err());
//! assert!(Dropout::new(f32::NAN).is_err());
//! ```

use crate::error::DropoutError;
use crate::simd::Backend;

/// Training or evaluation. Always explicit; never inferred.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Draw a mask and drop.
    Train,
    /// Identity: the deterministic, weight-scaled network.
    Eval,
}

/// What a kernel has to do for a given `(p, mode)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Plan {
    /// y = x bit for bit; no random numbers.
    Identity,
    /// y = 0 everywhere (p = 1, or t rounds to 2^32).
    DropAll,
    /// Drop iff r < t, keep × s.
    Threshold { t: u32, s: f32 },
}

/// A validated dropout configuration: the probability, its threshold and scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout {
    p: f32,
    plan: Plan,
    backend: Backend,
}

impl Dropout {
    /// Build a dropout with drop probability `p ∈ [0, 1]`.
    ///
    /// # Errors
    /// [`DropoutError::InvalidProbability`] if `p` is NaN or outside `[0, 1]`.
    pub fn new(p: f32) -> Result<Self, DropoutError> {
        if !(0.0..=1.0).contains(&p) {
            return Err(DropoutError::InvalidProbability { p });
        }
        let plan = if p == 0.0 {
            Plan::Identity
        } else {
            // p·2^32 is exact in f64 (p has 24 significant bits).
            let t = (f64::from(p) * 4_294_967_296.0).round();
            if t >= 4_294_967_296.0 {
                Plan::DropAll
            } else {
                let s = (1.0 / (1.0 - f64::from(p))) as f32;
                Plan::Threshold { t: t as u32, s }
            }
        };
        Ok(Self {
            p,
            plan,
            backend: Backend::best(),
        })
    }

    /// The same dropout on a chosen kernel backend (the default is
    /// [`Backend::best`]). The output does not depend on the backend; this is
    /// for tests and benchmarks.
    ///
    /// # Errors
    /// [`DropoutError::UnsupportedBackend`] if this CPU cannot run it.
    pub fn with_backend(self, backend: Backend) -> Result<Self, DropoutError> {
        if !backend.is_supported() {
            return Err(DropoutError::UnsupportedBackend {
                backend: backend.name(),
            });
        }
        Ok(Self { backend, ..self })
    }

    /// The kernel backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The drop probability.
    pub fn p(&self) -> f32 {
        self.p
    }

    /// The threshold `t = round(p · 2^32)`; `None` for `p = 0` (nothing drawn)
    /// and for the drop-everything case.
    pub fn threshold(&self) -> Option<u32> {
        match self.plan {
            Plan::Threshold { t, .. } => Some(t),
            _ => None,
        }
    }

    /// The survivor scale `1 / (1 − p)` as used by the kernels
    /// (1 for `p = 0`, 0 when everything is dropped).
    pub fn scale(&self) -> f32 {
        match self.plan {
            Plan::Identity => 1.0,
            Plan::DropAll => 0.0,
            Plan::Threshold { s, .. } => s,
        }
    }

    /// The exact probability that an element is dropped: `t / 2^32`.
    pub fn exact_drop_probability(&self) -> f64 {
        match self.plan {
            Plan::Identity => 0.0,
            Plan::DropAll => 1.0,
            Plan::Threshold { t, .. } => f64::from(t) / 4_294_967_296.0,
        }
    }

    /// The plan for a call in `mode`.
    /// The same keep rule with survivors scaled by `s` (AlphaDropout's backward).
    pub(crate) fn with_scale(self, s: f32) -> Self {
        let plan = match self.plan {
            Plan::Threshold { t, .. } => Plan::Threshold { t, s },
            other => other,
        };
        Self { plan, ..self }
    }

    pub(crate) fn plan(&self, mode: Mode) -> Plan {
        match mode {
            Mode::Eval => Plan::Identity,
            Mode::Train => self.plan,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_probabilities_are_typed_errors() {
        for p in [
            f32::NAN,
            -0.1,
            1.000_001,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -1e-30,
        ] {
            match Dropout::new(p) {
                Err(DropoutError::InvalidProbability { p: got }) => {
                    assert!(got.is_nan() == p.is_nan() && (p.is_nan() || got == p))
                }
                other => panic!("p = {p}: expected InvalidProbability, got {other:?}"),
            }
        }
    }

    #[test]
    fn threshold_is_round_p_times_2_pow_32() {
        for p in [0.1f32, 0.3, 0.5, 0.9, 1e-3, 0.999_999] {
            let d = Dropout::new(p).unwrap();
            let want = (f64::from(p) * 2f64.powi(32)).round() as u32;
            assert_eq!(d.threshold(), Some(want), "p = {p}");
            assert!((d.exact_drop_probability() - f64::from(p)).abs() <= 2f64.powi(-33));
            assert_eq!(d.scale(), (1.0 / (1.0 - f64::from(p))) as f32);
        }
    }

    #[test]
    fn edge_probabilities() {
        let zero = Dropout::new(0.0).unwrap();
        assert_eq!(zero.plan(Mode::Train), Plan::Identity);
        let one = Dropout::new(1.0).unwrap();
        assert_eq!(one.plan(Mode::Train), Plan::DropAll);
        assert_eq!(one.plan(Mode::Eval), Plan::Identity);
        // -0.0 is a valid zero.
        assert_eq!(
            Dropout::new(-0.0).unwrap().plan(Mode::Train),
            Plan::Identity
        );
        // The largest f32 below 1 still has t < 2^32 and a finite scale.
        let almost = Dropout::new(1.0 - f32::EPSILON / 2.0).unwrap();
        assert!(almost.scale().is_finite());
        assert_eq!(almost.plan(Mode::Eval), Plan::Identity);
    }
}

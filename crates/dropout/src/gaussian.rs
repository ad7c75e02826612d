//! Gaussian dropout and Gaussian noise: continuous noise in place of the
//! Bernoulli mask, drawn from the same Philox key ([`crate::normal`]).
//!
//! ```text
//! Gaussian dropout (Srivastava et al., JMLR 2014, §10 "Multiplicative Gaussian Noise"):
//!     y = x · ξ,   ξ = 1 + σ z,   σ = √(p / (1 − p)),   z ~ N(0, 1)
//!     E[y] = x,    Var[y] = x² p / (1 − p)     (the variance of inverted dropout at rate p)
//!     dx = dy · ξ                               (ξ recomputed from the key, nothing stored)
//! Gaussian noise (additive; Keras' GaussianNoise):
//!     y = x + σ z,   dx = dy
//! eval, p = 0 or σ = 0: the identity, bit for bit, no draws
//! ```
//! `1 + σ z` and `x · ξ` are each rounded once (no FMA); `σ` is computed in
//! f64 and rounded once. Element `i` of a call uses draw `offset + i` of the
//! key, as a mask bit does.

use crate::error::{check_len, DropoutError};
use crate::normal::{self, NoiseMap};
use crate::philox::MaskKey;
use crate::rule::Mode;
use crate::simd::Backend;
use crate::tiles::{par_chunks, Shared, CHUNK};

/// Multiplicative Gaussian noise with the variance of dropout at rate `p`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GaussianDropout {
    p: f32,
    sigma: f32,
    backend: Backend,
}

/// Additive Gaussian noise of standard deviation `σ`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GaussianNoise {
    sigma: f32,
    backend: Backend,
}

fn supported(backend: Backend) -> Result<Backend, DropoutError> {
    if backend.is_supported() {
        Ok(backend)
    } else {
        Err(DropoutError::UnsupportedBackend {
            backend: backend.name(),
        })
    }
}

/// `y = map(x)` over `n` elements with draws `offset ..`, in parallel
/// chunks; `None` copies `x` (nothing when `y` is `x`).
///
/// # Safety
/// `x` readable and `y` writable for `n` elements, equal or disjoint.
unsafe fn apply(
    backend: Backend,
    key: MaskKey,
    map: Option<NoiseMap>,
    offset: u64,
    x: *const f32,
    y: *mut f32,
    n: usize,
) {
    let Some(map) = map else {
        if x != y.cast_const() {
            std::ptr::copy_nonoverlapping(x, y, n);
        }
        return;
    };
    let (xs, ys) = (Shared(x.cast_mut()), Shared(y));
    par_chunks(n, CHUNK, |c0, len| {
        // SAFETY: [c0, c0 + len) lies inside both buffers; chunks are disjoint.
        unsafe {
            normal::apply(
                backend,
                key,
                map,
                offset + c0 as u64,
                xs.at(c0),
                ys.at(c0),
                len,
            )
        }
    });
}

/// `forward_at`, `forward` and `forward_inplace` of a type with
/// `backend` and `map(mode)`; `$y` names the map in the docs.
macro_rules! noise_calls {
    ($y:literal) => {
        #[doc = concat!("`y = ", $y, "` where element `i` uses draw `offset + i`.")]
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
            // SAFETY: distinct buffers of x.len() elements.
            unsafe {
                apply(
                    self.backend,
                    key,
                    self.map(mode),
                    offset,
                    x.as_ptr(),
                    y.as_mut_ptr(),
                    x.len(),
                )
            };
            Ok(())
        }

        /// Forward from draw 0.
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

        #[doc = concat!("In place: `x ← ", $y, "`.")]
        pub fn forward_inplace(&self, key: MaskKey, mode: Mode, x: &mut [f32]) {
            let p = x.as_mut_ptr();
            // SAFETY: in place; each element is read before it is written.
            unsafe { apply(self.backend, key, self.map(mode), 0, p, p, x.len()) }
        }
    };
}

impl GaussianDropout {
    /// Gaussian dropout at rate `p ∈ [0, 1)`: σ = √(p / (1 − p)).
    ///
    /// # Errors
    /// [`DropoutError::GaussianRate`] if `p` is NaN or outside `[0, 1)`.
    pub fn new(p: f32) -> Result<Self, DropoutError> {
        if !(0.0..1.0).contains(&p) {
            return Err(DropoutError::GaussianRate { p });
        }
        let p64 = f64::from(p);
        Ok(Self {
            p,
            sigma: (p64 / (1.0 - p64)).sqrt() as f32,
            backend: Backend::best(),
        })
    }

    /// The same on a chosen kernel backend (output does not depend on it).
    ///
    /// # Errors
    /// [`DropoutError::UnsupportedBackend`] if this CPU cannot run it.
    pub fn with_backend(self, backend: Backend) -> Result<Self, DropoutError> {
        Ok(Self {
            backend: supported(backend)?,
            ..self
        })
    }

    /// The rate.
    pub fn p(&self) -> f32 {
        self.p
    }

    /// The kernel backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The noise's standard deviation σ = √(p / (1 − p)).
    pub fn sigma(&self) -> f32 {
        self.sigma
    }

    /// The map in `mode` (`None`: the identity).
    fn map(&self, mode: Mode) -> Option<NoiseMap> {
        (mode == Mode::Train && self.p > 0.0).then_some(NoiseMap::Mul(self.sigma))
    }

    noise_calls!("x · ξ");

    /// `dx = dy · ξ` with the forward's draws (the map is linear in x).
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
        self.forward(key, mode, dy, dx)
    }
}

impl GaussianNoise {
    /// Additive noise of standard deviation `σ ≥ 0`.
    ///
    /// # Errors
    /// [`DropoutError::InvalidStd`] if `σ` is negative, infinite or NaN.
    pub fn new(sigma: f32) -> Result<Self, DropoutError> {
        if !(sigma.is_finite() && sigma >= 0.0) {
            return Err(DropoutError::InvalidStd { sigma });
        }
        Ok(Self {
            sigma,
            backend: Backend::best(),
        })
    }

    /// The same on a chosen kernel backend (output does not depend on it).
    ///
    /// # Errors
    /// [`DropoutError::UnsupportedBackend`] if this CPU cannot run it.
    pub fn with_backend(self, backend: Backend) -> Result<Self, DropoutError> {
        Ok(Self {
            backend: supported(backend)?,
            ..self
        })
    }

    /// σ.
    pub fn sigma(&self) -> f32 {
        self.sigma
    }

    /// The kernel backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The map in `mode` (`None`: the identity).
    fn map(&self, mode: Mode) -> Option<NoiseMap> {
        (mode == Mode::Train && self.sigma > 0.0).then_some(NoiseMap::Add(self.sigma))
    }

    noise_calls!("x + σ z");

    /// `dx = dy` (the noise does not depend on x). The key and mode are
    /// taken, as every member of the family's backward takes them, and
    /// ignored.
    ///
    /// # Errors
    /// [`DropoutError::LengthMismatch`] if `dx.len() != dy.len()`.
    pub fn backward(
        &self,
        _key: MaskKey,
        _mode: Mode,
        dy: &[f32],
        dx: &mut [f32],
    ) -> Result<(), DropoutError> {
        check_len("input gradient", dx.len(), dy.len())?;
        dx.copy_from_slice(dy);
        Ok(())
    }
}

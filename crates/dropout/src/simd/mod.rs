//! Backends: the portable loops and, on x86-64, AVX2 and AVX-512 — chosen at
//! run time.
//!
//! Every backend implements the same bit-level contract (keep bits from
//! Philox, then element-wise ops under those bits) with the same float
//! operations in the same order, so the output never depends on the backend.
//! [`Backend::best`] picks the fastest one this CPU supports;
//! [`Backend::available`] lists all of them (tests run each one against the
//! scalar reference).

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod portable;

use crate::philox::MaskKey;

/// A kernel implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// Plain loops; runs anywhere.
    Portable,
    /// AVX2 (x86-64).
    Avx2,
    /// AVX-512F + BMI2 (x86-64).
    Avx512,
}

impl Backend {
    /// Whether this CPU can run the backend.
    pub fn is_supported(self) -> bool {
        match self {
            Backend::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("bmi2")
            }
            #[cfg(not(target_arch = "x86_64"))]
            Backend::Avx2 | Backend::Avx512 => false,
        }
    }

    /// Every backend this CPU supports, fastest last.
    pub fn available() -> Vec<Backend> {
        [Backend::Portable, Backend::Avx2, Backend::Avx512]
            .into_iter()
            .filter(|b| b.is_supported())
            .collect()
    }

    /// The fastest supported backend (detected once).
    pub fn best() -> Backend {
        static BEST: std::sync::OnceLock<Backend> = std::sync::OnceLock::new();
        *BEST.get_or_init(|| *Backend::available().last().unwrap_or(&Backend::Portable))
    }

    /// A short lowercase name (`portable`, `avx2`, `avx512`).
    pub fn name(self) -> &'static str {
        match self {
            Backend::Portable => "portable",
            Backend::Avx2 => "avx2",
            Backend::Avx512 => "avx512",
        }
    }
}

// The dispatchers below are only ever called with a backend whose
// `is_supported()` was checked when the `Dropout` holding it was built.

/// Keep bits of 64-element words `first_word ..` (see `portable::keep_bits`).
pub(crate) fn keep_bits(b: Backend, key: MaskKey, t: u32, first_word: u64, out: &mut [u64]) {
    match b {
        // SAFETY: the backend was checked to be supported.
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 => unsafe { avx512::keep_bits(key, t, first_word, out) },
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => unsafe { avx2::keep_bits(key, t, first_word, out) },
        _ => portable::keep_bits(key, t, first_word, out),
    }
}

/// `y = keep ? x·s : 0` over `n` elements.
///
/// # Safety
/// `x` readable and `y` writable for `n` elements (they may be equal);
/// `bits` covers `n` elements.
pub(crate) unsafe fn scale(b: Backend, x: *const f32, y: *mut f32, n: usize, bits: &[u64], s: f32) {
    match b {
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 => avx512::scale(x, y, n, bits, s),
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => avx2::scale(x, y, n, bits, s),
        _ => portable::scale(x, y, n, bits, s),
    }
}

/// `y = keep ? x·s + a : f` over `n` elements (AlphaDropout's map).
///
/// # Safety
/// As [`scale`].
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn affine(
    b: Backend,
    x: *const f32,
    y: *mut f32,
    n: usize,
    bits: &[u64],
    s: f32,
    a: f32,
    f: f32,
) {
    match b {
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 => avx512::affine(x, y, n, bits, s, a, f),
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => avx2::affine(x, y, n, bits, s, a, f),
        _ => portable::affine(x, y, n, bits, s, a, f),
    }
}

/// `y = keep ? act(x + b)·s : 0`.
///
/// # Safety
/// As [`scale`], plus `bias` readable for `n` elements.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn bias_act(
    b: Backend,
    x: *const f32,
    bias: *const f32,
    y: *mut f32,
    n: usize,
    bits: &[u64],
    s: f32,
    relu: bool,
) {
    match b {
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 => avx512::bias_act(x, bias, y, n, bits, s, relu),
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => avx2::bias_act(x, bias, y, n, bits, s, relu),
        _ => portable::bias_act(x, bias, y, n, bits, s, relu),
    }
}

/// `y = r + (keep ? (x + b)·s : 0)`.
///
/// # Safety
/// As [`bias_act`], plus `r` readable for `n` elements.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn residual(
    b: Backend,
    x: *const f32,
    bias: *const f32,
    r: *const f32,
    y: *mut f32,
    n: usize,
    bits: &[u64],
    s: f32,
) {
    match b {
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 => avx512::residual(x, bias, r, y, n, bits, s),
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => avx2::residual(x, bias, r, y, n, bits, s),
        _ => portable::residual(x, bias, r, y, n, bits, s),
    }
}

/// `dz = keep ∧ act'(y) ? dy·s : 0; db += dz`.
///
/// # Safety
/// `y`, `dy` readable, `dz`, `db` writable for `n` elements (`dz` may equal `dy`).
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn grad(
    b: Backend,
    y: *const f32,
    dy: *const f32,
    dz: *mut f32,
    db: *mut f32,
    n: usize,
    bits: &[u64],
    s: f32,
    relu: bool,
) {
    match b {
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 => avx512::grad(y, dy, dz, db, n, bits, s, relu),
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => avx2::grad(y, dy, dz, db, n, bits, s, relu),
        _ => portable::grad(y, dy, dz, db, n, bits, s, relu),
    }
}

/// `y = kept ? x·s : 0` for a run sharing one mask bit.
///
/// # Safety
/// `x` readable and `y` writable for `n` elements (they may be equal).
pub(crate) unsafe fn uniform(b: Backend, x: *const f32, y: *mut f32, n: usize, kept: bool, s: f32) {
    match b {
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 => avx512::uniform(x, y, n, kept, s),
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => avx2::uniform(x, y, n, kept, s),
        _ => portable::uniform(x, y, n, kept, s),
    }
}

/// Philox words of 64 blocks, word-major (see `portable::words64`).
///
/// # Safety
/// `b` must be supported by this CPU.
pub(crate) unsafe fn words64(b: Backend, key: MaskKey, block: u64, out: &mut [[u32; 64]; 4]) {
    match b {
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 => avx512::words64(key, block, out),
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => avx2::words64(key, block, out),
        _ => portable::words64(key, block, out),
    }
}

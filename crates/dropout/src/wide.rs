//! Element-wise loops compiled for the widest vector unit of the CPU (the
//! engine's element-wise layers and optimizers use it too).
//!
//! The crate is built for the x86-64 baseline (SSE2, 4 floats per vector).
//! [`wide`] runs a closure inside a function compiled with AVX-512 (16
//! floats) or AVX2 (8 floats) enabled when the CPU has them, so the
//! compiler's auto-vectorised loops in it use the wider registers.
//!
//! Same bits on every path: Rust never contracts `a * b + c` into a fused
//! multiply-add and never reorders float sums, and add/mul/div/sqrt are
//! exactly rounded on every width, so a loop gives bit-identical results
//! whichever path runs (the optimizer, layer and attention reference tests
//! check this on the machine they run on).

/// Run `f`, compiled with the widest vector extension this CPU supports.
/// Mark the loops `f` calls `#[inline(always)]` (closures inline on their own)
/// so they are compiled inside the wide function.
#[inline(always)]
pub fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            return unsafe { avx512(f) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { avx2(f) };
        }
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

//! Standard normal draws from the Philox stream: Box–Muller on word pairs,
//! with the crate's own f32 logarithm and sine/cosine, so every draw is a
//! pure function of `(key, element)` like a mask bit — the same on any thread
//! count, chunking, SIMD width or CPU.
//!
//! ```text
//! element e = 256g + 64w + l  (group g, w ∈ 0..4, l ∈ 0..64)  takes word w of block j = 64g + l,
//!             (w0, w1, w2, w3) = philox(counter(j), key);
//!             pair (w0, w1) → z(256g + l), z(256g + 64 + l);  pair (w2, w3) → z(256g + 128 + l), z(256g + 192 + l)
//! pair (a, b): u = (⌊a / 2^8⌋ + 1) · 2^-24 ∈ (0, 1]        (exact in f32)
//!              φ = 2π · b / 2^32
//!              r = √(−2 ln u),   z = (r cos φ, r sin φ)
//! ln u:   k = ⌊a/2^8⌋ + 1 = m · 2^E with m ∈ [√½, √2);  ln u = (E − 24) ln 2 + 2 atanh s,
//!         s = (m − 1)/(m + 1),  2 atanh s ≈ 2s (1 + s²/3 + s⁴/5 + s⁶/7)   (|s| ≤ 0.172)
//!         r² = (24 − E) · 2 ln 2 − 4 s (1 + s²/3 + s⁴/5 + s⁶/7)
//! cos φ, sin φ: quadrant q = ⌊(b + 2^29) / 2^30⌋ mod 4, θ = (b − q·2^30 as i32) · 2π/2^32 ∈ [−π/4, π/4);
//!         Taylor series of sin θ to θ⁹ and cos θ to θ⁸, then rotated by q·π/2
//! ```
//! Only IEEE-exact f32 operations (+, −, ×, ÷, √, conversions, bit moves) in
//! a fixed order, and Rust never fuses a multiply and an add, so the scalar
//! [`pair`] and the vectorised loops compiled for AVX2 or AVX-512 give the
//! same bits. (Masks give element 4j + w word w of block j; normals lay a
//! group's 16 blocks out word-major instead, so vector lanes land in element
//! order without a transpose.) Accuracy against f64 Box–Muller is tested (`|Δz| < 2·10⁻⁶`
//! for |z| ≤ 5). The draws are truncated at |z| ≤ √(48 ln 2) ≈ 5.77
//! (u ≥ 2^-24); a standard normal exceeds that with probability 8·10⁻⁹.

use crate::philox::MaskKey;
use crate::simd::{self, Backend};

/// Blocks per group (256 elements).
pub(crate) const GROUP_BLOCKS: usize = 64;
/// Elements per group.
pub(crate) const GROUP: usize = 4 * GROUP_BLOCKS;

const LN_2: f32 = std::f32::consts::LN_2;
const SQRT_2: f32 = std::f32::consts::SQRT_2;
const ANGLE: f32 = std::f32::consts::TAU / 4_294_967_296.0;

/// Two standard normal draws from two Philox words (the transform above).
#[inline(always)]
pub fn pair(a: u32, b: u32) -> (f32, f32) {
    // ln u with u = k · 2^-24.
    let k = ((a >> 8) + 1) as i32 as f32;
    let bits = k.to_bits();
    let big = f32::from_bits((bits & 0x007F_FFFF) | 0x3F80_0000) > SQRT_2;
    let m = f32::from_bits((bits & 0x007F_FFFF) | if big { 0x3F00_0000 } else { 0x3F80_0000 });
    let e = ((bits >> 23) as i32 - 127) + i32::from(big);
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let series = 1.0 + s2 * (1.0 / 3.0 + s2 * (0.2 + s2 * (1.0 / 7.0)));
    // r² = −2 ln u ≥ 0 exactly: E = 24 forces m ≤ 1, so s ≤ 0; E ≤ 23 gives r² ≥ 2 ln 2 − 0.7.
    let r = ((24 - e) as f32 * (2.0 * LN_2) - 4.0 * s * series).sqrt();
    // cos φ and sin φ.
    let q = b.wrapping_add(1 << 29) >> 30;
    let t = (b.wrapping_sub(q << 30) as i32) as f32 * ANGLE;
    let t2 = t * t;
    let sin = t
        * (1.0
            + t2 * (-1.0 / 6.0
                + t2 * (1.0 / 120.0 + t2 * (-1.0 / 5040.0 + t2 * (1.0 / 362_880.0)))));
    let cos = 1.0 + t2 * (-0.5 + t2 * (1.0 / 24.0 + t2 * (-1.0 / 720.0 + t2 * (1.0 / 40_320.0))));
    let (c, sn) = if q & 1 == 1 { (sin, cos) } else { (cos, sin) };
    let neg_c = ((q ^ (q >> 1)) & 1) << 31;
    let neg_s = (q >> 1) << 31;
    (
        r * f32::from_bits(c.to_bits() ^ neg_c),
        r * f32::from_bits(sn.to_bits() ^ neg_s),
    )
}

/// The draw of element `e` (the scalar definition; see [`crate::reference`]).
pub fn draw(key: MaskKey, e: u64) -> f32 {
    let (g, i) = (e / GROUP as u64, (e % GROUP as u64) as usize);
    let (w, l) = (i / GROUP_BLOCKS, i % GROUP_BLOCKS);
    let r = key.block(g * GROUP_BLOCKS as u64 + l as u64);
    let (z0, z1) = pair(r[w & 2], r[(w & 2) + 1]);
    if w & 1 == 0 {
        z0
    } else {
        z1
    }
}

/// The 256 draws of group `g` from its words (`simd::words64`), element order.
#[inline(always)]
fn group(words: &[[u32; GROUP_BLOCKS]; 4], out: &mut [f32; GROUP]) {
    let (lo, hi) = out.split_at_mut(2 * GROUP_BLOCKS);
    let (o0, o1) = lo.split_at_mut(GROUP_BLOCKS);
    let (o2, o3) = hi.split_at_mut(GROUP_BLOCKS);
    for l in 0..GROUP_BLOCKS {
        (o0[l], o1[l]) = pair(words[0][l], words[1][l]);
        (o2[l], o3[l]) = pair(words[2][l], words[3][l]);
    }
}

/// What to do with each draw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum NoiseMap {
    /// `y = x · (1 + σ z)` (Gaussian dropout; also its backward).
    Mul(f32),
    /// `y = x + σ z` (Gaussian noise).
    Add(f32),
}

/// Apply `map` to `n` elements whose first has global index `start`.
///
/// # Safety
/// `x` readable and `y` writable for `n` elements, equal or disjoint.
#[inline(always)]
unsafe fn apply_generic(
    backend: Backend,
    key: MaskKey,
    map: NoiseMap,
    start: u64,
    x: *const f32,
    y: *mut f32,
    n: usize,
) {
    let mut z = [0f32; GROUP];
    let mut words = [[0u32; GROUP_BLOCKS]; 4];
    let end = start + n as u64;
    let mut e = start;
    while e < end {
        let g = e / GROUP as u64;
        simd::words64(backend, key, g * GROUP_BLOCKS as u64, &mut words);
        group(&words, &mut z);
        let lo = (e - g * GROUP as u64) as usize;
        let hi = ((end - g * GROUP as u64) as usize).min(GROUP);
        let at = (e - start) as usize;
        // Into z first (no alias with x, so the loops vectorise even in place), then out.
        match map {
            NoiseMap::Mul(s) => {
                for (i, zi) in z[lo..hi].iter_mut().enumerate() {
                    *zi = *x.add(at + i) * (1.0 + s * *zi);
                }
            }
            NoiseMap::Add(s) => {
                for (i, zi) in z[lo..hi].iter_mut().enumerate() {
                    *zi = *x.add(at + i) + s * *zi;
                }
            }
        }
        std::ptr::copy(z[lo..hi].as_ptr(), y.add(at), hi - lo);
        e += (hi - lo) as u64;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn apply_avx512(
    key: MaskKey,
    map: NoiseMap,
    start: u64,
    x: *const f32,
    y: *mut f32,
    n: usize,
) {
    apply_generic(Backend::Avx512, key, map, start, x, y, n)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn apply_avx2(
    key: MaskKey,
    map: NoiseMap,
    start: u64,
    x: *const f32,
    y: *mut f32,
    n: usize,
) {
    apply_generic(Backend::Avx2, key, map, start, x, y, n)
}

/// [`apply_generic`] compiled for `backend` (the same bits on each).
///
/// # Safety
/// As [`apply_generic`]; `backend` supported by this CPU.
pub(crate) unsafe fn apply(
    backend: Backend,
    key: MaskKey,
    map: NoiseMap,
    start: u64,
    x: *const f32,
    y: *mut f32,
    n: usize,
) {
    match backend {
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 => apply_avx512(key, map, start, x, y, n),
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => apply_avx2(key, map, start, x, y, n),
        _ => apply_generic(Backend::Portable, key, map, start, x, y, n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// f64 Box–Muller on the same u and φ.
    fn exact(a: u32, b: u32) -> (f64, f64) {
        let u = (f64::from(a >> 8) + 1.0) / 16_777_216.0;
        let phi = std::f64::consts::TAU * f64::from(b) / 4_294_967_296.0;
        let r = (-2.0 * u.ln()).sqrt();
        (r * phi.cos(), r * phi.sin())
    }

    #[test]
    fn pair_matches_f64_box_muller() {
        let key = MaskKey::new(7, 1, 2);
        let mut worst = 0f64;
        for j in 0..200_000u64 {
            let w = key.block(j);
            for (a, b) in [(w[0], w[1]), (w[2], w[3])] {
                let (z0, z1) = pair(a, b);
                let (e0, e1) = exact(a, b);
                if e0.hypot(e1) <= 5.0 {
                    worst = worst
                        .max((f64::from(z0) - e0).abs())
                        .max((f64::from(z1) - e1).abs());
                }
            }
        }
        assert!(worst < 2e-6, "worst |Δz| = {worst}");
    }

    #[test]
    fn edge_words() {
        // u = 1 → r = 0; u = 2^-24 → the largest radius; every quadrant boundary.
        for b in [0, 1 << 29, 1 << 30, 3 << 29, 1 << 31, u32::MAX] {
            assert_eq!(pair(u32::MAX, b), (0.0, 0.0));
            let (z0, z1) = pair(0, b);
            let (e0, e1) = exact(0, b);
            assert!(
                (f64::from(z0) - e0).abs() < 1e-5 && (f64::from(z1) - e1).abs() < 1e-5,
                "b {b}"
            );
        }
    }

    #[test]
    fn every_backend_and_offset_gives_the_scalar_draws() {
        let key = MaskKey::new(99, 3, 4);
        let n = 1000;
        let x = vec![1.0f32; n];
        for backend in Backend::available() {
            for start in [0u64, 1, 3, 63, 64, 1 << 33] {
                let mut y = vec![0f32; n];
                // SAFETY: distinct buffers of n elements; backend supported.
                unsafe {
                    apply(
                        backend,
                        key,
                        NoiseMap::Add(1.0),
                        start,
                        x.as_ptr(),
                        y.as_mut_ptr(),
                        n,
                    )
                };
                for (i, &v) in y.iter().enumerate() {
                    assert_eq!(v.to_bits(), (1.0 + draw(key, start + i as u64)).to_bits());
                }
            }
        }
    }
}

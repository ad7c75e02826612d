//! AVX2 backend (x86-64 with AVX2), for CPUs without AVX-512.
//!
//! Generator: eight Philox blocks side by side, one per 32-bit lane; the
//! 32×32→64 products come from `vpmuludq` on the even and odd lanes,
//! recombined with blends. AVX2 has no unsigned compare, so `r ≥ t` is
//! computed as `max_u32(r, t) = r`. The four 8-bit compare masks (bit `k` =
//! block `k`) are spread to bit `4k + w` through a 256-entry table instead of
//! `pdep`, which is slow on AMD CPUs before Zen 3.
//!
//! Ops: 8 floats at a time; a keep byte becomes a lane mask by testing one
//! bit per lane, and dropped lanes are cleared with an AND (an exact +0, also
//! for NaN and ±Inf). Tails shorter than 8 run the portable loop, which does
//! the same float operations, so results equal the other backends bit for bit.

use core::arch::x86_64::*;

use super::portable;
use crate::philox::{MaskKey, M0, M1, ROUNDS, W0, W1};

/// `SPREAD[m]` moves bit `k` of `m` to bit `4k`.
const SPREAD: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut m = 0;
    while m < 256 {
        let mut k = 0;
        while k < 8 {
            t[m] |= (((m >> k) & 1) as u32) << (4 * k);
            k += 1;
        }
        m += 1;
    }
    t
};

/// `(hi, lo)` of the lane-wise 32×32→64 products `a · m` (m broadcast).
#[inline]
#[target_feature(enable = "avx2")]
fn mulhilo(a: __m256i, m: __m256i) -> (__m256i, __m256i) {
    let even = _mm256_mul_epu32(a, m);
    let odd = _mm256_mul_epu32(_mm256_srli_epi64::<32>(a), m);
    let lo = _mm256_blend_epi32::<0b1010_1010>(even, _mm256_slli_epi64::<32>(odd));
    let hi = _mm256_blend_epi32::<0b1010_1010>(_mm256_srli_epi64::<32>(even), odd);
    (hi, lo)
}

/// The Philox words of the 8 blocks `block .. block + 8`.
#[inline]
#[target_feature(enable = "avx2")]
fn philox8(key: MaskKey, block: u64) -> [__m256i; 4] {
    let [k0, k1] = key.philox_key();
    let base = _mm256_set1_epi32(block as u32 as i32);
    let lo = _mm256_add_epi32(base, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    // Lanes whose low word wrapped (lo < base, unsigned) carry into the high word.
    let bias = _mm256_set1_epi32(i32::MIN);
    let wrapped = _mm256_cmpgt_epi32(_mm256_xor_si256(base, bias), _mm256_xor_si256(lo, bias));
    let hi = _mm256_sub_epi32(_mm256_set1_epi32((block >> 32) as u32 as i32), wrapped);
    let (m0, m1) = (_mm256_set1_epi32(M0 as i32), _mm256_set1_epi32(M1 as i32));
    let mut c = [
        lo,
        hi,
        _mm256_set1_epi32(key.stream as i32),
        _mm256_set1_epi32(key.step as i32),
    ];
    let mut rk0 = _mm256_set1_epi32(k0 as i32);
    let mut rk1 = _mm256_set1_epi32(k1 as i32);
    for r in 0..ROUNDS {
        if r > 0 {
            rk0 = _mm256_add_epi32(rk0, _mm256_set1_epi32(W0 as i32));
            rk1 = _mm256_add_epi32(rk1, _mm256_set1_epi32(W1 as i32));
        }
        let (hi0, lo0) = mulhilo(c[0], m0);
        let (hi1, lo1) = mulhilo(c[2], m1);
        c = [
            _mm256_xor_si256(_mm256_xor_si256(hi1, c[1]), rk0),
            lo1,
            _mm256_xor_si256(_mm256_xor_si256(hi0, c[3]), rk1),
            lo0,
        ];
    }
    c
}

/// Keep bits of 8 blocks (32 elements): bit `4k + w` = word w of block k ≥ t.
#[inline]
#[target_feature(enable = "avx2")]
fn keep32(c: [__m256i; 4], t: __m256i) -> u32 {
    let mut acc = 0;
    for (w, cw) in c.into_iter().enumerate() {
        let ge = _mm256_cmpeq_epi32(_mm256_max_epu32(cw, t), cw);
        let m = _mm256_movemask_ps(_mm256_castsi256_ps(ge)) as usize;
        acc |= SPREAD[m] << w;
    }
    acc
}

/// See [`super::portable::keep_bits`]; identical output.
#[target_feature(enable = "avx2")]
pub(crate) fn keep_bits(key: MaskKey, t: u32, first_word: u64, out: &mut [u64]) {
    let tv = _mm256_set1_epi32(t as i32);
    for (w, word) in out.iter_mut().enumerate() {
        let block = (first_word + w as u64) * 16;
        // Two independent groups of 8 blocks per word.
        let a = philox8(key, block);
        let b = philox8(key, block + 8);
        *word = u64::from(keep32(a, tv)) | (u64::from(keep32(b, tv)) << 32);
    }
}

/// Lane masks (all ones = kept) for the 8 keep bits of elements `i .. i+8`.
#[inline]
#[target_feature(enable = "avx2")]
fn lanes(bits: &[u64], i: usize) -> __m256 {
    let byte = ((bits[i / 64] >> (i % 64)) & 0xFF) as i32;
    let sel = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    let hit = _mm256_and_si256(_mm256_set1_epi32(byte), sel);
    _mm256_castsi256_ps(_mm256_cmpeq_epi32(hit, sel))
}

/// The bits of a tile seen from element `i` on (`i` a multiple of 8), for the
/// portable tail.
fn from(bits: &[u64], i: usize) -> [u64; 2] {
    let w = i / 64;
    let sh = i % 64;
    let lo = bits[w] >> sh;
    let hi = match bits.get(w + 1) {
        Some(&n) if sh > 0 => n << (64 - sh),
        _ => 0,
    };
    [lo | hi, 0]
}

/// See [`super::portable::scale`].
///
/// # Safety
/// As the portable version; AVX2 must be available.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn scale(x: *const f32, y: *mut f32, n: usize, bits: &[u64], s: f32) {
    let sv = _mm256_set1_ps(s);
    let mut i = 0;
    while i + 8 <= n {
        let v = _mm256_mul_ps(_mm256_loadu_ps(x.add(i)), sv);
        _mm256_storeu_ps(y.add(i), _mm256_and_ps(v, lanes(bits, i)));
        i += 8;
    }
    if i < n {
        portable::scale(x.add(i), y.add(i), n - i, &from(bits, i), s);
    }
}

/// See [`super::portable::affine`].
///
/// # Safety
/// As the portable version; AVX2 must be available.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn affine(
    x: *const f32,
    y: *mut f32,
    n: usize,
    bits: &[u64],
    s: f32,
    a: f32,
    f: f32,
) {
    let (sv, av, fv) = (_mm256_set1_ps(s), _mm256_set1_ps(a), _mm256_set1_ps(f));
    let mut i = 0;
    while i + 8 <= n {
        let r = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(x.add(i)), sv), av);
        _mm256_storeu_ps(y.add(i), _mm256_blendv_ps(fv, r, lanes(bits, i)));
        i += 8;
    }
    if i < n {
        portable::affine(x.add(i), y.add(i), n - i, &from(bits, i), s, a, f);
    }
}

/// See [`super::portable::bias_act`].
///
/// # Safety
/// As the portable version; AVX2 must be available.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn bias_act(
    x: *const f32,
    b: *const f32,
    y: *mut f32,
    n: usize,
    bits: &[u64],
    s: f32,
    relu: bool,
) {
    let sv = _mm256_set1_ps(s);
    let zero = _mm256_setzero_ps();
    let mut i = 0;
    while i + 8 <= n {
        let z = _mm256_add_ps(_mm256_loadu_ps(x.add(i)), _mm256_loadu_ps(b.add(i)));
        // max_ps(z, 0) = z > 0 ? z : 0 — NaN and -0 give +0, as the portable code.
        let a = if relu { _mm256_max_ps(z, zero) } else { z };
        let v = _mm256_mul_ps(a, sv);
        _mm256_storeu_ps(y.add(i), _mm256_and_ps(v, lanes(bits, i)));
        i += 8;
    }
    if i < n {
        portable::bias_act(x.add(i), b.add(i), y.add(i), n - i, &from(bits, i), s, relu);
    }
}

/// See [`super::portable::residual`].
///
/// # Safety
/// As the portable version; AVX2 must be available.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn residual(
    x: *const f32,
    b: *const f32,
    r: *const f32,
    y: *mut f32,
    n: usize,
    bits: &[u64],
    s: f32,
) {
    let sv = _mm256_set1_ps(s);
    let mut i = 0;
    while i + 8 <= n {
        let z = _mm256_add_ps(_mm256_loadu_ps(x.add(i)), _mm256_loadu_ps(b.add(i)));
        let d = _mm256_and_ps(_mm256_mul_ps(z, sv), lanes(bits, i));
        _mm256_storeu_ps(y.add(i), _mm256_add_ps(_mm256_loadu_ps(r.add(i)), d));
        i += 8;
    }
    if i < n {
        portable::residual(
            x.add(i),
            b.add(i),
            r.add(i),
            y.add(i),
            n - i,
            &from(bits, i),
            s,
        );
    }
}

/// See [`super::portable::grad`].
///
/// # Safety
/// As the portable version; AVX2 must be available.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn grad(
    y: *const f32,
    dy: *const f32,
    dz: *mut f32,
    db: *mut f32,
    n: usize,
    bits: &[u64],
    s: f32,
    relu: bool,
) {
    let sv = _mm256_set1_ps(s);
    let zero = _mm256_setzero_ps();
    let mut i = 0;
    while i + 8 <= n {
        let mut k = lanes(bits, i);
        if relu {
            k = _mm256_and_ps(
                k,
                _mm256_cmp_ps::<_CMP_GT_OQ>(_mm256_loadu_ps(y.add(i)), zero),
            );
        }
        let g = _mm256_and_ps(_mm256_mul_ps(_mm256_loadu_ps(dy.add(i)), sv), k);
        _mm256_storeu_ps(dz.add(i), g);
        _mm256_storeu_ps(db.add(i), _mm256_add_ps(_mm256_loadu_ps(db.add(i)), g));
        i += 8;
    }
    if i < n {
        portable::grad(
            y.add(i),
            dy.add(i),
            dz.add(i),
            db.add(i),
            n - i,
            &from(bits, i),
            s,
            relu,
        );
    }
}

/// See [`super::portable::uniform`].
///
/// # Safety
/// As the portable version; AVX2 must be available.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn uniform(x: *const f32, y: *mut f32, n: usize, kept: bool, s: f32) {
    let bits = [if kept { u64::MAX } else { 0 }; 1];
    let mut i = 0;
    while i < n {
        let l = (n - i).min(64);
        scale(x.add(i), y.add(i), l, &bits, s);
        i += l;
    }
}

/// The Philox words of the 64 blocks `block .. block + 64`, word-major
/// (see `avx512::words64`).
#[target_feature(enable = "avx2")]
pub(crate) fn words64(key: MaskKey, block: u64, out: &mut [[u32; 64]; 4]) {
    for g in (0..8).step_by(2) {
        // Two independent groups of 8 blocks at a time.
        let a = philox8(key, block + 8 * g as u64);
        let b = philox8(key, block + 8 * (g as u64 + 1));
        for w in 0..4 {
            // SAFETY: out[w][8g .. 8g + 16] is in bounds (g ≤ 6).
            unsafe {
                _mm256_storeu_si256(out[w][8 * g..].as_mut_ptr().cast(), a[w]);
                _mm256_storeu_si256(out[w][8 * g + 8..].as_mut_ptr().cast(), b[w]);
            }
        }
    }
}

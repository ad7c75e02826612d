//! AVX-512 backend (x86-64 with AVX-512F and BMI2), selected at run time.
//!
//! Generator: sixteen Philox blocks run side by side, one block per 32-bit
//! lane, so a round is two vector 32×32→64 multiplies (`vpmuludq` on the even
//! and the odd lanes, recombined with blends) and two three-way XORs
//! (`vpternlogd`). Block `k` of a group yields elements `4k .. 4k+3`, so the
//! four per-word compare masks are interleaved into one 64-bit keep word with
//! `pdep` (bit `4k + w` ← bit `k` of mask `w`).
//!
//! Ops: 16 floats at a time under a 16-bit keep mask (`maskz` multiply gives an
//! exact 0 for dropped lanes, whatever x holds — NaN and ±Inf included); the
//! tail uses masked loads and stores. Same arithmetic, in the same order, as
//! the portable backend, so both agree bit for bit.

use core::arch::x86_64::*;

use crate::philox::{MaskKey, M0, M1, ROUNDS, W0, W1};

/// `(hi, lo)` of the lane-wise 32×32→64 products `a · m` (m broadcast).
#[inline]
#[target_feature(enable = "avx512f")]
fn mulhilo(a: __m512i, m: __m512i) -> (__m512i, __m512i) {
    let even = _mm512_mul_epu32(a, m);
    let odd = _mm512_mul_epu32(_mm512_srli_epi64::<32>(a), m);
    // High halves: dword 2i+1 of `even` for even lanes, dword 2i+1 of `odd` for odd lanes.
    let idx = _mm512_setr_epi32(1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
    let hi = _mm512_permutex2var_epi32(even, idx, odd);
    (hi, _mm512_mullo_epi32(a, m))
}

/// Three-way XOR in one instruction.
#[inline]
#[target_feature(enable = "avx512f")]
fn xor3(a: __m512i, b: __m512i, c: __m512i) -> __m512i {
    _mm512_ternarylogic_epi32::<0x96>(a, b, c)
}

/// Groups of 16 blocks processed side by side: independent dependency chains
/// that keep the multipliers busy while one group waits on a result.
const GROUPS: usize = 4;

/// The counter words (c0, c1) of the 16 blocks `block .. block + 16`.
#[inline]
#[target_feature(enable = "avx512f")]
fn counters(block: u64, iota: __m512i) -> (__m512i, __m512i) {
    let base_lo = _mm512_set1_epi32(block as u32 as i32);
    let base_hi = _mm512_set1_epi32((block >> 32) as u32 as i32);
    let lo = _mm512_add_epi32(base_lo, iota);
    // Lanes whose low word wrapped carry into the high word.
    let carry = _mm512_cmplt_epu32_mask(lo, base_lo);
    let hi = _mm512_mask_add_epi32(base_hi, carry, base_hi, _mm512_set1_epi32(1));
    (lo, hi)
}

/// See [`super::portable::keep_bits`]; identical output.
#[target_feature(enable = "avx512f,bmi2")]
pub(crate) fn keep_bits(key: MaskKey, t: u32, first_word: u64, out: &mut [u64]) {
    let [k0, k1] = key.philox_key();
    let m0 = _mm512_set1_epi32(M0 as i32);
    let m1 = _mm512_set1_epi32(M1 as i32);
    let w0 = _mm512_set1_epi32(W0 as i32);
    let w1 = _mm512_set1_epi32(W1 as i32);
    let iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let stream = _mm512_set1_epi32(key.stream as i32);
    let step = _mm512_set1_epi32(key.step as i32);
    let tv = _mm512_set1_epi32(t as i32);
    let mut chunks = out.chunks_exact_mut(GROUPS);
    let mut word = first_word;
    for ws in chunks.by_ref() {
        let mut c = [[_mm512_setzero_si512(); 4]; GROUPS];
        for (g, cg) in c.iter_mut().enumerate() {
            let (lo, hi) = counters((word + g as u64) * 16, iota);
            *cg = [lo, hi, stream, step];
        }
        let mut rk0 = _mm512_set1_epi32(k0 as i32);
        let mut rk1 = _mm512_set1_epi32(k1 as i32);
        for r in 0..ROUNDS {
            if r > 0 {
                rk0 = _mm512_add_epi32(rk0, w0);
                rk1 = _mm512_add_epi32(rk1, w1);
            }
            for cg in c.iter_mut() {
                let (hi0, lo0) = mulhilo(cg[0], m0);
                let (hi1, lo1) = mulhilo(cg[2], m1);
                *cg = [xor3(hi1, cg[1], rk0), lo1, xor3(hi0, cg[3], rk1), lo0];
            }
        }
        for (w, cg) in ws.iter_mut().zip(&c) {
            *w = interleave(cg, tv);
        }
        word += GROUPS as u64;
    }
    for w in chunks.into_remainder() {
        let (lo, hi) = counters(word * 16, iota);
        let mut cg = [lo, hi, stream, step];
        let mut rk0 = _mm512_set1_epi32(k0 as i32);
        let mut rk1 = _mm512_set1_epi32(k1 as i32);
        for r in 0..ROUNDS {
            if r > 0 {
                rk0 = _mm512_add_epi32(rk0, w0);
                rk1 = _mm512_add_epi32(rk1, w1);
            }
            let (hi0, lo0) = mulhilo(cg[0], m0);
            let (hi1, lo1) = mulhilo(cg[2], m1);
            cg = [xor3(hi1, cg[1], rk0), lo1, xor3(hi0, cg[3], rk1), lo0];
        }
        *w = interleave(&cg, tv);
        word += 1;
    }
}

/// The 64 keep bits of 16 blocks: bit `4k + w` = (word w of block k ≥ t).
#[inline]
#[target_feature(enable = "avx512f,bmi2")]
fn interleave(c: &[__m512i; 4], tv: __m512i) -> u64 {
    const SPREAD: [u64; 4] = [
        0x1111_1111_1111_1111,
        0x2222_2222_2222_2222,
        0x4444_4444_4444_4444,
        0x8888_8888_8888_8888,
    ];
    let mut acc = 0;
    for (cw, spread) in c.iter().zip(SPREAD) {
        acc |= _pdep_u64(u64::from(_mm512_cmpge_epu32_mask(*cw, tv)), spread);
    }
    acc
}

/// The 16 keep bits of elements `i .. i+16` (`i` a multiple of 16).
#[inline(always)]
fn mask16(bits: &[u64], i: usize) -> u16 {
    (bits[i / 64] >> (i % 64)) as u16
}

/// Low `r` bits set (`r < 16`).
#[inline(always)]
fn tail_mask(r: usize) -> u16 {
    ((1u32 << r) - 1) as u16
}

/// See [`super::portable::scale`].
///
/// # Safety
/// As the portable version; AVX-512F must be available.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn scale(x: *const f32, y: *mut f32, n: usize, bits: &[u64], s: f32) {
    let sv = _mm512_set1_ps(s);
    let mut i = 0;
    while i + 16 <= n {
        let v = _mm512_loadu_ps(x.add(i));
        _mm512_storeu_ps(y.add(i), _mm512_maskz_mul_ps(mask16(bits, i), v, sv));
        i += 16;
    }
    if i < n {
        let tm = tail_mask(n - i);
        let v = _mm512_maskz_loadu_ps(tm, x.add(i));
        let r = _mm512_maskz_mul_ps(mask16(bits, i) & tm, v, sv);
        _mm512_mask_storeu_ps(y.add(i), tm, r);
    }
}

/// See [`super::portable::affine`].
///
/// # Safety
/// As the portable version; AVX-512F must be available.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn affine(
    x: *const f32,
    y: *mut f32,
    n: usize,
    bits: &[u64],
    s: f32,
    a: f32,
    f: f32,
) {
    let (sv, av, fv) = (_mm512_set1_ps(s), _mm512_set1_ps(a), _mm512_set1_ps(f));
    let mut i = 0;
    while i + 16 <= n {
        let r = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(x.add(i)), sv), av);
        _mm512_storeu_ps(y.add(i), _mm512_mask_blend_ps(mask16(bits, i), fv, r));
        i += 16;
    }
    if i < n {
        let tm = tail_mask(n - i);
        let r = _mm512_add_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(tm, x.add(i)), sv), av);
        _mm512_mask_storeu_ps(y.add(i), tm, _mm512_mask_blend_ps(mask16(bits, i), fv, r));
    }
}

/// See [`super::portable::bias_act`].
///
/// # Safety
/// As the portable version; AVX-512F must be available.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn bias_act(
    x: *const f32,
    b: *const f32,
    y: *mut f32,
    n: usize,
    bits: &[u64],
    s: f32,
    relu: bool,
) {
    let sv = _mm512_set1_ps(s);
    let zero = _mm512_setzero_ps();
    let mut i = 0;
    while i < n {
        let tm = if i + 16 <= n {
            u16::MAX
        } else {
            tail_mask(n - i)
        };
        let z = _mm512_add_ps(
            _mm512_maskz_loadu_ps(tm, x.add(i)),
            _mm512_maskz_loadu_ps(tm, b.add(i)),
        );
        // max_ps(z, 0) = z > 0 ? z : 0 — NaN and -0 give +0, as the portable code.
        let a = if relu { _mm512_max_ps(z, zero) } else { z };
        let r = _mm512_maskz_mul_ps(mask16(bits, i) & tm, a, sv);
        _mm512_mask_storeu_ps(y.add(i), tm, r);
        i += 16;
    }
}

/// See [`super::portable::residual`].
///
/// # Safety
/// As the portable version; AVX-512F must be available.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn residual(
    x: *const f32,
    b: *const f32,
    r: *const f32,
    y: *mut f32,
    n: usize,
    bits: &[u64],
    s: f32,
) {
    let sv = _mm512_set1_ps(s);
    let mut i = 0;
    while i < n {
        let tm = if i + 16 <= n {
            u16::MAX
        } else {
            tail_mask(n - i)
        };
        let z = _mm512_add_ps(
            _mm512_maskz_loadu_ps(tm, x.add(i)),
            _mm512_maskz_loadu_ps(tm, b.add(i)),
        );
        let d = _mm512_maskz_mul_ps(mask16(bits, i) & tm, z, sv);
        let out = _mm512_add_ps(_mm512_maskz_loadu_ps(tm, r.add(i)), d);
        _mm512_mask_storeu_ps(y.add(i), tm, out);
        i += 16;
    }
}

/// See [`super::portable::grad`].
///
/// # Safety
/// As the portable version; AVX-512F must be available.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f")]
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
    let sv = _mm512_set1_ps(s);
    let zero = _mm512_setzero_ps();
    let mut i = 0;
    while i < n {
        let tm = if i + 16 <= n {
            u16::MAX
        } else {
            tail_mask(n - i)
        };
        let mut k = mask16(bits, i) & tm;
        if relu {
            k &= _mm512_cmp_ps_mask::<_CMP_GT_OQ>(_mm512_maskz_loadu_ps(tm, y.add(i)), zero);
        }
        let g = _mm512_maskz_mul_ps(k, _mm512_maskz_loadu_ps(tm, dy.add(i)), sv);
        _mm512_mask_storeu_ps(dz.add(i), tm, g);
        let acc = _mm512_add_ps(_mm512_maskz_loadu_ps(tm, db.add(i)), g);
        _mm512_mask_storeu_ps(db.add(i), tm, acc);
        i += 16;
    }
}

/// See [`super::portable::uniform`].
///
/// # Safety
/// As the portable version; AVX-512F must be available.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn uniform(x: *const f32, y: *mut f32, n: usize, kept: bool, s: f32) {
    let sv = _mm512_set1_ps(s);
    let k = if kept { u16::MAX } else { 0 };
    let mut i = 0;
    while i < n {
        let tm = if i + 16 <= n {
            u16::MAX
        } else {
            tail_mask(n - i)
        };
        let r = _mm512_maskz_mul_ps(k & tm, _mm512_maskz_loadu_ps(tm, x.add(i)), sv);
        _mm512_mask_storeu_ps(y.add(i), tm, r);
        i += 16;
    }
}

/// The Philox words of the 64 blocks `block .. block + 64`, word-major:
/// `out[w][k]` = word `w` of block `block + k` (the layout of [`crate::normal`]).
#[target_feature(enable = "avx512f")]
pub(crate) fn words64(key: MaskKey, block: u64, out: &mut [[u32; 64]; 4]) {
    let [k0, k1] = key.philox_key();
    let (m0, m1) = (_mm512_set1_epi32(M0 as i32), _mm512_set1_epi32(M1 as i32));
    let (w0, w1) = (_mm512_set1_epi32(W0 as i32), _mm512_set1_epi32(W1 as i32));
    let iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let (stream, step) = (
        _mm512_set1_epi32(key.stream as i32),
        _mm512_set1_epi32(key.step as i32),
    );
    let mut c = [[_mm512_setzero_si512(); 4]; GROUPS];
    for (g, cg) in c.iter_mut().enumerate() {
        let (lo, hi) = counters(block + 16 * g as u64, iota);
        *cg = [lo, hi, stream, step];
    }
    let mut rk0 = _mm512_set1_epi32(k0 as i32);
    let mut rk1 = _mm512_set1_epi32(k1 as i32);
    for r in 0..ROUNDS {
        if r > 0 {
            rk0 = _mm512_add_epi32(rk0, w0);
            rk1 = _mm512_add_epi32(rk1, w1);
        }
        for cg in c.iter_mut() {
            let (hi0, lo0) = mulhilo(cg[0], m0);
            let (hi1, lo1) = mulhilo(cg[2], m1);
            *cg = [xor3(hi1, cg[1], rk0), lo1, xor3(hi0, cg[3], rk1), lo0];
        }
    }
    for (g, cg) in c.iter().enumerate() {
        for (w, v) in cg.iter().enumerate() {
            // SAFETY: out[w][16g .. 16g + 16] is in bounds (g < 4).
            unsafe { _mm512_storeu_si512(out[w][16 * g..].as_mut_ptr().cast(), *v) };
        }
    }
}

//! Portable (scalar) backend: the same bit-level contract as the SIMD
//! backends, written as plain loops. Used on CPUs without AVX-512 and as a
//! second implementation to test the SIMD code against.
//!
//! Keep bits: bit `i` of `bits` (word `i / 64`, bit `i mod 64`) is 1 iff
//! element `i` of the tile is kept. Every op reads element `i` before it
//! writes element `i`, so an output pointer may equal an input pointer
//! (in-place use); no other overlap is allowed.

use crate::philox::MaskKey;

#[inline(always)]
fn keep(bits: &[u64], i: usize) -> bool {
    (bits[i / 64] >> (i % 64)) & 1 == 1
}

/// Keep bits of elements `64·first_word ..`: `out[w]` covers blocks
/// `16·(first_word + w) .. +16`, i.e. 64 elements, bit `4k + w'` = word `w'`
/// of block `k`.
pub(crate) fn keep_bits(key: MaskKey, t: u32, first_word: u64, out: &mut [u64]) {
    for (w, word) in out.iter_mut().enumerate() {
        let first_block = (first_word + w as u64) * 16;
        let mut acc = 0u64;
        for k in 0..16u64 {
            let r = key.block(first_block + k);
            for (lane, &rw) in r.iter().enumerate() {
                acc |= u64::from(rw >= t) << (4 * k + lane as u64);
            }
        }
        *word = acc;
    }
}

/// `y_i = keep_i ? x_i · s : 0`.
///
/// # Safety
/// `x` readable and `y` writable for `n` elements; `bits` holds ≥ n bits.
pub(crate) unsafe fn scale(x: *const f32, y: *mut f32, n: usize, bits: &[u64], s: f32) {
    for i in 0..n {
        let v = *x.add(i);
        *y.add(i) = if keep(bits, i) { v * s } else { 0.0 };
    }
}

/// `y_i = keep_i ? x_i · s + a : f` (the product rounded, then the sum: no FMA).
///
/// # Safety
/// As [`scale`].
pub(crate) unsafe fn affine(
    x: *const f32,
    y: *mut f32,
    n: usize,
    bits: &[u64],
    s: f32,
    a: f32,
    f: f32,
) {
    for i in 0..n {
        let v = *x.add(i);
        *y.add(i) = if keep(bits, i) { v * s + a } else { f };
    }
}

/// `y_i = keep_i ? act(x_i + b_i) · s : 0`, act = ReLU if `relu` else identity.
///
/// # Safety
/// As [`scale`], plus `b` readable for `n` elements.
pub(crate) unsafe fn bias_act(
    x: *const f32,
    b: *const f32,
    y: *mut f32,
    n: usize,
    bits: &[u64],
    s: f32,
    relu: bool,
) {
    for i in 0..n {
        let z = *x.add(i) + *b.add(i);
        let a = if relu {
            if z > 0.0 {
                z
            } else {
                0.0
            }
        } else {
            z
        };
        *y.add(i) = if keep(bits, i) { a * s } else { 0.0 };
    }
}

/// `y_i = r_i + (keep_i ? (x_i + b_i) · s : 0)`.
///
/// # Safety
/// As [`bias_act`], plus `r` readable for `n` elements.
pub(crate) unsafe fn residual(
    x: *const f32,
    b: *const f32,
    r: *const f32,
    y: *mut f32,
    n: usize,
    bits: &[u64],
    s: f32,
) {
    for i in 0..n {
        let d = if keep(bits, i) {
            (*x.add(i) + *b.add(i)) * s
        } else {
            0.0
        };
        *y.add(i) = *r.add(i) + d;
    }
}

/// `dz_i = keep_i ∧ (¬relu ∨ y_i > 0) ? dy_i · s : 0`, then `db_i += dz_i`.
///
/// # Safety
/// `y`, `dy` readable, `dz`, `db` writable for `n` elements.
#[allow(clippy::too_many_arguments)]
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
    for i in 0..n {
        let pass = keep(bits, i) && (!relu || *y.add(i) > 0.0);
        let g = if pass { *dy.add(i) * s } else { 0.0 };
        *dz.add(i) = g;
        *db.add(i) += g;
    }
}

/// `y_i = x_i · m`, `m` already 0 or s for a run sharing one mask bit.
///
/// # Safety
/// `x` readable, `y` writable for `n` elements.
pub(crate) unsafe fn uniform(x: *const f32, y: *mut f32, n: usize, kept: bool, s: f32) {
    for i in 0..n {
        *y.add(i) = if kept { *x.add(i) * s } else { 0.0 };
    }
}

/// The Philox words of the 64 blocks `block .. block + 64`, word-major:
/// `out[w][k]` = word `w` of block `block + k`.
pub(crate) fn words64(key: MaskKey, block: u64, out: &mut [[u32; 64]; 4]) {
    for k in 0..64 {
        let r = key.block(block + k as u64);
        for (w, o) in out.iter_mut().enumerate() {
            o[k] = r[w];
        }
    }
}

//! f32 logarithm and exponential written with IEEE-exact operations only
//! (+, −, ×, ÷, conversions, bit moves) in a fixed order, so a scalar call
//! and the same code vectorised for AVX2 or AVX-512 give the same bits —
//! unlike a libm call, which the vectoriser cannot use and whose last bit may
//! differ between libraries.
//!
//! ```text
//! ln x  (x > 0 normal):  x = m · 2^E, m ∈ [√½, √2);  ln x = E ln 2 + 2 atanh s,  s = (m − 1)/(m + 1),
//!                        2 atanh s ≈ 2s (1 + s²/3 + s⁴/5 + s⁶/7 + s⁸/9)        (|s| ≤ 0.172)
//! exp y (y clamped to [−87, 87]):  k = round(y / ln 2),  r = (y − k ln2_hi) − k ln2_lo ∈ [−0.35, 0.35],
//!                        e^r ≈ Σ_{i ≤ 7} r^i / i!,   exp y = e^r · 2^k           (2^k built from k + 1.5·2²³'s bits)
//! ```
//! Relative errors stay within a few f32 ulps (tested against f64).

const LN_2: f32 = std::f32::consts::LN_2;
const SQRT_2: f32 = std::f32::consts::SQRT_2;
/// ln 2 = LN2_HI + LN2_LO, LN2_HI with 9 significant bits so k · LN2_HI is
/// exact for |k| < 2^15 (the Cephes split).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;

/// ln x for positive normal x.
#[inline(always)]
pub fn ln(x: f32) -> f32 {
    let bits = x.to_bits();
    let big = f32::from_bits((bits & 0x007F_FFFF) | 0x3F80_0000) > SQRT_2;
    let m = f32::from_bits((bits & 0x007F_FFFF) | if big { 0x3F00_0000 } else { 0x3F80_0000 });
    let e = ((bits >> 23) as i32 - 127) + i32::from(big);
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let series = 1.0 + s2 * (1.0 / 3.0 + s2 * (0.2 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0))));
    e as f32 * LN_2 + 2.0 * s * series
}

/// exp y, with y clamped to [−87, 87] (no overflow, no subnormals).
#[inline(always)]
pub fn exp(y: f32) -> f32 {
    let y = y.clamp(-87.0, 87.0);
    let kf = (y * std::f32::consts::LOG2_E + 0.5).floor();
    let r = (y - kf * LN2_HI) - kf * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    p * pow2(kf)
}

/// 2^k for an integral `k` in [−126, 127], from its bits: `k + 1.5·2²³` is
/// exact and holds `k` in its low mantissa bits (two's complement), so no
/// float-to-int conversion is needed (the vectoriser would split one into
/// lanes).
#[inline(always)]
fn pow2(k: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 · 2^23, bits 0x4B40_0000
    f32::from_bits((k + MAGIC).to_bits().wrapping_sub(0x4B40_0000 - 127) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f32, b: f64) -> f64 {
        ((f64::from(a) - b) / b).abs() / f64::from(f32::EPSILON)
    }

    #[test]
    fn pow2_is_exact_over_its_range() {
        for k in -126..=127 {
            assert_eq!(pow2(k as f32), 2f32.powi(k), "2^{k}");
        }
    }

    #[test]
    fn ln_and_exp_agree_with_f64_within_a_few_ulps() {
        let mut worst = (0f64, 0f64);
        let mut x = 1e-30f32;
        while x < 1e30 {
            if (x - 1.0).abs() > 1e-3 {
                worst.0 = worst.0.max(ulps(ln(x), f64::from(x).ln()));
            }
            x *= 1.000_37;
        }
        let mut y = -87.0f32;
        while y < 87.0 {
            worst.1 = worst.1.max(ulps(exp(y), f64::from(y).exp()));
            y += 0.001_3;
        }
        assert!(
            worst.0 < 4.0 && worst.1 < 4.0,
            "worst ulps: ln {} exp {}",
            worst.0,
            worst.1
        );
        assert_eq!(exp(-1000.0), exp(-87.0));
        assert!(exp(1000.0).is_finite());
        assert_eq!(ln(1.0), 0.0);
    }
}

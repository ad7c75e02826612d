//! Statistical properties of the masks, with explicit bounds at 99.9 %
//! (two-sided z = 3.2905) and fixed seeds:
//!
//! * keep rate of n ≥ 2^21 elements inside the binomial interval
//!   `n(1-p) ± z·sqrt(n p (1-p))`;
//! * `E[h'] = h`: the mean of `y − x` inside the CLT bound
//!   `z · sqrt(Σ x² · p/(1-p)) / n` (Var(y_e) = x_e² p/(1-p) for inverted dropout);
//! * masks of different steps, streams and seeds, and neighbouring elements of
//!   one mask, uncorrelated: `|r| ≤ z / sqrt(n)` for the Pearson correlation of
//!   the keep indicators.

mod common;

use common::SplitMix;
use dropout::{Dropout, MaskKey, Mode};

const Z999: f64 = 3.2905;
const N: usize = 1 << 21;

fn keep_vec(d: &Dropout, key: MaskKey, n: usize) -> Vec<bool> {
    d.mask(key, Mode::Train, n).unpack()
}

#[test]
fn keep_rate_is_binomial() {
    for (i, p) in [0.1f32, 0.3, 0.5, 0.9].into_iter().enumerate() {
        let d = Dropout::new(p).unwrap();
        for seed in [1u64, 0xdead_beef] {
            let key = MaskKey::new(seed, i as u32, 5);
            let kept = d.mask(key, Mode::Train, N).kept() as f64;
            let (n, q) = (N as f64, 1.0 - f64::from(p));
            let bound = Z999 * (n * q * (1.0 - q)).sqrt();
            assert!(
                (kept - n * q).abs() <= bound,
                "p={p} seed={seed}: kept {kept}, expected {} ± {bound:.0}",
                n * q
            );
        }
    }
}

#[test]
fn mean_of_output_is_input() {
    let x = SplitMix(9)
        .vec(N)
        .into_iter()
        .map(|v| v + 3.0)
        .collect::<Vec<_>>(); // in [1, 5)
    for p in [0.1f32, 0.3, 0.5, 0.9] {
        let d = Dropout::new(p).unwrap();
        let mut y = vec![0.0; N];
        d.forward(MaskKey::new(77, 2, 3), Mode::Train, &x, &mut y)
            .unwrap();
        let diff: f64 = y
            .iter()
            .zip(&x)
            .map(|(&a, &b)| f64::from(a) - f64::from(b))
            .sum();
        let sum_sq: f64 = x.iter().map(|&v| f64::from(v).powi(2)).sum();
        let pf = f64::from(p);
        let bound = Z999 * (sum_sq * pf / (1.0 - pf)).sqrt() / N as f64;
        let mean = diff / N as f64;
        assert!(
            mean.abs() <= bound,
            "p={p}: mean(y - x) = {mean:e}, bound {bound:e}"
        );
    }
}

/// Pearson correlation of two indicator vectors.
fn corr(a: &[bool], b: &[bool]) -> f64 {
    let n = a.len() as f64;
    let (mut sa, mut sb, mut sab) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(u8::from(x)), f64::from(u8::from(y)));
        sa += x;
        sb += y;
        sab += x * y;
    }
    let (ma, mb) = (sa / n, sb / n);
    (sab / n - ma * mb) / (ma * (1.0 - ma) * mb * (1.0 - mb)).sqrt()
}

#[test]
fn different_keys_give_uncorrelated_masks() {
    let d = Dropout::new(0.5).unwrap();
    let base = MaskKey::new(1234, 0, 0);
    let a = keep_vec(&d, base, N);
    let bound = Z999 / (N as f64).sqrt();
    for other in [
        MaskKey { step: 1, ..base },
        MaskKey {
            step: 1 << 31,
            ..base
        },
        MaskKey { stream: 1, ..base },
        MaskKey { seed: 1235, ..base },
        MaskKey {
            seed: 1234 + (1 << 32),
            ..base
        },
    ] {
        let b = keep_vec(&d, other, N);
        assert_ne!(a, b, "{other:?} gave the same mask");
        let r = corr(&a, &b);
        assert!(
            r.abs() <= bound,
            "{other:?}: correlation {r:.2e} > {bound:.2e}"
        );
        // Agreement of two independent masks: p² + (1-p)² = 0.5.
        let agree = a.iter().zip(&b).filter(|(x, y)| x == y).count() as f64 / N as f64;
        assert!(
            (agree - 0.5).abs() <= Z999 * (0.25 / N as f64).sqrt(),
            "agreement {agree}"
        );
    }
}

#[test]
fn neighbouring_elements_are_uncorrelated() {
    let d = Dropout::new(0.3).unwrap();
    let a = keep_vec(&d, MaskKey::new(5, 6, 7), N + 64);
    for lag in [1usize, 2, 3, 4, 16, 64] {
        let r = corr(&a[..N], &a[lag..lag + N]);
        // 12 lags tested below z: a looser bound per lag keeps the family at 99.9 %.
        let bound = 4.0 / (N as f64).sqrt();
        assert!(r.abs() <= bound, "lag {lag}: correlation {r:.2e}");
    }
}

//! Concrete dropout: equal to the reference (y and dx bit for bit, ∂L/∂p to
//! 1e-12 relative: the fast path sums in chunks), the same on 1 and 2
//! threads (∂L/∂p too); P(z > ½) = p exactly in law, seen within 5 SE; the
//! analytic ∂L/∂p and ∂R/∂p against central differences; eval = identity;
//! typed errors for τ ≤ 0 and p ∉ (0, 1).

mod common;

use common::{assert_bits_eq, SplitMix};
use dropout::concrete::{logit, regulariser, relaxed};
use dropout::{reference, ConcreteDropout, DropoutError, MaskKey, Mode};

const KEY: MaskKey = MaskKey::new(3, 1, 4);

#[test]
fn equals_the_reference_and_is_thread_independent() {
    let d = ConcreteDropout::new(0.1).unwrap();
    for n in [0usize, 1, 17, 70_001] {
        let x = SplitMix(n as u64).vec(n);
        let dy = SplitMix(n as u64 + 9).vec(n);
        for (p, off) in [(0.1f32, 0u64), (0.5, 33), (0.9, 1 << 20)] {
            let mut y = vec![0.0; n];
            d.forward_at(KEY, Mode::Train, off, p, &x, &mut y).unwrap();
            assert_bits_eq(
                &y,
                &reference::concrete_forward_at(&d, KEY, off, p, &x),
                "forward",
            );
            let mut dx = vec![0.0; n];
            let dp = d
                .backward_at(KEY, Mode::Train, off, p, &x, &dy, &mut dx)
                .unwrap();
            let (rdx, rdp) = reference::concrete_backward_at(&d, KEY, off, p, &x, &dy);
            assert_bits_eq(&dx, &rdx, "backward dx");
            assert!(
                (dp - rdp).abs() <= 1e-12 * rdp.abs().max(1.0),
                "dp {dp} vs {rdp}"
            );
        }
    }
    let n = 200_003;
    let (x, dy) = (SplitMix(1).vec(n), SplitMix(2).vec(n));
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut dx = vec![0.0; n];
            let dp = d
                .backward_at(KEY, Mode::Train, 0, 0.3, &x, &dy, &mut dx)
                .unwrap();
            (dx, dp.to_bits())
        })
    };
    let (a, b) = (run(1), run(2));
    assert_bits_eq(&a.0, &b.0, "dx on 1 vs 2 threads");
    assert_eq!(a.1, b.1, "∂L/∂p on 1 vs 2 threads");
}

#[test]
fn relaxed_mask_drops_at_rate_p() {
    let n = 400_000u64;
    for p in [0.1f32, 0.5] {
        let dropped = (0..n)
            .filter(|&e| relaxed(KEY, e, logit(p), 0.1) > 0.5)
            .count() as f64
            / n as f64;
        let se = (f64::from(p) * (1.0 - f64::from(p)) / n as f64).sqrt();
        assert!(
            (dropped - f64::from(p)).abs() < 5.0 * se,
            "p {p}: {dropped}"
        );
    }
}

#[test]
fn gradient_in_p_matches_central_differences() {
    // τ = 0.5: at τ = 0.1 an indicator near ½ is so steep in p that a central
    // difference with h = 1e-3 is off by more than the tolerance (third
    // derivative ~ (τ p (1 − p))⁻³).
    let d = ConcreteDropout::new(0.5).unwrap();
    let n = 64;
    let (x, c) = (SplitMix(5).vec(n), SplitMix(6).vec(n));
    let loss = |p: f32| -> f64 {
        let mut y = vec![0.0; n];
        d.forward_at(KEY, Mode::Train, 0, p, &x, &mut y).unwrap();
        y.iter().zip(&c).map(|(a, b)| f64::from(a * b)).sum()
    };
    for p in [0.2f32, 0.5] {
        let mut dx = vec![0.0; n];
        let dp = d
            .backward_at(KEY, Mode::Train, 0, p, &x, &c, &mut dx)
            .unwrap();
        let h = 1e-3f32;
        let num = (loss(p + h) - loss(p - h)) / f64::from(2.0 * h);
        assert!(
            (dp - num).abs() <= 2e-3 + 3e-2 * dp.abs().max(num.abs()),
            "p {p}: {dp} vs {num}"
        );
    }
    // The regulariser's ∂R/∂p.
    let r = |p: f32| regulariser(p, 3.0, 10, 1e-3, 2e-2).0;
    let (_, dp, dw) = regulariser(0.3, 3.0, 10, 1e-3, 2e-2);
    let num = (r(0.301) - r(0.299)) / 0.002;
    assert!(
        (dp - num).abs() < 1e-3 * dp.abs().max(1e-3),
        "{dp} vs {num}"
    );
    assert!((dw - 2.0 * 1e-3 / 0.7).abs() < 1e-9, "{dw}");
}

#[test]
fn eval_is_identity_and_bad_settings_are_errors() {
    let d = ConcreteDropout::new(0.1).unwrap();
    let x = SplitMix(3).vec(10);
    let mut y = vec![0.0; 10];
    d.forward_at(KEY, Mode::Eval, 0, 0.4, &x, &mut y).unwrap();
    assert_bits_eq(&y, &x, "eval");
    for tau in [0.0f32, -1.0, f32::NAN, f32::INFINITY] {
        assert!(
            matches!(
                ConcreteDropout::new(tau),
                Err(DropoutError::InvalidTemperature { .. })
            ),
            "{tau}"
        );
    }
    for p in [0.0f32, 1.0, f32::NAN] {
        let e = d
            .forward_at(KEY, Mode::Train, 0, p, &x, &mut y)
            .unwrap_err();
        assert!(matches!(e, DropoutError::OpenProbability { .. }), "{p}");
    }
}

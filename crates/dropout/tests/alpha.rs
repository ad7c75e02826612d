//! AlphaDropout and FeatureAlphaDropout: every backend equals the scalar
//! reference bit for bit (forward, backward, broadcast), the same on 1 and 2
//! threads; the statistical contract (mean 0, variance 1 kept for standard
//! normal input) within 5 standard errors; the special cases p = 0, p = 1, eval.

mod common;

use common::{assert_bits_eq, SplitMix, LENGTHS};
use dropout::{reference, AlphaDropout, Backend, MaskKey, Mode, SELU_SATURATION};

const PS: [f32; 5] = [0.0, 0.1, 0.5, 0.9, 1.0];

#[test]
fn every_backend_equals_the_reference() {
    let key = MaskKey::new(5, 2, 9);
    for backend in Backend::available() {
        for &p in &PS {
            let d = AlphaDropout::new(p).unwrap().with_backend(backend).unwrap();
            for &n in &LENGTHS {
                let x = SplitMix(n as u64).vec(n);
                for (mode, offset) in [(Mode::Train, 0), (Mode::Train, 37), (Mode::Eval, 0)] {
                    let (mut fast, mut slow) = (vec![0.0; n], vec![0.0; n]);
                    d.forward_at(key, mode, offset, &x, &mut fast).unwrap();
                    reference::alpha_forward_at(&d, key, mode, offset, &x, &mut slow).unwrap();
                    assert_bits_eq(
                        &fast,
                        &slow,
                        &format!("{} p {p} n {n} off {offset}", backend.name()),
                    );
                    if offset == 0 {
                        let mut inplace = x.clone();
                        d.forward_inplace(key, mode, &mut inplace);
                        assert_bits_eq(&inplace, &slow, "in place");
                    }
                }
                let (mut fast, mut slow) = (vec![0.0; n], vec![0.0; n]);
                d.backward(key, Mode::Train, &x, &mut fast).unwrap();
                reference::alpha_backward(&d, key, Mode::Train, &x, &mut slow).unwrap();
                assert_bits_eq(
                    &fast,
                    &slow,
                    &format!("backward {} p {p} n {n}", backend.name()),
                );
            }
            // FeatureAlphaDropout: whole channels, and a matched trailing run.
            for (shape, noise) in [
                ([3usize, 5, 7, 9], [3usize, 5, 1, 1]),
                ([2, 4, 3, 70], [2, 1, 3, 70]),
            ] {
                let n: usize = shape.iter().product();
                let x = SplitMix(3).vec(n);
                let (mut fast, mut slow) = (vec![0.0; n], vec![0.0; n]);
                d.forward_broadcast(key, Mode::Train, &shape, &noise, &x, &mut fast)
                    .unwrap();
                reference::alpha_forward_broadcast(
                    &d,
                    key,
                    Mode::Train,
                    &shape,
                    &noise,
                    &x,
                    &mut slow,
                )
                .unwrap();
                assert_bits_eq(
                    &fast,
                    &slow,
                    &format!("broadcast {} p {p} {shape:?}", backend.name()),
                );
            }
        }
    }
}

#[test]
fn same_output_on_one_and_two_threads() {
    let n = (1 << 20) + 3;
    let x = SplitMix(8).vec(n);
    let d = AlphaDropout::new(0.3).unwrap();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                let mut y = vec![0.0; n];
                d.forward(MaskKey::new(1, 0, 4), Mode::Train, &x, &mut y)
                    .unwrap();
                y
            })
    };
    assert_bits_eq(&run(1), &run(2), "1 vs 2 threads");
}

/// Standard normal samples (Box–Muller on the test generator).
fn normals(n: usize, seed: u64) -> Vec<f32> {
    let mut g = SplitMix(seed);
    let mut u = || ((g.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    (0..n)
        .map(|_| ((-2.0 * u().ln()).sqrt() * (std::f64::consts::TAU * u()).cos()) as f32)
        .collect()
}

#[test]
fn mean_zero_and_variance_one_are_kept() {
    let n = 2_000_000;
    let x = normals(n, 17);
    for p in [0.05f32, 0.1, 0.3, 0.5] {
        let d = AlphaDropout::new(p).unwrap();
        let mut y = vec![0.0; n];
        d.forward(MaskKey::new(3, 1, 0), Mode::Train, &x, &mut y)
            .unwrap();
        let nf = n as f64;
        let mean = y.iter().map(|&v| f64::from(v)).sum::<f64>() / nf;
        let m2 = y.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / nf;
        let m4 = y.iter().map(|&v| f64::from(v).powi(4)).sum::<f64>() / nf;
        // 5 standard errors: SE(mean) = sd/√n, SE(m2) = √((m4 − m2²)/n).
        let (se_mean, se_var) = ((m2 / nf).sqrt(), ((m4 - m2 * m2) / nf).sqrt());
        assert!(
            mean.abs() < 5.0 * se_mean,
            "p {p}: mean {mean} (SE {se_mean})"
        );
        let var = m2 - mean * mean;
        assert!(
            (var - 1.0).abs() < 5.0 * se_var,
            "p {p}: variance {var} (SE {se_var})"
        );
        // The sample itself is standard normal within the same bounds.
        let xm = x.iter().map(|&v| f64::from(v)).sum::<f64>() / nf;
        assert!(xm.abs() < 5.0 / nf.sqrt());
    }
}

#[test]
fn special_cases() {
    let x = vec![0.5f32, -1.0, 3.0, f32::NAN];
    let key = MaskKey::new(0, 0, 0);
    let mut y = vec![0.0; 4];
    AlphaDropout::new(1.0)
        .unwrap()
        .forward(key, Mode::Train, &x, &mut y)
        .unwrap();
    assert!(y.iter().all(|&v| v == SELU_SATURATION as f32), "{y:?}");
    AlphaDropout::new(1.0)
        .unwrap()
        .backward(key, Mode::Train, &x, &mut y)
        .unwrap();
    assert!(y.iter().all(|&v| v == 0.0));
    for (p, mode) in [(0.0, Mode::Train), (0.7, Mode::Eval)] {
        AlphaDropout::new(p)
            .unwrap()
            .forward(key, mode, &x, &mut y)
            .unwrap();
        assert_bits_eq(&y, &x, "identity");
    }
    assert!(AlphaDropout::new(-0.1).is_err() && AlphaDropout::new(f32::NAN).is_err());
    // The constants by hand at p = 0.5 (q = 1/2, α' = −1.7581): a = (1/2 + α'²/4)^(−1/2), b = −a α'/2.
    let (a, b, f) = AlphaDropout::new(0.5).unwrap().constants();
    let s = SELU_SATURATION;
    let want_a = (0.5 + s * s / 4.0).powf(-0.5);
    assert!((f64::from(a) - want_a).abs() < 1e-6 && (f64::from(b) + want_a * s / 2.0).abs() < 1e-6);
    assert!((f64::from(f) - (want_a * s - want_a * s / 2.0)).abs() < 1e-6);
    assert!((s + 1.758_099_340_847_376_6).abs() < 1e-12);
}

//! Gaussian dropout and Gaussian noise: every backend equals the scalar
//! reference bit for bit (forward at any offset, in place, backward, eval), the
//! same on 1 and 2 threads; the draws are standard normal (mean, variance,
//! Kolmogorov–Smirnov, neighbour correlation — each bound at ≥ 99.9 %
//! confidence for a correct generator); the statistical contract of each map;
//! typed errors for bad rates and deviations.

mod common;

use common::{assert_bits_eq, SplitMix, LENGTHS};
use dropout::{
    normal, reference, Backend, DropoutError, GaussianDropout, GaussianNoise, MaskKey, Mode,
};

#[test]
fn every_backend_equals_the_reference() {
    let key = MaskKey::new(11, 4, 6);
    for backend in Backend::available() {
        for p in [0.0f32, 0.1, 0.5, 0.9] {
            let d = GaussianDropout::new(p)
                .unwrap()
                .with_backend(backend)
                .unwrap();
            let g = GaussianNoise::new(p)
                .unwrap()
                .with_backend(backend)
                .unwrap();
            for &n in &LENGTHS {
                let x = SplitMix(n as u64).vec(n);
                for (mode, offset) in [(Mode::Train, 0), (Mode::Train, 37), (Mode::Eval, 0)] {
                    let what = format!("{} p {p} n {n} off {offset} {mode:?}", backend.name());
                    let (mut fast, mut slow) = (vec![0.0; n], vec![0.0; n]);
                    d.forward_at(key, mode, offset, &x, &mut fast).unwrap();
                    reference::gaussian_forward_at(&d, key, mode, offset, &x, &mut slow).unwrap();
                    assert_bits_eq(&fast, &slow, &format!("gaussian {what}"));
                    if offset == 0 {
                        let mut inplace = x.clone();
                        d.forward_inplace(key, mode, &mut inplace);
                        assert_bits_eq(&inplace, &slow, "gaussian in place");
                        let mut dx = vec![0.0; n];
                        d.backward(key, mode, &x, &mut dx).unwrap();
                        assert_bits_eq(&dx, &slow, "gaussian backward = the same map");
                    }
                    g.forward_at(key, mode, offset, &x, &mut fast).unwrap();
                    reference::noise_forward_at(&g, key, mode, offset, &x, &mut slow).unwrap();
                    assert_bits_eq(&fast, &slow, &format!("noise {what}"));
                    if offset == 0 {
                        let mut inplace = x.clone();
                        g.forward_inplace(key, mode, &mut inplace);
                        assert_bits_eq(&inplace, &slow, "noise in place");
                    }
                }
                if p == 0.0 {
                    let mut y = vec![0.0; n];
                    d.forward(key, Mode::Train, &x, &mut y).unwrap();
                    assert_bits_eq(&y, &x, "p = 0 is the identity");
                }
            }
        }
    }
}

#[test]
fn same_on_one_and_two_threads() {
    let n = 3_000_017;
    let x = SplitMix(1).vec(n);
    let d = GaussianDropout::new(0.3).unwrap();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut y = vec![0.0; n];
        pool.install(|| {
            d.forward(MaskKey::new(2, 0, 1), Mode::Train, &x, &mut y)
                .unwrap()
        });
        y
    };
    assert_bits_eq(&run(1), &run(2), "1 vs 2 threads");
}

/// Φ(x) by Simpson's rule on the density (2,000 steps: error far below 1e-9
/// for |x| ≤ 6, against the KS bound of 0.0076).
fn phi(x: f64) -> f64 {
    if x < 0.0 {
        return 1.0 - phi(-x);
    }
    let steps = 2000;
    let h = x / steps as f64;
    let f = |t: f64| (-0.5 * t * t).exp();
    let mut s = f(0.0) + f(x);
    for i in 1..steps {
        s += f(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    0.5 + s * h / 3.0 / (2.0 * std::f64::consts::PI).sqrt()
}

#[test]
fn draws_are_standard_normal() {
    let n = 1 << 20;
    let key = MaskKey::new(2024, 7, 3);
    let z: Vec<f64> = (0..n as u64)
        .map(|e| f64::from(normal::draw(key, e)))
        .collect();
    let nf = n as f64;
    let mean = z.iter().sum::<f64>() / nf;
    let var = z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (nf - 1.0);
    // 5 standard errors: SE(mean) = 1/√n, SE(var) = √(2/n).
    assert!(mean.abs() < 5.0 / nf.sqrt(), "mean {mean}");
    assert!(
        (var - 1.0).abs() < 5.0 * (2.0 / nf).sqrt(),
        "variance {var}"
    );
    // Kolmogorov–Smirnov on every 16th draw (n = 65,536): D < 1.95/√n at 99.9 %.
    let mut s: Vec<f64> = z.iter().step_by(16).copied().collect();
    s.sort_by(f64::total_cmp);
    let m = s.len() as f64;
    let d = s
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let c = phi(v);
            (c - i as f64 / m).abs().max(((i + 1) as f64 / m - c).abs())
        })
        .fold(0.0, f64::max);
    assert!(d < 1.95 / m.sqrt(), "KS D = {d}");
    // Neighbours (the two halves of a Box–Muller pair, and across pairs) uncorrelated.
    for lag in [1usize, 2, 4] {
        let r = z.windows(lag + 1).map(|w| w[0] * w[lag]).sum::<f64>() / nf;
        assert!(r.abs() < 5.0 / nf.sqrt(), "lag {lag} correlation {r}");
    }
    // Tails: P(|z| > 3) = 0.0026998.
    let tail = z.iter().filter(|v| v.abs() > 3.0).count() as f64 / nf;
    let se = (0.0027 * (1.0 - 0.0027) / nf).sqrt();
    assert!((tail - 0.002_699_8).abs() < 5.0 * se, "tail {tail}");
    assert!(z.iter().all(|v| v.abs() <= 5.78));
}

#[test]
fn gaussian_dropout_keeps_the_mean_with_dropout_variance() {
    let n = 1 << 20;
    let nf = n as f64;
    for p in [0.2f32, 0.5, 0.8] {
        let d = GaussianDropout::new(p).unwrap();
        let x = vec![2.0f32; n];
        let mut y = vec![0.0; n];
        d.forward(MaskKey::new(5, 1, 2), Mode::Train, &x, &mut y)
            .unwrap();
        let mean = y.iter().map(|&v| f64::from(v)).sum::<f64>() / nf;
        let var = y
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / (nf - 1.0);
        let want = 4.0 * f64::from(p) / (1.0 - f64::from(p));
        assert!(
            (mean - 2.0).abs() < 5.0 * (want / nf).sqrt(),
            "p {p}: mean {mean}"
        );
        // Var of a sample variance of a normal: 2σ⁴/(n − 1).
        assert!(
            (var - want).abs() < 5.0 * want * (2.0 / nf).sqrt(),
            "p {p}: var {var} want {want}"
        );
    }
}

#[test]
fn gaussian_noise_adds_sigma() {
    let n = 1 << 20;
    let nf = n as f64;
    let g = GaussianNoise::new(0.7).unwrap();
    let x = SplitMix(9).vec(n);
    let mut y = vec![0.0; n];
    g.forward(MaskKey::new(1, 1, 1), Mode::Train, &x, &mut y)
        .unwrap();
    let d: Vec<f64> = y.iter().zip(&x).map(|(&a, &b)| f64::from(a - b)).collect();
    let mean = d.iter().sum::<f64>() / nf;
    let var = d.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (nf - 1.0);
    assert!(mean.abs() < 5.0 * 0.7 / nf.sqrt(), "mean {mean}");
    assert!(
        (var - 0.49).abs() < 5.0 * 0.49 * (2.0 / nf).sqrt() + 1e-6,
        "var {var}"
    );
    let mut dx = vec![0.0; n];
    // The key and mode are taken (the family's uniform signature) and ignored.
    g.backward(MaskKey::new(1, 1, 1), Mode::Train, &x, &mut dx)
        .unwrap();
    assert_bits_eq(&dx, &x, "noise backward is the identity");
}

#[test]
fn bad_rates_and_deviations_are_typed_errors() {
    for p in [1.0f32, 1.5, -0.1, f32::NAN, f32::INFINITY] {
        let e = GaussianDropout::new(p).unwrap_err();
        assert!(matches!(e, DropoutError::GaussianRate { .. }), "{p}: {e}");
        assert!(e.to_string().contains("[0, 1)"));
    }
    for s in [-1.0f32, f32::NAN, f32::INFINITY] {
        let e = GaussianNoise::new(s).unwrap_err();
        assert!(matches!(e, DropoutError::InvalidStd { .. }), "{s}: {e}");
    }
    let d = GaussianDropout::new(0.5).unwrap();
    let e = d
        .forward(MaskKey::default(), Mode::Train, &[1.0; 3], &mut [0.0; 2])
        .unwrap_err();
    assert!(matches!(e, DropoutError::LengthMismatch { .. }));
    let e = GaussianNoise::new(1.0)
        .unwrap()
        .backward(MaskKey::default(), Mode::Train, &[1.0; 3], &mut [0.0; 4])
        .unwrap_err();
    assert!(matches!(e, DropoutError::LengthMismatch { .. }));
}

#[test]
fn broadcast_equals_the_reference_and_shares_draws() {
    let key = MaskKey::new(3, 2, 1);
    let d = GaussianDropout::new(0.4).unwrap();
    let g = GaussianNoise::new(0.5).unwrap();
    let cases: [(&[usize], &[usize]); 5] = [
        (&[3, 5, 4, 4], &[3, 5, 1, 1]),
        (&[6, 2, 7], &[1, 2, 7]),
        (&[4, 3, 10], &[4, 1, 10]),
        (&[2, 3], &[2, 3]),
        (&[], &[]),
    ];
    for (shape, noise) in cases {
        let n: usize = shape.iter().product();
        let x = SplitMix(n as u64 + 1).vec(n);
        for mode in [Mode::Train, Mode::Eval] {
            let (mut fast, mut slow) = (vec![0.0; n], vec![0.0; n]);
            d.forward_broadcast(key, mode, shape, noise, &x, &mut fast)
                .unwrap();
            reference::gaussian_forward_broadcast(&d, key, mode, shape, noise, &x, &mut slow)
                .unwrap();
            assert_bits_eq(
                &fast,
                &slow,
                &format!("gaussian {shape:?} {noise:?} {mode:?}"),
            );
            let mut dx = vec![0.0; n];
            d.backward_broadcast(key, mode, shape, noise, &x, &mut dx)
                .unwrap();
            assert_bits_eq(&dx, &slow, "gaussian broadcast backward");
            g.forward_broadcast(key, mode, shape, noise, &x, &mut fast)
                .unwrap();
            reference::noise_forward_broadcast(&g, key, mode, shape, noise, &x, &mut slow).unwrap();
            assert_bits_eq(&fast, &slow, &format!("noise {shape:?} {noise:?} {mode:?}"));
        }
    }
    // Whole channels share one factor.
    let x = vec![1.0f32; 3 * 5 * 16];
    let mut y = vec![0.0; x.len()];
    d.forward_broadcast(key, Mode::Train, &[3, 5, 4, 4], &[3, 5, 1, 1], &x, &mut y)
        .unwrap();
    for plane in y.chunks(16) {
        assert!(plane.iter().all(|&v| v == plane[0]));
    }
    let e = d
        .forward_broadcast(key, Mode::Train, &[2, 3], &[2, 2], &[0.0; 6], &mut [0.0; 6])
        .unwrap_err();
    assert!(matches!(e, DropoutError::BadNoiseShape { .. }), "{e}");
}

//! Attention-probability dropout and DropHead against the scalar reference:
//! the same mask bit for bit, values within f32 rounding of the f64 softmax.

use dropout::reference::{attention_dropout_backward, attention_dropout_forward, drophead_forward};
use dropout::{AttentionDropout, DropHead, MaskKey, Mode, Shape, Variant, VariantKind};

fn scores(t: usize, seed: u32) -> Vec<f32> {
    (0..t * t)
        .map(|i| {
            let w = MaskKey::new(u64::from(seed), 9, 0).word(i as u64);
            (w as f32 / u32::MAX as f32 - 0.5) * 6.0
        })
        .collect()
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= 2e-6 + 2e-6 * a.abs().max(b.abs())
}

#[test]
fn forward_and_backward_match_the_reference() {
    let key = MaskKey::new(0xA11CE, 3, 17);
    for &t in &[1usize, 3, 8, 13] {
        for &causal in &[false, true] {
            for &p in &[0.0f32, 0.1, 0.5, 1.0] {
                for &mode in &[Mode::Train, Mode::Eval] {
                    let d = AttentionDropout::new(p).unwrap();
                    let b = 5u64;
                    let s0 = scores(t, t as u32);
                    let (rp, ra) = attention_dropout_forward(&d, key, mode, b, t, causal, &s0);
                    let mut s = s0.clone();
                    let mut a = vec![9.0; t * t];
                    d.forward(key, mode, b, t, causal, &mut s, &mut a).unwrap();
                    for e in 0..t * t {
                        let what = format!("t {t} causal {causal} p {p} {mode:?} e {e}");
                        assert!(close(s[e], rp[e]), "P {what}: {} vs {}", s[e], rp[e]);
                        assert_eq!(a[e] == 0.0, ra[e] == 0.0, "mask {what}");
                        assert!(close(a[e], ra[e]), "A {what}: {} vs {}", a[e], ra[e]);
                    }
                    let mut again = vec![0.0; t * t];
                    d.mask(key, mode, b, &s, &mut again).unwrap();
                    assert_eq!(again, a, "A recomputed from P");
                    let da = scores(t, 100 + t as u32);
                    let want = attention_dropout_backward(&d, key, mode, b, t, &s, &da);
                    let mut g = da.clone();
                    d.backward(key, mode, b, t, &s, &mut g).unwrap();
                    for e in 0..t * t {
                        assert!(
                            (g[e] - want[e]).abs() <= 1e-5,
                            "dS t {t} causal {causal} p {p} e {e}: {} vs {}",
                            g[e],
                            want[e]
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn causal_and_bidirectional_draw_the_same_bits() {
    let (t, key, b) = (6, MaskKey::new(1, 2, 3), 4);
    let d = AttentionDropout::new(0.5).unwrap();
    let ones = vec![0.0f32; t * t];
    let (_, bi) = attention_dropout_forward(&d, key, Mode::Train, b, t, false, &ones);
    let (_, ca) = attention_dropout_forward(&d, key, Mode::Train, b, t, true, &ones);
    for i in 0..t {
        for j in 0..=i {
            assert_eq!(bi[i * t + j] == 0.0, ca[i * t + j] == 0.0, "({i}, {j})");
        }
    }
}

#[test]
fn rows_sum_to_one_before_dropout_and_in_expectation_after() {
    let (t, p) = (16, 0.3f32);
    let d = AttentionDropout::new(p).unwrap();
    let s0 = scores(t, 4);
    let mut mean = 0.0f64;
    let blocks = 2000u64;
    for b in 0..blocks {
        let mut s = s0.clone();
        let mut a = vec![0.0; t * t];
        d.forward(
            MaskKey::new(8, 0, 0),
            Mode::Train,
            b,
            t,
            false,
            &mut s,
            &mut a,
        )
        .unwrap();
        for row in s.chunks(t) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
        mean += a.iter().map(|&v| f64::from(v)).sum::<f64>() / t as f64;
    }
    mean /= blocks as f64;
    // Each row's dropped sum has mean 1; over 32,000 rows its sd is well under 0.01.
    assert!(
        (mean - 1.0).abs() < 0.02,
        "mean row sum after dropout {mean}"
    );
}

#[test]
fn drophead_matches_the_reference_and_drops_whole_heads() {
    let key = MaskKey::new(77, 1, 2);
    let dims = [3usize, 4, 5, 2];
    let n: usize = dims.iter().product();
    let x: Vec<f32> = (0..n).map(|i| i as f32 + 1.0).collect();
    for &p in &[0.0f32, 0.25, 0.5, 1.0] {
        let d = DropHead::new(p).unwrap();
        let (mut y, mut r) = (vec![0.0; n], vec![0.0; n]);
        d.forward(key, Mode::Train, &dims, &x, &mut y).unwrap();
        drophead_forward(&d, key, Mode::Train, &dims, &x, &mut r).unwrap();
        assert_eq!(y, r, "p {p}");
        let v = Variant::new(VariantKind::Head, p).unwrap();
        let mut z = vec![0.0; n];
        v.forward(key, Mode::Train, Shape::new(&dims), &x, &mut z)
            .unwrap();
        assert_eq!(z, y, "through the variant interface, p {p}");
        for (sample, chunk) in y.chunks(10).enumerate() {
            let (nn, h) = (sample / 4, sample % 4);
            let s = d.head_scale(key, Mode::Train, nn, 4, h);
            let xs = &x[sample * 10..sample * 10 + 10];
            for (yv, xv) in chunk.iter().zip(xs) {
                assert_eq!(*yv, xv * s, "head ({nn}, {h}) p {p}");
            }
        }
    }
    let d = DropHead::new(0.5).unwrap();
    let mut y = vec![0.0; 4];
    assert!(d.forward(key, Mode::Train, &[4], &x[..4], &mut y).is_err());
    let v = Variant::new(VariantKind::Head, 0.5).unwrap();
    let err = v
        .forward_at(key, Mode::Train, 0, &x[..4], &mut y)
        .unwrap_err()
        .to_string();
    assert!(err.contains("head of a sample"), "{err}");
}

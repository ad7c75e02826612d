//! `softmax_dropout` against the `dropout` crate's scalar reference: the
//! forward bit pattern and values, and the gradient candle's autograd gives
//! (through the op's backward) against the reference backward.

use candle_core::{Device, Tensor, Var};
use dropout::reference::{attention_dropout_backward, attention_dropout_forward};
use dropout::{AttentionDropout, MaskKey, Mode};
use dropout_candle::softmax_dropout;

fn ramp(n: usize, shift: f32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i as f32) * 0.37 + shift).sin() * 2.0)
        .collect()
}

#[test]
fn forward_and_autograd_match_the_reference() {
    let (n, h, t) = (2, 3, 6);
    let key = MaskKey::new(99, 4, 2);
    for causal in [false, true] {
        for p in [0.0f32, 0.3] {
            let s = ramp(n * h * t * t, 0.0);
            let c = ramp(n * h * t * t, 1.0);
            let var =
                Var::from_tensor(&Tensor::from_vec(s.clone(), (n, h, t, t), &Device::Cpu).unwrap())
                    .unwrap();
            let a = softmax_dropout(var.as_tensor(), p, key, causal, true).unwrap();
            let weights = Tensor::from_vec(c.clone(), (n, h, t, t), &Device::Cpu).unwrap();
            let loss = (&a * &weights).unwrap().sum_all().unwrap();
            let grads = loss.backward().unwrap();
            let ds = grads
                .get(&var)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let got = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let d = AttentionDropout::new(p).unwrap();
            for b in 0..n * h {
                let r = b * t * t..(b + 1) * t * t;
                let (pr, ar) = attention_dropout_forward(
                    &d,
                    key,
                    Mode::Train,
                    b as u64,
                    t,
                    causal,
                    &s[r.clone()],
                );
                for (e, (&x, &y)) in got[r.clone()].iter().zip(&ar).enumerate() {
                    assert_eq!(
                        x == 0.0,
                        y == 0.0,
                        "mask, causal {causal} p {p} block {b} e {e}"
                    );
                    assert!((x - y).abs() < 1e-6, "A, causal {causal} p {p}: {x} vs {y}");
                }
                let want = attention_dropout_backward(
                    &d,
                    key,
                    Mode::Train,
                    b as u64,
                    t,
                    &pr,
                    &c[r.clone()],
                );
                for (x, y) in ds[r].iter().zip(&want) {
                    assert!(
                        (x - y).abs() < 1e-5,
                        "dS, causal {causal} p {p}: {x} vs {y}"
                    );
                }
            }
            // Eval: the softmax alone.
            let e = softmax_dropout(var.as_tensor(), p, key, causal, false).unwrap();
            let sums = e
                .sum(3)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            assert!(sums.iter().all(|v| (v - 1.0).abs() < 1e-5));
        }
    }
    let bad = Tensor::zeros((2, 3, 4), candle_core::DType::F32, &Device::Cpu).unwrap();
    let e = softmax_dropout(&bad, 0.1, key, true, true)
        .unwrap_err()
        .to_string();
    assert!(e.contains("(…, T, T)"), "{e}");
}

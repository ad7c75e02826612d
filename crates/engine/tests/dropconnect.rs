//! DropConnect on a dense layer: in training the layer computes with
//! W' = mask ⊙ W / (1 − p), the mask being the `dropout` crate's keep rule
//! over the weight buffer at key (seed, stream | 2^31, step); the weight
//! gradient is zero exactly where a weight was dropped; eval uses W itself.

use dropout::{reference, Act, Dropout, MaskKey, Mode};
use engine::layer::{Ctx, Layer};
use engine::layers::dense::CONNECT_STREAM;
use engine::layers::Dense;
use engine::rng::Rng;
use engine::Tensor;

fn layer() -> Dense {
    let mut d = Dense::new(5, 4, Act::Identity, 0.0, 3)
        .unwrap()
        .with_dropconnect(0.5)
        .unwrap();
    let mut rng = Rng::new(2);
    d.w.iter_mut().for_each(|w| *w = rng.normal() as f32);
    d.b.iter_mut().for_each(|b| *b = rng.normal() as f32);
    d
}

#[test]
fn training_uses_the_masked_weights_and_eval_the_plain_ones() {
    let mut d = layer();
    let x = Tensor::from_vec((0..10).map(|i| i as f32 * 0.3 - 1.0).collect(), &[2, 5]);
    let ctx = Ctx::train(11, 7);
    let mask = reference::mask(
        &Dropout::new(0.5).unwrap(),
        MaskKey::new(11, 3 | CONNECT_STREAM, 7),
        Mode::Train,
        20,
    );
    assert!(mask.iter().any(|&k| k) && mask.iter().any(|&k| !k));
    let by_hand = |masked: bool| -> Vec<f32> {
        let mut y = vec![0.0f32; 8];
        for r in 0..2 {
            for o in 0..4 {
                let mut z = 0.0f64;
                for i in 0..5 {
                    let w = d.w[o * 5 + i];
                    let w = if !masked {
                        w
                    } else if mask[o * 5 + i] {
                        w * 2.0
                    } else {
                        0.0
                    };
                    z += f64::from(x.data[r * 5 + i]) * f64::from(w);
                }
                y[r * 4 + o] = (z + f64::from(d.b[o])) as f32;
            }
        }
        y
    };
    let (train_want, eval_want) = (by_hand(true), by_hand(false));
    d.forward(&x, &ctx);
    for (a, b) in d.output().data.iter().zip(&train_want) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
    let mut dy = Tensor::from_vec(vec![1.0; 8], &[2, 4]);
    d.backward(&x, &mut dy, &ctx, true);
    let mut gw = Vec::new();
    d.visit_params(&mut |p| {
        if p.name == "weight" {
            gw = p.grad.to_vec();
        }
    });
    for (j, &k) in mask.iter().enumerate() {
        assert_eq!(gw[j] == 0.0, !k, "weight {j}: kept {k}, gradient {}", gw[j]);
    }
    d.forward(&x, &Ctx::eval());
    for (a, b) in d.output().data.iter().zip(&eval_want) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}

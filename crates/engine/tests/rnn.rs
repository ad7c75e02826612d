//! The RNN's dropout masks: locked dropout uses one mask for every time step
//! (mask element n·D + d), naive dropout a new one per step (element
//! (t·N + n)·D + d). Seen through the last state with W_h = 0, W_x = I, b = 0:
//! h_T = tanh(m_T ⊙ x_T · s), so m_T must be step 0's mask (locked) or step
//! T − 1's (naive). Eval uses no mask.

use dropout::{Dropout, MaskKey, Mode};
use engine::layer::{Ctx, Layer};
use engine::layers::{Rnn, RnnDropout};
use engine::Tensor;

fn last_state(kind: RnnDropout, ctx: &Ctx) -> (Vec<f32>, usize, usize, usize) {
    let (n, t, d) = (3usize, 4usize, 6usize);
    let mut r = Rnn::new(d, d, 0.5, kind, 7).unwrap();
    for i in 0..d {
        r.w_x[i * d + i] = 1.0;
    }
    let x = Tensor {
        data: vec![0.5; n * t * d],
        shape: vec![n, t, d],
    };
    r.forward(&x, ctx);
    (r.output().data.clone(), n, t, d)
}

#[test]
fn locked_masks_are_shared_by_every_step_and_naive_ones_are_not() {
    let ctx = Ctx::train(11, 5);
    let rule = Dropout::new(0.5).unwrap();
    let key = MaskKey::new(11, 7, 5);
    for (kind, step) in [(RnnDropout::Locked, 0usize), (RnnDropout::Naive, 3)] {
        let (h, n, _, d) = last_state(kind, &ctx);
        let mut want = vec![0.5f32; n * d];
        rule.forward_at(
            key,
            Mode::Train,
            (step * n * d) as u64,
            &[0.5; 18],
            &mut want,
        )
        .unwrap();
        let want: Vec<f32> = want.iter().map(|v| v.tanh()).collect();
        assert_eq!(h, want, "{kind:?}");
    }
    let (a, ..) = last_state(RnnDropout::Locked, &ctx);
    let (b, ..) = last_state(RnnDropout::Naive, &ctx);
    assert_ne!(a, b, "step 3's mask differs from step 0's");
    let (e, ..) = last_state(RnnDropout::Naive, &Ctx::eval());
    assert!(e.iter().all(|&v| v == 0.5f32.tanh()), "eval: no mask");
}

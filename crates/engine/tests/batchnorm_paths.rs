//! BatchNorm's `(N, C)` fast path (rows vectorised across channels) gives
//! the same bits as its general `(N, C, H, W)` path: images `(N, C, 1, 2)`
//! against the same values as `(2N, C)` rows (row 2i + s = pixel s of image
//! i), which adds each channel's values in the same order. Outputs, running
//! statistics, parameter and input gradients, in training and in eval mode,
//! on 1 and 2 threads.

use engine::layer::{Ctx, Layer};
use engine::layers::BatchNorm;
use engine::rng::Rng;
use engine::Tensor;

const N: usize = 37;
const C: usize = 300;

/// `(N, C, 1, 2)` image layout → `(2N, C)` row layout.
fn to_rows(img: &[f32]) -> Vec<f32> {
    let mut rows = vec![0.0; img.len()];
    for i in 0..N {
        for ch in 0..C {
            for s in 0..2 {
                rows[(2 * i + s) * C + ch] = img[(i * C + ch) * 2 + s];
            }
        }
    }
    rows
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|v| v.to_bits()).collect()
}

/// Output and input gradient (in row layout), then gradients and buffers.
fn state(bn: &mut BatchNorm, image: bool) -> Vec<Vec<u32>> {
    let fix = |v: &[f32]| if image { to_rows(v) } else { v.to_vec() };
    let mut out = vec![bits(&fix(&bn.output().data))];
    out.push(bits(&fix(&bn.input_grad().data)));
    bn.visit_params(&mut |p| out.push(bits(p.grad)));
    bn.visit_buffers(&mut |b| out.push(bits(b.value)));
    out
}

fn run(shape: &[usize], x: &[f32], dy: &[f32], ctx: &Ctx) -> Vec<Vec<u32>> {
    let mut bn = BatchNorm::new(C);
    bn.visit_params(&mut |p| {
        for (i, v) in p.value.iter_mut().enumerate() {
            *v += 0.01 * i as f32;
        }
    });
    let x = Tensor::from_vec(x.to_vec(), shape);
    let mut out = Vec::new();
    for _ in 0..2 {
        bn.forward(&x, ctx);
        let mut d = Tensor::from_vec(dy.to_vec(), shape);
        bn.backward(&x, &mut d, ctx, true);
        out.extend(state(&mut bn, shape.len() == 4));
    }
    out
}

#[test]
fn dense_path_equals_the_general_path_bit_for_bit() {
    let mut r = Rng::new(4);
    let x: Vec<f32> = (0..2 * N * C)
        .map(|_| 3.0 * r.normal() as f32 + 1.0)
        .collect();
    let dy: Vec<f32> = (0..2 * N * C).map(|_| r.normal() as f32).collect();
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            for ctx in [Ctx::train(1, 0), Ctx::eval()] {
                let image = run(&[N, C, 1, 2], &x, &dy, &ctx);
                let dense = run(&[2 * N, C], &to_rows(&x), &to_rows(&dy), &ctx);
                assert_eq!(dense, image, "{threads} thread(s), {:?}", ctx.mode);
            }
        });
    }
}

//! The mask and every output are the same with 1 and with 2 threads (and the
//! same as a run on the global pool), bias gradients included.

mod common;

use common::{assert_bits_eq, SplitMix};
use dropout::{Act, BiasActDropout, Dropout, MaskKey, Mode};

fn pool(n: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .unwrap()
}

#[test]
fn same_output_on_one_and_two_threads() {
    let n = (1 << 20) + 1;
    let x = SplitMix(11).vec(n);
    let d = Dropout::new(0.5).unwrap();
    let key = MaskKey::new(99, 4, 2);
    let run = |threads: usize| {
        pool(threads).install(|| {
            let mut y = vec![0.0; n];
            d.forward(key, Mode::Train, &x, &mut y).unwrap();
            let mask = d.mask(key, Mode::Train, n);
            (y, mask)
        })
    };
    let (y1, m1) = run(1);
    let (y2, m2) = run(2);
    assert_bits_eq(&y1, &y2, "forward 1 vs 2 threads");
    assert_eq!(m1, m2, "packed mask 1 vs 2 threads");
}

#[test]
fn fused_backward_bias_gradient_independent_of_threads() {
    let (rows, cols) = (512, 1024);
    let mut rng = SplitMix(12);
    let (x, bias, dy) = (rng.vec(rows * cols), rng.vec(cols), rng.vec(rows * cols));
    let f = BiasActDropout {
        dropout: Dropout::new(0.5).unwrap(),
        key: MaskKey::new(3, 1, 8),
        mode: Mode::Train,
        act: Act::Relu,
        rows,
        cols,
    };
    let run = |threads: usize| {
        pool(threads).install(|| {
            let mut y = vec![0.0; rows * cols];
            f.forward(&x, &bias, &mut y).unwrap();
            let (mut dx, mut db) = (vec![0.0; rows * cols], vec![0.0; cols]);
            f.backward(&y, &dy, &mut dx, &mut db).unwrap();
            (y, dx, db)
        })
    };
    let (a, b) = (run(1), run(2));
    assert_bits_eq(&a.0, &b.0, "fused forward");
    assert_bits_eq(&a.1, &b.1, "fused dx");
    assert_bits_eq(&a.2, &b.2, "fused db");
}

//! The same config and seed give bit-identical weights after training on 1
//! and on 2 threads: dropout masks are keyed by (seed, stream, step), GEMM
//! splits only output blocks, and every reduction has a fixed order.

use engine::layer::Ctx;
use engine::optim::{OptimKind, Optimizer};
use engine::rng::Rng;
use engine::spec::{build, ModelSpec, Norm};

fn train(spec: &ModelSpec, sample: &[usize], threads: usize) -> Vec<u32> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut model = build(spec, sample, 5).unwrap();
        let mut opt = Optimizer::new(
            OptimKind::Adam {
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            },
            1e-4,
            Some(3.0),
        );
        let mut rng = Rng::new(6);
        let dim: usize = sample.iter().product();
        let n = 64;
        // A GPT reads token ids and predicts one per position.
        let gpt = spec.arch.starts_with("gpt");
        let classes = if spec.outputs > 0 { spec.outputs } else { 10 };
        let labels = if gpt { n * dim } else { n };
        for step in 0..6 {
            let x: Vec<f32> = (0..n * dim)
                .map(|_| {
                    if gpt {
                        rng.below(classes) as f32
                    } else {
                        rng.normal() as f32
                    }
                })
                .collect();
            let y: Vec<u32> = (0..labels).map(|_| rng.below(classes) as u32).collect();
            model.input_mut(n).copy_from_slice(&x);
            model.forward_backward(&y, &Ctx::train(99, step)).unwrap();
            opt.step(&mut model, 1e-3);
        }
        let mut bits = Vec::new();
        model.visit_params(&mut |_, p| bits.extend(p.value.iter().map(|v| v.to_bits())));
        bits
    })
}

#[test]
fn mlp_weights_identical_on_one_and_two_threads() {
    let mut spec = ModelSpec::new("200-512-512-10");
    spec.dropout = 0.5;
    spec.input_dropout = 0.2;
    let a = train(&spec, &[200], 1);
    let b = train(&spec, &[200], 2);
    assert_eq!(a.len(), b.len());
    assert!(a == b, "weights differ between 1 and 2 threads");
    // And training did something: weights differ from a fresh model's.
    let mut fresh = build(&spec, &[200], 5).unwrap();
    let mut init = Vec::new();
    fresh.visit_params(&mut |_, p| init.extend(p.value.iter().map(|v| v.to_bits())));
    assert_ne!(a, init);
}

#[test]
fn normalised_mlp_weights_identical_on_one_and_two_threads() {
    // BatchNorm and LayerNorm reduce in parallel: the sums must not depend on it.
    for norm in [Norm::Batch, Norm::Layer] {
        let mut spec = ModelSpec::new("200-256-256-10");
        spec.dropout = 0.5;
        spec.norm = norm;
        let a = train(&spec, &[200], 1);
        let b = train(&spec, &[200], 2);
        assert!(a == b, "{norm:?}: weights differ between 1 and 2 threads");
    }
}

#[test]
fn cnn_weights_identical_on_one_and_two_threads() {
    let mut spec = ModelSpec::new("c8-p-c16-p-64-10");
    spec.conv_dropout = 0.2;
    spec.dropout = 0.5;
    spec.norm = Norm::Batch;
    let a = train(&spec, &[1, 12, 12], 1);
    let b = train(&spec, &[1, 12, 12], 2);
    assert!(a == b, "CNN weights differ between 1 and 2 threads");
}

#[test]
fn transformer_weights_identical_on_one_and_two_threads() {
    for (arch, sample) in [
        ("gpt-l2-h2-d32-t16", vec![16]),
        ("vit-p4-l2-h4-d32", vec![1, 12, 12]),
    ] {
        let mut spec = ModelSpec::new(arch);
        spec.outputs = if arch.starts_with("gpt") { 20 } else { 10 };
        spec.dropout = 0.2;
        spec.drop_path = 0.2;
        spec.sites.drop_head = 0.2;
        let a = train(&spec, &sample, 1);
        let b = train(&spec, &sample, 2);
        assert!(a == b, "{arch}: weights differ between 1 and 2 threads");
        let mut fresh = build(&spec, &sample, 5).unwrap();
        let mut init = Vec::new();
        fresh.visit_params(&mut |_, p| init.extend(p.value.iter().map(|v| v.to_bits())));
        assert_ne!(a, init, "{arch} trained");
    }
}

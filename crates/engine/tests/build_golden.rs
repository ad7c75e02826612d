//! The builder's numbers are pinned: for one model of every layer kind and
//! dropout setting, a digest (FNV-1a) of its layer descriptions, its initial
//! weights and its weights after three training steps must stay as recorded,
//! and so must its footprint (parameters, buffer floats per sample).
//! A change in the init order, a dropout site's stream or a layer's place
//! changes the digest.

use dropout::PathScope;
use engine::layer::Ctx;
use engine::layers::{Activation, ConcreteSpec, DropoutKind, DropoutVariant, RnnDropout};
use engine::optim::{OptimKind, Optimizer};
use engine::rng::Rng;
use engine::spec::{build, DropPlace, ModelSpec, Norm};

fn fnv(h: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *h ^= u64::from(b);
        *h = h.wrapping_mul(0x100_0000_01b3);
    }
}

/// The digest of `spec` built for `sample` and trained three steps.
fn digest(spec: &ModelSpec, sample: &[usize]) -> u64 {
    let mut model = build(spec, sample, 11).unwrap();
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    fnv(&mut h, model.describe().as_bytes());
    let weights = |m: &mut engine::Sequential, h: &mut u64| {
        m.visit_params(&mut |_, p| {
            p.value
                .iter()
                .for_each(|v| fnv(h, &v.to_bits().to_le_bytes()))
        });
        m.visit_buffers(&mut |_, b| {
            b.value
                .iter()
                .for_each(|v| fnv(h, &v.to_bits().to_le_bytes()))
        });
    };
    weights(&mut model, &mut h);
    let mut opt = Optimizer::new(
        OptimKind::Sgd {
            momentum: 0.9,
            nesterov: false,
            dampened: false,
        },
        1e-4,
        None,
    );
    let mut rng = Rng::new(3);
    let dim: usize = sample.iter().product();
    let n = 8;
    for step in 0..3 {
        let x: Vec<f32> = (0..n * dim).map(|_| rng.normal() as f32).collect();
        let y: Vec<u32> = (0..n).map(|_| rng.below(3) as u32).collect();
        model.input_mut(n).copy_from_slice(&x);
        model.forward_backward(&y, &Ctx::train(7, step)).unwrap();
        opt.step(&mut model, 0.01);
    }
    weights(&mut model, &mut h);
    h
}

/// Every model kind with its dropout sites on.
fn cases() -> Vec<(&'static str, ModelSpec, Vec<usize>)> {
    let spec = |arch: &str, f: &dyn Fn(&mut ModelSpec)| {
        let mut s = ModelSpec::new(arch);
        f(&mut s);
        s
    };
    vec![
        (
            "mlp fused",
            spec("6-9-8-3", &|s| {
                s.dropout = 0.5;
                s.input_dropout = 0.2;
            }),
            vec![6],
        ),
        (
            "mlp bn before-norm last-only",
            spec("6-9-8-7-3", &|s| {
                s.dropout = 0.3;
                s.norm = Norm::Batch;
                s.place = DropPlace::BeforeNorm;
                s.last_only = true;
            }),
            vec![6],
        ),
        (
            "mlp ln selu alpha dropconnect",
            spec("6-9-8-3", &|s| {
                s.dropout = 0.1;
                s.input_dropout = 0.1;
                s.norm = Norm::Layer;
                s.act = Activation::Selu;
                s.variant = DropoutVariant::Alpha;
                s.dropconnect = 0.2;
            }),
            vec![6],
        ),
        (
            "mlp tanh gaussian concrete",
            spec("6-9-3", &|s| {
                s.dropout = 0.2;
                s.act = Activation::Tanh;
                s.variant = DropoutVariant::Gaussian;
                s.concrete = Some(ConcreteSpec {
                    init_p: 0.1,
                    tau: 0.1,
                    length_scale: 1e-4,
                    n_train: 100,
                });
            }),
            vec![6],
        ),
        (
            "residual",
            spec("6-8-r12-r12-3", &|s| {
                s.dropout = 0.2;
                s.input_dropout = 0.1;
                s.drop_path = 0.3;
                s.dropconnect = 0.1;
            }),
            vec![6],
        ),
        (
            "residual ln batch scope",
            spec("6-8-r12-r12-3", &|s| {
                s.dropout = 0.2;
                s.norm = Norm::Layer;
                s.drop_path = 0.3;
                s.drop_path_scope = PathScope::Batch;
            }),
            vec![6],
        ),
        (
            "rnn locked",
            spec("rnn7-5-3", &|s| {
                s.rnn_dropout = 0.2;
                s.dropout = 0.3;
            }),
            vec![1, 4, 6],
        ),
        (
            "rnn naive",
            spec("rnn7-3", &|s| {
                s.rnn_dropout = 0.2;
                s.rnn_dropout_kind = RnnDropout::Naive;
                s.input_dropout = 0.1;
            }),
            vec![4, 6],
        ),
        (
            "cnn bn element",
            spec("c3-p-c4-6-3", &|s| {
                s.dropout = 0.3;
                s.input_dropout = 0.1;
                s.conv_dropout = 0.2;
                s.norm = Norm::Batch;
            }),
            vec![1, 8, 8],
        ),
        (
            "cnn spatial",
            spec("c3-c4-p-6-3", &|s| {
                s.dropout = 0.3;
                s.conv_dropout = 0.2;
                s.conv_dropout_kind = DropoutKind::Spatial;
            }),
            vec![2, 6, 6],
        ),
        (
            "cnn block residual",
            spec("c3-p-r8-3", &|s| {
                s.conv_dropout = 0.2;
                s.conv_dropout_kind = DropoutKind::Block;
                s.block_size = 2;
                s.drop_path = 0.2;
                s.dropout = 0.1;
            }),
            vec![1, 8, 8],
        ),
    ]
}

#[test]
fn built_models_keep_their_numbers() {
    // (digest, parameters, buffer floats per sample)
    let want: &[(u64, u64, u64)] = &[
        (0x1c16aa8eef7cd023, 170, 172),
        (0x1b8f5c170f247739, 278, 228),
        (0xf2b006ec90b01b83, 204, 172),
        (0x09a4ac7e0fea4760, 93, 108),
        (0x216d52895c487eef, 507, 484),
        (0x2c98d8a1e0e9f049, 555, 484),
        (0xcbc7633824b13f71, 156, 220),
        (0xad495df150b9cd2e, 122, 180),
        (0x5df1c747b3ea8d7e, 579, 3352),
        (0x10b26c7a4c216d0b, 412, 3924),
        (0x33a635276febf2d2, 1001, 3000),
    ];
    let got: Vec<(u64, u64, u64)> = cases()
        .iter()
        .map(|(_, s, sample)| {
            let size = engine::spec::size(s, sample).unwrap();
            (digest(s, sample), size.params, size.floats_per_sample)
        })
        .collect();
    for (((name, ..), g), w) in cases().iter().zip(&got).zip(want) {
        assert_eq!(g, w, "{name}");
    }
    assert_eq!(got.len(), want.len());
}

//! Finite-difference gradient checks for every layer and for whole small
//! models (dropout active, with a fixed key so the mask is the same in every
//! evaluation).
//!
//! For a layer: L = Σ c ⊙ y with fixed random c, so ∂L/∂y = c. For a model:
//! L = mean softmax cross-entropy. Central differences
//! `(L(θ + h) − L(θ − h)) / 2h` in f32, compared on up to 12 coordinates of
//! the input and of each parameter. Tolerance:
//! `|analytic − numeric| ≤ 2e-3 + 3e-2 · max(|analytic|, |numeric|)`, at
//! h = 1e-3 or, failing that, at h = 2.5e-4 or 4e-3: a ReLU kink or a
//! max-pool tie within ±h spoils one step size but rarely all, and the f32
//! rounding of a wide block's outputs (~1e-6 relative, divided by 2h) spoils
//! the small steps but not the large one, while a wrong gradient fails at
//! every step. The harness is `common/mod.rs`.

mod common;

use common::*;
use engine::layer::Layer;
use engine::layers::{
    Activation, ActivationLayer, BatchNorm, Conv2d, Dense, DropoutKind, DropoutLayer,
    DropoutVariant, Flatten, LayerNorm, MaxPool2d, Residual, Rnn, RnnDropout,
};
use engine::loss::softmax_cross_entropy;
use engine::rng::Rng;
use engine::spec::{build, DropPlace, ModelSpec, Norm};

fn dense(inp: usize, out: usize, act: dropout::Act, p: f32) -> Dense {
    let mut d = Dense::new(inp, out, act, p, 5).unwrap();
    let mut rng = Rng::new(9);
    d.w.iter_mut().for_each(|w| *w = rng.normal() as f32 * 0.5);
    d.b.iter_mut().for_each(|b| *b = rng.normal() as f32 * 0.1);
    d
}

#[test]
fn dense_layers() {
    check_layer(
        "dense identity",
        &mut dense(7, 5, dropout::Act::Identity, 0.0),
        &[4, 7],
        1,
    );
    check_layer(
        "dense relu",
        &mut dense(7, 5, dropout::Act::Relu, 0.0),
        &[4, 7],
        2,
    );
    check_layer(
        "dense relu dropout",
        &mut dense(7, 5, dropout::Act::Relu, 0.5),
        &[4, 7],
        3,
    );
    check_layer(
        "dense identity dropout",
        &mut dense(6, 9, dropout::Act::Identity, 0.3),
        &[3, 6],
        4,
    );
    let mut dc = dense(7, 5, dropout::Act::Relu, 0.2);
    dc = dc.with_dropconnect(0.4).unwrap();
    check_layer("dense relu dropout dropconnect", &mut dc, &[4, 7], 5);
}

#[test]
fn activations() {
    for a in [
        Activation::Relu,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Selu,
        Activation::Gelu,
    ] {
        check_layer(a.name(), &mut ActivationLayer::new(a), &[3, 10], 5);
    }
}

#[test]
fn dropout_layers() {
    check_layer(
        "dropout",
        &mut DropoutLayer::new(0.4, 1, DropoutKind::Element).unwrap(),
        &[5, 8],
        6,
    );
    check_layer(
        "spatial dropout",
        &mut DropoutLayer::new(0.5, 2, DropoutKind::Spatial).unwrap(),
        &[4, 3, 2, 2],
        7,
    );
    let alpha = |p, kind| {
        DropoutLayer::new(p, 3, kind)
            .unwrap()
            .with_variant(DropoutVariant::Alpha)
            .unwrap()
    };
    check_layer(
        "alpha dropout",
        &mut alpha(0.3, DropoutKind::Element),
        &[5, 8],
        8,
    );
    check_layer(
        "dropblock",
        &mut DropoutLayer::new(0.3, 4, DropoutKind::Block)
            .unwrap()
            .with_block_size(2)
            .unwrap(),
        &[2, 2, 5, 5],
        10,
    );
    check_layer(
        "feature alpha dropout",
        &mut alpha(0.4, DropoutKind::Spatial),
        &[4, 3, 2, 2],
        9,
    );
    for (name, variant) in [
        ("gaussian dropout", DropoutVariant::Gaussian),
        ("gaussian noise", DropoutVariant::Noise),
    ] {
        for (kind, shape) in [
            (DropoutKind::Element, &[5usize, 8][..]),
            (DropoutKind::Spatial, &[4, 3, 2, 2][..]),
        ] {
            let mut l = DropoutLayer::new(0.3, 5, kind)
                .unwrap()
                .with_variant(variant)
                .unwrap();
            check_layer(&format!("{name} {kind:?}"), &mut l, shape, 11);
        }
    }
}

#[test]
fn residual_block_with_droppath() {
    for (p, scope) in [
        (0.5, dropout::PathScope::Sample),
        (0.5, dropout::PathScope::Batch),
        (0.0, dropout::PathScope::Sample),
    ] {
        let mut rng = Rng::new(5);
        let mut fc1 = Dense::new(5, 7, dropout::Act::Identity, 0.0, 1).unwrap();
        let mut fc2 = Dense::new(7, 5, dropout::Act::Identity, 0.0, 1).unwrap();
        fc1.w = randn(&mut rng, 35);
        fc2.w = randn(&mut rng, 35);
        let parts: Vec<(&'static str, Box<dyn Layer>)> = vec![
            ("norm", Box::new(LayerNorm::new(5))),
            ("fc1", Box::new(fc1)),
            ("act", Box::new(ActivationLayer::new(Activation::Tanh))),
            ("fc2", Box::new(fc2)),
        ];
        let mut r = Residual::new(5, 7, parts, p, scope, 9).unwrap();
        check_layer(&format!("residual p {p} {scope:?}"), &mut r, &[6, 5], 12);
    }
}

#[test]
fn rnn_through_time_with_locked_and_naive_dropout() {
    for (p, kind) in [
        (0.0, RnnDropout::Locked),
        (0.3, RnnDropout::Locked),
        (0.3, RnnDropout::Naive),
    ] {
        let mut rng = Rng::new(8);
        let mut r = Rnn::new(5, 6, p, kind, 2).unwrap();
        r.w_x = randn(&mut rng, 30).iter().map(|v| v * 0.5).collect();
        r.w_h = randn(&mut rng, 36).iter().map(|v| v * 0.4).collect();
        r.b = randn(&mut rng, 6);
        check_layer(&format!("rnn p {p} {kind:?}"), &mut r, &[3, 4, 5], 13);
    }
}

#[test]
fn normalisation() {
    let mut bn = BatchNorm::new(6);
    bn.gamma
        .iter_mut()
        .enumerate()
        .for_each(|(i, g)| *g = 0.5 + i as f32 * 0.2);
    check_layer("batchnorm1d", &mut bn, &[8, 6], 8);
    check_layer("batchnorm2d", &mut BatchNorm::new(3), &[4, 3, 3, 3], 9);
    let mut ln = LayerNorm::new(7);
    ln.beta.iter_mut().for_each(|b| *b = 0.3);
    check_layer("layernorm", &mut ln, &[5, 7], 10);
}

#[test]
fn conv_pool_flatten() {
    let mut conv = Conv2d::new(2, 3, 3, 1, 1).unwrap();
    let mut rng = Rng::new(11);
    conv.w
        .iter_mut()
        .for_each(|w| *w = rng.normal() as f32 * 0.3);
    check_layer("conv2d pad 1", &mut conv, &[2, 2, 5, 5], 12);
    let mut strided = Conv2d::new(1, 2, 3, 2, 0).unwrap();
    strided
        .w
        .iter_mut()
        .for_each(|w| *w = rng.normal() as f32 * 0.3);
    check_layer("conv2d stride 2", &mut strided, &[2, 1, 7, 7], 13);
    check_layer(
        "maxpool",
        &mut MaxPool2d::new(2).unwrap(),
        &[2, 2, 4, 4],
        14,
    );
    check_layer("flatten", &mut Flatten::default(), &[3, 2, 2, 2], 15);
}

fn model_loss(model: &mut engine::Sequential, labels: &[u32]) -> f64 {
    model.forward(&CTX);
    softmax_cross_entropy(model.logits(), labels, None)
        .unwrap()
        .loss_sum
        / labels.len() as f64
}

fn check_model(name: &str, spec: &ModelSpec, sample: &[usize], n: usize) {
    check_built(name, build(spec, sample, 21).unwrap(), spec, sample, n);
}

fn check_built(
    name: &str,
    mut model: engine::Sequential,
    spec: &ModelSpec,
    sample: &[usize],
    n: usize,
) {
    let mut rng = Rng::new(22);
    let dim = sample.iter().product::<usize>();
    // A GPT reads token ids and predicts one per position.
    let gpt = spec.arch.starts_with("gpt");
    let x: Vec<f32> = if gpt {
        (0..n * dim)
            .map(|_| rng.below(spec.outputs) as f32)
            .collect()
    } else {
        randn(&mut rng, n * dim)
    };
    let rows = if gpt { n * dim } else { n };
    let labels: Vec<u32> = (0..rows).map(|i| (i % model.classes()) as u32).collect();
    model.input_mut(n).copy_from_slice(&x);
    model.forward_backward(&labels, &CTX).unwrap();
    let mut grads = Vec::new();
    model.visit_params(&mut |_, p| grads.push(p.grad.to_vec()));
    for (pi, g) in grads.iter().enumerate() {
        for j in coords(g.len()) {
            let bump = |m: &mut engine::Sequential, d: f32| {
                let mut k = 0;
                m.visit_params(&mut |_, p| {
                    if k == pi {
                        p.value[j] += d;
                    }
                    k += 1;
                });
            };
            let mut at = 0.0;
            let (ok, nums) = agrees(g[j], |d| {
                bump(&mut model, d - at);
                at = d;
                model_loss(&mut model, &labels)
            });
            assert!(
                ok,
                "{name}: param {pi}[{j}] analytic {} vs numeric {nums:?}",
                g[j]
            );
        }
    }
}

#[test]
fn whole_mlps() {
    let mut s = ModelSpec::new("6-8-7-3");
    s.dropout = 0.5;
    s.input_dropout = 0.2;
    check_model("mlp relu dropout", &s, &[6], 5);
    s.norm = Norm::Batch;
    check_model("mlp bn dropout", &s, &[6], 6);
    s.place = DropPlace::BeforeNorm;
    check_model("mlp dropout before bn", &s, &[6], 6);
    let mut t = ModelSpec::new("6-8-3");
    t.act = Activation::Tanh;
    t.norm = Norm::Layer;
    t.dropout = 0.3;
    check_model("mlp tanh ln dropout", &t, &[6], 4);
    let mut a = ModelSpec::new("6-9-8-3");
    a.act = Activation::Selu;
    a.variant = DropoutVariant::Alpha;
    a.dropout = 0.2;
    a.input_dropout = 0.1;
    check_model("mlp selu alpha dropout", &a, &[6], 5);
    let mut g = ModelSpec::new("6-9-8-3");
    g.variant = DropoutVariant::Gaussian;
    g.dropout = 0.3;
    g.input_dropout = 0.1;
    check_model("mlp gaussian dropout", &g, &[6], 5);
    let mut r = ModelSpec::new("6-8-r12-r12-3");
    r.norm = Norm::Layer;
    r.act = Activation::Tanh;
    r.dropout = 0.2;
    r.drop_path = 0.5;
    check_model("residual ln mlp droppath", &r, &[6], 6);
    r.act = Activation::Relu;
    check_model("residual ln relu mlp droppath", &r, &[6], 6);
    // Concrete dropout: λ → 0 (N huge), so the checked loss is the data loss
    // alone and θ's gradient is ∂L/∂p · p(1 − p) through the relaxed mask.
    let mut c = ModelSpec::new("6-9-8-3");
    c.concrete = Some(engine::layers::ConcreteSpec {
        init_p: 0.3,
        tau: 0.5,
        length_scale: 1e-4,
        n_train: 1 << 40,
    });
    check_model("mlp concrete dropout", &c, &[6], 5);
    r.norm = Norm::None;
    r.drop_path_scope = dropout::PathScope::Batch;
    check_model("residual relu mlp droppath per batch", &r, &[6], 6);
    let mut c = ModelSpec::new("6-9-8-3");
    c.dropconnect = 0.3;
    c.dropout = 0.2;
    check_model("mlp dropconnect", &c, &[6], 5);
}

#[test]
fn whole_cnn() {
    let mut s = ModelSpec::new("c3-p-c4-6-3");
    s.conv_dropout = 0.3;
    s.conv_dropout_kind = DropoutKind::Spatial;
    s.dropout = 0.5;
    s.norm = Norm::Batch;
    check_model("cnn bn spatial dropout", &s, &[1, 6, 6], 3);
    let mut b = s.clone();
    b.conv_dropout_kind = DropoutKind::Block;
    b.block_size = 2;
    check_model("cnn bn dropblock", &b, &[1, 6, 6], 3);
}

#[test]
fn whole_transformers() {
    let mut g = ModelSpec::new("gpt-l2-h2-d8-m16-t6");
    g.outputs = 7;
    g.dropout = 0.2;
    g.drop_path = 0.3;
    g.sites.drop_head = 0.3;
    // GPT-2's N(0, 0.02²) weights give gradients below the check's
    // absolute tolerance: the checked models draw theirs from N(0, 0.3²).
    let wide = |spec: &ModelSpec, sample: &[usize]| {
        let mut m = build(spec, sample, 21).unwrap();
        let mut rng = Rng::new(23);
        m.visit_params(&mut |_, p| {
            if p.kind == engine::layer::ParamKind::Weight {
                p.value
                    .iter_mut()
                    .for_each(|v| *v = 0.3 * rng.normal() as f32);
            }
        });
        m
    };
    check_built("gpt every site", wide(&g, &[6]), &g, &[6], 3);
    // The head tied to the token table: its gradient sums both uses.
    let mut tied = g.clone();
    tied.arch = "gpt-l2-h2-d8-m16-t6-tie".into();
    check_built("gpt tied head", wide(&tied, &[6]), &tied, &[6], 3);
    let mut v = ModelSpec::new("vit-p2-l2-h2-d8-m12");
    v.outputs = 3;
    v.dropout = 0.2;
    v.sites.attn = Some(0.3);
    v.sites.drop_head = 0.3;
    check_built("vit every site", wide(&v, &[1, 4, 4]), &v, &[1, 4, 4], 4);
}

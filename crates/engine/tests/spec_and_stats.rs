//! Model specs that cannot work are typed errors; BatchNorm keeps PyTorch's
//! running statistics; eval mode is deterministic and drop-free.

use dropout::Mode;
use engine::layer::{Ctx, Layer};
use engine::layers::BatchNorm;
use engine::spec::{build, ModelSpec, Norm};
use engine::{ArchProblem, EngineError, Tensor};

#[test]
fn bad_specs_are_errors() {
    let cases: [(&str, &[usize], ArchProblem); 13] = [
        ("784-x-10", &[784], ArchProblem::Token("x".into())),
        ("784", &[784], ArchProblem::TooShort),
        (
            "100-10",
            &[784],
            ArchProblem::Inputs {
                arch: 100,
                data: 784,
            },
        ),
        ("c8-p-10", &[784], ArchProblem::NotImages(vec![784])),
        ("784-0-10", &[784], ArchProblem::Token("0".into())),
        ("c8-10-p-10", &[1, 28, 28], ArchProblem::Order),
        ("r16-10", &[784], ArchProblem::Residual),
        ("784-64-r32", &[784], ArchProblem::Residual),
        ("784-64-rx-10", &[784], ArchProblem::Token("rx".into())),
        ("c8-r16-p-10", &[1, 28, 28], ArchProblem::Order),
        ("rnn8-10", &[784], ArchProblem::NotSequences(vec![784])),
        ("c4-rnn8-10", &[1, 8, 8], ArchProblem::RnnFirst),
        ("rnnx-10", &[1, 8, 8], ArchProblem::Token("rnnx".into())),
    ];
    for (arch, sample, want) in cases {
        let got = build(&ModelSpec::new(arch), sample, 0).err();
        assert_eq!(
            got,
            Some(EngineError::Arch {
                arch: arch.into(),
                problem: want
            }),
            "{arch}"
        );
    }
    let msg = build(&ModelSpec::new("c8-p-10"), &[784], 0)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        msg.contains("channels × height × width") && !msg.contains("[0, 0, 0]"),
        "{msg}"
    );
    let mut s = ModelSpec::new("4-3");
    s.dropout = 1.5;
    s.input_dropout = 1.5;
    assert!(matches!(build(&s, &[4], 0), Err(EngineError::Dropout(_))));
    let mut s = ModelSpec::new("c4-p-10");
    s.norm = Norm::Layer;
    assert!(matches!(
        build(&s, &[1, 8, 8], 0),
        Err(EngineError::Arch {
            problem: ArchProblem::LayerNormInConv,
            ..
        })
    ));
    // Out-of-range labels.
    let mut m = build(&ModelSpec::new("4-3"), &[4], 0).unwrap();
    m.input_mut(2).fill(0.0);
    let ctx = Ctx::train(0, 0);
    assert!(matches!(
        m.forward_backward(&[0, 3], &ctx),
        Err(EngineError::Label {
            label: 3,
            row: 1,
            classes: 3
        })
    ));
    assert!(matches!(
        m.forward_backward(&[0], &ctx),
        Err(EngineError::Shape { .. })
    ));
}

#[test]
fn residual_blocks_keep_width_count_params_and_follow_the_depth_rule() {
    for norm in [Norm::None, Norm::Layer, Norm::Batch] {
        let mut s = ModelSpec::new("10-8-r16-r16-r16-r16-3");
        s.norm = norm;
        s.drop_path = 0.2;
        s.dropout = 0.1;
        let mut m = build(&s, &[10], 0).unwrap();
        assert_eq!(
            m.num_params() as u64,
            engine::spec::size(&s, &[10]).unwrap().params,
            "{norm:?}"
        );
        let rates: Vec<String> = m
            .layers()
            .iter()
            .map(|l| l.describe())
            .filter(|d| d.starts_with("Residual"))
            .collect();
        assert_eq!(rates.len(), 4);
        for (l, d) in rates.iter().enumerate() {
            let want = format!("DropPath {} per sample", dropout::depth_rate(0.2, l + 1, 4));
            assert!(d.contains(&want), "{d} lacks {want}");
        }
        // A forward pass keeps the block's width.
        m.input_mut(3).fill(0.5);
        assert_eq!(m.forward(&Ctx::train(1, 0)).shape, vec![3, 3]);
    }
    // An RNN over the rows: its parameters, its last state into the dense layers.
    let mut s = ModelSpec::new("rnn16-12-10");
    s.rnn_dropout = 0.2;
    let mut m = build(&s, &[1, 7, 5], 0).unwrap();
    assert_eq!(
        m.num_params() as u64,
        engine::spec::size(&s, &[1, 7, 5]).unwrap().params
    );
    assert_eq!(
        m.num_params(),
        16 * 5 + 16 * 16 + 16 + 16 * 12 + 12 + 12 * 10 + 10
    );
    m.input_mut(2).fill(0.1);
    assert_eq!(m.forward(&Ctx::train(1, 0)).shape, vec![2, 10]);
    // Residual blocks after conv blocks act on the flattened features.
    let mut s = ModelSpec::new("c4-p-r32-10");
    s.drop_path = 0.1;
    let mut m = build(&s, &[1, 8, 8], 0).unwrap();
    assert_eq!(
        m.num_params() as u64,
        engine::spec::size(&s, &[1, 8, 8]).unwrap().params
    );
}

#[test]
fn batchnorm_running_stats_follow_pytorch() {
    // Channel 0 sees 1, 2, 3, 4: mean 2.5, biased var 1.25, unbiased 5/3.
    let mut bn = BatchNorm::new(1);
    let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[4, 1]);
    bn.forward(&x, &Ctx::train(0, 0));
    assert!((bn.running_mean[0] - 0.25).abs() < 1e-6);
    assert!((bn.running_var[0] - (0.9 + 0.1 * 5.0 / 3.0)).abs() < 1e-6);
    assert!((bn.batch_var[0] - 1.25).abs() < 1e-6);
    let y = &bn.output().data;
    let mean: f32 = y.iter().sum::<f32>() / 4.0;
    assert!(mean.abs() < 1e-6);
    // Eval uses the running statistics.
    bn.forward(
        &x,
        &Ctx {
            mode: Mode::Eval,
            seed: 0,
            step: 0,
            mc: false,
            mc_input: true,
            mc_group: 0,
        },
    );
    let want = (1.0 - 0.25) / (0.9f32 + 0.1 * 5.0 / 3.0 + 1e-5).sqrt();
    assert!((bn.output().data[0] - want).abs() < 1e-5);
}

#[test]
fn eval_is_deterministic_and_does_not_drop() {
    let mut s = ModelSpec::new("5-16-3");
    s.dropout = 0.9;
    s.input_dropout = 0.5;
    let mut m = build(&s, &[5], 3).unwrap();
    let mut no_drop = build(&ModelSpec::new("5-16-3"), &[5], 3).unwrap();
    let x: Vec<f32> = (0..10).map(|i| i as f32 * 0.1).collect();
    let run = |m: &mut engine::Sequential, step| {
        m.input_mut(2).copy_from_slice(&x);
        m.forward(&Ctx {
            mode: Mode::Eval,
            seed: 1,
            step,
            mc: false,
            mc_input: true,
            mc_group: 0,
        })
        .data
        .clone()
    };
    let a = run(&mut m, 0);
    assert_eq!(a, run(&mut m, 7), "eval depends on the step");
    assert_eq!(
        a,
        run(&mut no_drop, 0),
        "eval output differs from the same net without dropout"
    );
}

/// The weights of every weight layer, in order.
fn weights(m: &mut engine::Sequential) -> Vec<Vec<f32>> {
    let mut w = Vec::new();
    m.visit_params(&mut |_, p| {
        if p.kind == engine::layer::ParamKind::Weight {
            w.push(p.value.to_vec());
        }
    });
    w
}

#[test]
fn one_seeding_scheme_for_conv_and_dense_layers() {
    // Initial weights depend only on (seed, weight-layer number): the same
    // with or without input dropout, conv dropout or BatchNorm in between.
    let plain = weights(&mut build(&ModelSpec::new("c2-p-8-3"), &[1, 4, 4], 5).unwrap());
    let mut s = ModelSpec::new("c2-p-8-3");
    s.input_dropout = 0.2;
    s.conv_dropout = 0.1;
    s.norm = Norm::Batch;
    assert_eq!(weights(&mut build(&s, &[1, 4, 4], 5).unwrap()), plain);
    // And no two weight layers draw the same stream: the first conv (fan-in
    // 9) and the first dense layer (fan-in 8), both He-normal, rescaled to
    // unit variance, must not be the same numbers.
    let (a, b) = ((2.0f32 / 9.0).sqrt(), (2.0f32 / 8.0).sqrt());
    let same = plain[0]
        .iter()
        .zip(&plain[1])
        .filter(|(x, y)| (*x / a - *y / b).abs() < 1e-5)
        .count();
    assert_eq!(same, 0, "conv and dense layers share an init stream");
}

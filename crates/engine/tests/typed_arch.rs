//! The typed model: an `--arch` text and its settings read once into a
//! layer list whose every dropout site carries its rate and stream, and
//! whose layers state sizes that add up to the model's footprint.

use engine::arch::{Arch, LayerSpec};
use engine::footprint::Footprint;
use engine::layers::ConcreteSpec;
use engine::spec::{ModelSpec, Norm};

fn arch(text: &str, f: impl FnOnce(&mut ModelSpec)) -> Arch {
    let mut s = ModelSpec::new(text);
    f(&mut s);
    s.arch().unwrap()
}

/// The stream of every dropout site, in layer order.
fn streams(a: &Arch) -> Vec<u32> {
    let mut out = Vec::new();
    for l in &a.layers {
        match l {
            LayerSpec::InputDropout(s) => out.push(s.stream),
            LayerSpec::Rnn(r) => out.extend([r.stream, r.stream + 1]),
            LayerSpec::Conv(c) => out.extend(c.dropout.map(|d| d.site.stream)),
            LayerSpec::Dense(d) => {
                out.push(d.dropout.stream);
                out.extend(d.concrete.map(|c| c.1));
            }
            LayerSpec::Residual(r) => out.extend([r.path_stream, r.dropout.stream]),
            _ => {}
        }
    }
    out
}

#[test]
fn every_site_carries_its_setting_and_streams_count_in_layer_order() {
    let a = arch("c4-p-c8-16-r32-10", |s| {
        s.input_dropout = 0.2;
        s.conv_dropout = 0.1;
        s.dropout = 0.5;
        s.drop_path = 0.3;
        s.concrete = Some(ConcreteSpec {
            init_p: 0.1,
            tau: 0.1,
            length_scale: 1e-4,
            n_train: 10,
        });
    });
    let kinds: Vec<&str> = a
        .layers
        .iter()
        .map(|l| match l {
            LayerSpec::InputDropout(_) => "in",
            LayerSpec::Rnn(_) => "rnn",
            LayerSpec::Conv(_) => "conv",
            LayerSpec::Pool(_) => "pool",
            LayerSpec::Flatten(_) => "flat",
            LayerSpec::Dense(_) => "dense",
            LayerSpec::Residual(_) => "res",
            LayerSpec::Transformer(_) => "transformer",
        })
        .collect();
    assert_eq!(
        kinds,
        ["in", "conv", "pool", "conv", "flat", "dense", "res", "dense"]
    );
    assert_eq!(a.inputs, None);
    assert!(a.reads_sample_shape());
    assert_eq!(streams(&a), (0..9).collect::<Vec<u32>>());
    let LayerSpec::Residual(r) = &a.layers[6] else {
        panic!("a residual block")
    };
    assert_eq!((r.drop_path, r.dropout.p), (0.3, 0.5));
    let LayerSpec::Dense(out) = &a.layers[7] else {
        panic!("the output layer")
    };
    assert_eq!((out.act, out.norm, out.dropout.p), (None, Norm::None, 0.0));
    // An MLP's first number is its input, not a layer; RNN sites take two streams.
    let m = arch("784-100-10", |s| s.last_only = true);
    assert_eq!(m.inputs, Some(784));
    assert_eq!(m.layers.len(), 2);
    let r = arch("rnn8-5-3", |s| s.dropout = 0.5);
    assert_eq!(streams(&r), [0, 1, 2, 3]);
}

#[test]
fn layer_sizes_add_up_to_the_footprint_and_the_built_model() {
    for (text, sample, norm) in [
        ("12-9-r6-3", vec![12], Norm::Layer),
        ("c3-p-c4-p-7-3", vec![2, 9, 9], Norm::Batch),
        ("rnn6-r8-3", vec![5, 4], Norm::None),
    ] {
        let a = arch(text, |s| {
            s.norm = norm;
            s.input_dropout = 0.1;
        });
        let mut shape: Vec<u64> = match a.inputs {
            Some(n) => vec![n as u64],
            None => sample.iter().map(|&d| d as u64).collect(),
        };
        let (mut params, mut floats) = (0, 2 * sample.iter().product::<usize>() as u64);
        for l in &a.layers {
            let s = l.size(&shape);
            params += s.params;
            floats += s.floats_per_sample;
            shape = s.output;
        }
        let size = a.size(&sample);
        assert_eq!((size.params, size.floats_per_sample), (params, floats));
        assert_eq!(shape, [3]);
        let mut model = a.build(&sample, 0).unwrap();
        assert_eq!(model.num_params() as u64, params, "{text}");
        assert_eq!(model.buffer_floats_per_sample(), floats);
    }
}

#[test]
fn a_model_samples_only_where_a_site_has_a_rate() {
    // The default hidden rate without hidden layers draws nothing.
    let plain = arch("784-10", |s| s.dropout = 0.5);
    assert!(!plain.samples(true));
    let input = arch("784-10", |s| s.input_dropout = 0.2);
    assert!(input.samples(true) && !input.samples(false));
    let path = arch("8-8-r8-3", |s| s.drop_path = 0.1);
    assert!(path.samples(false));
    let rnn = arch("rnn8-3", |s| s.rnn_dropout = 0.1);
    assert!(rnn.samples(false));
}

#[test]
fn transformer_grammar_sizes_and_errors() {
    use engine::arch::{TransformerKind, TransformerSpec};
    let typed = |text: &str, outputs: usize| {
        let mut s = ModelSpec::new(text);
        s.outputs = outputs;
        s.arch()
    };
    let t = |text: &str| match typed(text, 65).unwrap().layers.as_slice() {
        [LayerSpec::Transformer(t)] => t.clone(),
        other => panic!("{text}: {other:?}"),
    };
    let g: TransformerSpec = t("gpt");
    assert_eq!(
        (g.kind, g.layers, g.heads, g.width, g.hidden),
        (TransformerKind::Gpt { context: 64 }, 4, 4, 128, 512)
    );
    let baby = t("gpt-l6-h6-d384-t256");
    assert_eq!(
        (baby.layers, baby.heads, baby.width, baby.hidden),
        (6, 6, 384, 1536)
    );
    let v = t("vit-d32-p4");
    assert_eq!(
        (v.kind, v.width, v.layers),
        (TransformerKind::Vit { patch: 4 }, 32, 4)
    );
    // The footprint's parameter count is the built model's.
    for (text, sample, outputs) in [
        ("gpt-l2-h2-d16-t8", vec![8], 30),
        ("gpt-l2-h2-d16-t8-tie", vec![8], 30),
        ("gpt", vec![64], 65),
        ("vit", vec![1, 28, 28], 10),
        ("vit-p4-l1-h2-d8-m24", vec![3, 8, 12], 5),
    ] {
        let spec = {
            let mut s = ModelSpec::new(text);
            s.outputs = outputs;
            s
        };
        let a = spec.arch().unwrap();
        let mut m = a.build(&sample, 1).unwrap();
        assert_eq!(a.size(&sample).params, m.num_params() as u64, "{text}");
        assert_eq!(m.classes(), outputs, "{text}");
    }
    // nanoGPT's CPU character model, untied, with a head bias: 0.82 M parameters at 65
    // characters = 65·128 + 64·128 + 4·198,272 + 256 + 128·65 + 65.
    let spec = {
        let mut s = ModelSpec::new("gpt");
        s.outputs = 65;
        s
    };
    assert_eq!(spec.arch().unwrap().size(&[64]).params, 818_241);
    // Tied: the head's 128·65 weights and 65 biases are not there.
    let mut tied = spec.clone();
    tied.arch = "gpt-tie".into();
    assert_eq!(tied.arch().unwrap().size(&[64]).params, 809_856);
    for bad in [
        "gpt-x4",
        "gpt-l0",
        "gpt-h3-d128",
        "vit-t64",
        "gpt-p7",
        "gpt-l4-l5",
        "gpt-tie-tie",
        "vit-tie",
        "gpt--h2",
        "gpt-l99999999999999999999999",
    ] {
        let e = typed(bad, 65).unwrap_err().to_string();
        assert!(e.contains("gpt[-lL]") && e.contains(bad), "{bad}: {e}");
    }
    // Shapes that do not fit are errors at build time, not panics.
    let g = typed("gpt-t8", 65).unwrap();
    assert!(g.build(&[9], 1).is_err());
    assert!(typed("vit-p5", 10).unwrap().build(&[1, 28, 28], 1).is_err());
    assert!(typed("gpt", 0).unwrap().build(&[64], 1).is_err());
    // A model too large is refused before anything is allocated.
    let huge = typed("gpt-l64-d4096-t8", 65).unwrap();
    let e = huge.build(&[8], 1).err().expect("refused").to_string();
    assert!(e.contains("parameters"), "{e}");
}

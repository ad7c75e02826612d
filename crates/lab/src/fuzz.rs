//! Fuzz harnesses: one function per reader that takes untrusted bytes. The
//! coverage-guided targets in `fuzz/` call them, and `cargo test` replays
//! the checked-in corpus and every input that ever crashed them
//! (`tests/fuzz_corpus.rs`). Each must return normally on any input — an
//! `Err` is fine, a panic, abort or hang is a bug — and checks an invariant
//! where there is one:
//!
//! ```text
//! idx         IDX header/data parse (first byte: 1 or 3 dimensions); gzip if magic
//! csv         CSV parse (first byte: header mode and label column)
//! checkpoint  safetensors into a small MLP, as model and as training state
//! config      config.json parse; a valid config survives to_json → from_json unchanged
//! arch        --arch string: size estimate, then build when small
//! ```

use std::path::Path;

use engine::optim::{OptimKind, Optimizer};
use engine::spec::{build, ModelSpec};

use crate::config::RunConfig;
use crate::data::csv::{self, Header, LabelColumn};
use crate::data::{gz, idx};

const PATH: &str = "fuzz-input";

/// IDX bytes (gzip-compressed when they start with its magic).
pub fn idx(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let path = Path::new(PATH);
    let bytes = if rest.starts_with(&[0x1f, 0x8b]) {
        match gz::gunzip(rest, path) {
            Ok(b) => b,
            Err(_) => return,
        }
    } else {
        rest.to_vec()
    };
    let ndims = if sel % 2 == 0 { 1 } else { 3 };
    if let Ok(i) = idx::parse(&bytes, ndims, path) {
        assert_eq!(i.dims.len(), ndims);
        assert_eq!(i.data.len(), i.dims.iter().product::<usize>());
    }
}

/// CSV bytes.
pub fn csv(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let header = [Header::Auto, Header::Yes, Header::No][usize::from(sel % 3)];
    let label = match (sel / 3) % 4 {
        0 => LabelColumn::Last,
        1 => LabelColumn::Index(0),
        2 => LabelColumn::Index(usize::from(sel)),
        _ => LabelColumn::Name("label".into()),
    };
    if let Ok(t) = csv::parse(rest, &label, header, Path::new(PATH)) {
        assert_eq!(t.x.len(), t.y.len() * t.features);
        assert!(t.x.iter().all(|v| v.is_finite()));
    }
}

/// A checkpoint for the MLP 4-3-2 (with BatchNorm, so buffers are read too).
pub fn checkpoint(data: &[u8]) {
    let mut spec = ModelSpec::new("4-3-2");
    spec.norm = engine::spec::Norm::Batch;
    let Ok(mut model) = build(&spec, &[4], 0) else {
        return;
    };
    let path = Path::new(PATH);
    if crate::checkpoint::load_bytes(&mut model, data, path).is_ok() {
        model.visit_params(&mut |_, p| assert!(p.value.iter().all(|v| v.is_finite())));
    }
    let kind = OptimKind::Adam {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
    };
    let mut opt = Optimizer::new(kind, 0.0, None);
    let _ = crate::checkpoint::load_state_bytes(&mut model, &mut opt, data, path);
}

/// `config.json` text.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cfg) = RunConfig::from_json(text) {
        if cfg.validate().is_ok() {
            let again = RunConfig::from_json(&cfg.to_json()).expect("our own JSON reads back");
            assert_eq!(again, cfg, "a config changed on a round trip");
        }
    }
}

/// An `--arch` string, for MNIST-shaped images and for 8 features.
pub fn arch(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(arch) = ModelSpec::new(text).arch() else {
        return;
    };
    for sample in [&[1usize, 28, 28][..], &[8]] {
        let s = arch.size(sample);
        // Build only what is cheap to allocate; the size check itself is
        // what protects large ones.
        if s.params < 200_000 && s.floats_per_sample < 200_000 {
            let _ = arch.build(sample, 0);
        }
    }
}

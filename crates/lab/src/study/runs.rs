//! What a study run is and what is read off it: the standard run
//! configurations the claims start from ([`image_run`], [`updates_run`],
//! [`with_p`]), the final numbers of finished runs ([`test_accs`],
//! [`val_accs`], [`gaps`]), and the memorisation of flipped labels.
//!
//! ```text
//! image_run(ds, arch, n, epochs, seed)   ReLU MLP/CNN, n stratified images, pixels in [0, 1], SGD lr 0.05, μ 0.9, batch 128
//! updates_run(…, updates, (p, lr))       the same for ≈ updates / ⌈n/128⌉ epochs, with val images held out
//! memorised                              accuracy on the flipped training labels, against the flipped labels
//! ```

use engine::Sequential;

use super::cache::RunOut;
use super::lab::Lab;
use crate::config::{Builtin, DataConfig, ModelConfig, RunConfig, Standardize};
use crate::data::{prepare, Raw, Splits};
use crate::error::Result;
use crate::train::evaluate;

/// The study's standard run: a ReLU net `arch` on a stratified subset of `n`
/// training images of `ds` (all of them for n ≥ 60,000), no standardisation,
/// no dropout, SGD (lr 0.05, momentum 0.9, constant), batch 128.
pub fn image_run(ds: Builtin, arch: &str, n: usize, epochs: usize, seed: u64) -> RunConfig {
    let d = RunConfig::default();
    RunConfig {
        data: DataConfig {
            dataset: ds,
            train_size: (n < 60_000).then_some(n),
            standardize: Standardize::Off,
            ..d.data
        },
        model: ModelConfig {
            arch: arch.into(),
            dropout: 0.0,
            input_dropout: 0.0,
            ..d.model
        },
        epochs,
        seed,
        ..d
    }
}

/// [`image_run`] for about `updates` optimizer steps (batch 128), hidden
/// dropout `p`, learning rate `lr`, and `val` validation images held out:
/// the run of the claims that compare arms at equal updates.
pub fn updates_run(
    ds: Builtin,
    arch: &str,
    (n, val): (usize, usize),
    updates: usize,
    (p, lr): (f32, f32),
    seed: u64,
) -> RunConfig {
    let mut c = with_p(
        image_run(ds, arch, n, Lab::epochs_for_updates(n, updates), seed),
        p,
    );
    c.data.val_size = val;
    c.optim.lr = lr;
    c
}

/// `cfg` with hidden dropout `p`.
pub fn with_p(mut cfg: RunConfig, p: f32) -> RunConfig {
    cfg.model.dropout = p;
    cfg
}

/// With label noise: the accuracy of `model` on the training samples whose
/// label was flipped, against the flipped labels (the same subset drawn
/// without noise tells which those are).
pub(super) fn memorised(
    model: &mut Sequential,
    cfg: &RunConfig,
    splits: &Splits,
    raw: &Raw,
) -> Result<Option<f64>> {
    if cfg.data.label_noise <= 0.0 {
        return Ok(None);
    }
    let clean_cfg = DataConfig {
        label_noise: 0.0,
        ..cfg.data.clone()
    };
    let clean = prepare(raw, &clean_cfg, cfg.seed)?;
    let flipped: Vec<usize> = (0..splits.train.len())
        .filter(|&i| clean.train.y[i] != splits.train.y[i])
        .collect();
    if flipped.is_empty() {
        return Ok(Some(0.0));
    }
    let set = splits.train.subset(&flipped);
    Ok(Some(evaluate(model, &set, 512)?.acc))
}

/// Final validation accuracies of runs (0 for runs without a validation split).
pub fn val_accs(outs: &[RunOut]) -> Vec<f64> {
    outs.iter()
        .map(|o| o.last().val_acc.unwrap_or(0.0))
        .collect()
}

/// Final test accuracies of runs.
pub fn test_accs(outs: &[RunOut]) -> Vec<f64> {
    outs.iter().map(|o| o.last().test_acc).collect()
}

/// Final generalisation gaps of runs.
pub fn gaps(outs: &[RunOut]) -> Vec<f64> {
    outs.iter().map(RunOut::gap).collect()
}

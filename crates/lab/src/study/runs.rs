//! What a study run is and what is read off it: the standard run
//! configurations the claims start from ([`image_run`], [`updates_run`],
//! [`with_p`]), the final numbers of finished runs ([`test_accs`],
//! [`val_accs`], [`gaps`]), and the budget's standard sizes.
//!
//! ```text
//! image_run(ds, arch, n, epochs, seed)   ReLU MLP/CNN, n stratified images, pixels in [0, 1], SGD lr 0.05, μ 0.9, batch 128
//! updates_run(…, updates, (p, lr))       the same for ≈ updates / ⌈n/128⌉ epochs, with val images held out
//! Lab::base_run(p, seed)                 the budget's MLP on its base subset: epochs_for, mlp, base_size
//! ```

use super::lab::Lab;
use super::Budget;
use crate::config::{Builtin, DataConfig, ModelConfig, RunConfig, Standardize};
use crate::runner::cache::RunOut;

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

/// The budget's standard sizes.
impl Lab {
    /// Epochs for a training-set size: about the budget's number of samples seen, within bounds.
    pub fn epochs_for(&self, n: usize) -> usize {
        let (samples, lo, hi) = match self.budget {
            Budget::Tiny => (600.0, 2, 2),
            Budget::Quick => (40_000.0, 3, 20),
            Budget::Default => (150_000.0, 5, 40),
            Budget::Full => (600_000.0, 10, 100),
        };
        ((samples / n as f64).round() as usize).clamp(lo, hi)
    }

    /// The standard MLP of the budget.
    pub fn mlp(&self) -> &'static str {
        match self.budget {
            Budget::Tiny => "784-16-16-10",
            Budget::Quick => "784-128-128-10",
            Budget::Default => "784-256-256-10",
            Budget::Full => "784-512-512-10",
        }
    }

    /// The standard training-set size of the budget.
    pub fn base_size(&self) -> usize {
        match self.budget {
            Budget::Tiny => 300,
            Budget::Quick => 2_000,
            Budget::Default => 5_000,
            Budget::Full => 20_000,
        }
    }

    /// The standard MLP run of the budget on its base subset of the primary
    /// data set, hidden dropout `p`.
    pub fn base_run(&self, p: f32, seed: u64) -> RunConfig {
        let n = self.base_size();
        with_p(
            image_run(self.primary(), self.mlp(), n, self.epochs_for(n), seed),
            p,
        )
    }

    /// Epochs giving about `updates` optimizer steps on `n` samples with batch 128.
    pub fn epochs_for_updates(n: usize, updates: usize) -> usize {
        let per_epoch = n.div_ceil(128).max(1);
        ((updates as f64 / per_epoch as f64).round() as usize).max(1)
    }
}

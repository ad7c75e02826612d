//! Wall-time estimates of planned runs on this machine, calibrated from two
//! short probes (one MLP, one CNN) trained on random data here and now:
//!
//! ```text
//! size(run)    = parameters + floats per sample (of its model on 28 × 28 images)
//! work(run)    = epochs · n_train · size  +  evaluations · (n_train + n_val + n_test) · size / 3
//!                (a forward pass ≈ a third of a training step; evaluations = epochs / eval_every, ≥ 1)
//! rate_kind    = probe's seconds in training steps / (its epochs · n · size)   kind ∈ {flat (MLP), shaped (CNN, RNN)}
//! seconds(run) ≈ OVERHEAD · (rate_kind(run) · work(run) + PER_RUN)
//! ```
//! `OVERHEAD` is measured, not derived: the wall time of whole studies here
//! over the sum of their runs' estimates without it — 36 s / 19 s = 1.9
//! (`study --tiny`) and 338 s / 154 s = 2.2 (`study --quick`) — what the
//! runs' data preparation, the claims' own work (MC passes, probes, plots)
//! and a busier machine than the probe saw add.
//! An estimate, no more: the cost model counts samples × (parameters +
//! floats per sample), which orders runs well but misses how a CNN's work
//! grows with its spatial size, and the machine's load changes under it.

use super::plan::cost;
use crate::config::RunConfig;
use crate::data::{Dataset, Splits};
use crate::error::Result;
use crate::train::{fit, LoopOptions};

/// Seconds each run costs besides its steps (building the model, preparing its data split).
pub const PER_RUN: f64 = 0.05;

/// The measured ratio of a study's wall time to its runs' modelled time (see the module docs).
pub const OVERHEAD: f64 = 2.0;

/// Test samples a run scores at each evaluation (MNIST's and Fashion-MNIST's test sets).
const N_TEST: f64 = 10_000.0;

/// Seconds per unit of cost on this machine, per kind of model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rates {
    /// Flat models (MLPs).
    pub flat: f64,
    /// Models that read the sample's shape (CNNs, RNNs).
    pub shaped: f64,
}

impl Rates {
    /// Time the two probes on the current thread pool (about a second).
    ///
    /// # Errors
    /// Training errors (none expected on random data).
    pub fn calibrate() -> Result<Self> {
        Ok(Self {
            flat: probe("784-256-256-10", 2048)?,
            shaped: probe("c16-p-c32-p-64-10", 512)?,
        })
    }

    /// The estimated wall seconds of `cfg`, evaluated every `eval_every` epochs (0: the last).
    pub fn seconds(&self, cfg: &RunConfig, eval_every: usize) -> f64 {
        let shaped = cfg
            .model
            .spec(784, 10)
            .arch()
            .is_ok_and(|a| a.reads_sample_shape());
        let rate = if shaped { self.shaped } else { self.flat };
        let size = cost(cfg) / (cfg.epochs as f64 * n_train(cfg));
        let evals = if eval_every == 0 {
            1
        } else {
            cfg.epochs.div_ceil(eval_every).max(1)
        };
        let scored = n_train(cfg) + cfg.data.val_size as f64 + N_TEST;
        OVERHEAD * (rate * (cost(cfg) + evals as f64 * scored * size / 3.0) + PER_RUN)
    }
}

/// Training samples per epoch, as [`cost`] counts them.
fn n_train(cfg: &RunConfig) -> f64 {
    cfg.data
        .train_size
        .unwrap_or(60_000)
        .saturating_sub(cfg.data.val_size)
        .max(1) as f64
}

/// Seconds per cost unit of one epoch of `arch` on `n` random images.
fn probe(arch: &str, n: usize) -> Result<f64> {
    let mut cfg = RunConfig {
        epochs: 1,
        ..RunConfig::default()
    };
    cfg.model.arch = arch.into();
    cfg.data.train_size = Some(n);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut random = |len: usize| -> Vec<f32> {
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 40) as f32 / (1u64 << 24) as f32
            })
            .collect()
    };
    let set = |x: Vec<f32>, m: usize| Dataset {
        x,
        y: (0..m as u32).map(|i| i % 10).collect(),
        sample_shape: vec![1, 28, 28],
    };
    let splits = Splits {
        train: set(random(n * 784), n),
        val: set(Vec::new(), 0),
        test: set(random(10 * 784), 10),
        classes: 10,
        source: "probe".into(),
        text: None,
    };
    // Once to warm caches and the pool, then timed.
    fit(&cfg, &splits, LoopOptions::in_memory(0, &mut ()))?;
    let (_, s) = fit(&cfg, &splits, LoopOptions::in_memory(0, &mut ()))?;
    Ok(s.last.train_s / cost(&cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_larger_run_is_estimated_longer_and_every_estimate_is_positive() {
        let r = Rates {
            flat: 1e-12,
            shaped: 1e-11,
        };
        let small = RunConfig::default();
        let large = RunConfig {
            epochs: 20,
            ..RunConfig::default()
        };
        let steps =
            |c: &RunConfig, rate: f64| r.seconds(c, 0) / OVERHEAD - PER_RUN - rate * cost(c);
        assert!(r.seconds(&small, 1) > r.seconds(&small, 0));
        assert!(r.seconds(&large, 0) > 1.9 * r.seconds(&small, 0) - OVERHEAD * PER_RUN);
        // One evaluation scores 60k + 10k samples forward: a third of their cost each.
        let one_eval = 1e-12 * cost(&small) / 10.0 / 60_000.0 * 70_000.0 / 3.0;
        assert!((steps(&small, 1e-12) / one_eval - 1.0).abs() < 1e-9);
        let mut cnn = RunConfig::default();
        cnn.model.arch = "c8-p-16-10".into();
        assert!(steps(&cnn, 1e-11) > 0.0, "CNNs take the shaped rate");
    }
}

//! The shared machinery of the study: MNIST loaded once, training runs
//! described by a [`RunSpec`], and a cache so an interrupted study resumes.
//!
//! A run's results (and, when a claim needs the trained net, its checkpoint)
//! are stored under `<out>/cache/runs/<hash of the spec>`; the same spec is
//! never trained twice, in this study or the next one with the same `--out`.

use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::{Context, Result};
use engine::Sequential;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use super::Budget;
use crate::config::{DataConfig, ModelConfig, OptimConfig, RunConfig};
use crate::data::{prepare, DataOptions, Raw, Splits, Standardize};
use crate::train::{build_model, train, LoopOptions};

/// One training run on MNIST.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// Training samples (stratified subset).
    pub train_size: usize,
    /// Symmetric label noise.
    pub noise: f64,
    /// Architecture (MLP or CNN string).
    pub arch: String,
    /// Hidden dense dropout.
    pub dropout: f32,
    /// Input dropout.
    pub input_dropout: f32,
    /// Conv dropout.
    pub conv_dropout: f32,
    /// Spatial conv dropout.
    pub spatial: bool,
    /// `none`, `bn`, `ln`.
    pub norm: String,
    /// Hidden dropout only in the last block.
    pub last_only: bool,
    /// L2 weight decay.
    pub weight_decay: f32,
    /// Max-norm (0 = off).
    pub max_norm: f32,
    /// Epochs.
    pub epochs: usize,
    /// Learning rate (SGD, momentum 0.9).
    pub lr: f32,
    /// Evaluate every this many epochs (0 = last only).
    pub eval_every: usize,
    /// Seed (data subset, init, order, masks).
    pub seed: u64,
}

impl RunSpec {
    /// A plain ReLU MLP run with SGD (lr 0.05, momentum 0.9).
    pub fn mlp(arch: &str, train_size: usize, epochs: usize, seed: u64) -> Self {
        Self {
            train_size,
            noise: 0.0,
            arch: arch.to_string(),
            dropout: 0.0,
            input_dropout: 0.0,
            conv_dropout: 0.0,
            spatial: false,
            norm: "none".into(),
            last_only: false,
            weight_decay: 0.0,
            max_norm: 0.0,
            epochs,
            lr: 0.05,
            eval_every: 0,
            seed,
        }
    }

    /// The same run with hidden dropout `p`.
    pub fn with_p(&self, p: f32) -> Self {
        Self {
            dropout: p,
            ..self.clone()
        }
    }

    fn key(&self) -> String {
        let text = serde_json::to_string(self).expect("plain struct");
        // FNV-1a, 64 bits: a stable file name for the spec.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in text.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        format!("{h:016x}")
    }

    /// The run config this spec trains with.
    pub fn config(&self) -> RunConfig {
        RunConfig {
            data: DataConfig {
                path: None,
                label_column: "last".into(),
                test_fraction: 0.2,
                train_size: Some(self.train_size),
                val_size: 0,
                label_noise: self.noise,
                standardize: "off".into(),
            },
            model: ModelConfig {
                arch: self.arch.clone(),
                act: "relu".into(),
                dropout: self.dropout,
                input_dropout: self.input_dropout,
                conv_dropout: self.conv_dropout,
                spatial: self.spatial,
                norm: self.norm.clone(),
                dropout_where: "after-act".into(),
                dropout_last_only: self.last_only,
                init: "auto".into(),
            },
            optim: OptimConfig {
                optimizer: "sgd".into(),
                lr: self.lr,
                momentum: 0.9,
                nesterov: false,
                weight_decay: self.weight_decay,
                max_norm: self.max_norm,
                schedule: "constant".into(),
            },
            epochs: self.epochs,
            batch: 128,
            seed: self.seed,
            threads: 0,
        }
    }
}

/// Metrics of one evaluated epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss of the epoch's batches (with dropout).
    pub batch_loss: f64,
    /// Training loss, eval mode.
    pub train_loss: f64,
    /// Training accuracy, eval mode.
    pub train_acc: f64,
    /// Test loss.
    pub test_loss: f64,
    /// Test accuracy.
    pub test_acc: f64,
}

/// A finished run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunOut {
    /// Evaluated epochs (at least the last).
    pub curve: Vec<Point>,
    /// Seconds of training.
    pub train_s: f64,
}

impl RunOut {
    /// The last evaluated epoch.
    pub fn last(&self) -> Point {
        self.curve.last().copied().unwrap_or_default()
    }

    /// Train accuracy − test accuracy at the end.
    pub fn gap(&self) -> f64 {
        self.last().train_acc - self.last().test_acc
    }
}

/// The study's shared state.
pub struct Lab {
    raw: Raw,
    cache: PathBuf,
    /// Compute budget.
    pub budget: Budget,
    /// Seeds to average over.
    pub seeds: Vec<u64>,
    bars: MultiProgress,
    current: Mutex<Option<ProgressBar>>,
    /// Runs trained (not served from the cache) so far.
    pub trained: Mutex<usize>,
}

impl Lab {
    /// MNIST from the binary, a run cache under `cache`.
    pub fn new(
        cache: &std::path::Path,
        budget: Budget,
        seeds: usize,
        progress: bool,
    ) -> Result<Self> {
        let raw =
            crate::data::load_raw(&DataOptions::default()).context("loading the embedded MNIST")?;
        let cache = cache.join("runs");
        std::fs::create_dir_all(&cache).with_context(|| format!("creating {}", cache.display()))?;
        let bars = MultiProgress::new();
        if !progress {
            bars.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        Ok(Self {
            raw,
            cache,
            budget,
            seeds: (0..seeds as u64).collect(),
            bars,
            current: Mutex::new(None),
            trained: Mutex::new(0),
        })
    }

    /// The progress display (for the overall bar).
    pub fn bars(&self) -> &MultiProgress {
        &self.bars
    }

    /// Start a per-claim bar of `total` units.
    pub fn begin(&self, label: &str, total: usize) {
        let bar = self.bars.add(ProgressBar::new(total as u64));
        bar.set_style(
            ProgressStyle::with_template("  {prefix:>4} [{bar:30}] {pos}/{len} {msg}")
                .expect("static")
                .progress_chars("=> "),
        );
        bar.set_prefix(label.to_string());
        if let Some(old) = self.current.lock().expect("bar lock").replace(bar) {
            old.finish_and_clear();
        }
    }

    /// Advance the per-claim bar.
    pub fn tick(&self, msg: &str) {
        if let Some(b) = self.current.lock().expect("bar lock").as_ref() {
            b.set_message(msg.to_string());
            b.inc(1);
        }
    }

    /// Close the per-claim bar.
    pub fn end(&self) {
        if let Some(b) = self.current.lock().expect("bar lock").take() {
            b.finish_and_clear();
        }
    }

    /// The data of a spec (subset, noise) — deterministic in the spec's seed.
    pub fn splits(&self, spec: &RunSpec) -> Result<Splits> {
        let o = DataOptions {
            train_size: Some(spec.train_size.min(60_000)),
            label_noise: spec.noise,
            seed: spec.seed,
            standardize: Standardize::Off,
            ..Default::default()
        };
        let o = if spec.train_size >= 60_000 {
            DataOptions {
                train_size: None,
                ..o
            }
        } else {
            o
        };
        Ok(prepare(&self.raw, &o)?)
    }

    /// The full MNIST test set.
    pub fn test(&self) -> &crate::data::Dataset {
        &self.raw.test
    }

    /// Train (or fetch from the cache) and return the metrics.
    pub fn run(&self, spec: &RunSpec) -> Result<RunOut> {
        Ok(self.run_inner(spec, false)?.0)
    }

    /// Train (or fetch) and also return the trained model and its data.
    pub fn trained(&self, spec: &RunSpec) -> Result<(RunOut, Sequential, Splits)> {
        let (out, model) = self.run_inner(spec, true)?;
        let splits = self.splits(spec)?;
        Ok((out, model.expect("asked for the model"), splits))
    }

    fn run_inner(&self, spec: &RunSpec, want_model: bool) -> Result<(RunOut, Option<Sequential>)> {
        let key = spec.key();
        let json_path = self.cache.join(format!("{key}.json"));
        let model_path = self.cache.join(format!("{key}.safetensors"));
        let cfg = spec.config();
        let cached = std::fs::read_to_string(&json_path)
            .ok()
            .and_then(|t| serde_json::from_str::<RunOut>(&t).ok());
        if let (Some(out), false) = (&cached, want_model) {
            return Ok((out.clone(), None));
        }
        let splits = self.splits(spec)?;
        if let (Some(out), true) = (cached, model_path.exists()) {
            let (mut model, _, _) = build_model(&cfg, &splits)?;
            crate::checkpoint::load(&mut model, &model_path)?;
            return Ok((out, Some(model)));
        }
        let (mut model, mut opt, schedule) = build_model(&cfg, &splits)?;
        let mut curve = Vec::new();
        let mut on_epoch = |m: &crate::train::EpochMetrics| {
            curve.push(Point {
                epoch: m.epoch,
                batch_loss: m.train_batch_loss,
                train_loss: m.train.loss,
                train_acc: m.train.acc,
                test_loss: m.test.loss,
                test_acc: m.test.acc,
            });
        };
        // The study's runs use the caller's thread pool.
        let summary = train(
            &cfg,
            &splits,
            &mut model,
            &mut opt,
            schedule,
            LoopOptions {
                run_dir: None,
                progress: false,
                eval_every: spec.eval_every,
                on_epoch: &mut on_epoch,
            },
        )?;
        let out = RunOut {
            curve,
            train_s: summary.last.train_s,
        };
        crate::checkpoint::write_atomic(&json_path, serde_json::to_string(&out)?.as_bytes())?;
        if want_model {
            crate::checkpoint::save(&mut model, "{}", &model_path)?;
        }
        *self.trained.lock().expect("counter") += 1;
        Ok((out, want_model.then_some(model)))
    }

    /// Epochs for a training-set size: about `samples` samples seen, within bounds.
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
}

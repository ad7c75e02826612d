//! The run configuration: one typed value that says everything needed to
//! rebuild a run's data split, model and optimizer. The same structs are the
//! study's runs (a function `seed → RunConfig` starting from
//! `..RunConfig::default()`), the run directory's `config.json`, and — as
//! the binary's flags over these defaults — the `train` command line. The
//! library knows no flags: the binary's `cli/flags` maps them onto these
//! types.
//!
//! Parsing happens once, at the edge (named choices by their serde names,
//! [`std::str::FromStr`] for schedules and label columns);
//! [`RunConfig::validate`] checks ranges once, before any data is loaded;
//! after that nothing is re-parsed.
//!
//! Defaults are written once, in the `Default` impls of these types.
//!
//! `config.json` carries `format` ([`FORMAT`]). Format 1 (before typed enums)
//! had `model.spatial: bool` and `model.init: "auto"`; it is migrated on load.

pub mod csv_format;
pub mod data;
pub mod dropout_schedule;
pub mod model;
pub mod optim;
mod partial;
pub mod selection;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use self::csv_format::{Header, LabelColumn};
pub use self::data::{Builtin, DataConfig, Standardize};
pub use self::dropout_schedule::DropoutSchedule;
pub use self::model::ModelConfig;
pub use self::optim::{LrSchedule, MomentumForm, MomentumRamp, OptimConfig, OptimizerName};
pub use self::selection::Keep;

/// The `config.json` format this version writes.
pub const FORMAT: u32 = 2;

/// A configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A setting outside its range. `field` is the config key (`lr`, `input_dropout`, …).
    #[error("{field} = {value}: {reason}")]
    Invalid {
        /// The config key.
        field: &'static str,
        /// The value given.
        value: String,
        /// What it must be.
        reason: &'static str,
    },
    /// `config.json` is not a run configuration.
    #[error("not a valid run config: {0}")]
    Json(String),
    /// Written by a newer version.
    #[error("format {found}, but this dropout-lab reads formats 1 to {FORMAT}: use the version that wrote it")]
    NewerFormat {
        /// The file's format.
        found: u64,
    },
}

/// A whole run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// `config.json` format ([`FORMAT`]).
    #[serde(default = "format_one")]
    pub format: u32,
    /// Data.
    pub data: DataConfig,
    /// Model.
    pub model: ModelConfig,
    /// Optimisation.
    pub optim: OptimConfig,
    /// Epochs.
    pub epochs: usize,
    /// Batch size.
    pub batch: usize,
    /// Seed of data preparation, init, shuffling and dropout masks.
    pub seed: u64,
    /// Threads (results are bit-identical for any count).
    pub threads: usize,
    /// Which weights the run saves: the last epoch's, or the best by validation loss.
    #[serde(default)]
    pub keep: Keep,
    /// Stop when K evaluations in a row bring no new lowest validation loss (none: never).
    #[serde(default)]
    pub early_stop: Option<usize>,
    /// A language model's epoch: this many training iterations (none: 250). Its budget is
    /// `epochs × epoch_iters` iterations of random windows; a classifier's epoch is one pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch_iters: Option<usize>,
}

/// A language model's iterations per epoch unless `epoch_iters` says otherwise.
pub const LM_EPOCH_ITERS: usize = 250;

fn format_one() -> u32 {
    1
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            format: FORMAT,
            data: DataConfig::default(),
            model: ModelConfig::default(),
            optim: OptimConfig::default(),
            epochs: 10,
            batch: 128,
            seed: 0,
            threads: 2,
            keep: Keep::Last,
            early_stop: None,
            epoch_iters: None,
        }
    }
}

fn check(
    ok: bool,
    field: &'static str,
    value: impl ToString,
    reason: &'static str,
) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            field,
            value: value.to_string(),
            reason,
        })
    }
}

impl RunConfig {
    /// The defaults a run with architecture `arch` starts from: the MLP's
    /// ([`Default`]), or a Transformer's —
    ///
    /// ```text
    /// gpt…  Shakespeare, AdamW lr 1e-3, weight decay 0.1, batch 12, 8 epochs × 250 iterations,
    ///       warmup-cosine:100:0.1, gradient clipping 1, dropout 0 (nanoGPT's CPU sizes and schedule)
    /// vit…  MNIST, AdamW lr 1e-3, weight decay 0.05, batch 128, 10 epochs, warmup-cosine:200:0.1,
    ///       gradient clipping 1, dropout 0
    /// ```
    /// every one of them overridden by a flag or a config file's key.
    pub fn for_arch(arch: &str) -> Self {
        use engine::arch::transformer::{family, Family};
        let mut c = Self::default();
        let Some(kind) = family(arch) else {
            return c;
        };
        c.model.arch = arch.to_string();
        c.model.dropout = 0.0;
        c.model.input_dropout = 0.0;
        c.model.act = engine::layers::Activation::Gelu;
        c.optim.optimizer = OptimizerName::Adamw;
        c.optim.lr = 1e-3;
        c.optim.clip_grad = 1.0;
        if kind == Family::Gpt {
            c.data.dataset = Builtin::Shakespeare;
            c.optim.weight_decay = 0.1;
            c.batch = 12;
            c.epochs = 8;
            c.optim.schedule = LrSchedule::WarmupCosine {
                warmup: 100,
                min_ratio: 0.1,
            };
        } else {
            c.optim.weight_decay = 0.05;
            c.batch = 128;
            c.epochs = 10;
            c.optim.schedule = LrSchedule::WarmupCosine {
                warmup: 200,
                min_ratio: 0.1,
            };
        }
        c
    }

    /// Optimizer steps per epoch: one pass over `train_len` training samples
    /// in batches, or a language model's `epoch_iters` iterations (`text`).
    pub fn steps_per_epoch(&self, text: bool, train_len: usize) -> usize {
        if text {
            self.epoch_iters.unwrap_or(LM_EPOCH_ITERS)
        } else {
            train_len.div_ceil(self.batch.max(1))
        }
    }

    /// Check every range; the first setting out of range is the error.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the setting.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check(
            self.epochs >= 1,
            "epochs",
            self.epochs,
            "must be at least 1",
        )?;
        check(self.batch >= 1, "batch", self.batch, "must be at least 1")?;
        if let Some(k) = self.epoch_iters {
            check(
                k >= 1,
                "epoch_iters",
                k,
                "must be at least 1 (iterations per epoch)",
            )?;
        }
        check(
            self.optim.clip_grad >= 0.0 && self.optim.clip_grad.is_finite(),
            "clip_grad",
            self.optim.clip_grad,
            "must be a finite number ≥ 0 (0 = off)",
        )?;
        self.model.check_transformer()?;
        check(
            self.threads >= 1,
            "threads",
            self.threads,
            "must be at least 1",
        )?;
        for (field, p) in self.model.rates() {
            check(
                (0.0..=1.0).contains(&p),
                field,
                p,
                "a dropout probability must be in [0, 1]",
            )?;
        }
        let o = &self.optim;
        check(
            o.lr > 0.0 && o.lr.is_finite(),
            "lr",
            o.lr,
            "must be a positive number",
        )?;
        check(
            (0.0..1.0).contains(&o.momentum),
            "momentum",
            o.momentum,
            "must be in [0, 1)",
        )?;
        check(
            !(o.nesterov && o.momentum_form == MomentumForm::Dampened),
            "momentum_form",
            "dampened",
            "the dampened form is not defined with Nesterov momentum; drop --nesterov or use heavy-ball",
        )?;
        check(
            o.weight_decay >= 0.0 && o.weight_decay.is_finite(),
            "weight_decay",
            o.weight_decay,
            "must be ≥ 0",
        )?;
        check(
            o.max_norm >= 0.0 && o.max_norm.is_finite(),
            "max_norm",
            o.max_norm,
            "must be ≥ 0 (0 = off)",
        )?;
        let d = &self.data;
        check(
            d.test_fraction > 0.0 && d.test_fraction < 1.0,
            "test_fraction",
            d.test_fraction,
            "must be in (0, 1)",
        )?;
        check(
            (0.0..1.0).contains(&d.label_noise),
            "label_noise",
            d.label_noise,
            "must be in [0, 1)",
        )?;
        check(d.train_size != Some(0), "train_size", 0, "must be positive")?;
        check(
            self.early_stop != Some(0),
            "early_stop",
            0,
            "must be at least 1 (the evaluations without improvement it waits for)",
        )?;
        check(
            // A language model's text always has its validation block.
            d.val_size > 0
                || self.model.language_model().is_some()
                || (self.keep == Keep::Last && self.early_stop.is_none()),
            "val_size",
            0,
            "keeping the best epoch and stopping early select on a validation set; give one with more than 0 samples",
        )?;
        Ok(())
    }

    /// Whether `other` (e.g. the config embedded in a checkpoint) describes
    /// the same run: everything equal except the thread count (results do
    /// not depend on it) and where the data file lies (a moved file is the
    /// same data; the test set's fingerprint checks the contents).
    pub fn same_run(&self, other: &RunConfig) -> bool {
        let mut o = other.clone();
        o.threads = self.threads;
        o.data.path.clone_from(&self.data.path);
        *self == o
    }

    /// The JSON of `config.json`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a config always serialises")
    }

    /// Read a `config.json`, migrating older formats.
    ///
    /// # Errors
    /// [`ConfigError::Json`] for text that is not a run config,
    /// [`ConfigError::NewerFormat`] for one written by a newer version.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let mut v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ConfigError::Json(e.to_string()))?;
        let format = v
            .get("format")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(1);
        if format > u64::from(FORMAT) {
            return Err(ConfigError::NewerFormat { found: format });
        }
        if format == 1 {
            migrate_v1(&mut v);
        }
        let mut cfg: Self =
            serde_json::from_value(v).map_err(|e| ConfigError::Json(e.to_string()))?;
        cfg.format = FORMAT;
        Ok(cfg)
    }
}

/// Format 1 → 2: `spatial: bool` became `conv_dropout_kind`, `init: "auto"` became `null`.
fn migrate_v1(v: &mut serde_json::Value) {
    if let Some(m) = v
        .get_mut("model")
        .and_then(serde_json::Value::as_object_mut)
    {
        let spatial = m
            .remove("spatial")
            .and_then(|s| s.as_bool())
            .unwrap_or(false);
        m.insert(
            "conv_dropout_kind".into(),
            (if spatial { "spatial" } else { "element" }).into(),
        );
        if m.get("init").and_then(serde_json::Value::as_str) == Some("auto") {
            m.insert("init".into(), serde_json::Value::Null);
        }
    }
}

/// The cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// The most threads a run may ask for: 4 × [`cores`], at least 64.
pub fn max_threads() -> usize {
    cores().saturating_mul(4).max(64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults() {
        let c = RunConfig::default();
        assert_eq!(c.format, FORMAT);
        assert_eq!(c.model.arch, "{in}-1024-1024-{classes}");
        assert_eq!((c.model.dropout, c.model.input_dropout), (0.5, 0.2));
        assert_eq!(
            (c.optim.lr, c.epochs, c.batch, c.threads),
            (0.05, 10, 128, 2)
        );
        assert_eq!(c.data.standardize, Standardize::Auto);
        c.validate().unwrap();
    }

    #[test]
    fn json_round_trips_and_validation_names_the_field() {
        let mut c = RunConfig::default();
        c.optim.schedule = LrSchedule::Step {
            every: 3,
            gamma: 0.5,
        };
        assert_eq!(RunConfig::from_json(&c.to_json()).unwrap(), c);
        c.model.input_dropout = f32::NAN;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Invalid {
                field: "input_dropout",
                ..
            })
        ));
        let mut c = RunConfig::default();
        c.optim.momentum = 5.0;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Invalid {
                field: "momentum",
                ..
            })
        ));
        let newer = c.to_json().replace("\"format\": 2", "\"format\": 99");
        assert_eq!(
            RunConfig::from_json(&newer),
            Err(ConfigError::NewerFormat { found: 99 })
        );
        assert!(matches!(
            RunConfig::from_json("{\"epochs\": 3}"),
            Err(ConfigError::Json(_))
        ));
    }
}

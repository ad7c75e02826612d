//! The run configuration: everything needed to rebuild a run's data split and
//! model, saved as `config.json` in the run directory.

use std::path::PathBuf;

use engine::init::Init;
use engine::layers::Activation;
use engine::optim::{OptimKind, Schedule};
use engine::spec::{DropPlace, ModelSpec, Norm};
use serde::{Deserialize, Serialize};

use crate::data::csv::LabelColumn;
use crate::data::{DataOptions, Standardize};

/// Data section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataConfig {
    /// CSV file or IDX directory; `null` = embedded MNIST.
    pub path: Option<PathBuf>,
    /// CSV label column (`last`, an index or a name).
    pub label_column: String,
    /// CSV test fraction.
    pub test_fraction: f64,
    /// Stratified training subset size.
    pub train_size: Option<usize>,
    /// Validation samples.
    pub val_size: usize,
    /// Symmetric label noise.
    pub label_noise: f64,
    /// `auto`, `on` or `off`.
    pub standardize: String,
}

/// Model section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Architecture string.
    pub arch: String,
    /// Hidden activation.
    pub act: String,
    /// Hidden dense dropout.
    pub dropout: f32,
    /// Input dropout.
    pub input_dropout: f32,
    /// Conv dropout.
    pub conv_dropout: f32,
    /// Conv dropout drops whole channels.
    pub spatial: bool,
    /// `none`, `bn` or `ln`.
    pub norm: String,
    /// `after-act` or `before-norm`.
    pub dropout_where: String,
    /// Hidden dropout only in the last hidden block.
    pub dropout_last_only: bool,
    /// `he`, `xavier`, `lecun` or `auto`.
    pub init: String,
}

/// Optimisation section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimConfig {
    /// `sgd`, `adam` or `adamw`.
    pub optimizer: String,
    /// Base learning rate.
    pub lr: f32,
    /// SGD momentum.
    pub momentum: f32,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// Weight decay λ.
    pub weight_decay: f32,
    /// Max-norm bound (0 = none).
    pub max_norm: f32,
    /// `constant`, `step:EVERY:GAMMA`, `exp:GAMMA` or `cosine`.
    pub schedule: String,
}

/// A whole run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
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
    /// Threads.
    pub threads: usize,
}

impl RunConfig {
    /// The data options.
    ///
    /// # Errors
    /// A message naming the bad field.
    pub fn data_options(&self) -> Result<DataOptions, String> {
        let standardize = match self.data.standardize.as_str() {
            "auto" => Standardize::Auto,
            "on" => Standardize::On,
            "off" => Standardize::Off,
            s => return Err(format!("--standardize {s}: expected auto, on or off")),
        };
        Ok(DataOptions {
            path: self.data.path.clone(),
            label_column: LabelColumn::parse(&self.data.label_column),
            test_fraction: self.data.test_fraction,
            train_size: self.data.train_size,
            val_size: self.data.val_size,
            label_noise: self.data.label_noise,
            standardize,
            seed: self.seed,
        })
    }

    /// The model spec, with `{in}` and `{classes}` in the arch filled in.
    ///
    /// # Errors
    /// A message naming the bad field.
    pub fn model_spec(&self, inputs: usize, classes: usize) -> Result<ModelSpec, String> {
        let m = &self.model;
        let arch = m
            .arch
            .replace("{in}", &inputs.to_string())
            .replace("{classes}", &classes.to_string());
        let mut spec = ModelSpec::new(&arch);
        spec.act = Activation::parse(&m.act).map_err(|e| format!("--act: {e}"))?;
        spec.dropout = m.dropout;
        spec.input_dropout = m.input_dropout;
        spec.conv_dropout = m.conv_dropout;
        spec.spatial = m.spatial;
        spec.norm = Norm::parse(&m.norm).map_err(|e| format!("--norm: {e}"))?;
        spec.place = match m.dropout_where.as_str() {
            "after-act" => DropPlace::AfterAct,
            "before-norm" => DropPlace::BeforeNorm,
            s => {
                return Err(format!(
                    "--dropout-where {s}: expected after-act or before-norm"
                ))
            }
        };
        spec.last_only = m.dropout_last_only;
        spec.init = match m.init.as_str() {
            "auto" => None,
            s => Some(Init::parse(s).map_err(|e| format!("--init: {e}"))?),
        };
        for (flag, p) in [
            ("--dropout", m.dropout),
            ("--input-dropout", m.input_dropout),
            ("--conv-dropout", m.conv_dropout),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!(
                    "{flag} {p}: a dropout probability must be in [0, 1]"
                ));
            }
        }
        Ok(spec)
    }

    /// The optimizer and schedule.
    ///
    /// # Errors
    /// A message naming the bad field.
    pub fn optimizer(&self) -> Result<(OptimKind, Schedule), String> {
        let o = &self.optim;
        if !(o.lr > 0.0 && o.lr.is_finite()) {
            return Err(format!("--lr {}: must be a positive number", o.lr));
        }
        if !(o.weight_decay >= 0.0 && o.max_norm >= 0.0) {
            return Err("--weight-decay and --max-norm must be ≥ 0".into());
        }
        let kind = match o.optimizer.as_str() {
            "sgd" => OptimKind::Sgd {
                momentum: o.momentum,
                nesterov: o.nesterov,
            },
            "adam" => OptimKind::Adam {
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            },
            "adamw" => OptimKind::AdamW {
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            },
            s => return Err(format!("--optimizer {s}: expected sgd, adam or adamw")),
        };
        let parts: Vec<&str> = o.schedule.split(':').collect();
        let num = |s: &str| {
            s.parse::<f32>()
                .map_err(|_| format!("--schedule {}: `{s}` is not a number", o.schedule))
        };
        let schedule = match parts.as_slice() {
            ["constant"] => Schedule::Constant,
            ["cosine"] => Schedule::Cosine { total: self.epochs },
            ["exp", g] => Schedule::Exponential { gamma: num(g)? },
            ["step", e, g] => Schedule::Step {
                every: num(e)? as usize,
                gamma: num(g)?,
            },
            _ => {
                return Err(format!(
                    "--schedule {}: expected constant, cosine, exp:GAMMA or step:EVERY:GAMMA",
                    o.schedule
                ))
            }
        };
        Ok((kind, schedule))
    }
}

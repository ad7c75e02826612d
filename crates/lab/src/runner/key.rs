//! The cache's identity of a run: an explicit, versioned type, written
//! field by field from a [`RunConfig`], so what a key covers is stated here
//! and a config type can change its own JSON without moving users' caches.
//!
//! ```text
//! key  = FNV-1a-64("v" ‖ VERSION ‖ JSON(RunKey::of(config)))
//! RunKey::of(config) = config with threads = 0 and a user's data path
//!                      replaced by the data's content id
//! ```
//! The JSON is today's layout exactly (fields in the config's order; a
//! setting added after the first study is left out while it has its old
//! default, so keys written before it existed stay): the fixture test
//! `tests/cache_keys.rs` checks 573 configurations' keys against the keys
//! older versions wrote. [`of`](RunKey::of) destructures every config field,
//! so a new setting does not compile until it is placed in the key.
//! [`VERSION`] is in the key and in each entry: a
//! new engine numerics or entry layout raises it, and older entries are
//! named as such and trained again, never misread.

use serde::{Deserialize, Serialize};

use crate::config::{
    Builtin, DataConfig, DropoutSchedule, Header, Keep, LabelColumn, LrSchedule, ModelConfig,
    MomentumForm, MomentumRamp, OptimConfig, OptimizerName, RunConfig, Standardize,
};
use dropout::PathScope;
use engine::init::Init;
use engine::layers::{Activation, DropoutKind, DropoutVariant, RnnDropout};
use engine::spec::{DropPlace, Norm};

/// The entry format and engine numerics version; older entries are retrained.
pub const VERSION: u32 = 3;

/// What identifies a run to the cache (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunKey {
    format: u32,
    data: DataKey,
    model: ModelKey,
    optim: OptimKey,
    epochs: usize,
    batch: usize,
    seed: u64,
    /// Always 0: results are bit-identical on any thread count.
    threads: usize,
    #[serde(default, skip_serializing_if = "is_default")]
    keep: Keep,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    early_stop: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    epoch_iters: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct DataKey {
    /// The content id of a user's file; none for a built-in data set.
    path: Option<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    dataset: Builtin,
    label_column: LabelColumn,
    #[serde(default)]
    header: Header,
    test_fraction: f64,
    train_size: Option<usize>,
    val_size: usize,
    label_noise: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data_seed: Option<u64>,
    standardize: Standardize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct ModelKey {
    arch: String,
    act: Activation,
    dropout: f32,
    input_dropout: f32,
    conv_dropout: f32,
    conv_dropout_kind: DropoutKind,
    #[serde(default, skip_serializing_if = "is_default")]
    dropout_variant: DropoutVariant,
    #[serde(default, skip_serializing_if = "is_default")]
    dropconnect: f32,
    #[serde(default, skip_serializing_if = "is_default")]
    drop_path: f32,
    #[serde(default, skip_serializing_if = "is_default")]
    drop_path_scope: PathScope,
    #[serde(default, skip_serializing_if = "is_default")]
    rnn_dropout: f32,
    #[serde(default, skip_serializing_if = "is_default")]
    rnn_dropout_kind: RnnDropout,
    #[serde(default, skip_serializing_if = "is_default")]
    concrete_dropout: bool,
    #[serde(default, skip_serializing_if = "is_default")]
    dropout_schedule: DropoutSchedule,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    drop_block_size: Option<usize>,
    norm: Norm,
    dropout_where: DropPlace,
    dropout_last_only: bool,
    init: Option<Init>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    embed_dropout: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attn_dropout: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resid_dropout: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mlp_dropout: Option<f32>,
    #[serde(default, skip_serializing_if = "is_default")]
    drop_head: f32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct OptimKey {
    optimizer: OptimizerName,
    lr: f32,
    momentum: f32,
    nesterov: bool,
    #[serde(default, skip_serializing_if = "is_default")]
    momentum_form: MomentumForm,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    momentum_ramp: Option<MomentumRamp>,
    weight_decay: f32,
    max_norm: f32,
    schedule: LrSchedule,
    #[serde(default, skip_serializing_if = "is_default")]
    clip_grad: f32,
}

/// Whether a setting added later still has the value it had before it existed.
fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

impl RunKey {
    /// The key of `cfg` (reads a user's data file for its content id).
    pub fn of(cfg: &RunConfig) -> Self {
        let RunConfig {
            format,
            data,
            model,
            optim,
            epochs,
            batch,
            seed,
            threads: _,
            keep,
            early_stop,
            epoch_iters,
        } = cfg;
        Self {
            format: *format,
            data: DataKey::of(data),
            model: ModelKey::of(model),
            optim: OptimKey::of(optim),
            epochs: *epochs,
            batch: *batch,
            seed: *seed,
            threads: 0,
            keep: *keep,
            early_stop: *early_stop,
            epoch_iters: *epoch_iters,
        }
    }

    /// Whether the run's data could be read for its content id.
    pub fn readable(&self) -> bool {
        self.data
            .path
            .as_ref()
            .is_none_or(|p| !p.starts_with(crate::data::content::UNREADABLE))
    }

    /// The key's text: FNV-1a-64 of the version and the JSON, in hex.
    pub fn hex(&self) -> String {
        let json = serde_json::to_string(self).expect("a key always serialises");
        crate::fnv::hex(format!("v{}{json}", VERSION).as_bytes())
    }
}

impl DataKey {
    fn of(d: &DataConfig) -> Self {
        let DataConfig {
            path,
            dataset,
            label_column,
            header,
            test_fraction,
            train_size,
            val_size,
            label_noise,
            data_seed,
            standardize,
        } = d;
        Self {
            path: path.as_deref().map(crate::data::content::id),
            dataset: *dataset,
            label_column: label_column.clone(),
            header: *header,
            test_fraction: *test_fraction,
            train_size: *train_size,
            val_size: *val_size,
            label_noise: *label_noise,
            data_seed: *data_seed,
            standardize: *standardize,
        }
    }
}

impl ModelKey {
    fn of(m: &ModelConfig) -> Self {
        let ModelConfig {
            arch,
            act,
            dropout,
            input_dropout,
            conv_dropout,
            conv_dropout_kind,
            dropout_variant,
            dropconnect,
            drop_path,
            drop_path_scope,
            rnn_dropout,
            rnn_dropout_kind,
            concrete_dropout,
            dropout_schedule,
            drop_block_size,
            norm,
            dropout_where,
            dropout_last_only,
            init,
            embed_dropout,
            attn_dropout,
            resid_dropout,
            mlp_dropout,
            drop_head,
        } = m;
        Self {
            arch: arch.clone(),
            act: *act,
            dropout: *dropout,
            input_dropout: *input_dropout,
            conv_dropout: *conv_dropout,
            conv_dropout_kind: *conv_dropout_kind,
            dropout_variant: *dropout_variant,
            dropconnect: *dropconnect,
            drop_path: *drop_path,
            drop_path_scope: *drop_path_scope,
            rnn_dropout: *rnn_dropout,
            rnn_dropout_kind: *rnn_dropout_kind,
            concrete_dropout: *concrete_dropout,
            dropout_schedule: *dropout_schedule,
            drop_block_size: *drop_block_size,
            norm: *norm,
            dropout_where: *dropout_where,
            dropout_last_only: *dropout_last_only,
            init: *init,
            embed_dropout: *embed_dropout,
            attn_dropout: *attn_dropout,
            resid_dropout: *resid_dropout,
            mlp_dropout: *mlp_dropout,
            drop_head: *drop_head,
        }
    }
}

impl OptimKey {
    fn of(o: &OptimConfig) -> Self {
        let OptimConfig {
            optimizer,
            lr,
            momentum,
            nesterov,
            momentum_form,
            momentum_ramp,
            weight_decay,
            max_norm,
            schedule,
            clip_grad,
        } = o;
        Self {
            optimizer: *optimizer,
            lr: *lr,
            momentum: *momentum,
            nesterov: *nesterov,
            momentum_form: *momentum_form,
            momentum_ramp: *momentum_ramp,
            weight_decay: *weight_decay,
            max_norm: *max_norm,
            schedule: *schedule,
            clip_grad: *clip_grad,
        }
    }
}

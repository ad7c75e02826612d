//! The model section of a run: the architecture string and where dropout,
//! normalisation and initialisation go. `{in}` and `{classes}` in the
//! architecture are filled from the data when the model is built.
//!
//! ```text
//! MLP  {in}-1024-1024-{classes}:  [dropout p_in] → (Dense → [norm] → act → [dropout p])* → Dense
//! CNN  c32-p-c64-p-128-10:        (Conv3×3 → [BN] → act → [conv dropout of a kind])*, pools, dense blocks
//! ```
//! Every dropout site uses one map, `dropout_variant` (inverted dropout or AlphaDropout);
//! `dropconnect` drops the weights of hidden dense layers instead of their outputs.

use dropout::PathScope;
use engine::init::Init;
use engine::layers::{Activation, DropoutKind, DropoutVariant};
use engine::layers::{ConcreteSpec, RnnDropout};
use engine::spec::{DropPlace, ModelSpec, Norm};
use serde::{Deserialize, Serialize};

use super::DropoutSchedule;

/// Model settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Architecture: MLP `784-1024-1024-10` (`{in}`/`{classes}` are filled from the data), CNN `c32-p-c64-p-128-10`, residual MLP blocks `rH` (hidden width H, width kept: `{in}-256-r512-r512-{classes}`), an RNN over the rows of each image `rnn128-{classes}` (sequential MNIST).
    pub arch: String,
    /// Hidden activation.
    pub act: Activation,
    /// Dropout rate after each hidden dense layer.
    pub dropout: f32,
    /// Dropout rate on the input.
    pub input_dropout: f32,
    /// Dropout rate after each conv block.
    pub conv_dropout: f32,
    /// What one conv-dropout mask bit drops: one element, a whole channel (spatial dropout), or a b × b block (DropBlock).
    pub conv_dropout_kind: DropoutKind,
    /// The dropout map at every site: standard (inverted) dropout; alpha (AlphaDropout for SELU nets; per channel after conv blocks with --conv-dropout-kind spatial); gaussian (x·(1 + σz), σ² = p/(1 − p): Gaussian dropout, needs p < 1); noise (x + σz with the same σ).
    #[serde(default)]
    pub dropout_variant: DropoutVariant,
    /// DropConnect rate on the weights of hidden dense layers (Wan et al. 2013; inverted: survivors scaled by 1/(1 − p)).
    #[serde(default)]
    pub dropconnect: f32,
    /// DropPath (stochastic depth) rate of the deepest residual block `rH`; block l of L gets P·l/L (Huang et al. 2016).
    #[serde(default)]
    pub drop_path: f32,
    /// Whose coin DropPath tosses: each sample's (as timm and Huang et al.) or one for the whole batch.
    #[serde(default)]
    pub drop_path_scope: PathScope,
    /// Dropout rate on an RNN's inputs and recurrent state (`--arch rnn128-10`).
    #[serde(default)]
    pub rnn_dropout: f32,
    /// RNN dropout masks: locked (one per sequence, shared by every step; Gal & Ghahramani 2016) or naive (a new mask per step).
    #[serde(default)]
    pub rnn_dropout_kind: RnnDropout,
    /// Concrete dropout (Gal, Hron & Kendall 2017): a learned rate on the input of every dense layer (initial p 0.1, τ 0.1, length scale 1e-4; use with --dropout 0 --input-dropout 0 --weight-decay 0 --optimizer adam).
    #[serde(default)]
    pub concrete_dropout: bool,
    /// Dropout-rate schedule, a factor on every rate per step: constant, early:EPOCHS, late:EPOCHS, ramp:EPOCHS, curriculum:GAMMA.
    #[serde(default)]
    pub dropout_schedule: DropoutSchedule,
    /// DropBlock's block size b (with --conv-dropout-kind block; default 3): b × b blocks of each channel are dropped.
    #[serde(default)]
    pub drop_block_size: Option<usize>,
    /// Normalisation in hidden blocks: none, BatchNorm, LayerNorm.
    pub norm: Norm,
    /// Where hidden dropout sits: after-act (Dense→norm→act→dropout) or before-norm.
    pub dropout_where: DropPlace,
    /// Hidden dropout only in the last hidden block.
    pub dropout_last_only: bool,
    /// Weight init [default: he for relu, lecun for selu, xavier otherwise].
    pub init: Option<Init>,
    /// Transformers: dropout on the embedding's output (default: `dropout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embed_dropout: Option<f32>,
    /// Transformers: dropout on the attention probabilities (default: `dropout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attn_dropout: Option<f32>,
    /// Transformers: dropout on each block branch's output before the residual sum (default: `dropout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resid_dropout: Option<f32>,
    /// Transformers: dropout on the MLP's hidden layer (default: `dropout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mlp_dropout: Option<f32>,
    /// Transformers: DropHead, whole attention heads of a sample (Zhou et al. 2020).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub drop_head: f32,
}

fn is_zero(v: &f32) -> bool {
    *v == 0.0
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            arch: "{in}-1024-1024-{classes}".into(),
            act: Activation::Relu,
            dropout: 0.5,
            input_dropout: 0.2,
            conv_dropout: 0.0,
            conv_dropout_kind: DropoutKind::Element,
            dropout_variant: DropoutVariant::Standard,
            dropconnect: 0.0,
            drop_path: 0.0,
            drop_path_scope: PathScope::Sample,
            rnn_dropout: 0.0,
            rnn_dropout_kind: RnnDropout::Locked,
            concrete_dropout: false,
            dropout_schedule: DropoutSchedule::Constant,
            drop_block_size: None,
            norm: Norm::None,
            dropout_where: DropPlace::AfterAct,
            dropout_last_only: false,
            init: None,
            embed_dropout: None,
            attn_dropout: None,
            resid_dropout: None,
            mlp_dropout: None,
            drop_head: 0.0,
        }
    }
}

impl ModelConfig {
    /// The engine's spec, with `{in}` and `{classes}` filled in.
    pub fn spec(&self, inputs: usize, classes: usize) -> ModelSpec {
        ModelSpec {
            arch: self
                .arch
                .replace("{in}", &inputs.to_string())
                .replace("{classes}", &classes.to_string()),
            act: self.act,
            dropout: self.dropout,
            input_dropout: self.input_dropout,
            conv_dropout: self.conv_dropout,
            conv_dropout_kind: self.conv_dropout_kind,
            variant: self.dropout_variant,
            dropconnect: self.dropconnect,
            block_size: self
                .drop_block_size
                .unwrap_or(engine::layers::dropout_layer::DEFAULT_BLOCK),
            norm: self.norm,
            place: self.dropout_where,
            last_only: self.dropout_last_only,
            init: self.init,
            drop_path: self.drop_path,
            drop_path_scope: self.drop_path_scope,
            rnn_dropout: self.rnn_dropout,
            rnn_dropout_kind: self.rnn_dropout_kind,
            concrete: self.concrete_dropout.then_some(ConcreteSpec {
                init_p: 0.1,
                tau: 0.1,
                length_scale: 1e-4,
                n_train: 0, // filled from the data when the model is built
            }),
            outputs: classes,
            sites: engine::spec::SiteRates {
                embed: self.embed_dropout,
                attn: self.attn_dropout,
                resid: self.resid_dropout,
                mlp: self.mlp_dropout,
                drop_head: self.drop_head,
            },
        }
    }

    /// The context of a character-level GPT (`gpt…` architecture), if it is one.
    pub fn language_model(&self) -> Option<usize> {
        let spec =
            engine::arch::TransformerSpec::read(&self.arch, 1, Default::default(), 0).ok()?;
        match spec.kind {
            engine::arch::TransformerKind::Gpt { context } => Some(context),
            engine::arch::TransformerKind::Vit { .. } => None,
        }
    }

    /// Whether the architecture is a Transformer (`gpt…` or `vit…`).
    pub fn transformer(&self) -> bool {
        engine::arch::transformer::family(&self.arch).is_some()
    }

    /// A Transformer builds its own blocks: the settings of the other
    /// models' layers do not apply, and one given is refused rather than
    /// recorded and ignored.
    ///
    /// # Errors
    /// [`super::ConfigError::Invalid`] naming the first setting that does not apply.
    pub fn check_transformer(&self) -> Result<(), super::ConfigError> {
        if !self.transformer() {
            return Ok(());
        }
        let d = ModelConfig::default();
        let leave = "does not apply to a Transformer; leave it at its default";
        let off: [(&'static str, bool, &'static str); 13] = [
            (
                "act",
                self.act != Activation::Gelu,
                "does not apply to a Transformer: its MLP is GELU; leave --act at gelu",
            ),
            (
                "input_dropout",
                self.input_dropout != 0.0,
                "does not apply to a Transformer: its input dropout is --embed-dropout",
            ),
            ("conv_dropout", self.conv_dropout != 0.0, leave),
            (
                "dropout_variant",
                self.dropout_variant != d.dropout_variant,
                "does not apply to a Transformer: its sites are standard dropout",
            ),
            ("dropconnect", self.dropconnect != 0.0, leave),
            (
                "drop_path_scope",
                self.drop_path_scope != d.drop_path_scope,
                "does not apply to a Transformer: its DropPath is per sample",
            ),
            ("rnn_dropout", self.rnn_dropout != 0.0, leave),
            ("concrete_dropout", self.concrete_dropout, leave),
            ("drop_block_size", self.drop_block_size.is_some(), leave),
            (
                "norm",
                self.norm != Norm::None,
                "does not apply to a Transformer: its blocks are pre-LN already",
            ),
            (
                "dropout_where",
                self.dropout_where != d.dropout_where,
                leave,
            ),
            ("dropout_last_only", self.dropout_last_only, leave),
            (
                "init",
                self.init.is_some(),
                "does not apply to a Transformer: it starts from GPT-2's N(0, 0.02²)",
            ),
        ];
        match off.iter().find(|(_, on, _)| *on) {
            Some(&(field, _, reason)) => Err(super::ConfigError::Invalid {
                field,
                value: format!("given with --arch {}", self.arch),
                reason,
            }),
            None => Ok(()),
        }
    }

    /// The dropout rates by config field name.
    pub fn rates(&self) -> [(&'static str, f32); 11] {
        [
            ("dropout", self.dropout),
            ("input_dropout", self.input_dropout),
            ("conv_dropout", self.conv_dropout),
            ("dropconnect", self.dropconnect),
            ("drop_path", self.drop_path),
            ("rnn_dropout", self.rnn_dropout),
            ("embed_dropout", self.embed_dropout.unwrap_or(0.0)),
            ("attn_dropout", self.attn_dropout.unwrap_or(0.0)),
            ("resid_dropout", self.resid_dropout.unwrap_or(0.0)),
            ("mlp_dropout", self.mlp_dropout.unwrap_or(0.0)),
            ("drop_head", self.drop_head),
        ]
    }
}

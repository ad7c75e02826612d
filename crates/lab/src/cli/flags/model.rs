//! The model flags of a run (`--arch`, `--dropout`, …): each one optional,
//! each given one overriding [`ModelConfig`]'s default.

use clap::Args;
use dropout::PathScope;
use engine::init::Init;
use engine::layers::{Activation, DropoutKind, DropoutVariant, RnnDropout};
use engine::spec::{DropPlace, Norm};
use lab::config::{DropoutSchedule, ModelConfig};
use serde::Serialize;

use super::set;
use crate::cli::choice::parser;

/// Model flags.
#[derive(Args, Clone, Debug, Default, PartialEq, Serialize)]
pub struct ModelFlags {
    /// Architecture: MLP `784-1024-1024-10` (`{in}`/`{classes}` are filled from the data), CNN `c32-p-c64-p-128-10`, residual MLP blocks `rH` (hidden width H, width kept: `{in}-256-r512-r512-{classes}`), an RNN over the rows of each image `rnn128-{classes}` (sequential MNIST), a character-level GPT `gpt[-lL][-hH][-dD][-mM][-tT]` (default gpt-l4-h4-d128-t64; reads a text) or a ViT `vit[-pP][-lL][-hH][-dD][-mM]` (default vit-p7-l4-h4-d64).
    #[arg(long)]
    pub arch: Option<String>,
    /// Hidden activation.
    #[arg(long, value_parser = parser::<Activation>())]
    pub act: Option<Activation>,
    /// Dropout rate after each hidden dense layer.
    #[arg(long)]
    pub dropout: Option<f32>,
    /// Dropout rate on the input.
    #[arg(long)]
    pub input_dropout: Option<f32>,
    /// Dropout rate after each conv block.
    #[arg(long)]
    pub conv_dropout: Option<f32>,
    /// What one conv-dropout mask bit drops: one element, a whole channel (spatial dropout), or a b × b block (DropBlock).
    #[arg(long, value_parser = parser::<DropoutKind>())]
    pub conv_dropout_kind: Option<DropoutKind>,
    /// The dropout map at every site: standard (inverted) dropout; alpha (AlphaDropout for SELU nets; per channel after conv blocks with --conv-dropout-kind spatial); gaussian (x·(1 + σz), σ² = p/(1 − p): Gaussian dropout, needs p < 1); noise (x + σz with the same σ).
    #[arg(long, value_parser = parser::<DropoutVariant>())]
    pub dropout_variant: Option<DropoutVariant>,
    /// DropConnect rate on the weights of hidden dense layers (Wan et al. 2013; inverted: survivors scaled by 1/(1 − p)).
    #[arg(long)]
    pub dropconnect: Option<f32>,
    /// DropPath (stochastic depth) rate of the deepest residual block `rH`; block l of L gets P·l/L (Huang et al. 2016).
    #[arg(long, value_name = "P")]
    pub drop_path: Option<f32>,
    /// Whose coin DropPath tosses: each sample's (as timm and Huang et al.) or one for the whole batch.
    #[arg(long, value_parser = parser::<PathScope>())]
    pub drop_path_scope: Option<PathScope>,
    /// Dropout rate on an RNN's inputs and recurrent state (`--arch rnn128-10`).
    #[arg(long, value_name = "P")]
    pub rnn_dropout: Option<f32>,
    /// RNN dropout masks: locked (one per sequence, shared by every step; Gal & Ghahramani 2016) or naive (a new mask per step).
    #[arg(long, value_parser = parser::<RnnDropout>())]
    pub rnn_dropout_kind: Option<RnnDropout>,
    /// Concrete dropout (Gal, Hron & Kendall 2017): a learned rate on the input of every dense layer (initial p 0.1, τ 0.1, length scale 1e-4; use with --dropout 0 --input-dropout 0 --weight-decay 0 --optimizer adam).
    #[arg(long)]
    pub concrete_dropout: bool,
    /// Dropout-rate schedule, a factor on every rate per step: constant, early:EPOCHS, late:EPOCHS, ramp:EPOCHS, curriculum:GAMMA.
    #[arg(long)]
    pub dropout_schedule: Option<DropoutSchedule>,
    /// DropBlock's block size b (with --conv-dropout-kind block; default 3): b × b blocks of each channel are dropped.
    #[arg(long, value_name = "B")]
    pub drop_block_size: Option<usize>,
    /// Normalisation in hidden blocks: none, BatchNorm, LayerNorm.
    #[arg(long, value_parser = parser::<Norm>())]
    pub norm: Option<Norm>,
    /// Where hidden dropout sits: after-act (Dense→norm→act→dropout) or before-norm.
    #[arg(long, value_parser = parser::<DropPlace>())]
    pub dropout_where: Option<DropPlace>,
    /// Hidden dropout only in the last hidden block.
    #[arg(long)]
    pub dropout_last_only: bool,
    /// Weight init [default: he for relu, lecun for selu, xavier otherwise].
    #[arg(long, value_parser = parser::<Init>())]
    pub init: Option<Init>,
    /// Transformers: dropout on the token/patch embedding's output [default: --dropout].
    #[arg(long, value_name = "P")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embed_dropout: Option<f32>,
    /// Transformers: dropout on the attention probabilities, fused with the softmax [default: --dropout].
    #[arg(long, value_name = "P")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attn_dropout: Option<f32>,
    /// Transformers: dropout on each block branch's output (attention and MLP) before the residual sum [default: --dropout].
    #[arg(long, value_name = "P")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resid_dropout: Option<f32>,
    /// Transformers: dropout on the MLP's hidden layer, after GELU [default: --dropout].
    #[arg(long, value_name = "P")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mlp_dropout: Option<f32>,
    /// Transformers: DropHead rate, whole attention heads of a sample dropped and the kept ones × 1/(1 − p) (Zhou et al. 2020).
    #[arg(long, value_name = "P")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drop_head: Option<f32>,
}

impl ModelFlags {
    /// Set every given flag in `m`.
    pub fn apply(&self, m: &mut ModelConfig) {
        let Self {
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
        } = self.clone();
        set(&mut m.arch, arch);
        set(&mut m.act, act);
        set(&mut m.dropout, dropout);
        set(&mut m.input_dropout, input_dropout);
        set(&mut m.conv_dropout, conv_dropout);
        set(&mut m.conv_dropout_kind, conv_dropout_kind);
        set(&mut m.dropout_variant, dropout_variant);
        set(&mut m.dropconnect, dropconnect);
        set(&mut m.drop_path, drop_path);
        set(&mut m.drop_path_scope, drop_path_scope);
        set(&mut m.rnn_dropout, rnn_dropout);
        set(&mut m.rnn_dropout_kind, rnn_dropout_kind);
        set(&mut m.concrete_dropout, concrete_dropout.then_some(true));
        set(&mut m.dropout_schedule, dropout_schedule);
        set(&mut m.drop_block_size, drop_block_size.map(Some));
        set(&mut m.norm, norm);
        set(&mut m.dropout_where, dropout_where);
        set(&mut m.dropout_last_only, dropout_last_only.then_some(true));
        set(&mut m.init, init.map(Some));
        set(&mut m.embed_dropout, embed_dropout.map(Some));
        set(&mut m.attn_dropout, attn_dropout.map(Some));
        set(&mut m.resid_dropout, resid_dropout.map(Some));
        set(&mut m.mlp_dropout, mlp_dropout.map(Some));
        set(&mut m.drop_head, drop_head);
    }
}

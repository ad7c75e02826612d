//! A model's settings as a user gives them (the `--arch` text and one value
//! per knob), and their reading into the typed model ([`Arch`]) — the one
//! place the text is parsed (see [`crate::arch`] for the grammar).
//!
//! MLP: `--arch 784-1024-1024-10` — input size, hidden widths, classes.
//! Each hidden block is `Dense → [norm] → act → [dropout p]`; the input gets
//! `[dropout p_in]`; the output layer is a plain `Dense`. With ReLU and no
//! norm the block is one fused layer (`Dense` with the `dropout(relu(x W + b))`
//! kernel).
//!
//! Residual MLP blocks: `--arch 784-256-r512-r512-10` — `rH` is
//! `x + drop_path(fc2(dropout(act(fc1(norm(x))))))` with fc1: d → H, fc2: H → d
//! at the current width d (a Transformer's MLP block; norm from `--norm`);
//! block l of L gets DropPath rate `drop_path · l / L` (Huang et al. 2016).
//!
//! RNN: `--arch rnn128-10` — an Elman RNN (tanh) of 128 units reading each
//! sample as T rows of D features (an image's rows: sequential MNIST), its
//! last state into the dense layers; dropout on its inputs and recurrent
//! state (`rnn_dropout`, locked or naive). It must be the first layer.
//!
//! Concrete dropout (`concrete`): every dense layer of the dense blocks gets
//! a learned-rate Concrete dropout on its input (its own stream, after the
//! layer's).
//!
//! CNN: `--arch c32-p-c64-p-128-10` — `cK` is a 3×3 conv with K channels and
//! padding 1, followed by `[BatchNorm2d] → act → [conv dropout]`; `p` is a
//! 2×2 max pool; numbers after the convs are dense widths (a `Flatten` is
//! inserted before the first), the last one the classes.
//!
//! Dropout placement: `AfterAct` (default, as Srivastava et al.) or
//! `BeforeNorm` (`Dense → dropout → norm → act`); `last_only` keeps hidden
//! dropout only in the last hidden block. Conv dropout is of a
//! [`DropoutKind`] (element-wise or whole channels). Each dropout site gets
//! its own Philox stream, numbered in layer order from 0:
//!
//! ```text
//! input dropout (if p_in > 0) · RNN: 2 (inputs, state) · conv block: 1 if conv dropout > 0
//! residual block: 2 (DropPath, hidden) · dense layer: 1 [+ 1 for Concrete dropout]
//! ```
//!
//! Transformers: `--arch gpt-l4-h4-d128-t64` (a character-level GPT) or
//! `--arch vit-p7-l4-h4-d64` (a ViT); the grammar, sizes and initialisation
//! are in `arch/transformer.rs`. `dropout` sets every site (embedding,
//! attention probabilities, residual, MLP hidden) unless [`SiteRates`] sets
//! one; `drop_path` is the deepest block's DropPath; the output size is
//! [`ModelSpec::outputs`], the data's.
//!
//! Initialisation: one seeding scheme for every weight layer, conv or dense —
//! the k-th weight layer (k = 1, 2, …, in layer order) draws from
//! `Rng(seed ^ 0x1417 << 48).fork(k)`. Layers without weights (dropout, norm,
//! activation, pool) do not shift the numbering, so the same architecture gets
//! the same initial weights with or without them.

use dropout::PathScope;

use crate::arch::token::{parse_arch, Tok};
use crate::arch::{
    Arch, ConvDropout, ConvSpec, DenseSpec, FlattenSpec, LayerSpec, PoolSpec, ResidualSpec,
    RnnSpec, Site, TransformerDropout, TransformerSpec,
};
pub use crate::arch::{DropPlace, Norm};
use crate::error::{ArchProblem, EngineError};
pub use crate::footprint::{ModelSize, MAX_PARAMS};
use crate::init::Init;
use crate::layers::{Activation, ConcreteSpec, DropoutKind, DropoutVariant, RnnDropout};
use crate::model::Sequential;

/// Everything needed to build a model.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSpec {
    /// Architecture string (see the module docs).
    pub arch: String,
    /// Hidden activation.
    pub act: Activation,
    /// Dropout rate of hidden dense blocks.
    pub dropout: f32,
    /// Dropout rate on the input.
    pub input_dropout: f32,
    /// Dropout rate after conv blocks.
    pub conv_dropout: f32,
    /// What one mask bit of conv dropout covers.
    pub conv_dropout_kind: DropoutKind,
    /// The map of every dropout site (inverted dropout, AlphaDropout).
    pub variant: DropoutVariant,
    /// DropConnect rate on the weights of hidden dense layers.
    pub dropconnect: f32,
    /// DropBlock's block size (conv dropout of kind `block`).
    pub block_size: usize,
    /// Normalisation.
    pub norm: Norm,
    /// Placement of hidden dropout.
    pub place: DropPlace,
    /// Hidden dropout only in the last hidden dense block.
    pub last_only: bool,
    /// Initialisation (default from the activation).
    pub init: Option<Init>,
    /// DropPath rate of the deepest residual block (block l of L gets `drop_path · l / L`).
    pub drop_path: f32,
    /// One DropPath coin per sample or per batch.
    pub drop_path_scope: PathScope,
    /// Dropout rate on an RNN's inputs and recurrent state.
    pub rnn_dropout: f32,
    /// Locked (one mask per sequence) or naive (per step) RNN dropout.
    pub rnn_dropout_kind: RnnDropout,
    /// Concrete dropout with a learned rate on the input of every dense layer.
    pub concrete: Option<ConcreteSpec>,
    /// The data's output size (classes, or a text's vocabulary); only a
    /// Transformer reads it (an MLP or CNN names its classes in the text).
    pub outputs: usize,
    /// A Transformer's site rates; each `None` takes [`dropout`](Self::dropout).
    pub sites: SiteRates,
}

/// A Transformer's dropout rates by site; each `None` takes the model's
/// `dropout` (as nanoGPT's one `dropout` sets them all). DropHead and
/// DropPath are their own settings (`drop_head`, `drop_path`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SiteRates {
    /// On the embedding's output.
    pub embed: Option<f32>,
    /// On the attention probabilities.
    pub attn: Option<f32>,
    /// On each block branch's output (attention and MLP), before the residual sum.
    pub resid: Option<f32>,
    /// On the MLP's hidden layer.
    pub mlp: Option<f32>,
    /// DropHead: whole heads of a sample.
    pub drop_head: f32,
}

impl ModelSpec {
    /// An MLP/CNN spec with ReLU, no dropout, no norm.
    pub fn new(arch: &str) -> Self {
        Self {
            arch: arch.to_string(),
            act: Activation::Relu,
            dropout: 0.0,
            input_dropout: 0.0,
            conv_dropout: 0.0,
            conv_dropout_kind: DropoutKind::Element,
            variant: DropoutVariant::Standard,
            dropconnect: 0.0,
            block_size: crate::layers::dropout_layer::DEFAULT_BLOCK,
            norm: Norm::None,
            place: DropPlace::AfterAct,
            last_only: false,
            init: None,
            drop_path: 0.0,
            drop_path_scope: PathScope::Sample,
            rnn_dropout: 0.0,
            rnn_dropout_kind: RnnDropout::Locked,
            concrete: None,
            outputs: 0,
            sites: SiteRates::default(),
        }
    }

    /// The initialisation used: the explicit one, else He for ReLU, LeCun
    /// for SELU, Xavier for tanh/sigmoid, He for GELU.
    pub fn init(&self) -> Init {
        self.init.unwrap_or(match self.act {
            Activation::Relu => Init::He,
            Activation::Selu => Init::Lecun,
            Activation::Gelu => Init::He,
            Activation::Tanh | Activation::Sigmoid => Init::Xavier,
        })
    }

    /// The typed model: the `--arch` text read once, every setting put on
    /// the layer it belongs to and every dropout site numbered (see the
    /// module docs). Nothing after this reads the text again.
    ///
    /// # Errors
    /// [`EngineError::Arch`] for text outside the grammar or layers in an
    /// order it does not allow (checks that need the data's shape are
    /// [`Arch::build`]'s).
    pub fn arch(&self) -> Result<Arch, EngineError> {
        if crate::arch::transformer::family(&self.arch).is_some() {
            return self.transformer();
        }
        let toks = parse_arch(&self.arch)?;
        let err = |problem| Err(EngineError::arch(&self.arch, problem));
        let shaped = toks.iter().any(Tok::reads_sample_shape);
        // Dense widths and residual blocks (true), in order.
        let all: Vec<(usize, bool)> = toks
            .iter()
            .filter_map(|t| match *t {
                Tok::Dense(k) => Some((k, false)),
                Tok::Residual(h) => Some((h, true)),
                _ => None,
            })
            .collect();
        // An MLP's first number is its input size, not a layer.
        let (inputs, body) = if shaped {
            let rnn = toks.iter().position(|t| matches!(t, Tok::Rnn(_)));
            if rnn.is_some_and(|i| i > 0) {
                return err(ArchProblem::RnnFirst);
            }
            (None, &all[..])
        } else {
            match all.split_first() {
                Some((&(_, true), _)) => return err(ArchProblem::Residual),
                Some((&(first, false), rest)) if !rest.is_empty() => (Some(first), rest),
                _ => return err(ArchProblem::TooShort),
            }
        };
        if body.is_empty() {
            return err(ArchProblem::NoClasses);
        }
        if body.last().is_some_and(|&(_, res)| res) {
            return err(ArchProblem::Residual);
        }
        let prefix = || toks.iter().take_while(|t| t.reads_sample_shape());
        if self.norm == Norm::Layer && prefix().any(|t| matches!(t, Tok::Conv(_))) {
            return err(ArchProblem::LayerNormInConv);
        }
        if toks
            .iter()
            .skip(prefix().count())
            .any(Tok::reads_sample_shape)
        {
            return err(ArchProblem::Order);
        }
        let mut next = 0u32;
        // The first of `n` fresh streams.
        let mut streams = |n: u32| {
            next += n;
            next - n
        };
        let variant = self.variant;
        let site = |p: f32, stream: u32| Site { p, stream, variant };
        let mut layers = Vec::new();
        if self.input_dropout > 0.0 {
            let input = site(self.input_dropout, streams(1));
            layers.push(LayerSpec::InputDropout(input));
        }
        for t in prefix() {
            layers.push(match *t {
                Tok::Rnn(units) => LayerSpec::Rnn(RnnSpec {
                    units,
                    p: self.rnn_dropout,
                    kind: self.rnn_dropout_kind,
                    stream: streams(2),
                }),
                Tok::Conv(channels) => LayerSpec::Conv(ConvSpec {
                    channels,
                    batch_norm: self.norm == Norm::Batch,
                    act: self.act,
                    dropout: (self.conv_dropout > 0.0).then(|| ConvDropout {
                        site: site(self.conv_dropout, streams(1)),
                        kind: self.conv_dropout_kind,
                        block_size: self.block_size,
                    }),
                }),
                _ => LayerSpec::Pool(PoolSpec),
            });
        }
        if shaped {
            layers.push(LayerSpec::Flatten(FlattenSpec));
        }
        let n_res = body.iter().filter(|t| t.1).count();
        let mut res_l = 0;
        for (j, &(units, res)) in body.iter().enumerate() {
            if res {
                res_l += 1;
                let path_stream = streams(1);
                let p = if self.last_only { 0.0 } else { self.dropout };
                layers.push(LayerSpec::Residual(ResidualSpec {
                    hidden: units,
                    act: self.act,
                    norm: self.norm,
                    dropout: site(p, streams(1)),
                    dropconnect: self.dropconnect,
                    drop_path: dropout::depth_rate(self.drop_path, res_l, n_res),
                    drop_path_scope: self.drop_path_scope,
                    path_stream,
                }));
                continue;
            }
            let last = j + 1 == body.len();
            // `last_only`: only the block before the output layer keeps its dropout.
            let p = if last || (self.last_only && j + 2 != body.len()) {
                0.0
            } else {
                self.dropout
            };
            layers.push(LayerSpec::Dense(DenseSpec {
                units,
                act: (!last).then_some(self.act),
                norm: if last { Norm::None } else { self.norm },
                dropout: site(p, streams(1)),
                place: self.place,
                dropconnect: if last { 0.0 } else { self.dropconnect },
                concrete: self.concrete.map(|c| (c, streams(1))),
            }));
        }
        Ok(Arch {
            text: self.arch.clone(),
            inputs,
            layers,
            init: self.init(),
        })
    }
}

impl ModelSpec {
    /// The typed Transformer (`gpt…` or `vit…`): one layer spec holding the
    /// whole stack, its sites' rates from [`SiteRates`] and `dropout`.
    fn transformer(&self) -> Result<Arch, EngineError> {
        let or = |p: Option<f32>| p.unwrap_or(self.dropout);
        let rates = TransformerDropout {
            embed: or(self.sites.embed),
            attn: or(self.sites.attn),
            resid: or(self.sites.resid),
            mlp: or(self.sites.mlp),
            head: self.sites.drop_head,
            path: self.drop_path,
        };
        let t = TransformerSpec::read(&self.arch, self.outputs, rates, 0)?;
        Ok(Arch {
            text: self.arch.clone(),
            inputs: None,
            layers: vec![LayerSpec::Transformer(t)],
            init: self.init(),
        })
    }
}

/// Build and initialise the model `spec` describes for inputs of per-sample
/// shape `sample`: [`ModelSpec::arch`], then [`Arch::build`].
///
/// # Errors
/// As those two.
pub fn build(spec: &ModelSpec, sample: &[usize], seed: u64) -> Result<Sequential, EngineError> {
    spec.arch()?.build(sample, seed)
}

/// The footprint of the model `spec` describes: [`ModelSpec::arch`], then [`Arch::size`].
///
/// # Errors
/// As [`ModelSpec::arch`].
pub fn size(spec: &ModelSpec, sample: &[usize]) -> Result<ModelSize, EngineError> {
    Ok(spec.arch()?.size(sample))
}

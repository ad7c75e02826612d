//! # The typed model: the layer list the engine builds
//!
//! An `--arch` string is read once, with the model's settings, into an
//! [`Arch`] (`spec::ModelSpec::arch`); after that
//! nothing re-reads the text. The grammar (tokens separated by `-`):
//!
//! ```text
//! arch   = mlp | shaped
//! mlp    = N "-" body                      N: the input features; body's dense layers read them flat
//! shaped = rnn? (conv | pool)* "-" body    reads each sample in its own shape; a flatten before body
//! body   = (N | rH)* N                     hidden dense blocks and residual blocks, then the classes
//! conv   = cK      a 3×3 conv block of K channels       pool = p   a 2×2 max pool
//! rnn    = rnnH    an Elman RNN of H units, first       rH         a residual MLP block, hidden H
//! ```
//! (an RNN is followed by dense layers only; a residual block needs a dense
//! layer before it, in an MLP, and the output layer after it).
//!
//! The layer list is `[input dropout] (rnn | conv | pool)* [flatten] (dense |
//! residual)*`; every dropout site carries its own rate, stream and map
//! ([`Site`]), so a layer says all it does. Each layer kind, in its own
//! file, states its size ([`Footprint`], summed by [`crate::footprint`]) and
//! builds its layers (in layer order, numbering weight layers for
//! initialisation: `arch/builder.rs`).
//!
//! **Room for Transformers.** A Transformer floor adds variants to
//! [`LayerSpec`], each kind in its own file here like [`DenseSpec`]: a token
//! and positional embedding (ids `[T]` → `[T, D]`), a patch embedding
//! (`[C, H, W]` → `[T, D]`), and a pre-LN block
//! `x + drop_path(attn(LN(x)))`, `x + drop_path(mlp(LN(x)))` with a GELU MLP
//! and its attention, residual and DropPath sites as [`Site`]s. Shapes are
//! per-sample vectors, so `[T, D]` flows through [`Footprint::size`] as the
//! RNN's rows do; attention states its `H·T²` scores and probabilities (and
//! their gradients) per sample, which the memory bound multiplies by the
//! batch B, so its B·H·T² activations are refused before any allocation like
//! every other layer's. Its tokens go in `arch/token.rs`, its settings' lowering in
//! `spec.rs`.

pub(crate) mod block;
pub(crate) mod builder;
pub mod conv;
pub mod dense;
pub mod pool;
pub mod residual;
pub mod rnn;
pub mod site;
pub(crate) mod token;
pub mod transformer;

pub use self::block::{DropPlace, Norm};
pub use self::conv::{ConvDropout, ConvSpec};
pub use self::dense::DenseSpec;
pub use self::pool::{FlattenSpec, PoolSpec};
pub use self::residual::ResidualSpec;
pub use self::rnn::RnnSpec;
pub use self::site::Site;
pub use self::transformer::{TransformerDropout, TransformerKind, TransformerSpec};

use crate::error::{ArchProblem, EngineError};
use crate::footprint::{total, Footprint, LayerSize, ModelSize};
use crate::init::Init;

use self::builder::Builder;

/// One layer (or block) of a model.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerSpec {
    /// Dropout on the model's input (element-wise).
    InputDropout(Site),
    /// An Elman RNN over the sample's rows.
    Rnn(RnnSpec),
    /// A conv block.
    Conv(ConvSpec),
    /// A max pool.
    Pool(PoolSpec),
    /// The flatten between sample-shaped layers and dense ones.
    Flatten(FlattenSpec),
    /// A dense block (or the output layer).
    Dense(DenseSpec),
    /// A residual MLP block.
    Residual(ResidualSpec),
    /// A whole Transformer (embedding, blocks, head): `gpt…` or `vit…`.
    Transformer(TransformerSpec),
}

impl LayerSpec {
    /// Conv, pool or RNN: layers that read the sample's own shape.
    pub fn reads_sample_shape(&self) -> bool {
        matches!(
            self,
            Self::Conv(_) | Self::Pool(_) | Self::Rnn(_) | Self::Transformer(_)
        )
    }

    /// Whether a pass through this layer draws random masks or noise, the
    /// input dropout only if `input` (MC dropout may leave it out).
    pub fn samples(&self, input: bool) -> bool {
        match self {
            Self::InputDropout(s) => input && s.is_on(),
            Self::Rnn(r) => r.p > 0.0,
            Self::Conv(c) => c.dropout.is_some_and(|d| d.site.is_on()),
            Self::Pool(_) | Self::Flatten(_) => false,
            Self::Dense(d) => d.dropout.is_on() || d.dropconnect > 0.0 || d.concrete.is_some(),
            Self::Residual(r) => r.dropout.is_on() || r.dropconnect > 0.0 || r.drop_path > 0.0,
            Self::Transformer(t) => {
                let r = t.dropout;
                [r.embed, r.attn, r.resid, r.mlp, r.head, r.path]
                    .iter()
                    .any(|&p| p > 0.0)
            }
        }
    }

    /// Append this layer's layers for per-sample input `input`; returns the output shape.
    pub(crate) fn build(
        &self,
        input: &[usize],
        b: &mut Builder,
    ) -> Result<Vec<usize>, EngineError> {
        match self {
            Self::InputDropout(s) => {
                b.push(Box::new(
                    s.layer(crate::layers::DropoutKind::Element)?.at_input(),
                ));
                Ok(input.to_vec())
            }
            Self::Rnn(r) => r.build(input, b),
            Self::Conv(c) => c.build(input, b),
            Self::Pool(p) => p.build(input, b),
            Self::Flatten(f) => Ok(f.build(input, b)),
            Self::Dense(d) => d.build(input, b),
            Self::Residual(r) => r.build(input, b),
            Self::Transformer(t) => t.build(input, b),
        }
    }
}

impl Footprint for LayerSpec {
    fn size(&self, input: &[u64]) -> LayerSize {
        match self {
            // Its buffers are counted with the input's.
            Self::InputDropout(_) => LayerSize {
                params: 0,
                floats_per_sample: 0,
                output: input.to_vec(),
            },
            Self::Rnn(r) => r.size(input),
            Self::Conv(c) => c.size(input),
            Self::Pool(p) => p.size(input),
            Self::Flatten(f) => f.size(input),
            Self::Dense(d) => d.size(input),
            Self::Residual(r) => r.size(input),
            Self::Transformer(t) => t.size(input),
        }
    }
}

/// A model, typed: what [`Arch::build`] builds.
#[derive(Clone, Debug, PartialEq)]
pub struct Arch {
    /// The architecture text it was read from (errors name it).
    pub text: String,
    /// An MLP's input features (its first number); `None` when the first
    /// layers read each sample in its own shape (conv, pool, RNN).
    pub inputs: Option<usize>,
    /// The layers, in order.
    pub layers: Vec<LayerSpec>,
    /// The initialisation of every weight layer.
    pub init: Init,
}

impl Arch {
    /// Whether the model reads each sample in its own shape (conv, pool or
    /// RNN layers) rather than as a flat feature vector.
    pub fn reads_sample_shape(&self) -> bool {
        self.inputs.is_none()
    }

    /// Whether a pass draws any random mask or noise (see [`LayerSpec::samples`]).
    pub fn samples(&self, input: bool) -> bool {
        self.layers.iter().any(|l| l.samples(input))
    }

    /// The model's footprint for inputs of per-sample shape `sample`, before
    /// anything is allocated (see [`crate::footprint`]).
    pub fn size(&self, sample: &[usize]) -> ModelSize {
        let first: Vec<u64> = match self.inputs {
            Some(n) => vec![n as u64],
            None => sample.iter().map(|&d| d as u64).collect(),
        };
        total(sample, &first, &self.layers)
    }

    /// The error `problem` of this architecture.
    pub(crate) fn error(&self, problem: ArchProblem) -> EngineError {
        EngineError::arch(&self.text, problem)
    }
}

//! Building a model from a short spec.
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
//! its own Philox stream, numbered in layer order from 0.
//!
//! Initialisation: one seeding scheme for every weight layer, conv or dense —
//! the k-th weight layer (k = 1, 2, …, in layer order) draws from
//! `Rng(seed ^ 0x1417 << 48).fork(k)`. Layers without weights (dropout, norm,
//! activation, pool) do not shift the numbering, so the same architecture gets
//! the same initial weights with or without them.

use dropout::Act;

use crate::arch::{arch_error, parse_arch, Tok};
use crate::error::{ArchProblem, EngineError};
pub use crate::footprint::{size, ModelSize, MAX_PARAMS};
use crate::init::Init;
use crate::layer::Layer;
use crate::layers::residual::DropPathScope;
use crate::layers::{
    Activation, ActivationLayer, BatchNorm, ConcreteDense, ConcreteSpec, Conv2d, Dense,
    DropoutKind, DropoutLayer, DropoutVariant, Flatten, LayerNorm, MaxPool2d, Rnn, RnnDropout,
};
use crate::model::Sequential;
use crate::residual_spec::{residual_block, BlockSeeds};
use crate::rng::Rng;

/// Normalisation in hidden blocks.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Norm {
    /// None.
    #[default]
    #[serde(rename = "none")]
    #[cfg_attr(feature = "clap", value(name = "none"))]
    None,
    /// BatchNorm (1-d for dense, 2-d for conv).
    #[serde(rename = "bn")]
    #[cfg_attr(feature = "clap", value(name = "bn"))]
    Batch,
    /// LayerNorm (dense blocks only).
    #[serde(rename = "ln")]
    #[cfg_attr(feature = "clap", value(name = "ln"))]
    Layer,
}

/// Where hidden dropout sits in a block.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum DropPlace {
    /// `Dense → norm → act → dropout`.
    #[default]
    AfterAct,
    /// `Dense → dropout → norm → act`.
    BeforeNorm,
}

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
    pub drop_path_scope: DropPathScope,
    /// Dropout rate on an RNN's inputs and recurrent state.
    pub rnn_dropout: f32,
    /// Locked (one mask per sequence) or naive (per step) RNN dropout.
    pub rnn_dropout_kind: RnnDropout,
    /// Concrete dropout with a learned rate on the input of every dense layer.
    pub concrete: Option<ConcreteSpec>,
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
            drop_path_scope: DropPathScope::Sample,
            rnn_dropout: 0.0,
            rnn_dropout_kind: RnnDropout::Locked,
            concrete: None,
        }
    }

    /// The initialisation used: the explicit one, else He for ReLU, LeCun
    /// for SELU, Xavier for tanh/sigmoid.
    pub fn init(&self) -> Init {
        self.init.unwrap_or(match self.act {
            Activation::Relu => Init::He,
            Activation::Selu => Init::Lecun,
            Activation::Tanh | Activation::Sigmoid => Init::Xavier,
        })
    }

    /// Whether the architecture reads each sample in its own shape (conv,
    /// pool or RNN layers) rather than as a flat feature vector.
    pub fn is_cnn(&self) -> bool {
        self.arch.split('-').any(|t| {
            let t = t.trim();
            t.starts_with('c') || t == "p" || t.starts_with("rnn")
        })
    }
}

/// Build and initialise a model for inputs of per-sample shape `sample`.
///
/// # Errors
/// [`EngineError::Arch`] for an unreadable arch, one that does not fit the
/// data or one over [`MAX_PARAMS`] (checked before any allocation);
/// [`EngineError::Dropout`] for a bad rate.
pub fn build(spec: &ModelSpec, sample: &[usize], seed: u64) -> Result<Sequential, EngineError> {
    let toks = parse_arch(&spec.arch)?;
    let ModelSize {
        params,
        floats_per_sample,
    } = size(spec, sample)?;
    if params > MAX_PARAMS {
        return Err(arch_error(
            &spec.arch,
            ArchProblem::TooLarge {
                params,
                max: MAX_PARAMS,
            },
        ));
    }
    let rng = Rng::new(seed ^ 0x1417_0000_0000_0000);
    let init = spec.init();
    let mut layers: Vec<Box<dyn Layer>> = Vec::new();
    // One stream per weight layer, counted over conv and dense alike (see the module docs).
    let mut weight_layer = 0u64;
    let mut init_rng = || {
        weight_layer += 1;
        rng.fork(weight_layer)
    };
    let mut stream = 0u32;
    let mut next_stream = || {
        stream += 1;
        stream - 1
    };
    // Dense widths and residual blocks (Some(h)), in order; the MLP's first number is its input.
    let dense_toks: Vec<(usize, bool)> = toks
        .iter()
        .filter_map(|t| match t {
            Tok::Dense(k) => Some((*k, false)),
            Tok::Residual(h) => Some((*h, true)),
            _ => None,
        })
        .collect();
    let cnn = toks.iter().any(Tok::reads_sample_shape);
    let flat: usize = sample.iter().product();
    // For an MLP the first number is the input size.
    let (hidden_and_out, mut shape): (Vec<(usize, bool)>, Vec<usize>) = if cnn {
        let rnn = toks.iter().position(|t| matches!(t, Tok::Rnn(_)));
        if rnn.is_some_and(|i| i > 0) {
            return Err(arch_error(&spec.arch, ArchProblem::RnnFirst));
        }
        if rnn.is_some() && sample.len() < 2 {
            return Err(arch_error(
                &spec.arch,
                ArchProblem::NotSequences(sample.to_vec()),
            ));
        }
        if rnn.is_none() && sample.len() != 3 {
            return Err(arch_error(
                &spec.arch,
                ArchProblem::NotImages(sample.to_vec()),
            ));
        }
        (dense_toks.clone(), sample.to_vec())
    } else {
        match dense_toks.split_first() {
            Some((&(_, true), _)) => return Err(arch_error(&spec.arch, ArchProblem::Residual)),
            Some((&(first, false), rest)) if !rest.is_empty() => {
                if first != flat {
                    return Err(arch_error(
                        &spec.arch,
                        ArchProblem::Inputs {
                            arch: first,
                            data: flat,
                        },
                    ));
                }
                (rest.to_vec(), vec![flat])
            }
            _ => return Err(arch_error(&spec.arch, ArchProblem::TooShort)),
        }
    };
    if hidden_and_out.is_empty() {
        return Err(arch_error(&spec.arch, ArchProblem::NoClasses));
    }
    if hidden_and_out.last().is_some_and(|&(_, res)| res) {
        return Err(arch_error(&spec.arch, ArchProblem::Residual));
    }
    if spec.input_dropout > 0.0 {
        layers.push(Box::new(
            DropoutLayer::new(spec.input_dropout, next_stream(), DropoutKind::Element)?
                .with_variant(spec.variant)?
                .at_input(),
        ));
    }
    // The dense layer's fused pass is inverted dropout; other variants get their own layer.
    let relu_fused = spec.act == Activation::Relu
        && spec.norm == Norm::None
        && spec.variant == DropoutVariant::Standard;
    // Conv blocks.
    for t in &toks {
        match t {
            Tok::Rnn(h) => {
                let d = *shape.last().expect("a sequence shape");
                let stream = next_stream();
                next_stream(); // the recurrent site: stream + 1
                let mut rnn = Rnn::new(d, *h, spec.rnn_dropout, spec.rnn_dropout_kind, stream)?;
                init.fill(&mut rnn.w_x, d, *h, &mut init_rng());
                init.fill(&mut rnn.w_h, *h, *h, &mut init_rng());
                layers.push(Box::new(rnn));
                shape = vec![*h];
            }
            Tok::Conv(co) => {
                let mut conv = Conv2d::new(shape[0], *co, 3, 1, 1)?;
                init.fill(&mut conv.w, shape[0] * 9, co * 9, &mut init_rng());
                shape = conv.output_shape(&shape)?;
                layers.push(Box::new(conv));
                if spec.norm == Norm::Batch {
                    layers.push(Box::new(BatchNorm::new(*co)));
                } else if spec.norm == Norm::Layer {
                    return Err(arch_error(&spec.arch, ArchProblem::LayerNormInConv));
                }
                layers.push(Box::new(ActivationLayer::new(spec.act)));
                if spec.conv_dropout > 0.0 {
                    layers.push(Box::new(
                        DropoutLayer::new(
                            spec.conv_dropout,
                            next_stream(),
                            spec.conv_dropout_kind,
                        )?
                        .with_variant(spec.variant)?
                        .with_block_size(spec.block_size)?,
                    ));
                }
            }
            Tok::Pool => {
                let pool = MaxPool2d::new(2)?;
                shape = pool.output_shape(&shape)?;
                layers.push(Box::new(pool));
            }
            Tok::Dense(_) | Tok::Residual(_) => break,
        }
    }
    if cnn {
        if toks
            .iter()
            .skip_while(|t| t.reads_sample_shape())
            .any(Tok::reads_sample_shape)
        {
            return Err(arch_error(&spec.arch, ArchProblem::Order));
        }
        layers.push(Box::new(Flatten::default()));
        shape = vec![shape.iter().product()];
    }
    // Dense and residual blocks.
    let n_hidden = hidden_and_out.len() - 1;
    let n_res = hidden_and_out.iter().filter(|t| t.1).count();
    let mut res_l = 0;
    for (j, &(out, res)) in hidden_and_out.iter().enumerate() {
        let inp = shape[0];
        if res {
            res_l += 1;
            let seeds = BlockSeeds {
                path_stream: next_stream(),
                drop_stream: next_stream(),
                init: (init_rng(), init_rng()),
            };
            let rate = dropout::depth_rate(spec.drop_path, res_l, n_res);
            layers.push(Box::new(residual_block(spec, inp, out, rate, seeds)?));
            continue;
        }
        let last = j == n_hidden;
        let p = if last || (spec.last_only && j + 1 != n_hidden) {
            0.0
        } else {
            spec.dropout
        };
        let stream = next_stream();
        let (act, fused_p) = if last {
            (Act::Identity, 0.0)
        } else if relu_fused {
            (Act::Relu, p)
        } else {
            (Act::Identity, 0.0)
        };
        let connect = if last { 0.0 } else { spec.dropconnect };
        let mut dense = Dense::new(inp, out, act, fused_p, stream)?.with_dropconnect(connect)?;
        init.fill(&mut dense.w, inp, out, &mut init_rng());
        match spec.concrete {
            Some(c) => layers.push(Box::new(ConcreteDense::new(dense, c, next_stream())?)),
            None => layers.push(Box::new(dense)),
        }
        shape = vec![out];
        if last || relu_fused {
            continue;
        }
        if p > 0.0 && spec.place == DropPlace::BeforeNorm {
            layers.push(Box::new(
                DropoutLayer::new(p, stream, DropoutKind::Element)?.with_variant(spec.variant)?,
            ));
        }
        match spec.norm {
            Norm::Batch => layers.push(Box::new(BatchNorm::new(out))),
            Norm::Layer => layers.push(Box::new(LayerNorm::new(out))),
            Norm::None => {}
        }
        layers.push(Box::new(ActivationLayer::new(spec.act)));
        if p > 0.0 && spec.place == DropPlace::AfterAct {
            layers.push(Box::new(
                DropoutLayer::new(p, stream, DropoutKind::Element)?.with_variant(spec.variant)?,
            ));
        }
    }
    let mut model = Sequential::new(layers, sample)?;
    model.set_buffer_floats(floats_per_sample);
    Ok(model)
}

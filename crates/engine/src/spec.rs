//! Building a model from a short spec.
//!
//! MLP: `--arch 784-1024-1024-10` — input size, hidden widths, classes.
//! Each hidden block is `Dense → [norm] → act → [dropout p]`; the input gets
//! `[dropout p_in]`; the output layer is a plain `Dense`. With ReLU and no
//! norm the block is one fused layer (`Dense` with the `dropout(relu(x W + b))`
//! kernel).
//!
//! CNN: `--arch c32-p-c64-p-128-10` — `cK` is a 3×3 conv with K channels and
//! padding 1, followed by `[BatchNorm2d] → act → [conv dropout]`; `p` is a
//! 2×2 max pool; numbers after the convs are dense widths (a `Flatten` is
//! inserted before the first), the last one the classes.
//!
//! Dropout placement: `AfterAct` (default, as Srivastava et al.) or
//! `BeforeNorm` (`Dense → dropout → norm → act`); `last_only` keeps hidden
//! dropout only in the last hidden block. Conv dropout is element-wise or
//! spatial (whole channels). Each dropout site gets its own Philox stream.

use dropout::Act;

use crate::error::EngineError;
use crate::init::Init;
use crate::layer::Layer;
use crate::layers::{
    Activation, ActivationLayer, BatchNorm, Conv2d, Dense, DropoutLayer, Flatten, LayerNorm,
    MaxPool2d,
};
use crate::model::Sequential;
use crate::rng::Rng;

/// Normalisation in hidden blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Norm {
    /// None.
    None,
    /// BatchNorm (1-d for dense, 2-d for conv).
    Batch,
    /// LayerNorm (dense blocks only).
    Layer,
}

impl Norm {
    /// Parse `none`, `bn`, `ln`.
    ///
    /// # Errors
    /// [`EngineError::Spec`] otherwise.
    pub fn parse(s: &str) -> Result<Self, EngineError> {
        match s {
            "none" => Ok(Self::None),
            "bn" => Ok(Self::Batch),
            "ln" => Ok(Self::Layer),
            _ => Err(EngineError::Spec(format!(
                "unknown norm `{s}` (expected none, bn or ln)"
            ))),
        }
    }
}

/// Where hidden dropout sits in a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropPlace {
    /// `Dense → norm → act → dropout`.
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
    /// Conv dropout drops whole channels.
    pub spatial: bool,
    /// Normalisation.
    pub norm: Norm,
    /// Placement of hidden dropout.
    pub place: DropPlace,
    /// Hidden dropout only in the last hidden dense block.
    pub last_only: bool,
    /// Initialisation (default from the activation).
    pub init: Option<Init>,
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
            spatial: false,
            norm: Norm::None,
            place: DropPlace::AfterAct,
            last_only: false,
            init: None,
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

    /// Whether the architecture has conv layers (needs image-shaped input).
    pub fn is_cnn(&self) -> bool {
        self.arch.split('-').any(|t| t.starts_with('c') || t == "p")
    }
}

enum Tok {
    Conv(usize),
    Pool,
    Dense(usize),
}

fn parse_arch(arch: &str) -> Result<Vec<Tok>, EngineError> {
    let bad = |t: &str| {
        EngineError::Spec(format!("--arch `{arch}`: cannot read `{t}` (expected numbers like 784-1024-10, or cK / p for conv and pool)"))
    };
    arch.split('-')
        .map(|t| {
            let t = t.trim();
            if t == "p" {
                Ok(Tok::Pool)
            } else if let Some(k) = t.strip_prefix('c') {
                k.parse()
                    .ok()
                    .filter(|&k| k > 0)
                    .map(Tok::Conv)
                    .ok_or_else(|| bad(t))
            } else {
                t.parse()
                    .ok()
                    .filter(|&k| k > 0)
                    .map(Tok::Dense)
                    .ok_or_else(|| bad(t))
            }
        })
        .collect()
}

/// Build and initialise a model for inputs of per-sample shape `sample`.
///
/// # Errors
/// [`EngineError::Spec`] for an unreadable arch or one that does not fit the
/// data; [`EngineError::Dropout`] for a bad rate.
pub fn build(spec: &ModelSpec, sample: &[usize], seed: u64) -> Result<Sequential, EngineError> {
    let toks = parse_arch(&spec.arch)?;
    let rng = Rng::new(seed ^ 0x1417_0000_0000_0000);
    let init = spec.init();
    let mut layers: Vec<Box<dyn Layer>> = Vec::new();
    // Weights are drawn per weight layer, so the same arch gets the same
    // initial weights with or without dropout/norm layers in between.
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
    let dense_sizes: Vec<usize> = toks
        .iter()
        .filter_map(|t| {
            if let Tok::Dense(k) = t {
                Some(*k)
            } else {
                None
            }
        })
        .collect();
    let cnn = toks.iter().any(|t| !matches!(t, Tok::Dense(_)));
    let flat: usize = sample.iter().product();
    // For an MLP the first number is the input size.
    let (hidden_and_out, mut shape): (Vec<usize>, Vec<usize>) = if cnn {
        if sample.len() != 3 {
            return Err(EngineError::Spec(format!(
                "--arch `{}` has conv layers but the data is not images (sample shape {sample:?})",
                spec.arch
            )));
        }
        (dense_sizes.clone(), sample.to_vec())
    } else {
        match dense_sizes.split_first() {
            Some((&first, rest)) if !rest.is_empty() => {
                if first != flat {
                    return Err(EngineError::Spec(format!("--arch `{}` starts with {first} inputs but the data has {flat} features per sample", spec.arch)));
                }
                (rest.to_vec(), vec![flat])
            }
            _ => {
                return Err(EngineError::Spec(format!(
                    "--arch `{}` needs at least an input and an output size",
                    spec.arch
                )))
            }
        }
    };
    if hidden_and_out.is_empty() {
        return Err(EngineError::Spec(format!(
            "--arch `{}` must end with the number of classes",
            spec.arch
        )));
    }
    if spec.input_dropout > 0.0 {
        layers.push(Box::new(DropoutLayer::new(
            spec.input_dropout,
            next_stream(),
            false,
        )?));
    }
    let relu_fused = spec.act == Activation::Relu && spec.norm == Norm::None;
    // Conv blocks.
    for t in &toks {
        match t {
            Tok::Conv(co) => {
                let mut conv = Conv2d::new(shape[0], *co, 3, 1, 1)?;
                init.fill(
                    &mut conv.w,
                    shape[0] * 9,
                    co * 9,
                    &mut rng.fork(layers.len() as u64),
                );
                shape = conv.output_shape(&shape)?;
                layers.push(Box::new(conv));
                if spec.norm == Norm::Batch {
                    layers.push(Box::new(BatchNorm::new(*co)));
                } else if spec.norm == Norm::Layer {
                    return Err(EngineError::Spec(
                        "--norm ln is for dense blocks; use bn with conv layers".into(),
                    ));
                }
                layers.push(Box::new(ActivationLayer::new(spec.act)));
                if spec.conv_dropout > 0.0 {
                    layers.push(Box::new(DropoutLayer::new(
                        spec.conv_dropout,
                        next_stream(),
                        spec.spatial,
                    )?));
                }
            }
            Tok::Pool => {
                let pool = MaxPool2d::new(2)?;
                shape = pool.output_shape(&shape)?;
                layers.push(Box::new(pool));
            }
            Tok::Dense(_) => break,
        }
    }
    if cnn {
        if toks
            .iter()
            .skip_while(|t| !matches!(t, Tok::Dense(_)))
            .any(|t| !matches!(t, Tok::Dense(_)))
        {
            return Err(EngineError::Spec(format!(
                "--arch `{}`: conv and pool layers must come before the dense ones",
                spec.arch
            )));
        }
        layers.push(Box::new(Flatten::default()));
        shape = vec![shape.iter().product()];
    }
    // Dense blocks.
    let n_hidden = hidden_and_out.len() - 1;
    for (j, &out) in hidden_and_out.iter().enumerate() {
        let inp = shape[0];
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
        let mut dense = Dense::new(inp, out, act, fused_p, stream)?;
        init.fill(&mut dense.w, inp, out, &mut init_rng());
        layers.push(Box::new(dense));
        shape = vec![out];
        if last || relu_fused {
            continue;
        }
        if p > 0.0 && spec.place == DropPlace::BeforeNorm {
            layers.push(Box::new(DropoutLayer::new(p, stream, false)?));
        }
        match spec.norm {
            Norm::Batch => layers.push(Box::new(BatchNorm::new(out))),
            Norm::Layer => layers.push(Box::new(LayerNorm::new(out))),
            Norm::None => {}
        }
        layers.push(Box::new(ActivationLayer::new(spec.act)));
        if p > 0.0 && spec.place == DropPlace::AfterAct {
            layers.push(Box::new(DropoutLayer::new(p, stream, false)?));
        }
    }
    Sequential::new(layers, sample)
}

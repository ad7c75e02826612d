//! A standalone dropout layer of one [`DropoutKind`]: element-wise, or
//! spatial (one mask bit per sample and channel over `(N, C, H, W)`, noise
//! shape `(N, C, 1, 1)`, Tompson et al. 2015). Used where dropout cannot be
//! fused into a dense layer: on the input, after a normalisation, between
//! conv layers.
//!
//! ```text
//! y = keep ? x · s : 0      dx = keep ? dy · s : 0   (mask recomputed from the key)
//! ```
//! With MC masks shared by blocks of `g` rows ([`Ctx::mc_group`]) the data
//! `(N, …)` is viewed as `(N/g, g, …)` and the noise shape gets a 1 in the
//! block dimension: every row of a block sees the same mask.
//! DropBlock ([`DropoutKind::Block`], Ghiasi et al. 2018) drops b × b blocks
//! of each channel and rescales by the kept share; it is its own map.
//!
//! The map is a [`DropoutVariant`]: inverted dropout, or AlphaDropout
//! (Klambauer et al. 2017: dropped units set to SELU's saturation, then an
//! affine map keeping mean 0 and variance 1; element-wise, or per channel as
//! FeatureAlphaDropout), Gaussian dropout x·(1 + σz) or Gaussian noise x + σz
//! with σ² = p/(1 − p) (Srivastava et al. 2014, §10; one draw per element, or
//! per channel at a spatial site); see the `dropout` crate for each map's
//! equations.
//! A new member of the family is one arm of [`DropoutVariant`] and one arm in
//! each `match` below.

use dropout::{AlphaDropout, DropBlock, Dropout, GaussianDropout, GaussianNoise};

use crate::error::EngineError;
use crate::layer::{Ctx, Layer};
use crate::tensor::Tensor;

/// Which units one mask bit covers.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum DropoutKind {
    /// Each element on its own (Srivastava et al. 2014).
    #[default]
    Element,
    /// Whole channels of a `(C, H, W)` sample (Tompson et al. 2015).
    Spatial,
    /// b × b blocks of each channel (DropBlock, Ghiasi et al. 2018; its own map).
    Block,
}

/// What a dropout site does to the units it drops and keeps.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum DropoutVariant {
    /// Inverted dropout: dropped → 0, kept → x / (1 − p).
    #[default]
    Standard,
    /// AlphaDropout (for SELU nets): dropped → SELU's saturation, then a·(·) + b.
    Alpha,
    /// Gaussian dropout: x · (1 + σz), σ² = p/(1 − p); needs p < 1.
    Gaussian,
    /// Additive Gaussian noise: x + σz with the same σ; needs p < 1.
    Noise,
}

impl DropoutVariant {
    /// Whether this is the default (kept out of configs, so their cache keys stay).
    pub fn is_standard(&self) -> bool {
        *self == Self::Standard
    }
}

/// The map of one site.
#[derive(Clone, Copy, Debug)]
enum Rule {
    Standard(Dropout),
    Alpha(AlphaDropout),
    Gaussian(GaussianDropout),
    Noise(GaussianNoise),
    Block(DropBlock),
}

/// The Gaussian site maps of rate `p` (σ² = p/(1 − p)).
fn gaussian(p: f32, additive: bool) -> Result<Rule, dropout::DropoutError> {
    let d = GaussianDropout::new(p)?;
    Ok(if additive {
        Rule::Noise(GaussianNoise::new(d.sigma())?)
    } else {
        Rule::Gaussian(d)
    })
}

/// DropBlock's block size unless [`DropoutLayer::with_block_size`] says otherwise.
pub const DEFAULT_BLOCK: usize = 3;

/// Dropout as a layer.
pub struct DropoutLayer {
    dropout: Dropout,
    rule: Rule,
    /// The configured rate; a schedule scales it.
    rate: f32,
    stream: u32,
    kind: DropoutKind,
    input: bool,
    y: Tensor,
    dx: Tensor,
    shape: Vec<usize>,
    noise: Vec<usize>,
}

impl DropoutLayer {
    /// Dropout of `kind` with rate `p` at site `stream`.
    ///
    /// # Errors
    /// [`EngineError::Dropout`] if `p` is not in [0, 1].
    pub fn new(p: f32, stream: u32, kind: DropoutKind) -> Result<Self, EngineError> {
        let dropout = Dropout::new(p)?;
        let rule = match kind {
            DropoutKind::Block => Rule::Block(DropBlock::new(p, DEFAULT_BLOCK)?),
            _ => Rule::Standard(dropout),
        };
        Ok(Self {
            dropout,
            rule,
            rate: p,
            stream,
            kind,
            input: false,
            y: Tensor::default(),
            dx: Tensor::default(),
            shape: Vec::new(),
            noise: Vec::new(),
        })
    }

    /// This site with the map of `variant`.
    ///
    /// # Errors
    /// [`EngineError::Dropout`] if the rate is invalid (it was checked by [`Self::new`]).
    /// A DropBlock site keeps its own map whatever the variant.
    pub fn with_variant(self, variant: DropoutVariant) -> Result<Self, EngineError> {
        let rule = match (self.rule, variant) {
            (Rule::Block(b), _) => Rule::Block(b),
            (_, DropoutVariant::Standard) => Rule::Standard(self.dropout),
            (_, DropoutVariant::Alpha) => Rule::Alpha(AlphaDropout::new(self.dropout.p())?),
            (_, DropoutVariant::Gaussian) => gaussian(self.dropout.p(), false)?,
            (_, DropoutVariant::Noise) => gaussian(self.dropout.p(), true)?,
        };
        Ok(Self { rule, ..self })
    }

    /// A DropBlock site with blocks of `block` × `block` (other kinds ignore it).
    ///
    /// # Errors
    /// [`EngineError::Dropout`] for a block size of 0.
    pub fn with_block_size(self, block: usize) -> Result<Self, EngineError> {
        let rule = match self.rule {
            Rule::Block(_) => Rule::Block(DropBlock::new(self.dropout.p(), block)?),
            other => other,
        };
        Ok(Self { rule, ..self })
    }

    /// This layer as the input-dropout site (MC dropout may leave it out).
    pub fn at_input(self) -> Self {
        Self {
            input: true,
            ..self
        }
    }

    /// The rate.
    pub fn p(&self) -> f32 {
        self.dropout.p()
    }

    /// The data and noise shapes of a broadcast call on `shape`, or `None`
    /// for the plain element-wise call.
    fn dims(&mut self, shape: &[usize], group: Option<usize>) -> Option<(&[usize], &[usize])> {
        if self.kind == DropoutKind::Element && group.is_none() {
            return None;
        }
        self.shape.clear();
        self.noise.clear();
        if let Some(g) = group {
            let g = g.max(1);
            debug_assert!(
                shape[0].is_multiple_of(g),
                "rows must fill whole mask blocks"
            );
            self.shape.extend([shape[0] / g, g]);
            self.noise.extend([shape[0] / g, 1]);
        } else {
            self.shape.push(shape[0]);
            self.noise.push(shape[0]);
        }
        self.shape.extend_from_slice(&shape[1..]);
        match self.kind {
            // (DropBlock never gets here: it has its own map.)
            DropoutKind::Element | DropoutKind::Block => self.noise.extend_from_slice(&shape[1..]),
            // (C, H, W): one bit per channel.
            DropoutKind::Spatial => {
                self.noise.push(shape[1]);
                self.noise.extend(shape[2..].iter().map(|_| 1));
            }
        }
        Some((&self.shape, &self.noise))
    }
}

impl Layer for DropoutLayer {
    fn describe(&self) -> String {
        let name = match (self.rule, self.kind) {
            (Rule::Block(b), _) => return format!("DropBlock({}, block {})", b.p(), b.block()),
            (Rule::Standard(_), DropoutKind::Spatial) => "SpatialDropout",
            (Rule::Standard(_), _) => "Dropout",
            (Rule::Alpha(_), DropoutKind::Spatial) => "FeatureAlphaDropout",
            (Rule::Alpha(_), _) => "AlphaDropout",
            (Rule::Gaussian(_), DropoutKind::Spatial) => "SpatialGaussianDropout",
            (Rule::Gaussian(_), _) => "GaussianDropout",
            (Rule::Noise(_), DropoutKind::Spatial) => "SpatialGaussianNoise",
            (Rule::Noise(_), _) => "GaussianNoise",
        };
        format!("{name}({})", self.dropout.p())
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, EngineError> {
        match (self.kind, self.rule) {
            (DropoutKind::Spatial, _) if input.len() != 3 => Err(EngineError::Shape {
                layer: self.describe(),
                got: input.to_vec(),
                expected: "images (C × H × W): it drops whole channels".into(),
            }),
            (_, Rule::Block(b)) if input.len() != 3 || b.block() > input[1].min(input[2]) => {
                Err(EngineError::Shape {
                    layer: self.describe(),
                    got: input.to_vec(),
                    expected: format!(
                        "feature maps (C × H × W) of at least {0} × {0}: it drops {0} × {0} blocks",
                        b.block()
                    ),
                })
            }
            _ => Ok(input.to_vec()),
        }
    }

    fn forward(&mut self, x: &Tensor, ctx: &Ctx) {
        self.y.resize(&x.shape);
        let (key, mode) = (ctx.key(self.stream), ctx.site_mode(self.input));
        let rule = self.rule;
        let mut y = std::mem::take(&mut self.y);
        if let Rule::Block(b) = rule {
            // Each row its own blocks (MC masks shared by rows are not offered for DropBlock).
            b.forward(key, mode, &x.shape, &x.data, &mut y.data)
                .expect("shapes checked at build time");
            self.y = y;
            return;
        }
        match (rule, self.dims(&x.shape, ctx.shared_rows())) {
            (Rule::Standard(d), None) => d.forward(key, mode, &x.data, &mut y.data),
            (Rule::Standard(d), Some((shape, noise))) => {
                d.forward_broadcast(key, mode, shape, noise, &x.data, &mut y.data)
            }
            (Rule::Alpha(d), None) => d.forward(key, mode, &x.data, &mut y.data),
            (Rule::Alpha(d), Some((shape, noise))) => {
                d.forward_broadcast(key, mode, shape, noise, &x.data, &mut y.data)
            }
            (Rule::Gaussian(d), None) => d.forward(key, mode, &x.data, &mut y.data),
            (Rule::Gaussian(d), Some((shape, noise))) => {
                d.forward_broadcast(key, mode, shape, noise, &x.data, &mut y.data)
            }
            (Rule::Noise(d), None) => d.forward(key, mode, &x.data, &mut y.data),
            (Rule::Noise(d), Some((shape, noise))) => {
                d.forward_broadcast(key, mode, shape, noise, &x.data, &mut y.data)
            }
            (Rule::Block(_), _) => unreachable!("handled above"),
        }
        .expect("shapes checked at build time");
        self.y = y;
    }

    fn output(&self) -> &Tensor {
        &self.y
    }

    fn backward(&mut self, x: &Tensor, dy: &mut Tensor, ctx: &Ctx, need_dx: bool) {
        if !need_dx {
            return;
        }
        self.dx.resize(&x.shape);
        let (key, mode) = (ctx.key(self.stream), ctx.site_mode(self.input));
        let rule = self.rule;
        let mut dx = std::mem::take(&mut self.dx);
        if let Rule::Block(b) = rule {
            b.backward(key, mode, &x.shape, &dy.data, &mut dx.data)
                .expect("shapes checked at build time");
            self.dx = dx;
            return;
        }
        match (rule, self.dims(&x.shape, ctx.shared_rows())) {
            (Rule::Standard(d), None) => d.backward(key, mode, &dy.data, &mut dx.data),
            (Rule::Standard(d), Some((shape, noise))) => {
                d.backward_broadcast(key, mode, shape, noise, &dy.data, &mut dx.data)
            }
            (Rule::Alpha(d), None) => d.backward(key, mode, &dy.data, &mut dx.data),
            (Rule::Alpha(d), Some((shape, noise))) => {
                d.backward_broadcast(key, mode, shape, noise, &dy.data, &mut dx.data)
            }
            (Rule::Gaussian(d), None) => d.backward(key, mode, &dy.data, &mut dx.data),
            (Rule::Gaussian(d), Some((shape, noise))) => {
                d.backward_broadcast(key, mode, shape, noise, &dy.data, &mut dx.data)
            }
            (Rule::Noise(d), _) => d.backward(key, mode, &dy.data, &mut dx.data),
            (Rule::Block(_), _) => unreachable!("handled above"),
        }
        .expect("shapes checked at build time");
        self.dx = dx;
    }

    fn input_grad(&mut self) -> &mut Tensor {
        &mut self.dx
    }

    fn set_dropout_factor(&mut self, factor: f32) {
        let p = (self.rate * factor).clamp(0.0, 1.0);
        self.dropout = Dropout::new(p).expect("a rate in [0, 1]");
        self.rule = match self.rule {
            Rule::Standard(_) => Rule::Standard(self.dropout),
            Rule::Alpha(_) => Rule::Alpha(AlphaDropout::new(p).expect("a rate in [0, 1]")),
            // A schedule scales the rate down (factor ≤ 1), so it stays below 1.
            Rule::Gaussian(_) | Rule::Noise(_) => {
                gaussian(p, matches!(self.rule, Rule::Noise(_))).unwrap_or(self.rule)
            }
            Rule::Block(b) => Rule::Block(DropBlock::new(p, b.block()).expect("a rate in [0, 1]")),
        };
    }
}

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
//! The map is a [`DropoutVariant`]: inverted dropout, or AlphaDropout
//! (Klambauer et al. 2017: dropped units set to SELU's saturation, then an
//! affine map keeping mean 0 and variance 1; element-wise, or per channel as
//! FeatureAlphaDropout); see the `dropout` crate for each map's equations.
//! A new member of the family is one arm of [`DropoutVariant`] and one arm in
//! each `match` below.

use dropout::{AlphaDropout, Dropout};

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
}

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
        Ok(Self {
            dropout,
            rule: Rule::Standard(dropout),
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
    pub fn with_variant(self, variant: DropoutVariant) -> Result<Self, EngineError> {
        let rule = match variant {
            DropoutVariant::Standard => Rule::Standard(self.dropout),
            DropoutVariant::Alpha => Rule::Alpha(AlphaDropout::new(self.dropout.p())?),
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
            DropoutKind::Element => self.noise.extend_from_slice(&shape[1..]),
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
            (Rule::Standard(_), DropoutKind::Element) => "Dropout",
            (Rule::Standard(_), DropoutKind::Spatial) => "SpatialDropout",
            (Rule::Alpha(_), DropoutKind::Element) => "AlphaDropout",
            (Rule::Alpha(_), DropoutKind::Spatial) => "FeatureAlphaDropout",
        };
        format!("{name}({})", self.dropout.p())
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, EngineError> {
        match self.kind {
            DropoutKind::Spatial if input.len() != 3 => Err(EngineError::Shape {
                layer: self.describe(),
                got: input.to_vec(),
                expected: "images (C × H × W): it drops whole channels".into(),
            }),
            _ => Ok(input.to_vec()),
        }
    }

    fn forward(&mut self, x: &Tensor, ctx: &Ctx) {
        self.y.resize(&x.shape);
        let (key, mode) = (ctx.key(self.stream), ctx.site_mode(self.input));
        let rule = self.rule;
        let mut y = std::mem::take(&mut self.y);
        match (rule, self.dims(&x.shape, ctx.shared_rows())) {
            (Rule::Standard(d), None) => d.forward(key, mode, &x.data, &mut y.data),
            (Rule::Standard(d), Some((shape, noise))) => {
                d.forward_broadcast(key, mode, shape, noise, &x.data, &mut y.data)
            }
            (Rule::Alpha(d), None) => d.forward(key, mode, &x.data, &mut y.data),
            (Rule::Alpha(d), Some((shape, noise))) => {
                d.forward_broadcast(key, mode, shape, noise, &x.data, &mut y.data)
            }
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
        match (rule, self.dims(&x.shape, ctx.shared_rows())) {
            (Rule::Standard(d), None) => d.backward(key, mode, &dy.data, &mut dx.data),
            (Rule::Standard(d), Some((shape, noise))) => {
                d.backward_broadcast(key, mode, shape, noise, &dy.data, &mut dx.data)
            }
            (Rule::Alpha(d), None) => d.backward(key, mode, &dy.data, &mut dx.data),
            (Rule::Alpha(d), Some((shape, noise))) => {
                d.backward_broadcast(key, mode, shape, noise, &dy.data, &mut dx.data)
            }
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
        };
    }
}

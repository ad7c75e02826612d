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
//!
//! A site holds one [`dropout::Variant`] and calls it once per pass with the
//! data's [`Shape`] (a noise shape for spatial sites and shared MC masks);
//! the variant dispatches. A member of the family offered at the engine's
//! sites is one arm of [`DropoutVariant`] and one of [`DropoutVariant::kind`].

use dropout::{Shape, Variant, VariantKind};

use crate::error::EngineError;
use crate::layer::{Ctx, Layer};
use crate::tensor::Tensor;

/// Which units one mask bit covers.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
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
    /// The member of the `dropout` crate's family this names.
    pub fn kind(&self) -> VariantKind {
        match self {
            Self::Standard => VariantKind::Plain,
            Self::Alpha => VariantKind::Alpha,
            Self::Gaussian => VariantKind::Gaussian,
            Self::Noise => VariantKind::Noise,
        }
    }
}

/// DropBlock's block size unless [`DropoutLayer::with_block_size`] says otherwise.
pub use dropout::DEFAULT_BLOCK;

/// Dropout as a layer.
pub struct DropoutLayer {
    /// The site's map at its current rate.
    variant: Variant,
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
        let variant = match kind {
            DropoutKind::Block => Variant::new(VariantKind::Block, p)?.with_block(DEFAULT_BLOCK)?,
            _ => Variant::new(VariantKind::Plain, p)?,
        };
        Ok(Self {
            variant,
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
    /// [`EngineError::Dropout`] if the variant cannot take the rate (Gaussian
    /// dropout and noise need p < 1).
    /// A DropBlock site keeps its own map whatever the variant.
    pub fn with_variant(self, variant: DropoutVariant) -> Result<Self, EngineError> {
        if self.kind == DropoutKind::Block {
            return Ok(self);
        }
        Ok(Self {
            variant: Variant::new(variant.kind(), self.variant.p())?,
            ..self
        })
    }

    /// A DropBlock site with blocks of `block` × `block` (other kinds ignore it).
    ///
    /// # Errors
    /// [`EngineError::Dropout`] for a block size of 0.
    pub fn with_block_size(self, block: usize) -> Result<Self, EngineError> {
        if self.kind != DropoutKind::Block {
            return Ok(self);
        }
        Ok(Self {
            variant: self.variant.with_block(block)?,
            ..self
        })
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
        self.variant.p()
    }

    /// The shape of a call on data `dims`: the data as it is (element-wise,
    /// DropBlock), or viewed for a broadcast mask (spatial; MC masks shared
    /// by blocks of rows).
    fn shape<'a>(&'a mut self, dims: &'a [usize], group: Option<usize>) -> Shape<'a> {
        // (DropBlock: each row its own blocks; MC masks shared by rows are not offered for it.)
        if self.kind == DropoutKind::Block || (self.kind == DropoutKind::Element && group.is_none())
        {
            return Shape::new(dims);
        }
        self.shape.clear();
        self.noise.clear();
        if let Some(g) = group {
            let g = g.max(1);
            debug_assert!(
                dims[0].is_multiple_of(g),
                "rows must fill whole mask blocks"
            );
            self.shape.extend([dims[0] / g, g]);
            self.noise.extend([dims[0] / g, 1]);
        } else {
            self.shape.push(dims[0]);
            self.noise.push(dims[0]);
        }
        self.shape.extend_from_slice(&dims[1..]);
        match self.kind {
            DropoutKind::Element | DropoutKind::Block => self.noise.extend_from_slice(&dims[1..]),
            // (C, H, W): one bit per channel.
            DropoutKind::Spatial => {
                self.noise.push(dims[1]);
                self.noise.extend(dims[2..].iter().map(|_| 1));
            }
        }
        Shape::new(&self.shape).with_noise(&self.noise)
    }
}

impl Layer for DropoutLayer {
    fn describe(&self) -> String {
        let kind = self.variant.kind();
        let name = match (kind, self.kind) {
            (VariantKind::Block, _) => {
                let block = self.variant.block().unwrap_or(DEFAULT_BLOCK);
                return format!("DropBlock({}, block {block})", self.p());
            }
            (VariantKind::Alpha, DropoutKind::Spatial) => "FeatureAlphaDropout".to_string(),
            (_, DropoutKind::Spatial) => format!("Spatial{}", kind.title()),
            _ => kind.title().to_string(),
        };
        format!("{name}({})", self.p())
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, EngineError> {
        match (self.kind, self.variant.block()) {
            (DropoutKind::Spatial, _) if input.len() != 3 => Err(EngineError::Shape {
                layer: self.describe(),
                got: input.to_vec(),
                expected: "images (C × H × W): it drops whole channels".into(),
            }),
            (_, Some(b)) if input.len() != 3 || b > input[1].min(input[2]) => {
                Err(EngineError::Shape {
                    layer: self.describe(),
                    got: input.to_vec(),
                    expected: format!(
                        "feature maps (C × H × W) of at least {b} × {b}: it drops {b} × {b} blocks"
                    ),
                })
            }
            _ => Ok(input.to_vec()),
        }
    }

    fn forward(&mut self, x: &Tensor, ctx: &Ctx) {
        self.y.resize(&x.shape);
        let (key, mode) = (ctx.key(self.stream), ctx.site_mode(self.input));
        let variant = self.variant;
        let mut y = std::mem::take(&mut self.y);
        let shape = self.shape(&x.shape, ctx.shared_rows());
        variant
            .forward(key, mode, shape, &x.data, &mut y.data)
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
        let variant = self.variant;
        let mut dx = std::mem::take(&mut self.dx);
        let shape = self.shape(&x.shape, ctx.shared_rows());
        variant
            .backward(key, mode, shape, &dy.data, &mut dx.data)
            .expect("shapes checked at build time");
        self.dx = dx;
    }

    fn input_grad(&mut self) -> &mut Tensor {
        &mut self.dx
    }

    fn set_dropout_factor(&mut self, factor: f32) {
        let p = (self.rate * factor).clamp(0.0, 1.0);
        // A schedule scales the rate down (factor ≤ 1), so Gaussian rates stay below 1;
        // a rate a map cannot take leaves the map as it was.
        if let Ok(v) = self.variant.with_p(p) {
            self.variant = v;
        }
    }
}

//! A standalone dropout layer of one [`DropoutKind`]: element-wise, or
//! spatial (one mask bit per sample and channel over `(N, C, H, W)`, noise
//! shape `(N, C, 1, 1)`, Tompson et al. 2015). Used where dropout cannot be
//! fused into a dense layer: on the input, after a normalisation, between
//! conv layers.
//!
//! ```text
//! y = keep ? x · s : 0      dx = keep ? dy · s : 0   (mask recomputed from the key)
//! ```
//! A new member of the dropout family is one arm of [`DropoutKind`] and one
//! arm in each `match` below.

use dropout::Dropout;

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

/// Dropout as a layer.
pub struct DropoutLayer {
    dropout: Dropout,
    stream: u32,
    kind: DropoutKind,
    y: Tensor,
    dx: Tensor,
    noise: Vec<usize>,
}

impl DropoutLayer {
    /// Dropout of `kind` with rate `p` at site `stream`.
    ///
    /// # Errors
    /// [`EngineError::Dropout`] if `p` is not in [0, 1].
    pub fn new(p: f32, stream: u32, kind: DropoutKind) -> Result<Self, EngineError> {
        Ok(Self {
            dropout: Dropout::new(p)?,
            stream,
            kind,
            y: Tensor::default(),
            dx: Tensor::default(),
            noise: Vec::new(),
        })
    }

    /// The rate.
    pub fn p(&self) -> f32 {
        self.dropout.p()
    }

    fn noise_shape(&mut self, shape: &[usize]) {
        self.noise.clear();
        self.noise.extend_from_slice(shape);
        for d in self.noise.iter_mut().skip(2) {
            *d = 1;
        }
    }
}

impl Layer for DropoutLayer {
    fn describe(&self) -> String {
        let name = match self.kind {
            DropoutKind::Element => "Dropout",
            DropoutKind::Spatial => "SpatialDropout",
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
        let key = ctx.key(self.stream);
        match self.kind {
            DropoutKind::Element => {
                self.dropout
                    .forward(key, ctx.dropout_mode(), &x.data, &mut self.y.data)
            }
            DropoutKind::Spatial => {
                self.noise_shape(&x.shape);
                self.dropout.forward_broadcast(
                    key,
                    ctx.dropout_mode(),
                    &x.shape,
                    &self.noise,
                    &x.data,
                    &mut self.y.data,
                )
            }
        }
        .expect("shapes checked at build time");
    }

    fn output(&self) -> &Tensor {
        &self.y
    }

    fn backward(&mut self, x: &Tensor, dy: &mut Tensor, ctx: &Ctx, need_dx: bool) {
        if !need_dx {
            return;
        }
        self.dx.resize(&x.shape);
        let key = ctx.key(self.stream);
        match self.kind {
            DropoutKind::Element => {
                self.dropout
                    .backward(key, ctx.dropout_mode(), &dy.data, &mut self.dx.data)
            }
            DropoutKind::Spatial => {
                self.noise_shape(&x.shape);
                self.dropout.backward_broadcast(
                    key,
                    ctx.dropout_mode(),
                    &x.shape,
                    &self.noise,
                    &dy.data,
                    &mut self.dx.data,
                )
            }
        }
        .expect("shapes checked at build time");
    }

    fn input_grad(&mut self) -> &mut Tensor {
        &mut self.dx
    }
}

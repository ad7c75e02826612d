//! A standalone dropout layer: element-wise, or spatial (one mask bit per
//! sample and channel over `(N, C, H, W)`, noise shape `(N, C, 1, 1)`,
//! Tompson et al. 2015). Used where dropout cannot be fused into a dense
//! layer: on the input, after a normalisation, between conv layers.
//!
//! ```text
//! y = keep ? x · s : 0      dx = keep ? dy · s : 0   (mask recomputed from the key)
//! ```

use dropout::Dropout;

use crate::error::EngineError;
use crate::layer::{Ctx, Layer};
use crate::tensor::Tensor;

/// Dropout as a layer.
pub struct DropoutLayer {
    dropout: Dropout,
    stream: u32,
    spatial: bool,
    y: Tensor,
    dx: Tensor,
    noise: Vec<usize>,
}

impl DropoutLayer {
    /// Dropout with rate `p` at site `stream`; `spatial` drops whole channels
    /// of a `(C, H, W)` sample.
    ///
    /// # Errors
    /// [`EngineError::Dropout`] if `p` is not in [0, 1].
    pub fn new(p: f32, stream: u32, spatial: bool) -> Result<Self, EngineError> {
        Ok(Self {
            dropout: Dropout::new(p)?,
            stream,
            spatial,
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
        let kind = if self.spatial {
            "SpatialDropout"
        } else {
            "Dropout"
        };
        format!("{kind}({})", self.dropout.p())
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, EngineError> {
        if self.spatial && input.len() != 3 {
            return Err(EngineError::Shape {
                what: self.describe(),
                got: input.to_vec(),
                expected: vec![0, 0, 0],
            });
        }
        Ok(input.to_vec())
    }

    fn forward(&mut self, x: &Tensor, ctx: &Ctx) {
        self.y.resize(&x.shape);
        let key = ctx.key(self.stream);
        if self.spatial {
            self.noise_shape(&x.shape);
            self.dropout.forward_broadcast(
                key,
                ctx.dropout_mode(),
                &x.shape,
                &self.noise,
                &x.data,
                &mut self.y.data,
            )
        } else {
            self.dropout
                .forward(key, ctx.dropout_mode(), &x.data, &mut self.y.data)
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
        if self.spatial {
            self.noise_shape(&x.shape);
            self.dropout.backward_broadcast(
                key,
                ctx.dropout_mode(),
                &x.shape,
                &self.noise,
                &dy.data,
                &mut self.dx.data,
            )
        } else {
            self.dropout
                .backward(key, ctx.dropout_mode(), &dy.data, &mut self.dx.data)
        }
        .expect("shapes checked at build time");
    }

    fn input_grad(&mut self) -> &mut Tensor {
        &mut self.dx
    }
}

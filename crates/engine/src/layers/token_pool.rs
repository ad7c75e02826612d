//! The mean over tokens: `(N, T, D)` → `(N, D)`, a ViT's pooled
//! representation (instead of a class token).
//!
//! ```text
//! y[n] = (1/T) Σ_t x[n, t]          ∂x[n, t] = ∂y[n] / T
//! ```

use crate::error::EngineError;
use crate::layer::{Ctx, Layer};
use crate::tensor::Tensor;

/// Mean over the token axis.
#[derive(Default)]
pub struct TokenMean {
    y: Tensor,
    dx: Tensor,
}

impl Layer for TokenMean {
    fn describe(&self) -> String {
        "TokenMean".into()
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, EngineError> {
        match input {
            [t, d] if *t > 0 => Ok(vec![*d]),
            _ => Err(EngineError::Shape {
                layer: self.describe(),
                got: input.to_vec(),
                expected: "(T, D) tokens".into(),
            }),
        }
    }

    fn forward(&mut self, x: &Tensor, _ctx: &Ctx) {
        let (n, t, d) = (x.shape[0], x.shape[1], x.shape[2]);
        self.y.resize(&[n, d]);
        let inv = 1.0 / t as f32;
        for (y, xs) in self.y.data.chunks_mut(d).zip(x.data.chunks(t * d)) {
            y.fill(0.0);
            for tok in xs.chunks(d) {
                y.iter_mut().zip(tok).for_each(|(o, v)| *o += v);
            }
            y.iter_mut().for_each(|o| *o *= inv);
        }
    }

    fn output(&self) -> &Tensor {
        &self.y
    }

    fn backward(&mut self, x: &Tensor, dy: &mut Tensor, _ctx: &Ctx, need_dx: bool) {
        if !need_dx {
            return;
        }
        let (t, d) = (x.shape[1], x.shape[2]);
        self.dx.resize(&x.shape);
        let inv = 1.0 / t as f32;
        for (dx, g) in self.dx.data.chunks_mut(t * d).zip(dy.data.chunks(d)) {
            for tok in dx.chunks_mut(d) {
                tok.iter_mut().zip(g).for_each(|(o, v)| *o = v * inv);
            }
        }
    }

    fn input_grad(&mut self) -> &mut Tensor {
        &mut self.dx
    }
}

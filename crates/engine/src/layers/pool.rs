//! Max pooling and flattening.
//!
//! MaxPool2d with a `k × k` window and stride `k` over `(N, C, H, W)`:
//! `y[n,c,i,j] = max over the window`, `Ho = H / k` (a partial last window is
//! dropped, as PyTorch's default). Backward routes each `dy` to the arg-max
//! of its window (the first one on ties). Flatten reshapes `(N, …)` to
//! `(N, ∏…)`.

use rayon::prelude::*;

use crate::error::EngineError;
use crate::layer::{Ctx, Layer};
use crate::tensor::Tensor;
use crate::wide::wide;

/// Max pooling with a square window and equal stride.
pub struct MaxPool2d {
    k: usize,
    arg: Vec<u32>,
    y: Tensor,
    dx: Tensor,
}

impl MaxPool2d {
    /// A `k × k` max pool.
    ///
    /// # Errors
    /// [`EngineError::ZeroSize`] if `k` is 0.
    pub fn new(k: usize) -> Result<Self, EngineError> {
        if k == 0 {
            return Err(EngineError::ZeroSize {
                layer: "MaxPool2d(0)".into(),
            });
        }
        Ok(Self {
            k,
            arg: Vec::new(),
            y: Tensor::default(),
            dx: Tensor::default(),
        })
    }
}

impl Layer for MaxPool2d {
    fn describe(&self) -> String {
        format!("MaxPool2d({})", self.k)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, EngineError> {
        if input.len() != 3 || input[1] < self.k || input[2] < self.k {
            return Err(EngineError::Shape {
                layer: self.describe(),
                got: input.to_vec(),
                expected: format!("images (C × H × W) at least {0} × {0} pixels", self.k),
            });
        }
        Ok(vec![input[0], input[1] / self.k, input[2] / self.k])
    }

    fn forward(&mut self, x: &Tensor, _ctx: &Ctx) {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        let (k, ho, wo) = (self.k, h / self.k, w / self.k);
        self.y.resize(&[n, c, ho, wo]);
        self.arg.resize(n * c * ho * wo, 0);
        self.y
            .data
            .par_chunks_mut(ho * wo)
            .zip(self.arg.par_chunks_mut(ho * wo))
            .enumerate()
            .for_each(|(plane, (ys, args))| {
                wide(
                    #[inline(always)]
                    || {
                        let xs = &x.data[plane * h * w..(plane + 1) * h * w];
                        for i in 0..ho {
                            for j in 0..wo {
                                let mut best = (f32::NEG_INFINITY, (i * k) * w + j * k);
                                for a in 0..k {
                                    for b in 0..k {
                                        let idx = (i * k + a) * w + j * k + b;
                                        if xs[idx] > best.0 {
                                            best = (xs[idx], idx);
                                        }
                                    }
                                }
                                ys[i * wo + j] = xs[best.1];
                                args[i * wo + j] = best.1 as u32;
                            }
                        }
                    },
                )
            });
    }

    fn output(&self) -> &Tensor {
        &self.y
    }

    fn backward(&mut self, x: &Tensor, dy: &mut Tensor, _ctx: &Ctx, need_dx: bool) {
        if !need_dx {
            return;
        }
        let (h, w) = (x.shape[2], x.shape[3]);
        let plane_out = self.y.shape[2] * self.y.shape[3];
        self.dx.resize(&x.shape);
        self.dx
            .data
            .par_chunks_mut(h * w)
            .enumerate()
            .for_each(|(plane, dxs)| {
                wide(
                    #[inline(always)]
                    || {
                        dxs.fill(0.0);
                        let args = &self.arg[plane * plane_out..(plane + 1) * plane_out];
                        let dys = &dy.data[plane * plane_out..(plane + 1) * plane_out];
                        for (a, d) in args.iter().zip(dys) {
                            dxs[*a as usize] += d;
                        }
                    },
                )
            });
    }

    fn input_grad(&mut self) -> &mut Tensor {
        &mut self.dx
    }
}

/// `(N, …) → (N, ∏…)`.
#[derive(Default)]
pub struct Flatten {
    y: Tensor,
    dx: Tensor,
}

impl Layer for Flatten {
    fn describe(&self) -> String {
        "Flatten".into()
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, EngineError> {
        Ok(vec![input.iter().product()])
    }

    fn forward(&mut self, x: &Tensor, _ctx: &Ctx) {
        self.y.resize(&[x.rows(), x.cols()]);
        self.y.data.copy_from_slice(&x.data);
    }

    fn output(&self) -> &Tensor {
        &self.y
    }

    fn backward(&mut self, x: &Tensor, dy: &mut Tensor, _ctx: &Ctx, need_dx: bool) {
        if need_dx {
            self.dx.resize(&x.shape);
            self.dx.data.copy_from_slice(&dy.data);
        }
    }

    fn input_grad(&mut self) -> &mut Tensor {
        &mut self.dx
    }
}

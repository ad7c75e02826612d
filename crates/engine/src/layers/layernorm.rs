//! Layer normalisation (Ba, Kiros & Hinton 2016) over each vector of `d`
//! features: a sample's (an MLP), or each token's (`(N, T, d)`, a Transformer).
//!
//! ```text
//! μ = mean(x_i), σ² = mean((x_i − μ)²), x̂ = (x_i − μ)/sqrt(σ² + ε), y = γ x̂ + β
//! dγ = Σ_rows dy x̂,  dβ = Σ_rows dy
//! dx = (1/sqrt(σ² + ε)) · (g − mean(g) − x̂ · mean(g x̂)),   g = γ dy
//! ```
//! ε = 1e-5; the same in train and eval.

use rayon::prelude::*;

use crate::error::EngineError;
use crate::layer::{Ctx, Dims, Layer, Param, ParamKind};
use crate::tensor::Tensor;
use crate::wide::wide;

/// LayerNorm over the last (flattened) features.
pub struct LayerNorm {
    d: usize,
    /// Scale γ.
    pub gamma: Vec<f32>,
    /// Shift β.
    pub beta: Vec<f32>,
    ggamma: Vec<f32>,
    gbeta: Vec<f32>,
    inv_std: Vec<f32>,
    xhat: Tensor,
    y: Tensor,
    dx: Tensor,
}

const EPS: f32 = 1e-5;
/// Columns per parallel task of the parameter-gradient sums.
const COL_BLOCK: usize = 64;

impl LayerNorm {
    /// LayerNorm over `d` features.
    pub fn new(d: usize) -> Self {
        Self {
            d,
            gamma: vec![1.0; d],
            beta: vec![0.0; d],
            ggamma: vec![0.0; d],
            gbeta: vec![0.0; d],
            inv_std: Vec::new(),
            xhat: Tensor::default(),
            y: Tensor::default(),
            dx: Tensor::default(),
        }
    }
}

impl Layer for LayerNorm {
    fn describe(&self) -> String {
        format!("LayerNorm({})", self.d)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, EngineError> {
        if input.iter().product::<usize>() != self.d && input.last() != Some(&self.d) {
            return Err(EngineError::Shape {
                layer: self.describe(),
                got: input.to_vec(),
                expected: format!("{} features per sample", self.d),
            });
        }
        Ok(input.to_vec())
    }

    fn forward(&mut self, x: &Tensor, _ctx: &Ctx) {
        let (n, d) = (x.len() / self.d, self.d);
        self.y.resize(&x.shape);
        self.xhat.resize(&x.shape);
        self.inv_std.resize(n, 0.0);
        let (g, b) = (&self.gamma, &self.beta);
        // Rows are independent: in parallel, each computed as a sequential loop would.
        x.data
            .par_chunks(d)
            .zip(self.xhat.data.par_chunks_mut(d))
            .zip(self.y.data.par_chunks_mut(d))
            .zip(self.inv_std.par_iter_mut())
            .for_each(|(((row, xhat), y), inv_std)| {
                wide(
                    #[inline(always)]
                    || {
                        let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / d as f64;
                        let var = row
                            .iter()
                            .map(|&v| (f64::from(v) - mean).powi(2))
                            .sum::<f64>()
                            / d as f64;
                        let inv = 1.0 / (var as f32 + EPS).sqrt();
                        *inv_std = inv;
                        for c in 0..d {
                            let h = (row[c] - mean as f32) * inv;
                            xhat[c] = h;
                            y[c] = g[c] * h + b[c];
                        }
                    },
                )
            });
    }

    fn output(&self) -> &Tensor {
        &self.y
    }

    fn backward(&mut self, x: &Tensor, dy: &mut Tensor, _ctx: &Ctx, need_dx: bool) {
        let (n, d) = (x.len() / self.d, self.d);
        let (dyd, xhat) = (&dy.data, &self.xhat.data);
        // dγ, dβ: each column summed over rows in row order, blocks of columns in parallel.
        self.ggamma
            .par_chunks_mut(COL_BLOCK)
            .zip(self.gbeta.par_chunks_mut(COL_BLOCK))
            .enumerate()
            .for_each(|(blk, (gg, gb))| {
                wide(
                    #[inline(always)]
                    || {
                        gg.fill(0.0);
                        gb.fill(0.0);
                        let c0 = blk * COL_BLOCK;
                        for r in 0..n {
                            for (k, (gg, gb)) in gg.iter_mut().zip(gb.iter_mut()).enumerate() {
                                let i = r * d + c0 + k;
                                *gg += dyd[i] * xhat[i];
                                *gb += dyd[i];
                            }
                        }
                    },
                )
            });
        if !need_dx {
            return;
        }
        self.dx.resize(&x.shape);
        let gamma = &self.gamma;
        self.dx
            .data
            .par_chunks_mut(d)
            .zip(dyd.par_chunks(d))
            .zip(xhat.par_chunks(d))
            .zip(self.inv_std.par_iter())
            .for_each(|(((dx, dy), xhat), &inv)| {
                wide(
                    #[inline(always)]
                    || {
                        let (mut mg, mut mgx) = (0.0f64, 0.0f64);
                        for c in 0..d {
                            let g = f64::from(gamma[c] * dy[c]);
                            mg += g;
                            mgx += g * f64::from(xhat[c]);
                        }
                        let (mg, mgx) = ((mg / d as f64) as f32, (mgx / d as f64) as f32);
                        for c in 0..d {
                            let g = gamma[c] * dy[c];
                            dx[c] = inv * (g - mg - xhat[c] * mgx);
                        }
                    },
                )
            });
    }

    fn input_grad(&mut self) -> &mut Tensor {
        &mut self.dx
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_>)) {
        let d = self.d;
        f(Param {
            name: "weight",
            value: &mut self.gamma,
            grad: &mut self.ggamma,
            kind: ParamKind::Other,
            row: d,
            shape: Dims::new(&[d]),
        });
        f(Param {
            name: "bias",
            value: &mut self.beta,
            grad: &mut self.gbeta,
            kind: ParamKind::Other,
            row: d,
            shape: Dims::new(&[d]),
        });
    }
}

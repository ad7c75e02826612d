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
/// Rows normalised side by side: each row's sums keep their own order (so
/// the bits do not change), but GROUP independent chains of additions
/// overlap in the CPU instead of waiting on one another.
const GROUP: usize = 8;

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
        // Rows are independent: in parallel, each computed as a sequential
        // loop would, GROUP rows side by side so their sums overlap.
        x.data
            .par_chunks(GROUP * d)
            .zip(self.xhat.data.par_chunks_mut(GROUP * d))
            .zip(self.y.data.par_chunks_mut(GROUP * d))
            .zip(self.inv_std.par_chunks_mut(GROUP))
            .for_each(|(((rows, xhat), y), inv_std)| {
                wide(
                    #[inline(always)]
                    || {
                        let k = inv_std.len();
                        // Sums start at −0.0, as `Iterator::sum` does.
                        let mut mean = [-0.0f64; GROUP];
                        for c in 0..d {
                            for r in 0..k {
                                mean[r] += f64::from(rows[r * d + c]);
                            }
                        }
                        mean.iter_mut().for_each(|m| *m /= d as f64);
                        let mut var = [-0.0f64; GROUP];
                        for c in 0..d {
                            for r in 0..k {
                                var[r] += (f64::from(rows[r * d + c]) - mean[r]).powi(2);
                            }
                        }
                        for r in 0..k {
                            let inv = 1.0 / ((var[r] / d as f64) as f32 + EPS).sqrt();
                            inv_std[r] = inv;
                            let m = mean[r] as f32;
                            for c in 0..d {
                                let h = (rows[r * d + c] - m) * inv;
                                xhat[r * d + c] = h;
                                y[r * d + c] = g[c] * h + b[c];
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
            .par_chunks_mut(GROUP * d)
            .zip(dyd.par_chunks(GROUP * d))
            .zip(xhat.par_chunks(GROUP * d))
            .zip(self.inv_std.par_chunks(GROUP))
            .for_each(|(((dx, dy), xhat), inv)| {
                wide(
                    #[inline(always)]
                    || {
                        let k = inv.len();
                        let (mut mg, mut mgx) = ([0.0f64; GROUP], [0.0f64; GROUP]);
                        for c in 0..d {
                            for r in 0..k {
                                let g = f64::from(gamma[c] * dy[r * d + c]);
                                mg[r] += g;
                                mgx[r] += g * f64::from(xhat[r * d + c]);
                            }
                        }
                        for r in 0..k {
                            let (mg, mgx) = ((mg[r] / d as f64) as f32, (mgx[r] / d as f64) as f32);
                            for c in 0..d {
                                let i = r * d + c;
                                let g = gamma[c] * dy[i];
                                dx[i] = inv[r] * (g - mg - xhat[i] * mgx);
                            }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// One row at a time, each sum a plain loop: the obvious reference.
    fn reference(x: &[f32], dy: &[f32], d: usize, gamma: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let (mut xhat, mut dx) = (vec![0.0f32; x.len()], vec![0.0f32; x.len()]);
        for ((row, dyr), (h, dxr)) in x
            .chunks(d)
            .zip(dy.chunks(d))
            .zip(xhat.chunks_mut(d).zip(dx.chunks_mut(d)))
        {
            // The code before rows were grouped: `Iterator::sum` per row.
            let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / d as f64;
            let var = row
                .iter()
                .map(|&v| (f64::from(v) - mean).powi(2))
                .sum::<f64>();
            let inv = 1.0 / ((var / d as f64) as f32 + EPS).sqrt();
            (0..d).for_each(|c| h[c] = (row[c] - mean as f32) * inv);
            let (mut mg, mut mgx) = (0.0f64, 0.0f64);
            for c in 0..d {
                let g = f64::from(gamma[c] * dyr[c]);
                mg += g;
                mgx += g * f64::from(h[c]);
            }
            let (mg, mgx) = ((mg / d as f64) as f32, (mgx / d as f64) as f32);
            (0..d).for_each(|c| dxr[c] = inv * (gamma[c] * dyr[c] - mg - h[c] * mgx));
        }
        (xhat, dx)
    }

    /// Rows side by side (a last group shorter than GROUP included) give the
    /// reference's bits.
    #[test]
    fn grouped_rows_match_the_row_by_row_reference_bit_for_bit() {
        let mut r = crate::rng::Rng::new(9);
        for (n, d) in [(13, 5), (37, 64), (8, 130), (3, 4)] {
            let mut x: Vec<f32> = (0..n * d).map(|_| 3.0 + r.normal() as f32).collect();
            if n == 3 {
                x[..d].fill(-0.0); // a row of −0.0: the sign of its zero sums counts
            }
            let dyv: Vec<f32> = (0..n * d).map(|_| r.normal() as f32).collect();
            let mut ln = LayerNorm::new(d);
            ln.gamma
                .iter_mut()
                .for_each(|g| *g = 0.5 + r.normal() as f32);
            let xt = Tensor::from_vec(x.clone(), &[n, d]);
            let mut dy = Tensor::from_vec(dyv.clone(), &[n, d]);
            ln.forward(&xt, &Ctx::eval());
            ln.backward(&xt, &mut dy, &Ctx::eval(), true);
            let (xhat, dx) = reference(&x, &dyv, d, &ln.gamma);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert!(bits(&ln.xhat.data) == bits(&xhat), "x̂ differs at {n}×{d}");
            assert!(bits(&ln.dx.data) == bits(&dx), "dx differs at {n}×{d}");
        }
    }
}

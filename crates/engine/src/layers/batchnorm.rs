//! Batch normalisation (Ioffe & Szegedy 2015), 1-d over features `(N, C)` and
//! 2-d over channels `(N, C, H, W)`: statistics per channel over the `m = N·H·W`
//! values of the batch.
//!
//! ```text
//! train: μ = mean(x), σ² = mean((x − μ)²)          (biased, used to normalise)
//!        x̂ = (x − μ) / sqrt(σ² + ε),  y = γ x̂ + β
//!        running_mean ← (1 − m) running_mean + m μ
//!        running_var  ← (1 − m) running_var  + m σ² · m/(m − 1)   (unbiased, as PyTorch)
//! eval:  x̂ = (x − running_mean) / sqrt(running_var + ε)
//! backward (train):
//!        dβ = Σ dy,  dγ = Σ dy x̂
//!        dx = γ / sqrt(σ² + ε) · (dy − mean(dy) − x̂ · mean(dy x̂))
//! ```
//! momentum m = 0.1, ε = 1e-5. The last batch's σ² is kept
//! ([`BatchNorm::batch_var`]) to measure the train/eval variance shift.

use dropout::Mode;
use rayon::prelude::*;

use crate::error::EngineError;
use crate::layer::{Buffer, Ctx, Dims, Layer, Param, ParamKind};
use crate::tensor::Tensor;
use crate::wide::wide;

use super::channel;

/// Momentum of the running statistics.
pub const MOMENTUM: f32 = 0.1;
/// Variance epsilon.
pub const EPS: f32 = 1e-5;

/// BatchNorm over channels.
pub struct BatchNorm {
    c: usize,
    /// Scale γ.
    pub gamma: Vec<f32>,
    /// Shift β.
    pub beta: Vec<f32>,
    ggamma: Vec<f32>,
    gbeta: Vec<f32>,
    /// Running mean.
    pub running_mean: Vec<f32>,
    /// Running (unbiased) variance.
    pub running_var: Vec<f32>,
    /// Biased variance of the last training batch.
    pub batch_var: Vec<f32>,
    inv_std: Vec<f32>,
    mean: Vec<f32>,
    acc1: Vec<f64>,
    acc2: Vec<f64>,
    /// Backward's per-channel γ/σ, mean(dy), mean(dy x̂) (dense inputs).
    k: Vec<f32>,
    mdy: Vec<f32>,
    mdyx: Vec<f32>,
    parts: Vec<f64>,
    xhat: Tensor,
    y: Tensor,
    dx: Tensor,
}

impl BatchNorm {
    /// BatchNorm over `c` channels (γ = 1, β = 0, running stats 0 and 1).
    pub fn new(c: usize) -> Self {
        Self {
            c,
            gamma: vec![1.0; c],
            beta: vec![0.0; c],
            ggamma: vec![0.0; c],
            gbeta: vec![0.0; c],
            running_mean: vec![0.0; c],
            running_var: vec![1.0; c],
            batch_var: vec![0.0; c],
            inv_std: vec![0.0; c],
            mean: vec![0.0; c],
            acc1: vec![0.0; c],
            acc2: vec![0.0; c],
            k: vec![0.0; c],
            mdy: vec![0.0; c],
            mdyx: vec![0.0; c],
            parts: Vec::new(),
            xhat: Tensor::default(),
            y: Tensor::default(),
            dx: Tensor::default(),
        }
    }
}

impl Layer for BatchNorm {
    fn describe(&self) -> String {
        format!("BatchNorm({})", self.c)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, EngineError> {
        if input.first() != Some(&self.c) || !(input.len() == 1 || input.len() == 3) {
            return Err(EngineError::Shape {
                layer: self.describe(),
                got: input.to_vec(),
                expected: format!(
                    "{} features, or images with {} channels (C × H × W)",
                    self.c, self.c
                ),
            });
        }
        Ok(input.to_vec())
    }

    fn forward(&mut self, x: &Tensor, ctx: &Ctx) {
        let c = self.c;
        self.y.resize(&x.shape);
        self.xhat.resize(&x.shape);
        let m = x.len() / c;
        if ctx.mode == Mode::Train {
            // Per-channel sums in f64, in a fixed order (two passes).
            let (sum, sq, parts) = (&mut self.acc1, &mut self.acc2, &mut self.parts);
            let dense = x.shape.len() == 2;
            let (n, xd) = (x.rows(), &x.data);
            if dense {
                channel::dense_reduce(
                    n,
                    c,
                    sum,
                    #[inline(always)]
                    |acc, c0, i| {
                        let row = &xd[i * c + c0..i * c + c0 + acc.len()];
                        for (a, &v) in acc.iter_mut().zip(row) {
                            *a += f64::from(v);
                        }
                    },
                );
            } else {
                channel::sum_runs(&x.shape, c, sum, parts, |_, o, l| {
                    xd[o..o + l].iter().map(|&v| f64::from(v)).sum::<f64>()
                });
            }
            for s in sum.iter_mut() {
                *s /= m as f64;
            }
            let mu = &*sum;
            if dense {
                channel::dense_reduce(
                    n,
                    c,
                    sq,
                    #[inline(always)]
                    |acc, c0, i| {
                        let row = &xd[i * c + c0..i * c + c0 + acc.len()];
                        for ((a, &v), &mu) in acc.iter_mut().zip(row).zip(&mu[c0..]) {
                            *a += (f64::from(v) - mu).powi(2);
                        }
                    },
                );
            } else {
                channel::sum_runs(&x.shape, c, sq, parts, |ch, o, l| {
                    xd[o..o + l]
                        .iter()
                        .map(|&v| (f64::from(v) - mu[ch]).powi(2))
                        .sum::<f64>()
                });
            }
            for ch in 0..c {
                let var = sq[ch] / m as f64;
                let unbiased = if m > 1 {
                    var * m as f64 / (m - 1) as f64
                } else {
                    var
                };
                self.mean[ch] = sum[ch] as f32;
                self.batch_var[ch] = var as f32;
                self.inv_std[ch] = 1.0 / (var as f32 + EPS).sqrt();
                self.running_mean[ch] =
                    (1.0 - MOMENTUM) * self.running_mean[ch] + MOMENTUM * sum[ch] as f32;
                self.running_var[ch] =
                    (1.0 - MOMENTUM) * self.running_var[ch] + MOMENTUM * unbiased as f32;
            }
        } else {
            for ch in 0..c {
                self.mean[ch] = self.running_mean[ch];
                self.inv_std[ch] = 1.0 / (self.running_var[ch] + EPS).sqrt();
            }
        }
        let (g, b, inv, mean) = (&self.gamma, &self.beta, &self.inv_std, &self.mean);
        // x̂ and y in one pass, in parallel over samples.
        let sz = x.len() / x.rows().max(1);
        let s_len = (sz / c).max(1);
        self.xhat
            .data
            .par_chunks_mut(sz.max(1))
            .zip(self.y.data.par_chunks_mut(sz.max(1)))
            .zip(x.data.par_chunks(sz.max(1)))
            .for_each(|((xh, y), xs)| {
                wide(
                    #[inline(always)]
                    || {
                        if s_len == 1 {
                            // (N, C): one value per channel; vectorise across channels.
                            let per_ch = mean.iter().zip(inv.iter()).zip(g.iter().zip(b.iter()));
                            for (((h, y), &v), ((&mu, &k), (&gc, &bc))) in
                                xh.iter_mut().zip(y.iter_mut()).zip(xs).zip(per_ch)
                            {
                                *h = (v - mu) * k;
                                *y = gc * *h + bc;
                            }
                            return;
                        }
                        for (ch, ((xh, y), xs)) in xh
                            .chunks_mut(s_len)
                            .zip(y.chunks_mut(s_len))
                            .zip(xs.chunks(s_len))
                            .enumerate()
                        {
                            let (mu, k, gc, bc) = (mean[ch], inv[ch], g[ch], b[ch]);
                            for ((h, y), &v) in xh.iter_mut().zip(y.iter_mut()).zip(xs) {
                                *h = (v - mu) * k;
                                *y = gc * *h + bc;
                            }
                        }
                    },
                )
            });
    }

    fn output(&self) -> &Tensor {
        &self.y
    }

    fn backward(&mut self, x: &Tensor, dy: &mut Tensor, ctx: &Ctx, need_dx: bool) {
        let c = self.c;
        let m = (x.len() / c) as f64;
        let (sdy, sdyx) = (&mut self.acc1, &mut self.acc2);
        let (xhat, d) = (&self.xhat.data, &dy.data);
        if x.shape.len() == 2 {
            let n = x.rows();
            channel::dense_reduce(
                n,
                c,
                sdy,
                #[inline(always)]
                |acc, c0, i| {
                    let row = &d[i * c + c0..i * c + c0 + acc.len()];
                    for (a, &v) in acc.iter_mut().zip(row) {
                        *a += f64::from(v);
                    }
                },
            );
            channel::dense_reduce(
                n,
                c,
                sdyx,
                #[inline(always)]
                |acc, c0, i| {
                    let (o, l) = (i * c + c0, acc.len());
                    for ((a, &v), &h) in acc.iter_mut().zip(&d[o..o + l]).zip(&xhat[o..o + l]) {
                        *a += f64::from(v) * f64::from(h);
                    }
                },
            );
        } else {
            channel::reduce(&x.shape, c, sdy, |_, o, l, a| {
                for &v in &d[o..o + l] {
                    *a += f64::from(v);
                }
            });
            channel::reduce(&x.shape, c, sdyx, |_, o, l, a| {
                for (&v, &h) in d[o..o + l].iter().zip(&xhat[o..o + l]) {
                    *a += f64::from(v) * f64::from(h);
                }
            });
        }
        for ch in 0..c {
            self.gbeta[ch] = sdy[ch] as f32;
            self.ggamma[ch] = sdyx[ch] as f32;
        }
        if !need_dx {
            return;
        }
        self.dx.resize(&x.shape);
        let (g, inv) = (&self.gamma, &self.inv_std);
        let (sdy, sdyx) = (&*sdy, &*sdyx);
        let train = ctx.mode == Mode::Train;
        if x.shape.len() == 2 {
            // (N, C): per-channel constants first, then rows vectorised across channels.
            for ch in 0..c {
                self.k[ch] = g[ch] * inv[ch];
                self.mdy[ch] = (sdy[ch] / m) as f32;
                self.mdyx[ch] = (sdyx[ch] / m) as f32;
            }
            let (k, mdy, mdyx) = (&self.k, &self.mdy, &self.mdyx);
            self.dx
                .data
                .par_chunks_mut(c)
                .zip(d.par_chunks(c))
                .zip(xhat.par_chunks(c))
                .for_each(|((dx, d), h)| {
                    wide(
                        #[inline(always)]
                        || {
                            let per_ch = k.iter().zip(mdy.iter()).zip(mdyx.iter());
                            let it = dx.iter_mut().zip(d).zip(h).zip(per_ch);
                            if train {
                                for (((dx, &d), &h), ((&k, &mdy), &mdyx)) in it {
                                    *dx = k * (d - mdy - h * mdyx);
                                }
                            } else {
                                for (((dx, &d), _), ((&k, _), _)) in it {
                                    *dx = k * d;
                                }
                            }
                        },
                    )
                });
            return;
        }
        channel::map(&x.shape, c, &mut self.dx.data, |ch, o, run| {
            let k = g[ch] * inv[ch];
            let (mdy, mdyx) = ((sdy[ch] / m) as f32, (sdyx[ch] / m) as f32);
            let l = run.len();
            let (d, h) = (&d[o..o + l], &xhat[o..o + l]);
            if train {
                for ((dx, &d), &h) in run.iter_mut().zip(d).zip(h) {
                    *dx = k * (d - mdy - h * mdyx);
                }
            } else {
                for (dx, &d) in run.iter_mut().zip(d) {
                    *dx = k * d;
                }
            }
        });
    }

    fn input_grad(&mut self) -> &mut Tensor {
        &mut self.dx
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_>)) {
        let c = self.c;
        f(Param {
            name: "weight",
            value: &mut self.gamma,
            grad: &mut self.ggamma,
            kind: ParamKind::Other,
            row: c,
            shape: Dims::new(&[c]),
        });
        f(Param {
            name: "bias",
            value: &mut self.beta,
            grad: &mut self.gbeta,
            kind: ParamKind::Other,
            row: c,
            shape: Dims::new(&[c]),
        });
    }

    fn visit_buffers(&mut self, f: &mut dyn FnMut(Buffer<'_>)) {
        f(Buffer {
            name: "running_mean",
            value: &mut self.running_mean,
        });
        f(Buffer {
            name: "running_var",
            value: &mut self.running_var,
        });
    }
}

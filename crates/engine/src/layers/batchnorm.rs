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

use crate::error::EngineError;
use crate::layer::{Buffer, Ctx, Dims, Layer, Param, ParamKind};
use crate::tensor::Tensor;

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
            xhat: Tensor::default(),
            y: Tensor::default(),
            dx: Tensor::default(),
        }
    }

    /// Iterate the `(sample, channel)` runs: `f(channel, offset, len)`.
    fn runs(shape: &[usize], c: usize, mut f: impl FnMut(usize, usize, usize)) {
        let n = shape[0];
        let s: usize = shape[2..].iter().product();
        for i in 0..n {
            for ch in 0..c {
                f(ch, (i * c + ch) * s, s);
            }
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
            let (sum, sq) = (&mut self.acc1, &mut self.acc2);
            sum.fill(0.0);
            sq.fill(0.0);
            Self::runs(&x.shape, c, |ch, o, l| {
                sum[ch] += x.data[o..o + l].iter().map(|&v| f64::from(v)).sum::<f64>();
            });
            for s in sum.iter_mut() {
                *s /= m as f64;
            }
            Self::runs(&x.shape, c, |ch, o, l| {
                let mu = sum[ch];
                sq[ch] += x.data[o..o + l]
                    .iter()
                    .map(|&v| (f64::from(v) - mu).powi(2))
                    .sum::<f64>();
            });
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
        let (xhat, y) = (&mut self.xhat.data, &mut self.y.data);
        let (g, b, inv, mean) = (&self.gamma, &self.beta, &self.inv_std, &self.mean);
        Self::runs(&x.shape, c, |ch, o, l| {
            for i in o..o + l {
                xhat[i] = (x.data[i] - mean[ch]) * inv[ch];
                y[i] = g[ch] * xhat[i] + b[ch];
            }
        });
    }

    fn output(&self) -> &Tensor {
        &self.y
    }

    fn backward(&mut self, x: &Tensor, dy: &mut Tensor, ctx: &Ctx, need_dx: bool) {
        let c = self.c;
        let m = (x.len() / c) as f64;
        let (sdy, sdyx) = (&mut self.acc1, &mut self.acc2);
        sdy.fill(0.0);
        sdyx.fill(0.0);
        let xhat = &self.xhat.data;
        Self::runs(&x.shape, c, |ch, o, l| {
            for i in o..o + l {
                sdy[ch] += f64::from(dy.data[i]);
                sdyx[ch] += f64::from(dy.data[i]) * f64::from(xhat[i]);
            }
        });
        for ch in 0..c {
            self.gbeta[ch] = sdy[ch] as f32;
            self.ggamma[ch] = sdyx[ch] as f32;
        }
        if !need_dx {
            return;
        }
        self.dx.resize(&x.shape);
        let dx = &mut self.dx.data;
        let (g, inv) = (&self.gamma, &self.inv_std);
        let train = ctx.mode == Mode::Train;
        Self::runs(&x.shape, c, |ch, o, l| {
            let k = g[ch] * inv[ch];
            let (mdy, mdyx) = ((sdy[ch] / m) as f32, (sdyx[ch] / m) as f32);
            for i in o..o + l {
                dx[i] = if train {
                    k * (dy.data[i] - mdy - xhat[i] * mdyx)
                } else {
                    k * dy.data[i]
                };
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

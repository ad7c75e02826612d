//! Layer normalisation (Ba, Kiros & Hinton 2016) over each sample's features.
//!
//! ```text
//! μ = mean(x_i), σ² = mean((x_i − μ)²), x̂ = (x_i − μ)/sqrt(σ² + ε), y = γ x̂ + β
//! dγ = Σ_rows dy x̂,  dβ = Σ_rows dy
//! dx = (1/sqrt(σ² + ε)) · (g − mean(g) − x̂ · mean(g x̂)),   g = γ dy
//! ```
//! ε = 1e-5; the same in train and eval.

use crate::error::EngineError;
use crate::layer::{Ctx, Dims, Layer, Param, ParamKind};
use crate::tensor::Tensor;

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
        if input.iter().product::<usize>() != self.d {
            return Err(EngineError::Shape {
                layer: self.describe(),
                got: input.to_vec(),
                expected: format!("{} features per sample", self.d),
            });
        }
        Ok(input.to_vec())
    }

    fn forward(&mut self, x: &Tensor, _ctx: &Ctx) {
        let (n, d) = (x.rows(), self.d);
        self.y.resize(&x.shape);
        self.xhat.resize(&x.shape);
        self.inv_std.resize(n, 0.0);
        for r in 0..n {
            let row = &x.data[r * d..(r + 1) * d];
            let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / d as f64;
            let var = row
                .iter()
                .map(|&v| (f64::from(v) - mean).powi(2))
                .sum::<f64>()
                / d as f64;
            let inv = 1.0 / (var as f32 + EPS).sqrt();
            self.inv_std[r] = inv;
            for c in 0..d {
                let h = (row[c] - mean as f32) * inv;
                self.xhat.data[r * d + c] = h;
                self.y.data[r * d + c] = self.gamma[c] * h + self.beta[c];
            }
        }
    }

    fn output(&self) -> &Tensor {
        &self.y
    }

    fn backward(&mut self, x: &Tensor, dy: &mut Tensor, _ctx: &Ctx, need_dx: bool) {
        let (n, d) = (x.rows(), self.d);
        self.ggamma.fill(0.0);
        self.gbeta.fill(0.0);
        for r in 0..n {
            for c in 0..d {
                let i = r * d + c;
                self.ggamma[c] += dy.data[i] * self.xhat.data[i];
                self.gbeta[c] += dy.data[i];
            }
        }
        if !need_dx {
            return;
        }
        self.dx.resize(&x.shape);
        for r in 0..n {
            let (mut mg, mut mgx) = (0.0f64, 0.0f64);
            for c in 0..d {
                let g = f64::from(self.gamma[c] * dy.data[r * d + c]);
                mg += g;
                mgx += g * f64::from(self.xhat.data[r * d + c]);
            }
            let (mg, mgx) = ((mg / d as f64) as f32, (mgx / d as f64) as f32);
            for c in 0..d {
                let i = r * d + c;
                let g = self.gamma[c] * dy.data[i];
                self.dx.data[i] = self.inv_std[r] * (g - mg - self.xhat.data[i] * mgx);
            }
        }
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

//! A dense layer whose input goes through Concrete dropout with a learned
//! rate (Gal, Hron & Kendall 2017; their layer wrapper, applied per layer):
//!
//! ```text
//! p = σ(θ)                           θ is a parameter ("concrete_logit"), trained with the weights
//! x̃ = concrete(x; p, τ)              see dropout::concrete
//! y = dense(x̃)
//! R = λ_w ‖W‖²/(1 − p) + λ_d K (p ln p + (1 − p) ln(1 − p)),   λ_w = l²/N, λ_d = 2/N, K = inputs
//! ∂/∂W += 2 λ_w W/(1 − p);   ∂/∂θ = (∂L/∂p + ∂R/∂p) · p (1 − p)
//! ```
//! R's value is not added to the reported loss (its gradients are). The
//! bias is not regularised, as in the authors' code. Weight decay on top of R
//! double-counts: use `--weight-decay 0` with it. The layer's mask site has
//! its own stream; MC masks shared by row blocks are not offered (each row
//! draws its own).

use dropout::concrete::regulariser;
use dropout::ConcreteDropout;

use crate::error::EngineError;
use crate::layer::{Ctx, Dims, Layer, Param, ParamKind};
use crate::layers::Dense;
use crate::tensor::Tensor;

/// Settings of Concrete dropout in a model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConcreteSpec {
    /// Initial rate (the paper: 0.1).
    pub init_p: f32,
    /// Temperature τ (the paper: 0.1).
    pub tau: f32,
    /// Prior length scale l (the authors' MNIST code: 1e-4).
    pub length_scale: f64,
    /// Training samples N.
    pub n_train: usize,
}

/// Concrete dropout, then a dense layer.
pub struct ConcreteDense {
    dense: Dense,
    drop: ConcreteDropout,
    theta: Vec<f32>,
    gtheta: Vec<f32>,
    lambda: (f64, f64),
    stream: u32,
    xc: Tensor,
    dx: Tensor,
}

fn sigmoid(t: f32) -> f32 {
    1.0 / (1.0 + (-t).exp())
}

impl ConcreteDense {
    /// Wrap `dense` with Concrete dropout on its input at site `stream`.
    ///
    /// # Errors
    /// [`EngineError::Dropout`] for τ ≤ 0 or an initial rate outside (0, 1).
    pub fn new(dense: Dense, spec: ConcreteSpec, stream: u32) -> Result<Self, EngineError> {
        let drop = ConcreteDropout::new(spec.tau)?;
        let p = spec.init_p;
        if !(p > 0.0 && p < 1.0) {
            return Err(dropout::DropoutError::OpenProbability { p }.into());
        }
        let n = spec.n_train.max(1) as f64;
        Ok(Self {
            dense,
            drop,
            theta: vec![(p / (1.0 - p)).ln()],
            gtheta: vec![0.0],
            lambda: (spec.length_scale * spec.length_scale / n, 2.0 / n),
            stream,
            xc: Tensor::default(),
            dx: Tensor::default(),
        })
    }

    /// The current rate p = σ(θ).
    pub fn p(&self) -> f32 {
        sigmoid(self.theta[0])
    }
}

impl Layer for ConcreteDense {
    fn describe(&self) -> String {
        format!(
            "ConcreteDropout(p {:.4}, τ {}) → {}",
            self.p(),
            self.drop.temperature(),
            self.dense.describe()
        )
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, EngineError> {
        self.dense.output_shape(input)
    }

    fn forward(&mut self, x: &Tensor, ctx: &Ctx) {
        self.xc.resize(&x.shape);
        let p = self.p().clamp(1e-6, 1.0 - 1e-6);
        self.drop
            .forward_at(
                ctx.key(self.stream),
                ctx.dropout_mode(),
                0,
                p,
                &x.data,
                &mut self.xc.data,
            )
            .expect("equal lengths, p in (0, 1)");
        self.dense.forward(&self.xc, ctx);
    }

    fn output(&self) -> &Tensor {
        self.dense.output()
    }

    // The input gradient is computed whatever `need_dx` says: ∂L/∂p needs the same pass.
    fn backward(&mut self, x: &Tensor, dy: &mut Tensor, ctx: &Ctx, _need_dx: bool) {
        self.dense.backward(&self.xc, dy, ctx, true);
        let p = self.p().clamp(1e-6, 1.0 - 1e-6);
        let (mut w2, mut k) = (0.0f64, 0usize);
        self.dense.visit_params(&mut |q| {
            if q.kind == ParamKind::Weight {
                w2 = q.value.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
                k = q.row;
            }
        });
        let (lw, ld) = self.lambda;
        let (_, dr_dp, factor) = regulariser(p, w2, k, lw, ld);
        self.dense.visit_params(&mut |q| {
            if q.kind == ParamKind::Weight {
                for (g, &v) in q.grad.iter_mut().zip(q.value.iter()) {
                    *g += (factor * f64::from(v)) as f32;
                }
            }
        });
        self.dx.resize(&x.shape);
        let dxc = self.dense.input_grad();
        let dl_dp = self
            .drop
            .backward_at(
                ctx.key(self.stream),
                ctx.dropout_mode(),
                0,
                p,
                &x.data,
                &dxc.data,
                &mut self.dx.data,
            )
            .expect("equal lengths, p in (0, 1)");
        self.gtheta[0] = ((dl_dp + dr_dp) * f64::from(p) * (1.0 - f64::from(p))) as f32;
    }

    fn input_grad(&mut self) -> &mut Tensor {
        &mut self.dx
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_>)) {
        self.dense.visit_params(f);
        f(Param {
            name: "concrete_logit",
            value: &mut self.theta,
            grad: &mut self.gtheta,
            kind: ParamKind::Other,
            row: 1,
            shape: Dims::new(&[1]),
        });
    }

    fn learned_rate(&self) -> Option<f32> {
        Some(self.p())
    }
}

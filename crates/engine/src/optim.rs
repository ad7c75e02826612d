//! Optimizers, weight decay and the max-norm constraint.
//!
//! For a parameter θ with gradient g, learning rate η, weight decay λ
//! (weights only, not biases or normalisation parameters):
//! ```text
//! SGD:       g' = g + λθ;  v ← μ v + g';  θ ← θ − η v           (Nesterov: θ ← θ − η (g' + μ v))
//!            dampened (Hinton et al. 2012):  v ← μ v + (1 − μ) g';  θ ← θ − η v
//! Adam:      g' = g + λθ;  m ← β1 m + (1−β1) g';  v ← β2 v + (1−β2) g'²
//!            θ ← θ − η m̂ / (√v̂ + ε),  m̂ = m/(1−β1^t), v̂ = v/(1−β2^t)
//!            computed as θ ← θ − (η/c1) · m / (√v · (1/√c2) + ε),  c1 = 1−β1^t, c2 = 1−β2^t
//!            (the same value with one division per element instead of three)
//! AdamW:     Adam on g (no λ in it), then θ ← θ − η λ θ          (Loshchilov & Hutter 2019)
//! max-norm:  after the step, each output unit's incoming weight vector w
//!            is rescaled to ‖w‖₂ ≤ c                               (Srivastava et al. 2014)
//! ```
//! State vectors are allocated on the first step only.

use rayon::prelude::*;

use crate::error::EngineError;
use crate::layer::ParamKind;
use crate::model::Sequential;
use crate::wide::wide;

pub use crate::schedule::Schedule;

/// Elements per parallel task of the update.
const CHUNK: usize = 1 << 15;

/// The update rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimKind {
    /// Stochastic gradient descent with momentum μ (0 = plain).
    Sgd {
        /// Momentum μ.
        momentum: f32,
        /// Nesterov momentum.
        nesterov: bool,
        /// Scale the gradient by (1 − μ) in the momentum update (Hinton et
        /// al. 2012's form); not with Nesterov.
        dampened: bool,
    },
    /// Adam with L2 decay folded into the gradient.
    Adam {
        /// β1.
        beta1: f32,
        /// β2.
        beta2: f32,
        /// ε.
        eps: f32,
    },
    /// Adam with decoupled weight decay.
    AdamW {
        /// β1.
        beta1: f32,
        /// β2.
        beta2: f32,
        /// ε.
        eps: f32,
    },
}

/// An optimizer with its per-parameter state.
pub struct Optimizer {
    /// The update rule.
    pub kind: OptimKind,
    /// Weight decay λ (applied to weights only).
    pub weight_decay: f32,
    /// Max-norm bound c on incoming weight vectors, if any.
    pub max_norm: Option<f32>,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    t: u32,
}

impl Optimizer {
    /// A fresh optimizer.
    pub fn new(kind: OptimKind, weight_decay: f32, max_norm: Option<f32>) -> Self {
        Self {
            kind,
            weight_decay,
            max_norm,
            m: Vec::new(),
            v: Vec::new(),
            t: 0,
        }
    }

    /// The state a resumed run needs: the step count and, per parameter in
    /// [`Sequential::visit_params`] order, the first moment (SGD: the
    /// momentum buffer) and the second moment (empty for SGD). Empty vectors
    /// before the first step.
    pub fn state(&self) -> (u32, &[Vec<f32>], &[Vec<f32>]) {
        (self.t, &self.m, &self.v)
    }

    /// Restore [`state`](Self::state) saved from an optimizer of the same
    /// kind on the same model; the next [`step`](Self::step) continues exactly
    /// where that one stopped.
    ///
    /// # Errors
    /// [`EngineError::Param`] if the vectors do not match `model`'s
    /// parameters (count or sizes) or this optimizer's kind.
    pub fn set_state(
        &mut self,
        model: &mut Sequential,
        t: u32,
        m: Vec<Vec<f32>>,
        v: Vec<Vec<f32>>,
    ) -> Result<(), EngineError> {
        let mut sizes = Vec::new();
        model.visit_params(&mut |_, p| sizes.push(p.value.len()));
        let sgd = matches!(self.kind, OptimKind::Sgd { .. });
        let fresh = t == 0 && m.is_empty() && v.is_empty();
        let fits = m.len() == sizes.len()
            && v.len() == sizes.len()
            && m.iter().zip(&sizes).all(|(m, &n)| m.len() == n)
            && v.iter()
                .zip(&sizes)
                .all(|(v, &n)| v.len() == if sgd { 0 } else { n });
        if !fresh && !fits {
            return Err(EngineError::Param {
                name: "optimizer state".into(),
                msg: format!(
                    "does not fit the model ({} parameters) and optimizer ({:?}): {} first-moment and {} second-moment vectors",
                    sizes.len(),
                    self.kind,
                    m.len(),
                    v.len()
                ),
            });
        }
        (self.t, self.m, self.v) = (t, m, v);
        Ok(())
    }

    /// Change SGD's momentum μ (a momentum schedule calls it between steps;
    /// other optimizers ignore it).
    pub fn set_momentum(&mut self, mu: f32) {
        if let OptimKind::Sgd { momentum, .. } = &mut self.kind {
            *momentum = mu;
        }
    }

    /// One update of every parameter with learning rate `lr`.
    pub fn step(&mut self, model: &mut Sequential, lr: f32) {
        self.t += 1;
        let t = self.t;
        let (kind, wd, max_norm) = (self.kind, self.weight_decay, self.max_norm);
        let (ms, vs) = (&mut self.m, &mut self.v);
        let mut idx = 0;
        model.visit_params(&mut |_, p| {
            if ms.len() <= idx {
                ms.push(vec![0.0; p.value.len()]);
                vs.push(if matches!(kind, OptimKind::Sgd { .. }) {
                    Vec::new()
                } else {
                    vec![0.0; p.value.len()]
                });
            }
            let (m, v) = (&mut ms[idx], &mut vs[idx]);
            idx += 1;
            let lam = if p.kind == ParamKind::Weight { wd } else { 0.0 };
            // Element-wise updates in parallel chunks: no cross-element sums,
            // so the result does not depend on the thread count.
            let vals = p
                .value
                .par_chunks_mut(CHUNK)
                .zip(p.grad.par_chunks(CHUNK))
                .zip(m.par_chunks_mut(CHUNK));
            match kind {
                OptimKind::Sgd {
                    momentum,
                    nesterov,
                    dampened,
                } => {
                    // Dampened: v ← μv + (1 − μ)g' is μv + g'' with g'' = (1 − μ)g',
                    // which the same loop computes with the gradient scale folded in.
                    let scale = if dampened { 1.0 - momentum } else { 1.0 };
                    vals.for_each(|((w, g), m)| {
                        sgd(w, g, m, lr, lam, (momentum, scale), nesterov);
                    })
                }
                OptimKind::Adam { beta1, beta2, eps } | OptimKind::AdamW { beta1, beta2, eps } => {
                    let a = Adam {
                        lr,
                        lam,
                        beta1,
                        beta2,
                        eps,
                        c1: 1.0 - beta1.powi(t as i32),
                        c2: 1.0 - beta2.powi(t as i32),
                        decoupled: matches!(kind, OptimKind::AdamW { .. }),
                    };
                    vals.zip(v.par_chunks_mut(CHUNK))
                        .for_each(|(((w, g), m), v)| a.update(w, g, m, v));
                }
            }
            if let (Some(c), ParamKind::Weight) = (max_norm, p.kind) {
                for row in p.value.chunks_mut(p.row) {
                    let norm = row
                        .iter()
                        .map(|&w| f64::from(w) * f64::from(w))
                        .sum::<f64>()
                        .sqrt() as f32;
                    if norm > c {
                        let s = c / norm;
                        row.iter_mut().for_each(|w| *w *= s);
                    }
                }
            }
        });
    }
}

/// SGD on one chunk: zipped slices (no bounds checks) and the Nesterov
/// choice outside the loop, so the compiler vectorises it; the arithmetic is
/// the module formula, operation for operation.
fn sgd(
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    lr: f32,
    lam: f32,
    mu_scale: (f32, f32),
    nesterov: bool,
) {
    wide(
        #[inline(always)]
        || sgd_body(w, g, m, lr, lam, mu_scale, nesterov),
    )
}

#[inline(always)]
fn sgd_body(
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    lr: f32,
    lam: f32,
    (mu, scale): (f32, f32),
    nesterov: bool,
) {
    let it = w.iter_mut().zip(g).zip(m.iter_mut());
    if nesterov {
        it.for_each(|((w, &g), m)| {
            let g = g + lam * *w;
            *m = mu * *m + g;
            *w -= lr * (g + mu * *m);
        });
    } else if scale == 1.0 {
        it.for_each(|((w, &g), m)| {
            let g = g + lam * *w;
            *m = mu * *m + g;
            *w -= lr * *m;
        });
    } else {
        it.for_each(|((w, &g), m)| {
            let g = g + lam * *w;
            *m = mu * *m + scale * g;
            *w -= lr * *m;
        });
    }
}

/// The constants of one Adam/AdamW step.
#[derive(Clone, Copy)]
struct Adam {
    lr: f32,
    lam: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    /// 1 − β1^t.
    c1: f32,
    /// 1 − β2^t.
    c2: f32,
    decoupled: bool,
}

impl Adam {
    /// One chunk, in one pass over weights, gradients and both moments; the
    /// AdamW choice is outside the loop and the arithmetic is the module
    /// formula, operation for operation (so any chunking gives the same bits).
    fn update(&self, w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        wide(
            #[inline(always)]
            || adam_body(self, w, g, m, v),
        )
    }
}

#[inline(always)]
fn adam_body(a: &Adam, w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    {
        let Adam {
            lr,
            lam,
            beta1,
            beta2,
            eps,
            c1,
            c2,
            decoupled,
        } = *a;
        let (step, r2) = (lr / c1, 1.0 / c2.sqrt());
        let it = w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut());
        if decoupled {
            it.for_each(|(((w, &g), m), v)| {
                *m = beta1 * *m + (1.0 - beta1) * g;
                *v = beta2 * *v + (1.0 - beta2) * g * g;
                *w -= lr * lam * *w;
                *w -= step * (*m / (v.sqrt() * r2 + eps));
            });
        } else {
            it.for_each(|(((w, &g), m), v)| {
                let g = g + lam * *w;
                *m = beta1 * *m + (1.0 - beta1) * g;
                *v = beta2 * *v + (1.0 - beta2) * g * g;
                *w -= step * (*m / (v.sqrt() * r2 + eps));
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::ModelSpec;

    /// A model of the MLP `arch`, plain SGD with momentum μ (dampened or not), max-norm `c`.
    fn setup(arch: &str, mu: f32, dampened: bool, c: Option<f32>) -> (Sequential, Optimizer) {
        let arch = ModelSpec::new(arch).arch().unwrap();
        let inputs = arch.inputs.expect("an MLP");
        let model = arch.build(&[inputs], 0).unwrap();
        let kind = OptimKind::Sgd {
            momentum: mu,
            nesterov: false,
            dampened,
        };
        (model, Optimizer::new(kind, 0.0, c))
    }

    fn set_grad(model: &mut Sequential, g: f32) {
        model.visit_params(&mut |_, p| p.grad.iter_mut().for_each(|x| *x = g));
    }

    #[test]
    fn max_norm_binds_each_incoming_weight_vector() {
        let (mut model, mut opt) = setup("4-3-2", 0.0, false, Some(2.0));
        // A huge step: every weight row leaves the ball, and must be pulled back to norm 2.
        set_grad(&mut model, -10.0);
        opt.step(&mut model, 1.0);
        let mut rows = 0;
        model.visit_params(&mut |_, p| {
            if p.kind == ParamKind::Weight {
                for r in p.value.chunks(p.row) {
                    let n = r.iter().map(|w| w * w).sum::<f32>().sqrt();
                    assert!((n - 2.0).abs() < 1e-5, "row norm {n}");
                    rows += 1;
                }
            }
        });
        assert_eq!(rows, 3 + 2, "one incoming vector per output unit");
    }

    #[test]
    fn dampened_momentum_by_hand() {
        // One weight (1 input, 1 output) and a bias, gradients set by hand.
        let (mut model, mut opt) = setup("1-1", 0.9, true, None);
        let weight = |model: &mut Sequential| {
            let mut w = 0.0;
            model.visit_params(&mut |_, p| {
                if p.kind == ParamKind::Weight {
                    w = p.value[0];
                }
            });
            w
        };
        let w0 = weight(&mut model);
        // Step 1, g = 1: v = 0.9·0 + 0.1·1 = 0.1, w = w0 − 0.5·0.1.
        // Step 2, g = 2, μ now 0.5: v = 0.5·0.1 + 0.5·2 = 1.05, w −= 0.5·1.05.
        set_grad(&mut model, 1.0);
        opt.step(&mut model, 0.5);
        opt.set_momentum(0.5);
        set_grad(&mut model, 2.0);
        opt.step(&mut model, 0.5);
        let w = weight(&mut model);
        assert!((w - (w0 - 0.575)).abs() < 1e-6, "{w} vs {}", w0 - 0.575);
    }
}

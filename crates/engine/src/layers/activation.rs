//! Element-wise activations and their derivatives.
//!
//! ```text
//! relu:    y = max(x, 0)             y' = [x > 0]
//! tanh:    y = tanh x                y' = 1 − y²
//! sigmoid: y = 1 / (1 + e^−x)        y' = y (1 − y)
//! selu:    y = λ x          (x > 0)  y' = λ
//!          y = λ α (e^x − 1) (x ≤ 0) y' = y + λ α
//! gelu:    y = ½ x (1 + tanh u),  u = c (x + 0.044715 x³),  c = √(2/π)
//!          y' = ½ (1 + tanh u) + ½ x (1 − tanh² u) · c (1 + 3 · 0.044715 x²)
//! ```
//! with λ = 1.0507009873554805, α = 1.6732632423543772 (Klambauer et al. 2017);
//! GELU is Hendrycks & Gimpel's (2016) tanh form, GPT-2's and PyTorch's
//! `GELU(approximate="tanh")`, with `tanh u = 1 − 2/(1 + e^{2u})` through
//! [`dropout::fastmath::exp`] (vectorisable, the same bits on every CPU).

use rayon::prelude::*;

use crate::error::EngineError;
use crate::layer::{Ctx, Layer};
use crate::tensor::Tensor;
use crate::wide::wide;

/// SELU scale λ.
pub const SELU_LAMBDA: f32 = 1.050_701;
/// SELU α.
pub const SELU_ALPHA: f32 = 1.673_263_2;

/// Which activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// Rectified linear unit.
    Relu,
    /// Hyperbolic tangent.
    Tanh,
    /// Logistic sigmoid.
    Sigmoid,
    /// Scaled exponential linear unit.
    Selu,
    /// Gaussian error linear unit (tanh form).
    Gelu,
}

impl Activation {
    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Relu => "relu",
            Self::Tanh => "tanh",
            Self::Sigmoid => "sigmoid",
            Self::Selu => "selu",
            Self::Gelu => "gelu",
        }
    }

    #[inline(always)]
    fn f(self, x: f32) -> f32 {
        match self {
            Self::Relu => {
                if x > 0.0 {
                    x
                } else {
                    0.0
                }
            }
            Self::Tanh => x.tanh(),
            Self::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Self::Selu => {
                if x > 0.0 {
                    SELU_LAMBDA * x
                } else {
                    SELU_LAMBDA * SELU_ALPHA * x.exp_m1()
                }
            }
            Self::Gelu => 0.5 * x * (1.0 + gelu_tanh(x)),
        }
    }

    /// Derivative from input `x` and output `y`.
    #[inline(always)]
    fn df(self, x: f32, y: f32) -> f32 {
        match self {
            Self::Relu => f32::from(u8::from(x > 0.0)),
            Self::Tanh => 1.0 - y * y,
            Self::Sigmoid => y * (1.0 - y),
            Self::Selu => {
                if x > 0.0 {
                    SELU_LAMBDA
                } else {
                    y + SELU_LAMBDA * SELU_ALPHA
                }
            }
            Self::Gelu => {
                let t = gelu_tanh(x);
                0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * GELU_C * (1.0 + 3.0 * GELU_A * x * x)
            }
        }
    }
}

/// √(2/π).
const GELU_C: f32 = 0.797_884_6;
/// The cubic coefficient of GELU's tanh form.
const GELU_A: f32 = 0.044_715;

/// `tanh(c (x + a x³))` as `1 − 2/(1 + e^{2u})`.
#[inline(always)]
fn gelu_tanh(x: f32) -> f32 {
    let u = GELU_C * (x + GELU_A * x * x * x);
    1.0 - 2.0 / (1.0 + dropout::fastmath::exp(2.0 * u))
}

/// An element-wise activation layer.
pub struct ActivationLayer {
    kind: Activation,
    y: Tensor,
    dx: Tensor,
}

impl ActivationLayer {
    /// A layer applying `kind`.
    pub fn new(kind: Activation) -> Self {
        Self {
            kind,
            y: Tensor::default(),
            dx: Tensor::default(),
        }
    }
}

const GRAIN: usize = 1 << 14;

/// Run `$body` inside [`wide`] with `$k` bound to a constant kind, one loop
/// per kind: the `match` on the kind sits outside the loop, so each loop is
/// straight-line code the compiler vectorises (GELU's `exp` included). The
/// loops index (no iterator adapters): an adapter's `fold` may be compiled
/// outside the wide function, at the baseline width, with `floor` a libm call.
macro_rules! each_kind {
    ($k:expr, |$kk:ident| $body:expr) => {
        match $k {
            Activation::Relu => each_kind!(@one Activation::Relu, $kk, $body),
            Activation::Tanh => each_kind!(@one Activation::Tanh, $kk, $body),
            Activation::Sigmoid => each_kind!(@one Activation::Sigmoid, $kk, $body),
            Activation::Selu => each_kind!(@one Activation::Selu, $kk, $body),
            Activation::Gelu => each_kind!(@one Activation::Gelu, $kk, $body),
        }
    };
    (@one $kind:expr, $kk:ident, $body:expr) => {
        wide(
            #[inline(always)]
            || {
                let $kk = $kind;
                $body
            },
        )
    };
}

impl Layer for ActivationLayer {
    fn describe(&self) -> String {
        self.kind.name().to_string()
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, EngineError> {
        Ok(input.to_vec())
    }

    fn forward(&mut self, x: &Tensor, _ctx: &Ctx) {
        self.y.resize(&x.shape);
        let k = self.kind;
        self.y
            .data
            .par_chunks_mut(GRAIN)
            .zip(x.data.par_chunks(GRAIN))
            .for_each(|(y, x)| {
                each_kind!(k, |k| for i in 0..y.len() {
                    y[i] = k.f(x[i]);
                })
            });
    }

    fn output(&self) -> &Tensor {
        &self.y
    }

    fn backward(&mut self, x: &Tensor, dy: &mut Tensor, _ctx: &Ctx, need_dx: bool) {
        if !need_dx {
            return;
        }
        self.dx.resize(&x.shape);
        let k = self.kind;
        self.dx
            .data
            .par_chunks_mut(GRAIN)
            .zip(x.data.par_chunks(GRAIN))
            .zip(self.y.data.par_chunks(GRAIN).zip(dy.data.par_chunks(GRAIN)))
            .for_each(|((dx, x), (y, dy))| {
                each_kind!(k, |k| for i in 0..dx.len() {
                    dx[i] = dy[i] * k.df(x[i], y[i]);
                })
            });
    }

    fn input_grad(&mut self) -> &mut Tensor {
        &mut self.dx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layer's vectorised loops give the scalar formula's bits, for every
    /// kind, over ordinary values and the exponential's clamps.
    #[test]
    fn vectorised_loops_match_the_scalar_formulas_bit_for_bit() {
        let x: Vec<f32> = (0..40_000)
            .map(|i| (i as f32 - 20_000.0) * 0.003_7)
            .chain([0.0, -0.0, 1e-30, -1e-30, 100.0, -100.0])
            .collect();
        let input = Tensor::from_vec(x.clone(), &[x.len()]);
        let mut dy = Tensor::from_vec(vec![0.75; x.len()], &[x.len()]);
        for k in [
            Activation::Relu,
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::Selu,
            Activation::Gelu,
        ] {
            let mut layer = ActivationLayer::new(k);
            layer.forward(&input, &Ctx::eval());
            layer.backward(&input, &mut dy, &Ctx::eval(), true);
            for (i, &v) in x.iter().enumerate() {
                let y = k.f(v);
                assert_eq!(layer.y.data[i].to_bits(), y.to_bits(), "{k:?} f({v})");
                let dx = 0.75 * k.df(v, y);
                assert_eq!(layer.dx.data[i].to_bits(), dx.to_bits(), "{k:?} df({v})");
            }
        }
    }
}

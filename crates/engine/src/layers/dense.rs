//! Dense (fully connected) layer with the fused bias + activation + dropout
//! pass of the `dropout` crate.
//!
//! ```text
//! forward:  y  = dropout(act(x · Wᵀ + b))     x: N × in, W: out × in (PyTorch layout)
//! (MC dropout with masks shared by blocks of g rows: act(x · Wᵀ + b), then the
//! block's mask, as [`crate::layers::DropoutLayer`] does.)
//! backward: dz = act'(·) · mask · s · dy      (one fused pass, mask recomputed)
//!           dW = dzᵀ · x,  db = Σ_rows dz,  dx = dz · W
//! ```
//! act ∈ {identity, ReLU}; other activations are separate layers.

use dropout::{Act, BiasActDropout, Dropout};

use crate::error::EngineError;
use crate::layer::{Ctx, Dims, Layer, Param, ParamKind};
use crate::matmul::{matmul, Trans};
use crate::tensor::Tensor;

/// A fully connected layer with optional fused ReLU and dropout.
pub struct Dense {
    inp: usize,
    out: usize,
    /// Weights, `out × in`.
    pub w: Vec<f32>,
    /// Bias, `out`.
    pub b: Vec<f32>,
    gw: Vec<f32>,
    gb: Vec<f32>,
    act: Act,
    dropout: Dropout,
    stream: u32,
    y: Tensor,
    dx: Tensor,
}

impl Dense {
    /// A layer `in → out` with zero weights (see [`crate::init`]), activation
    /// `act`, dropout `p` on its output at site `stream`.
    ///
    /// # Errors
    /// [`EngineError::Dropout`] if `p` is not in [0, 1].
    pub fn new(inp: usize, out: usize, act: Act, p: f32, stream: u32) -> Result<Self, EngineError> {
        Ok(Self {
            inp,
            out,
            w: vec![0.0; inp * out],
            b: vec![0.0; out],
            gw: vec![0.0; inp * out],
            gb: vec![0.0; out],
            act,
            dropout: Dropout::new(p)?,
            stream,
            y: Tensor::default(),
            dx: Tensor::default(),
        })
    }

    /// Fan-in and fan-out.
    pub fn dims(&self) -> (usize, usize) {
        (self.inp, self.out)
    }

    /// The dropout rate on the output.
    pub fn p(&self) -> f32 {
        self.dropout.p()
    }

    fn site(&self, rows: usize, ctx: &Ctx) -> BiasActDropout {
        BiasActDropout {
            dropout: self.dropout,
            key: ctx.key(self.stream),
            mode: ctx.dropout_mode(),
            act: self.act,
            rows,
            cols: self.out,
        }
    }
}

impl Layer for Dense {
    fn describe(&self) -> String {
        let act = match self.act {
            Act::Identity => "",
            Act::Relu => ", relu",
        };
        let p = self.dropout.p();
        let drop = if p > 0.0 {
            format!(", dropout {p}")
        } else {
            String::new()
        };
        format!("Dense({}→{}{act}{drop})", self.inp, self.out)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, EngineError> {
        if input.iter().product::<usize>() != self.inp {
            return Err(EngineError::Shape {
                layer: self.describe(),
                got: input.to_vec(),
                expected: format!("{} features per sample", self.inp),
            });
        }
        Ok(vec![self.out])
    }

    fn forward(&mut self, x: &Tensor, ctx: &Ctx) {
        let n = x.rows();
        self.y.resize(&[n, self.out]);
        matmul(
            n,
            self.inp,
            self.out,
            &x.data,
            &self.w,
            &mut self.y.data,
            Trans { a: false, b: true },
            false,
        );
        match ctx.shared_rows() {
            None => self.site(n, ctx).forward_inplace(&mut self.y.data, &self.b),
            // MC masks shared by blocks of g rows: bias and activation, then
            // the mask broadcast over each block (forward only: MC never trains).
            Some(g) => {
                let mut site = self.site(n, ctx);
                site.mode = dropout::Mode::Eval;
                site.forward_inplace(&mut self.y.data, &self.b)
                    .and_then(|()| {
                        self.dropout.forward_broadcast_inplace(
                            site.key,
                            ctx.dropout_mode(),
                            &[n / g, g, self.out],
                            &[n / g, 1, self.out],
                            &mut self.y.data,
                        )
                    })
            }
        }
        .expect("shapes fixed at build time");
    }

    fn output(&self) -> &Tensor {
        &self.y
    }

    fn backward(&mut self, x: &Tensor, dy: &mut Tensor, ctx: &Ctx, need_dx: bool) {
        let n = x.rows();
        self.site(n, ctx)
            .backward_inplace(&self.y.data, &mut dy.data, &mut self.gb)
            .expect("shapes fixed at build time");
        // dy now holds dz.
        matmul(
            self.out,
            n,
            self.inp,
            &dy.data,
            &x.data,
            &mut self.gw,
            Trans { a: true, b: false },
            false,
        );
        if need_dx {
            self.dx.resize(&x.shape);
            matmul(
                n,
                self.out,
                self.inp,
                &dy.data,
                &self.w,
                &mut self.dx.data,
                Trans { a: false, b: false },
                false,
            );
        }
    }

    fn input_grad(&mut self) -> &mut Tensor {
        &mut self.dx
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_>)) {
        f(Param {
            name: "weight",
            value: &mut self.w,
            grad: &mut self.gw,
            kind: ParamKind::Weight,
            row: self.inp,
            shape: Dims::new(&[self.out, self.inp]),
        });
        f(Param {
            name: "bias",
            value: &mut self.b,
            grad: &mut self.gb,
            kind: ParamKind::Other,
            row: self.out,
            shape: Dims::new(&[self.out]),
        });
    }
}

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
//! act ∈ {identity, ReLU}; other activations are separate layers. The rows
//! are all of the input's vectors of `in` features: the samples, or with
//! [`Dense::per_token`] every token of every sample (`(N, T, in)` → `(N, T, out)`).
//!
//! DropConnect (Wan et al. 2013), inverted like dropout: each weight is
//! dropped with probability p_c per step and survivors scaled by 1/(1 − p_c),
//! so the test-time layer is the plain one. The mask is the `dropout` crate's
//! keep rule over the weight buffer, key (seed, stream | 2^31, step):
//! ```text
//! W' = dropout(W)                     (a scratch the size of W; the mask itself is never stored)
//! forward:  y = dropout(act(x · W'ᵀ + b))
//! backward: dW = dropout'(dzᵀ · x)    (mask recomputed from the key)      dx = dz · W'
//! ```
//! One mask per step, shared by the samples of the batch (the per-sample form
//! would need a GEMM per sample).

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
    connect: Dropout,
    /// The configured (output dropout, DropConnect) rates; a schedule scales them.
    rates: (f32, f32),
    wm: Vec<f32>,
    stream: u32,
    per_token: bool,
    y: Tensor,
    dx: Tensor,
}

/// Bit set on a dense layer's stream for its DropConnect mask.
pub const CONNECT_STREAM: u32 = 1 << 31;

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
            connect: Dropout::new(0.0)?,
            rates: (p, 0.0),
            wm: Vec::new(),
            stream,
            per_token: false,
            y: Tensor::default(),
            dx: Tensor::default(),
        })
    }

    /// This layer with DropConnect at rate `p` on its weights.
    ///
    /// # Errors
    /// [`EngineError::Dropout`] if `p` is not in [0, 1].
    pub fn with_dropconnect(mut self, p: f32) -> Result<Self, EngineError> {
        self.connect = Dropout::new(p)?;
        self.rates.1 = p;
        self.wm = if p > 0.0 {
            vec![0.0; self.w.len()]
        } else {
            Vec::new()
        };
        Ok(self)
    }

    /// This layer applied to each token of `(…, in)` inputs, giving `(…, out)`
    /// (a Transformer's projections); otherwise a sample's features are read
    /// flat and the output is `(N, out)`.
    pub fn per_token(mut self) -> Self {
        self.per_token = true;
        self
    }

    /// The DropConnect rate.
    pub fn dropconnect(&self) -> f32 {
        self.connect.p()
    }

    /// Whether this call computes with masked weights W'.
    fn connect_active(&self, ctx: &Ctx) -> bool {
        self.connect.p() > 0.0 && ctx.dropout_mode() == dropout::Mode::Train
    }

    /// Write W' = dropout(W) for this call into the scratch; whether W' ≠ W.
    fn mask_weights(&mut self, ctx: &Ctx) -> bool {
        if !self.connect_active(ctx) {
            return false;
        }
        let key = ctx.key(self.stream | CONNECT_STREAM);
        self.connect
            .forward(key, dropout::Mode::Train, &self.w, &mut self.wm)
            .expect("scratch sized at build time");
        true
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
        let mut drop = if p > 0.0 {
            format!(", dropout {p}")
        } else {
            String::new()
        };
        if self.connect.p() > 0.0 {
            drop += &format!(", dropconnect {}", self.connect.p());
        }
        format!("Dense({}→{}{act}{drop})", self.inp, self.out)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, EngineError> {
        if self.per_token {
            return match input.split_last() {
                Some((&d, rest)) if d == self.inp => Ok([rest, &[self.out]].concat()),
                _ => Err(EngineError::Shape {
                    layer: self.describe(),
                    got: input.to_vec(),
                    expected: format!("tokens of {} features", self.inp),
                }),
            };
        }
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
        let n = x.len() / self.inp;
        if self.per_token {
            let mut shape = x.shape.clone();
            *shape.last_mut().expect("a token axis") = self.out;
            self.y.resize(&shape);
        } else {
            self.y.resize(&[n, self.out]);
        }
        let masked = self.mask_weights(ctx);
        matmul(
            n,
            self.inp,
            self.out,
            &x.data,
            if masked { &self.wm } else { &self.w },
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
        let n = x.len() / self.inp;
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
        let masked = self.connect_active(ctx);
        if masked {
            // ∂L/∂W = mask · s · ∂L/∂W', the mask recomputed from the key.
            let key = ctx.key(self.stream | CONNECT_STREAM);
            self.connect
                .backward_inplace(key, dropout::Mode::Train, &mut self.gw);
        }
        if need_dx {
            self.dx.resize(&x.shape);
            matmul(
                n,
                self.out,
                self.inp,
                &dy.data,
                // W' as the forward pass of this call left it in the scratch.
                if masked { &self.wm } else { &self.w },
                &mut self.dx.data,
                Trans { a: false, b: false },
                false,
            );
        }
    }

    fn input_grad(&mut self) -> &mut Tensor {
        &mut self.dx
    }

    fn set_dropout_factor(&mut self, factor: f32) {
        let at = |p: f32| Dropout::new((p * factor).clamp(0.0, 1.0)).expect("a rate in [0, 1]");
        self.dropout = at(self.rates.0);
        self.connect = at(self.rates.1);
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

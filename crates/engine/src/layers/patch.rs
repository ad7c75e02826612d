//! Patch embedding for images (Dosovitskiy et al. 2021, ViT): each `p × p`
//! patch of a `(C, H, W)` image becomes a token, a linear projection of its
//! `C·p·p` values, plus a learned position embedding, then the embedding
//! dropout:
//!
//! ```text
//! T = (H/p)·(W/p) tokens, token τ = (row r, column c) of the patch grid, row-major
//! u[n, τ]  = x[n, :, r·p .. r·p+p, c·p .. c·p+p] flattened as (channel, y, x)
//! y[n, τ]  = dropout(W u[n, τ] + b + wpe[τ])            W: D × C·p·p (a stride-p conv's weight), wpe: T × D
//! ∂W = gᵀ U,  ∂b = Σ g,  ∂wpe[τ] = Σ_n g[n, τ],  ∂u = g W  (scattered back: patches do not overlap)
//! ```
//! `H` and `W` must be multiples of `p` (a 28 × 28 image takes p = 4, 7 or 14).

use dropout::Dropout;

use crate::error::EngineError;
use crate::layer::{Ctx, Dims, Layer, Param, ParamKind};
use crate::matmul::{matmul, Trans};
use crate::tensor::Tensor;

/// `p × p` patches → tokens of width `d`.
pub struct PatchEmbedding {
    c: usize,
    h: usize,
    w: usize,
    p: usize,
    d: usize,
    /// Projection `D × C·p·p`.
    pub weight: Vec<f32>,
    /// Bias `D`.
    pub bias: Vec<f32>,
    /// Position table `T × D`.
    pub wpe: Vec<f32>,
    gw: Vec<f32>,
    gb: Vec<f32>,
    gwpe: Vec<f32>,
    dropout: Dropout,
    rate: f32,
    stream: u32,
    u: Vec<f32>,
    du: Vec<f32>,
    y: Tensor,
    dx: Tensor,
}

impl PatchEmbedding {
    /// Images `(c, h, w)`, patches of `p`, tokens of width `d`, embedding dropout `rate` at `stream`.
    ///
    /// # Errors
    /// [`EngineError::Dropout`] for a rate outside [0, 1].
    pub fn new(
        (c, h, w): (usize, usize, usize),
        p: usize,
        d: usize,
        rate: f32,
        stream: u32,
    ) -> Result<Self, EngineError> {
        let (k, t) = (c * p * p, (h / p.max(1)) * (w / p.max(1)));
        Ok(Self {
            c,
            h,
            w,
            p,
            d,
            weight: vec![0.0; d * k],
            bias: vec![0.0; d],
            wpe: vec![0.0; t * d],
            gw: vec![0.0; d * k],
            gb: vec![0.0; d],
            gwpe: vec![0.0; t * d],
            dropout: Dropout::new(rate)?,
            rate,
            stream,
            u: Vec::new(),
            du: Vec::new(),
            y: Tensor::default(),
            dx: Tensor::default(),
        })
    }

    /// Tokens per image.
    pub fn tokens(&self) -> usize {
        (self.h / self.p.max(1)) * (self.w / self.p.max(1))
    }

    /// Each `(token, channel, patch row)` run of `p` values: (offset in the
    /// image, offset in the patch matrix).
    fn runs(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let (p, gw, k) = (self.p, self.w / self.p, self.c * self.p * self.p);
        (0..self.tokens()).flat_map(move |tau| {
            (0..self.c * p).map(move |cy| {
                let (ch, yy) = (cy / p, cy % p);
                let src = (ch * self.h + (tau / gw) * p + yy) * self.w + (tau % gw) * p;
                (src, tau * k + cy * p)
            })
        })
    }
}

impl Layer for PatchEmbedding {
    fn describe(&self) -> String {
        let drop = if self.dropout.p() > 0.0 {
            format!(", dropout {}", self.dropout.p())
        } else {
            String::new()
        };
        format!(
            "PatchEmbedding({}×{} patches of {}×{}×{} → {} tokens × {}{drop})",
            self.p,
            self.p,
            self.c,
            self.h,
            self.w,
            self.tokens(),
            self.d
        )
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, EngineError> {
        if input != [self.c, self.h, self.w]
            || self.p == 0
            || self.h % self.p + self.w % self.p != 0
        {
            return Err(EngineError::Shape {
                layer: self.describe(),
                got: input.to_vec(),
                expected: format!(
                    "({}, {}, {}) images whose sides are multiples of the patch size {}",
                    self.c, self.h, self.w, self.p
                ),
            });
        }
        Ok(vec![self.tokens(), self.d])
    }

    fn forward(&mut self, x: &Tensor, ctx: &Ctx) {
        let (n, t, d, k) = (x.rows(), self.tokens(), self.d, self.c * self.p * self.p);
        self.u.resize(n * t * k, 0.0);
        let (img, p) = (self.c * self.h * self.w, self.p);
        let mut u = std::mem::take(&mut self.u);
        for (xi, ui) in x.data.chunks(img).zip(u.chunks_mut(t * k)) {
            for (src, dst) in self.runs() {
                ui[dst..dst + p].copy_from_slice(&xi[src..src + p]);
            }
        }
        self.u = u;
        self.y.resize(&[n, t, d]);
        let tn = Trans { a: false, b: true };
        matmul(
            n * t,
            k,
            d,
            &self.u,
            &self.weight,
            &mut self.y.data,
            tn,
            false,
        );
        for (i, row) in self.y.data.chunks_mut(d).enumerate() {
            let pos = &self.wpe[(i % t) * d..][..d];
            for ((y, b), p) in row.iter_mut().zip(&self.bias).zip(pos) {
                *y += b + p;
            }
        }
        self.dropout
            .forward_inplace(ctx.key(self.stream), ctx.dropout_mode(), &mut self.y.data);
    }

    fn output(&self) -> &Tensor {
        &self.y
    }

    fn backward(&mut self, x: &Tensor, dy: &mut Tensor, ctx: &Ctx, need_dx: bool) {
        let (n, t, d, k) = (x.rows(), self.tokens(), self.d, self.c * self.p * self.p);
        self.dropout
            .backward_inplace(ctx.key(self.stream), ctx.dropout_mode(), &mut dy.data);
        let tn = Trans { a: true, b: false };
        matmul(d, n * t, k, &dy.data, &self.u, &mut self.gw, tn, false);
        self.gb.fill(0.0);
        self.gwpe.fill(0.0);
        for (i, g) in dy.data.chunks(d).enumerate() {
            let pos = &mut self.gwpe[(i % t) * d..][..d];
            for ((b, p), v) in self.gb.iter_mut().zip(pos).zip(g) {
                *b += v;
                *p += v;
            }
        }
        if need_dx {
            self.du.resize(n * t * k, 0.0);
            let nn = Trans { a: false, b: false };
            matmul(n * t, d, k, &dy.data, &self.weight, &mut self.du, nn, false);
            self.dx.resize(&x.shape);
            let (img, p) = (self.c * self.h * self.w, self.p);
            let mut dx = std::mem::take(&mut self.dx.data);
            for (dxi, dui) in dx.chunks_mut(img).zip(self.du.chunks(t * k)) {
                for (src, dst) in self.runs() {
                    dxi[src..src + p].copy_from_slice(&dui[dst..dst + p]);
                }
            }
            self.dx.data = dx;
        }
    }

    fn input_grad(&mut self) -> &mut Tensor {
        &mut self.dx
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_>)) {
        let (k, t, d) = (self.c * self.p * self.p, self.tokens(), self.d);
        f(Param {
            name: "patch.weight",
            value: &mut self.weight,
            grad: &mut self.gw,
            kind: ParamKind::Weight,
            row: k,
            shape: Dims::new(&[d, self.c, self.p, self.p]),
        });
        f(Param {
            name: "patch.bias",
            value: &mut self.bias,
            grad: &mut self.gb,
            kind: ParamKind::Other,
            row: d,
            shape: Dims::new(&[d]),
        });
        f(Param {
            name: "wpe",
            value: &mut self.wpe,
            grad: &mut self.gwpe,
            kind: ParamKind::Weight,
            row: d,
            shape: Dims::new(&[t, d]),
        });
    }

    fn set_dropout_factor(&mut self, factor: f32) {
        self.dropout =
            Dropout::new((self.rate * factor).clamp(0.0, 1.0)).expect("a rate in [0, 1]");
    }
}

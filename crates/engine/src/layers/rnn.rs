//! An Elman RNN (tanh) over the rows of a sample, trained by backpropagation
//! through time, with dropout on its inputs and its recurrent state — locked
//! (one mask per sequence, shared by every time step: the variational RNN
//! dropout of Gal & Ghahramani 2016) or naive (a fresh mask at every step).
//!
//! ```text
//! sample (…, T, D): x_t = row t (D features), t = 1 … T;  h_0 = 0
//! x̃_t = m^x_t ⊙ x_t · s,   h̃_{t−1} = m^h_t ⊙ h_{t−1} · s         (s = 1/(1 − p))
//! h_t = tanh(x̃_t W_xᵀ + h̃_{t−1} W_hᵀ + b),   output h_T
//! locked: m^x_t = m^x (mask element n·D + d of the input site's key), m^h_t = m^h
//! naive:  m^x_t = mask elements (t·N + n)·D + d, m^h_t likewise — a new mask per step
//! BPTT:   δ_t = (∂L/∂h_t) ⊙ (1 − h_t²);  ∂W_x += δ_tᵀ x̃_t;  ∂W_h += δ_tᵀ h̃_{t−1};  ∂b += Σ δ_t
//!         ∂L/∂h_{t−1} = m^h_t ⊙ (δ_t W_h) · s;   ∂L/∂x_t = m^x_t ⊙ (δ_t W_x) · s
//! ```
//! The masks are recomputed from the keys in backward; the masked inputs and
//! states are kept (they are activations, needed for the weight gradients).
//! MC masks shared by row blocks are not offered here: each row draws its own.

use dropout::{Dropout, MaskKey};

use crate::error::EngineError;
use crate::layer::{Ctx, Dims, Layer, Param, ParamKind};
use crate::matmul::{matmul, Trans};
use crate::tensor::Tensor;

/// Whether an RNN's dropout masks are shared across time steps.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum RnnDropout {
    /// One mask per sequence (Gal & Ghahramani 2016).
    #[default]
    Locked,
    /// A new mask at every time step.
    Naive,
}

/// The recurrent layer.
pub struct Rnn {
    d: usize,
    h: usize,
    /// Input weights `[h, d]`.
    pub w_x: Vec<f32>,
    /// Recurrent weights `[h, h]`.
    pub w_h: Vec<f32>,
    /// Bias `[h]`.
    pub b: Vec<f32>,
    gw_x: Vec<f32>,
    gw_h: Vec<f32>,
    gb: Vec<f32>,
    drop: Dropout,
    rate: f32,
    kind: RnnDropout,
    stream: u32,
    steps: usize,
    /// Masked inputs `(T, N, D)`, masked previous states `(T, N, H)`, states `(T + 1, N, H)`.
    xin: Vec<f32>,
    hin: Vec<f32>,
    hs: Vec<f32>,
    y: Tensor,
    dx: Tensor,
    dh: Vec<f32>,
    da: Vec<f32>,
    tmp: Vec<f32>,
}

impl Rnn {
    /// An RNN over rows of `d` features with `h` units, dropout `p` of `kind`
    /// on inputs (site `stream`) and recurrent state (site `stream + 1`).
    ///
    /// # Errors
    /// [`EngineError::Dropout`] if `p` is not in [0, 1].
    pub fn new(
        d: usize,
        h: usize,
        p: f32,
        kind: RnnDropout,
        stream: u32,
    ) -> Result<Self, EngineError> {
        Ok(Self {
            d,
            h,
            w_x: vec![0.0; h * d],
            w_h: vec![0.0; h * h],
            b: vec![0.0; h],
            gw_x: vec![0.0; h * d],
            gw_h: vec![0.0; h * h],
            gb: vec![0.0; h],
            drop: Dropout::new(p)?,
            rate: p,
            kind,
            stream,
            steps: 0,
            xin: Vec::new(),
            hin: Vec::new(),
            hs: Vec::new(),
            y: Tensor::default(),
            dx: Tensor::default(),
            dh: Vec::new(),
            da: Vec::new(),
            tmp: Vec::new(),
        })
    }

    /// The keys and the mask offset of step `t` for `rows` rows of `width` units.
    fn site(
        &self,
        ctx: &Ctx,
        recurrent: bool,
        t: usize,
        rows: usize,
        width: usize,
    ) -> (MaskKey, u64) {
        let key = ctx.key(self.stream + u32::from(recurrent));
        let offset = match self.kind {
            RnnDropout::Locked => 0,
            RnnDropout::Naive => (t * rows * width) as u64,
        };
        (key, offset)
    }

    /// `v ← mask ⊙ v · s` for step `t` (forward and backward: the same map).
    fn mask(&self, ctx: &Ctx, recurrent: bool, t: usize, rows: usize, v: &mut [f32]) {
        let width = if recurrent { self.h } else { self.d };
        let (key, offset) = self.site(ctx, recurrent, t, rows, width);
        self.drop
            .forward_at_inplace(key, ctx.dropout_mode(), offset, v);
    }
}

impl Layer for Rnn {
    fn describe(&self) -> String {
        let drop = if self.drop.p() > 0.0 {
            format!(", {:?} dropout {}", self.kind, self.drop.p()).to_lowercase()
        } else {
            String::new()
        };
        format!("RNN({}→{}, tanh{drop})", self.d, self.h)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, EngineError> {
        match input.split_last() {
            Some((&d, rest))
                if d == self.d && !rest.is_empty() && rest.iter().product::<usize>() > 0 =>
            {
                Ok(vec![self.h])
            }
            _ => Err(EngineError::Shape {
                layer: self.describe(),
                got: input.to_vec(),
                expected: format!(
                    "sequences of rows of {} features (…, T, {})",
                    self.d, self.d
                ),
            }),
        }
    }

    fn forward(&mut self, x: &Tensor, ctx: &Ctx) {
        let (n, d, h) = (x.rows(), self.d, self.h);
        let t_len = x.data.len() / (n * d).max(1);
        self.steps = t_len;
        self.xin.resize(t_len * n * d, 0.0);
        self.hin.resize(t_len * n * h, 0.0);
        self.hs.resize((t_len + 1) * n * h, 0.0);
        self.hs[..n * h].fill(0.0);
        for t in 0..t_len {
            let xt = &mut self.xin[t * n * d..(t + 1) * n * d];
            for (r, row) in xt.chunks_mut(d).enumerate() {
                row.copy_from_slice(&x.data[(r * t_len + t) * d..(r * t_len + t + 1) * d]);
            }
        }
        for t in 0..t_len {
            let mut xt = std::mem::take(&mut self.xin);
            self.mask(ctx, false, t, n, &mut xt[t * n * d..(t + 1) * n * d]);
            self.xin = xt;
            let mut hin = std::mem::take(&mut self.hin);
            hin[t * n * h..(t + 1) * n * h].copy_from_slice(&self.hs[t * n * h..(t + 1) * n * h]);
            self.mask(ctx, true, t, n, &mut hin[t * n * h..(t + 1) * n * h]);
            self.hin = hin;
            let a = &mut self.hs[(t + 1) * n * h..(t + 2) * n * h];
            matmul(
                n,
                d,
                h,
                &self.xin[t * n * d..(t + 1) * n * d],
                &self.w_x,
                a,
                Trans { a: false, b: true },
                false,
            );
            matmul(
                n,
                h,
                h,
                &self.hin[t * n * h..(t + 1) * n * h],
                &self.w_h,
                a,
                Trans { a: false, b: true },
                true,
            );
            for row in a.chunks_mut(h) {
                for (v, b) in row.iter_mut().zip(&self.b) {
                    *v = (*v + b).tanh();
                }
            }
        }
        self.y.resize(&[n, h]);
        self.y
            .data
            .copy_from_slice(&self.hs[t_len * n * h..(t_len + 1) * n * h]);
    }

    fn output(&self) -> &Tensor {
        &self.y
    }

    fn backward(&mut self, x: &Tensor, dy: &mut Tensor, ctx: &Ctx, need_dx: bool) {
        let (n, d, h, t_len) = (x.rows(), self.d, self.h, self.steps);
        self.gw_x.fill(0.0);
        self.gw_h.fill(0.0);
        self.gb.fill(0.0);
        self.dh.clear();
        self.dh.extend_from_slice(&dy.data);
        self.da.resize(n * h, 0.0);
        if need_dx {
            self.dx.resize(&x.shape);
        }
        for t in (0..t_len).rev() {
            let ht = &self.hs[(t + 1) * n * h..(t + 2) * n * h];
            for ((a, g), v) in self.da.iter_mut().zip(&self.dh).zip(ht) {
                *a = g * (1.0 - v * v);
            }
            for row in self.da.chunks(h) {
                for (gb, a) in self.gb.iter_mut().zip(row) {
                    *gb += a;
                }
            }
            matmul(
                h,
                n,
                d,
                &self.da,
                &self.xin[t * n * d..(t + 1) * n * d],
                &mut self.gw_x,
                Trans { a: true, b: false },
                true,
            );
            matmul(
                h,
                n,
                h,
                &self.da,
                &self.hin[t * n * h..(t + 1) * n * h],
                &mut self.gw_h,
                Trans { a: true, b: false },
                true,
            );
            if t > 0 {
                let mut dh = std::mem::take(&mut self.dh);
                matmul(
                    n,
                    h,
                    h,
                    &self.da,
                    &self.w_h,
                    &mut dh,
                    Trans { a: false, b: false },
                    false,
                );
                self.mask(ctx, true, t, n, &mut dh);
                self.dh = dh;
            }
            if need_dx {
                let mut tmp = std::mem::take(&mut self.tmp);
                tmp.resize(n * d, 0.0);
                matmul(
                    n,
                    h,
                    d,
                    &self.da,
                    &self.w_x,
                    &mut tmp,
                    Trans { a: false, b: false },
                    false,
                );
                self.mask(ctx, false, t, n, &mut tmp);
                for (r, row) in tmp.chunks(d).enumerate() {
                    self.dx.data[(r * t_len + t) * d..(r * t_len + t + 1) * d].copy_from_slice(row);
                }
                self.tmp = tmp;
            }
        }
    }

    fn input_grad(&mut self) -> &mut Tensor {
        &mut self.dx
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_>)) {
        let (d, h) = (self.d, self.h);
        f(Param {
            name: "weight_ih",
            value: &mut self.w_x,
            grad: &mut self.gw_x,
            kind: ParamKind::Weight,
            row: d,
            shape: Dims::new(&[h, d]),
        });
        f(Param {
            name: "weight_hh",
            value: &mut self.w_h,
            grad: &mut self.gw_h,
            kind: ParamKind::Weight,
            row: h,
            shape: Dims::new(&[h, h]),
        });
        f(Param {
            name: "bias",
            value: &mut self.b,
            grad: &mut self.gb,
            kind: ParamKind::Other,
            row: 1,
            shape: Dims::new(&[h]),
        });
    }

    fn set_dropout_factor(&mut self, factor: f32) {
        self.drop = Dropout::new((self.rate * factor).clamp(0.0, 1.0)).expect("a rate in [0, 1]");
    }
}

//! Token and learned positional embedding (GPT-2's `wte` and `wpe`), with
//! the embedding dropout:
//!
//! ```text
//! input   ids (N, T), each a token id stored as f32 (exact below 2^24)
//! y[n, t] = dropout(wte[id(n, t)] + wpe[t])            wte: V × D, wpe: T_max × D, T ≤ T_max
//! ∂wte[v] = Σ_{(n, t): id(n, t) = v} g[n, t],  ∂wpe[t] = Σ_n g[n, t],   g = dropout'(∂y)
//! ```
//! The sums run in a fixed order (tokens in row-major order), so the
//! gradient is the same on any thread count. The ids are the model's input:
//! nothing flows back to them. An id outside the vocabulary is clamped to
//! `V − 1` (the data reader maps unknown characters to one reserved symbol,
//! so a well-formed batch never has one).
//!
//! **Tied output head** ([`TokenEmbedding::tied_head`], Press & Wolf 2017,
//! GPT-2): the head's logits are `z = x · wteᵀ` with the same tensor, one
//! parameter counted and saved once (as `wte`). Backward runs the head
//! first, which writes its `∂wte = ∂zᵀ x`; the embedding then adds its own
//! sums to it (instead of overwriting), so `∂wte` is the sum of both uses.
//! Both tables are weights
//! ([`ParamKind::Weight`]): weight decay applies to them as to every 2-D
//! tensor (nanoGPT's rule), biases and LayerNorm parameters excepted.

use std::sync::{Arc, Mutex, MutexGuard};

use dropout::Dropout;

use crate::error::EngineError;
use crate::layer::{Ctx, Dims, Layer, Param, ParamKind};
use crate::matmul::{matmul, Trans};
use crate::tensor::Tensor;

/// Token plus positional embedding.
pub struct TokenEmbedding {
    vocab: usize,
    context: usize,
    d: usize,
    /// Token table `V × D` and its gradient (shared with a tied head).
    table: Arc<Mutex<Table>>,
    tied: bool,
    /// Position table `T_max × D`.
    pub wpe: Vec<f32>,
    gwpe: Vec<f32>,
    dropout: Dropout,
    rate: f32,
    stream: u32,
    y: Tensor,
    dx: Tensor,
}

impl TokenEmbedding {
    /// `vocab` tokens, contexts up to `context`, width `d`, embedding dropout `p` at `stream`.
    ///
    /// # Errors
    /// [`EngineError::Dropout`] for a rate outside [0, 1].
    pub fn new(
        vocab: usize,
        context: usize,
        d: usize,
        p: f32,
        stream: u32,
    ) -> Result<Self, EngineError> {
        Ok(Self {
            vocab,
            context,
            d,
            table: Arc::new(Mutex::new(Table {
                w: vec![0.0; vocab * d],
                g: vec![0.0; vocab * d],
            })),
            tied: false,
            wpe: vec![0.0; context * d],
            gwpe: vec![0.0; context * d],
            dropout: Dropout::new(p)?,
            rate: p,
            stream,
            y: Tensor::default(),
            dx: Tensor::default(),
        })
    }

    /// The token table, to read or initialise.
    pub fn wte(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The output head tied to this embedding's token table (see the module docs).
    pub fn tied_head(&mut self) -> TiedHead {
        self.tied = true;
        TiedHead {
            vocab: self.vocab,
            d: self.d,
            table: Arc::clone(&self.table),
            y: Tensor::default(),
            dx: Tensor::default(),
        }
    }

    fn id(&self, v: f32) -> usize {
        (v.max(0.0) as usize).min(self.vocab - 1)
    }
}

impl Layer for TokenEmbedding {
    fn describe(&self) -> String {
        let p = self.dropout.p();
        let drop = if p > 0.0 {
            format!(", dropout {p}")
        } else {
            String::new()
        };
        format!(
            "Embedding({} tokens, {} positions → {}{drop})",
            self.vocab, self.context, self.d
        )
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, EngineError> {
        match input {
            [t] if (1..=self.context).contains(t) => Ok(vec![*t, self.d]),
            _ => Err(EngineError::Shape {
                layer: self.describe(),
                got: input.to_vec(),
                expected: format!("a sequence of 1 to {} token ids", self.context),
            }),
        }
    }

    fn forward(&mut self, x: &Tensor, ctx: &Ctx) {
        let (n, t, d) = (x.rows(), x.cols(), self.d);
        self.y.resize(&[n, t, d]);
        let table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        for (i, &id) in x.data.iter().enumerate() {
            let (tok, pos) = (self.id(id), i % t);
            let (e, p) = (&table.w[tok * d..][..d], &self.wpe[pos * d..][..d]);
            for ((y, a), b) in self.y.data[i * d..][..d].iter_mut().zip(e).zip(p) {
                *y = a + b;
            }
        }
        self.dropout
            .forward_inplace(ctx.key(self.stream), ctx.dropout_mode(), &mut self.y.data);
    }

    fn output(&self) -> &Tensor {
        &self.y
    }

    fn backward(&mut self, x: &Tensor, dy: &mut Tensor, ctx: &Ctx, need_dx: bool) {
        let (t, d) = (x.cols(), self.d);
        self.dropout
            .backward_inplace(ctx.key(self.stream), ctx.dropout_mode(), &mut dy.data);
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        // Tied: the head (run first in backward) wrote its part; add to it.
        if !self.tied {
            table.g.fill(0.0);
        }
        self.gwpe.fill(0.0);
        for (i, &id) in x.data.iter().enumerate() {
            let tok = (id.max(0.0) as usize).min(self.vocab - 1);
            let pos = i % t;
            let g = &dy.data[i * d..][..d];
            for (o, v) in table.g[tok * d..][..d].iter_mut().zip(g) {
                *o += v;
            }
            for (o, v) in self.gwpe[pos * d..][..d].iter_mut().zip(g) {
                *o += v;
            }
        }
        if need_dx {
            // Ids are not differentiable: their gradient is zero.
            self.dx.resize(&x.shape);
            self.dx.data.fill(0.0);
        }
    }

    fn input_grad(&mut self) -> &mut Tensor {
        &mut self.dx
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_>)) {
        let (v, t, d) = (self.vocab, self.context, self.d);
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let Table { w, g } = &mut *table;
        f(Param {
            name: "wte",
            value: w,
            grad: g,
            kind: ParamKind::Weight,
            row: d,
            shape: Dims::new(&[v, d]),
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

/// A token table and its gradient.
pub struct Table {
    /// Values, `V × D`.
    pub w: Vec<f32>,
    /// Gradient, `V × D`.
    pub g: Vec<f32>,
}

/// The output head tied to a [`TokenEmbedding`]: `z = x · wteᵀ` per token,
/// `(N, T, D)` → `(N, T, V)`, no bias, no parameter of its own.
pub struct TiedHead {
    vocab: usize,
    d: usize,
    table: Arc<Mutex<Table>>,
    y: Tensor,
    dx: Tensor,
}

impl Layer for TiedHead {
    fn describe(&self) -> String {
        format!(
            "TiedHead({} → {} tokens, the embedding's table)",
            self.d, self.vocab
        )
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, EngineError> {
        match input {
            [t, d] if *d == self.d => Ok(vec![*t, self.vocab]),
            _ => Err(EngineError::Shape {
                layer: self.describe(),
                got: input.to_vec(),
                expected: format!("tokens of {} features", self.d),
            }),
        }
    }

    fn forward(&mut self, x: &Tensor, _ctx: &Ctx) {
        let rows = x.len() / self.d;
        let mut shape = x.shape.clone();
        *shape.last_mut().expect("a token axis") = self.vocab;
        self.y.resize(&shape);
        let table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let nt = Trans { a: false, b: true };
        matmul(
            rows,
            self.d,
            self.vocab,
            &x.data,
            &table.w,
            &mut self.y.data,
            nt,
            false,
        );
    }

    fn output(&self) -> &Tensor {
        &self.y
    }

    fn backward(&mut self, x: &Tensor, dy: &mut Tensor, _ctx: &Ctx, need_dx: bool) {
        let rows = x.len() / self.d;
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        // ∂wte = ∂zᵀ x (overwritten here; the embedding adds its part after).
        let tn = Trans { a: true, b: false };
        matmul(
            self.vocab,
            rows,
            self.d,
            &dy.data,
            &x.data,
            &mut table.g,
            tn,
            false,
        );
        if need_dx {
            self.dx.resize(&x.shape);
            let nn = Trans { a: false, b: false };
            matmul(
                rows,
                self.vocab,
                self.d,
                &dy.data,
                &table.w,
                &mut self.dx.data,
                nn,
                false,
            );
        }
    }

    fn input_grad(&mut self) -> &mut Tensor {
        &mut self.dx
    }
}

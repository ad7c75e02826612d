//! Multi-head self-attention (Vaswani et al. 2017) over `(N, T, D)` tokens,
//! causal or not, with its three dropout sites: attention probabilities
//! (fused with the softmax), DropHead, and the residual dropout on the
//! output projection.
//!
//! ```text
//! [Q K V] = x · W_qkvᵀ + b_qkv                         (N·T, 3D), split into H heads of d_h = D/H
//! S_b     = Q_b K_bᵀ / √d_h                             block b = n·H + h, T × T
//! P_b     = softmax(S_b) (row i over keys j ≤ i if causal),  A_b = attn_dropout(P_b)   (dropout::AttentionDropout)
//! O_b     = A_b V_b,   O = drophead(O)                  (dropout Variant `head` over (N, H, T, d_h))
//! y       = resid_dropout(merge(O) · W_oᵀ + b_o)        (the projection's fused dropout)
//! backward: ∂O = drophead(∂merge),  ∂V_b = A_bᵀ ∂O_b (A_b recomputed from P_b and the key),
//!           ∂A_b = ∂O_b V_bᵀ,  ∂S_b = softmax-dropout backward,  ∂Q_b = ∂S_b K_b / √d_h,
//!           ∂K_b = ∂S_bᵀ Q_b / √d_h,  then the projections' own backward
//! ```
//! The `N·H` blocks run in parallel (their products are small: `T × d_h`
//! by `d_h × T`), each on one thread with [`matmul_seq`], so every block is
//! summed in the same order on any thread count. Kept for backward: Q, K, V,
//! P (`H·T²` per sample) and the merged heads; a `T × T` scratch per block
//! holds A in forward and ∂A, ∂S in backward. No mask is stored.
//! Streams: attention probabilities, DropHead, and the projection's.

use dropout::{AttentionDropout, Pass, Shape, Variant, VariantKind};
use rayon::prelude::*;

use crate::error::EngineError;
use crate::layer::{Ctx, Layer, Param};
use crate::layers::Dense;
use crate::matmul::{matmul_seq, Trans};
use crate::tensor::Tensor;

/// The dropout rates and streams of an attention layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttentionSites {
    /// Attention-probability dropout: (rate, stream).
    pub probs: (f32, u32),
    /// DropHead: (rate, stream).
    pub head: (f32, u32),
    /// Residual dropout on the output projection: (rate, stream).
    pub resid: (f32, u32),
}

/// Multi-head self-attention.
pub struct SelfAttention {
    d: usize,
    heads: usize,
    causal: bool,
    /// The joint Q, K, V projection, `D → 3D` (rows: Q's D, then K's, then V's).
    pub qkv: Dense,
    /// The output projection `D → D`, with the residual dropout.
    pub proj: Dense,
    sites: AttentionSites,
    attn: AttentionDropout,
    head: Variant,
    tokens: usize,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    p: Vec<f32>,
    a: Vec<f32>,
    o: Vec<f32>,
    merged: Tensor,
    dq: Vec<f32>,
    dk: Vec<f32>,
    dv: Vec<f32>,
    dqkv: Tensor,
}

impl SelfAttention {
    /// `heads` heads over `d` features (`d` a multiple of `heads`), causal or not.
    ///
    /// # Errors
    /// [`EngineError::Dropout`] for a rate outside [0, 1]; [`EngineError::Shape`]
    /// for no heads or a width that is not a multiple of them.
    pub fn new(
        d: usize,
        heads: usize,
        causal: bool,
        sites: AttentionSites,
    ) -> Result<Self, EngineError> {
        if heads == 0 || !d.is_multiple_of(heads) {
            return Err(EngineError::Shape {
                layer: format!("SelfAttention({heads} heads)"),
                got: vec![d],
                expected: format!("a width that is a positive multiple of the {heads} heads"),
            });
        }
        let qkv = Dense::new(d, 3 * d, dropout::Act::Identity, 0.0, sites.resid.1)?.per_token();
        let proj =
            Dense::new(d, d, dropout::Act::Identity, sites.resid.0, sites.resid.1)?.per_token();
        Ok(Self {
            d,
            heads,
            causal,
            qkv,
            proj,
            sites,
            attn: AttentionDropout::new(sites.probs.0)?,
            head: Variant::new(VariantKind::Head, sites.head.0)?,
            tokens: 0,
            q: Vec::new(),
            k: Vec::new(),
            v: Vec::new(),
            p: Vec::new(),
            a: Vec::new(),
            o: Vec::new(),
            merged: Tensor::default(),
            dq: Vec::new(),
            dk: Vec::new(),
            dv: Vec::new(),
            dqkv: Tensor::default(),
        })
    }

    fn dims(&self, x: &Tensor) -> (usize, usize, usize, usize) {
        let t = x.shape.get(1).copied().unwrap_or(1);
        (
            x.len() / (t * self.d).max(1),
            t,
            self.heads,
            self.d / self.heads,
        )
    }
}

/// Split `(N·T, 3D)` rows into Q, K, V of `(N, H, T, d_h)`.
fn split_qkv(qkv: &[f32], q: &mut [f32], k: &mut [f32], v: &mut [f32], (t, h, dh): Thd) {
    let (d, per) = (h * dh, h * t * dh);
    qkv.par_chunks(3 * d * t)
        .zip(q.par_chunks_mut(per))
        .zip(k.par_chunks_mut(per).zip(v.par_chunks_mut(per)))
        .for_each(|((row, q), (k, v))| {
            for (part, buf) in [q, k, v].into_iter().enumerate() {
                for ti in 0..t {
                    for hi in 0..h {
                        let (src, dst) = (ti * 3 * d + part * d + hi * dh, (hi * t + ti) * dh);
                        buf[dst..dst + dh].copy_from_slice(&row[src..src + dh]);
                    }
                }
            }
        });
}

/// Join ∂Q, ∂K, ∂V of `(N, H, T, d_h)` into `(N·T, 3D)` rows.
fn join_qkv(qkv: &mut [f32], q: &[f32], k: &[f32], v: &[f32], (t, h, dh): Thd) {
    let (d, per) = (h * dh, h * t * dh);
    qkv.par_chunks_mut(3 * d * t)
        .zip(q.par_chunks(per))
        .zip(k.par_chunks(per).zip(v.par_chunks(per)))
        .for_each(|((row, q), (k, v))| {
            for (part, buf) in [q, k, v].into_iter().enumerate() {
                for ti in 0..t {
                    for hi in 0..h {
                        let (dst, src) = (ti * 3 * d + part * d + hi * dh, (hi * t + ti) * dh);
                        row[dst..dst + dh].copy_from_slice(&buf[src..src + dh]);
                    }
                }
            }
        });
}

/// (tokens T, heads H, head width d_h).
type Thd = (usize, usize, usize);

/// Merge `(N, H, T, d_h)` heads into `(N, T, H·d_h)` tokens, or split them (`back`).
fn merge_heads(o: &mut [f32], m: &mut [f32], (t, h, dh): Thd, back: bool) {
    let per = h * t * dh;
    o.par_chunks_mut(per)
        .zip(m.par_chunks_mut(per))
        .for_each(|(o, m)| {
            for hi in 0..h {
                for ti in 0..t {
                    let (src, dst) = ((hi * t + ti) * dh, (ti * h + hi) * dh);
                    if back {
                        o[src..src + dh].copy_from_slice(&m[dst..dst + dh]);
                    } else {
                        m[dst..dst + dh].copy_from_slice(&o[src..src + dh]);
                    }
                }
            }
        });
}

impl Layer for SelfAttention {
    fn describe(&self) -> String {
        let mut s = format!(
            "SelfAttention({} heads × {}{}",
            self.heads,
            self.d / self.heads,
            if self.causal { ", causal" } else { "" }
        );
        for (name, (p, _)) in [
            ("attention dropout", self.sites.probs),
            ("DropHead", self.sites.head),
            ("residual dropout", self.sites.resid),
        ] {
            if p > 0.0 {
                s += &format!(", {name} {p}");
            }
        }
        s + ")"
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, EngineError> {
        if input.len() != 2 || input[1] != self.d {
            return Err(EngineError::Shape {
                layer: self.describe(),
                got: input.to_vec(),
                expected: format!("T tokens of {} features", self.d),
            });
        }
        Ok(input.to_vec())
    }

    fn forward(&mut self, x: &Tensor, ctx: &Ctx) {
        let inner = Ctx {
            mc_group: 0,
            ..*ctx
        };
        let (n, t, h, dh) = self.dims(x);
        self.tokens = t;
        self.qkv.forward(x, &inner);
        let nh_t_dh = n * h * t * dh;
        for buf in [&mut self.q, &mut self.k, &mut self.v, &mut self.o] {
            buf.resize(nh_t_dh, 0.0);
        }
        self.p.resize(n * h * t * t, 0.0);
        self.a.resize(n * h * t * t, 0.0);
        split_qkv(
            &self.qkv.output().data,
            &mut self.q,
            &mut self.k,
            &mut self.v,
            (t, h, dh),
        );
        let (q, k, v) = (&self.q, &self.k, &self.v);
        let (attn, causal, mode) = (self.attn, self.causal, ctx.dropout_mode());
        let key = ctx.key(self.sites.probs.1);
        let scale = 1.0 / (dh as f32).sqrt();
        let (tt, td) = (t * t, t * dh);
        self.p
            .par_chunks_mut(tt)
            .zip(self.a.par_chunks_mut(tt))
            .zip(self.o.par_chunks_mut(td))
            .enumerate()
            .for_each(|(b, ((p, a), o))| {
                let r = b * td..(b + 1) * td;
                let t_ = Trans { a: false, b: true };
                matmul_seq(t, dh, t, &q[r.clone()], &k[r.clone()], p, t_, false);
                p.iter_mut().for_each(|s| *s *= scale);
                attn.forward(key, mode, b as u64, t, causal, p, a)
                    .expect("block sizes fixed above");
                let t_ = Trans { a: false, b: false };
                matmul_seq(t, t, dh, a, &v[r], o, t_, false);
            });
        self.head
            .apply_inplace(
                Pass::Forward,
                ctx.key(self.sites.head.1),
                mode,
                Shape::new(&[n, h, t, dh]),
                &mut self.o,
            )
            .expect("shape fixed above");
        self.merged.resize(&[n, t, self.d]);
        merge_heads(&mut self.o, &mut self.merged.data, (t, h, dh), false);
        self.proj.forward(&self.merged, &inner);
    }

    fn output(&self) -> &Tensor {
        self.proj.output()
    }

    fn backward(&mut self, x: &Tensor, dy: &mut Tensor, ctx: &Ctx, need_dx: bool) {
        let inner = Ctx {
            mc_group: 0,
            ..*ctx
        };
        let (n, t, h, dh) = self.dims(x);
        self.proj.backward(&self.merged, dy, &inner, true);
        // ∂O into `o` (its forward values are no longer needed).
        merge_heads(
            &mut self.o,
            &mut self.proj.input_grad().data,
            (t, h, dh),
            true,
        );
        let mode = ctx.dropout_mode();
        self.head
            .apply_inplace(
                Pass::Backward,
                ctx.key(self.sites.head.1),
                mode,
                Shape::new(&[n, h, t, dh]),
                &mut self.o,
            )
            .expect("shape fixed in forward");
        for buf in [&mut self.dq, &mut self.dk, &mut self.dv] {
            buf.resize(n * h * t * dh, 0.0);
        }
        let (q, k, v, o) = (&self.q, &self.k, &self.v, &self.o);
        let (attn, key) = (self.attn, ctx.key(self.sites.probs.1));
        let scale = 1.0 / (dh as f32).sqrt();
        let (tt, td) = (t * t, t * dh);
        self.p
            .par_chunks(tt)
            .zip(self.a.par_chunks_mut(tt))
            .zip(self.dq.par_chunks_mut(td))
            .zip(self.dk.par_chunks_mut(td).zip(self.dv.par_chunks_mut(td)))
            .enumerate()
            .for_each(|(b, (((p, a), dq), (dk, dv)))| {
                let r = b * td..(b + 1) * td;
                attn.mask(key, mode, b as u64, p, a)
                    .expect("block sizes fixed in forward");
                let (nn, tn, nt) = (
                    Trans { a: false, b: false },
                    Trans { a: true, b: false },
                    Trans { a: false, b: true },
                );
                matmul_seq(t, t, dh, a, &o[r.clone()], dv, tn, false);
                matmul_seq(t, dh, t, &o[r.clone()], &v[r.clone()], a, nt, false);
                attn.backward(key, mode, b as u64, t, p, a)
                    .expect("block sizes fixed in forward");
                a.iter_mut().for_each(|g| *g *= scale);
                matmul_seq(t, t, dh, a, &k[r.clone()], dq, nn, false);
                matmul_seq(t, t, dh, a, &q[r], dk, tn, false);
            });
        self.dqkv.resize(&[n, t, 3 * self.d]);
        join_qkv(
            &mut self.dqkv.data,
            &self.dq,
            &self.dk,
            &self.dv,
            (t, h, dh),
        );
        self.qkv.backward(x, &mut self.dqkv, &inner, need_dx);
    }

    fn input_grad(&mut self) -> &mut Tensor {
        self.qkv.input_grad()
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_>)) {
        let names = ["attn.qkv.weight", "attn.qkv.bias"];
        let mut i = 0;
        self.qkv.visit_params(&mut |p| {
            f(Param {
                name: names[i],
                ..p
            });
            i += 1;
        });
        let names = ["attn.proj.weight", "attn.proj.bias"];
        let mut i = 0;
        self.proj.visit_params(&mut |p| {
            f(Param {
                name: names[i],
                ..p
            });
            i += 1;
        });
    }

    fn set_dropout_factor(&mut self, factor: f32) {
        let at = |p: f32| (p * factor).clamp(0.0, 1.0);
        self.attn = AttentionDropout::new(at(self.sites.probs.0)).expect("a rate in [0, 1]");
        self.head = self
            .head
            .with_p(at(self.sites.head.0))
            .expect("a rate in [0, 1]");
        self.proj.set_dropout_factor(factor);
    }
}

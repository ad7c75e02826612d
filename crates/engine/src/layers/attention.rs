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
//! The `N` samples run in parallel, each its `H` blocks in order (their
//! products are small: `T × d_h` by `d_h × T`) on one thread with
//! [`matmul_strided`], so every block is summed in the same order on any
//! thread count. Q, K and V are read in place as column views (row stride
//! 3D) of the projection's output, and ∂Q, ∂K, ∂V written in place into
//! its input gradient: no copies. Kept for backward: the projection's
//! output, P (`H·T²` per sample) and the merged heads; a `T × T` scratch
//! per block holds A in forward and ∂A, ∂S in backward. No mask is stored.
//! Streams: attention probabilities, DropHead, and the projection's.

use dropout::{AttentionDropout, Pass, Shape, Variant, VariantKind};
use rayon::prelude::*;

use crate::error::EngineError;
use crate::layer::{Ctx, Layer, Param};
use crate::layers::Dense;
use crate::matmul::{matmul_strided, Lead, Trans};
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
    p: Vec<f32>,
    a: Vec<f32>,
    o: Vec<f32>,
    merged: Tensor,
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
            p: Vec::new(),
            a: Vec::new(),
            o: Vec::new(),
            merged: Tensor::default(),
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
        self.o.resize(n * h * t * dh, 0.0);
        self.p.resize(n * h * t * t, 0.0);
        self.a.resize(n * h * t * t, 0.0);
        let qkv = &self.qkv.output().data;
        let (attn, causal, mode) = (self.attn, self.causal, ctx.dropout_mode());
        let key = ctx.key(self.sites.probs.1);
        let scale = 1.0 / (dh as f32).sqrt();
        let (d, tt, td) = (self.d, t * t, t * dh);
        // One task per sample; its heads in order. Q, K, V of head hi are
        // column views (row stride 3D) of the sample's Q K V rows.
        self.p
            .par_chunks_mut(h * tt)
            .zip(self.a.par_chunks_mut(h * tt))
            .zip(self.o.par_chunks_mut(h * td))
            .zip(qkv.par_chunks(t * 3 * d))
            .enumerate()
            .for_each(|(ni, (((p, a), o), rows))| {
                for hi in 0..h {
                    let b = ni * h + hi;
                    let (q, k, v) = (
                        &rows[hi * dh..],
                        &rows[d + hi * dh..],
                        &rows[2 * d + hi * dh..],
                    );
                    let (p, a) = (&mut p[hi * tt..][..tt], &mut a[hi * tt..][..tt]);
                    let t_ = Trans { a: false, b: true };
                    let ld = Lead {
                        a: 3 * d,
                        b: 3 * d,
                        c: t,
                    };
                    matmul_strided(t, dh, t, q, k, p, ld, t_, false);
                    p.iter_mut().for_each(|s| *s *= scale);
                    attn.forward(key, mode, b as u64, t, causal, p, a)
                        .expect("block sizes fixed above");
                    let t_ = Trans { a: false, b: false };
                    let ld = Lead {
                        a: t,
                        b: 3 * d,
                        c: dh,
                    };
                    matmul_strided(t, t, dh, a, v, &mut o[hi * td..][..td], ld, t_, false);
                }
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
        self.dqkv.resize(&[n, t, 3 * self.d]);
        let (qkv, o) = (&self.qkv.output().data, &self.o);
        let (attn, key) = (self.attn, ctx.key(self.sites.probs.1));
        let scale = 1.0 / (dh as f32).sqrt();
        let (d, tt, td) = (self.d, t * t, t * dh);
        // One task per sample, as in forward: ∂Q, ∂K, ∂V of head hi go
        // straight into their columns of the sample's ∂(Q K V) rows.
        self.p
            .par_chunks(h * tt)
            .zip(self.a.par_chunks_mut(h * tt))
            .zip(o.par_chunks(h * td))
            .zip(
                qkv.par_chunks(t * 3 * d)
                    .zip(self.dqkv.data.par_chunks_mut(t * 3 * d)),
            )
            .enumerate()
            .for_each(|(ni, (((p, a), o), (rows, drows)))| {
                for hi in 0..h {
                    let b = ni * h + hi;
                    let (p, a, o) = (
                        &p[hi * tt..][..tt],
                        &mut a[hi * tt..][..tt],
                        &o[hi * td..][..td],
                    );
                    let (q, k, v) = (
                        &rows[hi * dh..],
                        &rows[d + hi * dh..],
                        &rows[2 * d + hi * dh..],
                    );
                    let (nn, tn, nt) = (
                        Trans { a: false, b: false },
                        Trans { a: true, b: false },
                        Trans { a: false, b: true },
                    );
                    attn.mask(key, mode, b as u64, p, a)
                        .expect("block sizes fixed in forward");
                    let ld = Lead {
                        a: t,
                        b: dh,
                        c: 3 * d,
                    };
                    matmul_strided(t, t, dh, a, o, &mut drows[2 * d + hi * dh..], ld, tn, false);
                    let ld = Lead {
                        a: dh,
                        b: 3 * d,
                        c: t,
                    };
                    matmul_strided(t, dh, t, o, v, a, ld, nt, false);
                    attn.backward(key, mode, b as u64, t, p, a)
                        .expect("block sizes fixed in forward");
                    a.iter_mut().for_each(|g| *g *= scale);
                    let ld = Lead {
                        a: t,
                        b: 3 * d,
                        c: 3 * d,
                    };
                    matmul_strided(t, t, dh, a, k, &mut drows[hi * dh..], ld, nn, false);
                    matmul_strided(t, t, dh, a, q, &mut drows[d + hi * dh..], ld, tn, false);
                }
            });
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

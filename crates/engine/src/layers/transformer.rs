//! A pre-LN Transformer block (GPT-2's and ViT's) over `(N, T, D)` tokens,
//! with dropout at each usual site and DropPath on both branches:
//!
//! ```text
//! a  = attn(LN₁(x))                       attention-probability dropout, DropHead and the
//!                                         residual dropout inside (layers/attention.rs)
//! x₁ = x + drop_path₁(a)
//! m  = resid_dropout(fc₂(mlp_dropout(gelu(fc₁(LN₂(x₁))))))    fc₁: D → 4D (or the given width), fc₂: back to D
//! y  = x₁ + drop_path₂(m)
//! backward: ∂x₁ = ∂y + LN₂'ᵀ(… drop_path₂'(∂y)),   ∂x = ∂x₁ + LN₁'ᵀ(attn'ᵀ(drop_path₁'(∂x₁)))
//! ```
//! DropPath (Huang et al. 2016) keeps or drops a branch for a whole sample
//! (`T·D` values, one coin per sample, each branch its own stream). The
//! parts are ordinary engine layers: [`LayerNorm`] and [`Dense`] read the
//! tokens as rows; parameters are named `ln1.*`, `attn.*`, `ln2.*`,
//! `mlp.fc1.*`, `mlp.fc2.*`.

use dropout::{DropPath, PathScope};

use crate::error::EngineError;
use crate::layer::{Ctx, Layer, Param};
use crate::layers::{
    Activation, ActivationLayer, AttentionSites, Dense, DropoutKind, DropoutLayer, LayerNorm,
    SelfAttention,
};
use crate::tensor::Tensor;

/// The sites of one block beyond the attention's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockSites {
    /// The attention's three sites.
    pub attn: AttentionSites,
    /// MLP hidden dropout (after GELU): (rate, stream).
    pub mlp: (f32, u32),
    /// MLP output (residual) dropout: (rate, stream).
    pub mlp_resid: (f32, u32),
    /// DropPath on both branches: (rate, first of two streams).
    pub path: (f32, u32),
}

/// See [`TransformerBlock::pass`].
struct Pass {
    inner: Ctx,
    n: usize,
    cols: usize,
    mode: dropout::Mode,
    k1: dropout::MaskKey,
    k2: dropout::MaskKey,
}

/// A pre-LN Transformer block.
pub struct TransformerBlock {
    ln1: LayerNorm,
    /// The attention.
    pub attn: SelfAttention,
    ln2: LayerNorm,
    /// The MLP's first layer `D → hidden`.
    pub fc1: Dense,
    act: ActivationLayer,
    drop: DropoutLayer,
    /// The MLP's second layer `hidden → D`, with the residual dropout.
    pub fc2: Dense,
    path: DropPath,
    sites: BlockSites,
    x1: Tensor,
    y: Tensor,
    db: Tensor,
    dx1: Tensor,
    dx: Tensor,
}

impl TransformerBlock {
    /// A block of width `d`, `heads` heads, MLP width `hidden`, causal or not.
    ///
    /// # Errors
    /// [`EngineError::Dropout`] for a rate outside [0, 1].
    pub fn new(
        d: usize,
        heads: usize,
        hidden: usize,
        causal: bool,
        sites: BlockSites,
    ) -> Result<Self, EngineError> {
        let identity = dropout::Act::Identity;
        Ok(Self {
            ln1: LayerNorm::new(d),
            attn: SelfAttention::new(d, heads, causal, sites.attn)?,
            ln2: LayerNorm::new(d),
            fc1: Dense::new(d, hidden, identity, 0.0, sites.mlp.1)?.per_token(),
            act: ActivationLayer::new(Activation::Gelu),
            drop: DropoutLayer::new(sites.mlp.0, sites.mlp.1, DropoutKind::Element)?,
            fc2: Dense::new(hidden, d, identity, sites.mlp_resid.0, sites.mlp_resid.1)?.per_token(),
            path: DropPath::new(sites.path.0, PathScope::Sample)?,
            sites,
            x1: Tensor::default(),
            y: Tensor::default(),
            db: Tensor::default(),
            dx1: Tensor::default(),
            dx: Tensor::default(),
        })
    }

    /// What both passes need: the parts' context (no MC row groups: the parts'
    /// rows are tokens), samples and values per sample, DropPath's mode and keys.
    fn pass(&self, x: &Tensor, ctx: &Ctx) -> Pass {
        let n = x.rows();
        Pass {
            inner: Ctx {
                mc_group: 0,
                ..*ctx
            },
            n,
            cols: x.len() / n.max(1),
            mode: ctx.dropout_mode(),
            k1: ctx.key(self.sites.path.1),
            k2: ctx.key(self.sites.path.1 + 1),
        }
    }

    /// The DropPath rate of both branches.
    pub fn drop_path(&self) -> f32 {
        self.path.p()
    }
}

impl Layer for TransformerBlock {
    fn describe(&self) -> String {
        let mut s = format!(
            "Block(LN → {} ; LN → {} → gelu",
            self.attn.describe(),
            self.fc1.describe()
        );
        if self.sites.mlp.0 > 0.0 {
            s += &format!(" → dropout {}", self.sites.mlp.0);
        }
        s += &format!(" → {}", self.fc2.describe());
        if self.path.p() > 0.0 {
            s += &format!("; DropPath {}", self.path.p());
        }
        s + ")"
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, EngineError> {
        self.attn.output_shape(input)
    }

    fn forward(&mut self, x: &Tensor, ctx: &Ctx) {
        let Pass {
            inner,
            n,
            cols,
            mode,
            k1,
            k2,
        } = self.pass(x, ctx);
        self.ln1.forward(x, &inner);
        self.attn.forward(self.ln1.output(), &inner);
        self.x1.resize(&x.shape);
        self.path
            .forward(
                k1,
                mode,
                n,
                cols,
                &x.data,
                &self.attn.output().data,
                &mut self.x1.data,
            )
            .expect("shapes fixed by the model");
        self.ln2.forward(&self.x1, &inner);
        self.fc1.forward(self.ln2.output(), &inner);
        self.act.forward(self.fc1.output(), &inner);
        self.drop.forward(self.act.output(), &inner);
        self.fc2.forward(self.drop.output(), &inner);
        self.y.resize(&x.shape);
        self.path
            .forward(
                k2,
                mode,
                n,
                cols,
                &self.x1.data,
                &self.fc2.output().data,
                &mut self.y.data,
            )
            .expect("shapes fixed by the model");
    }

    fn output(&self) -> &Tensor {
        &self.y
    }

    fn backward(&mut self, x: &Tensor, dy: &mut Tensor, ctx: &Ctx, need_dx: bool) {
        let Pass {
            inner,
            n,
            cols,
            mode,
            k1,
            k2,
        } = self.pass(x, ctx);
        // The MLP branch.
        self.db.resize(&x.shape);
        self.path
            .backward_branch(k2, mode, n, cols, &dy.data, &mut self.db.data)
            .expect("shapes fixed by the model");
        self.fc2
            .backward(self.drop.output(), &mut self.db, &inner, true);
        self.drop
            .backward(self.act.output(), self.fc2.input_grad(), &inner, true);
        self.act
            .backward(self.fc1.output(), self.drop.input_grad(), &inner, true);
        self.fc1
            .backward(self.ln2.output(), self.act.input_grad(), &inner, true);
        self.ln2
            .backward(&self.x1, self.fc1.input_grad(), &inner, true);
        self.dx1.resize(&x.shape);
        for ((o, a), b) in self
            .dx1
            .data
            .iter_mut()
            .zip(&dy.data)
            .zip(&self.ln2.input_grad().data)
        {
            *o = a + b;
        }
        // The attention branch.
        self.path
            .backward_branch(k1, mode, n, cols, &self.dx1.data, &mut self.db.data)
            .expect("shapes fixed by the model");
        self.attn
            .backward(self.ln1.output(), &mut self.db, &inner, true);
        self.ln1
            .backward(x, self.attn.input_grad(), &inner, need_dx);
        if need_dx {
            self.dx.resize(&x.shape);
            for ((o, a), b) in self
                .dx
                .data
                .iter_mut()
                .zip(&self.dx1.data)
                .zip(&self.ln1.input_grad().data)
            {
                *o = a + b;
            }
        }
    }

    fn input_grad(&mut self) -> &mut Tensor {
        &mut self.dx
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_>)) {
        let named =
            |layer: &mut dyn Layer, names: [&'static str; 2], f: &mut dyn FnMut(Param<'_>)| {
                let mut i = 0;
                layer.visit_params(&mut |p| {
                    f(Param {
                        name: names[i],
                        ..p
                    });
                    i += 1;
                });
            };
        named(&mut self.ln1, ["ln1.weight", "ln1.bias"], f);
        self.attn.visit_params(f);
        named(&mut self.ln2, ["ln2.weight", "ln2.bias"], f);
        named(&mut self.fc1, ["mlp.fc1.weight", "mlp.fc1.bias"], f);
        named(&mut self.fc2, ["mlp.fc2.weight", "mlp.fc2.bias"], f);
    }

    fn set_dropout_factor(&mut self, factor: f32) {
        self.attn.set_dropout_factor(factor);
        self.drop.set_dropout_factor(factor);
        self.fc2.set_dropout_factor(factor);
        let p = (self.sites.path.0 * factor).clamp(0.0, 1.0);
        self.path = DropPath::new(p, PathScope::Sample).expect("a rate in [0, 1]");
    }
}

//! A Transformer of an `--arch`: a character-level GPT or a ViT, read from
//! its own tokens (any order after the first, each at most once; a missing
//! one takes the default size):
//!
//! ```text
//! gpt[-lL][-hH][-dD][-mM][-tT][-tie]   default gpt-l4-h4-d128-m512-t64 (nanoGPT's CPU Shakespeare sizes);
//!                                 baby GPT: gpt-l6-h6-d384-t256; `tie`: the head is the token table (no bias)
//! vit[-pP][-lL][-hH][-dD][-mM]    default vit-p7-l4-h4-d64-m256 (7 × 7 patches of a 28 × 28 image: 16 tokens)
//! L blocks, H heads, width D (a multiple of H), MLP width M (default 4·D), context T, patch P
//! ```
//! The output size is the data's: the vocabulary of a text, the classes of
//! images ([`crate::spec::ModelSpec::outputs`]). The layers:
//!
//! ```text
//! gpt: ids (T) → TokenEmbedding (V × D, T × D, dropout) → L causal blocks → LN → Dense per token D → V
//!      (tie: → LN → TiedHead, z = x · wteᵀ: the D·V + V head parameters are not there)
//! vit: image (C, H, W) → PatchEmbedding (P × P → D, dropout) → L blocks → LN → TokenMean → Dense D → classes
//! params = embeddings + L·(4 D + 4 D² + 3 D + D + 2·D·M + M + D) + 2 D + D·V + V
//! floats per sample ≤ 4 T·D (embedding) + L·(34 T·D + 2 H·T² + 7 T·M) + 6 T·D + 3 T·V
//! ```
//! Streams, in order: the embedding dropout, then per block attention
//! probabilities, DropHead, attention residual, MLP hidden, MLP residual and
//! two for DropPath. Initialisation (GPT-2's, as nanoGPT): every weight
//! matrix and embedding `~ N(0, 0.02²)`, the two residual projections
//! (`attn.proj`, `mlp.fc2`) `~ N(0, (0.02/√(2L))²)`, biases 0, LayerNorm 1
//! and 0; weight k in layer order draws from fork k of the builder.
//! DropPath: block l of L gets `drop_path · l / L` (as the residual MLP).

use crate::error::{ArchProblem, EngineError};
use crate::footprint::{mul, Footprint, LayerSize};
use crate::layers::{
    AttentionSites, BlockSites, Dense, LayerNorm, PatchEmbedding, TokenEmbedding, TokenMean,
    TransformerBlock,
};

use super::builder::Builder;

/// The Transformer family an architecture text names by its first token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `gpt…`
    Gpt,
    /// `vit…`
    Vit,
}

/// The family `text` names (`gpt…` or `vit…`), or `None` for another model.
pub fn family(text: &str) -> Option<Family> {
    match text.split('-').next().map(str::trim) {
        Some("gpt") => Some(Family::Gpt),
        Some("vit") => Some(Family::Vit),
        _ => None,
    }
}

/// Which Transformer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransformerKind {
    /// A causal character-level language model with a context of `context` tokens.
    Gpt {
        /// Tokens per window.
        context: usize,
    },
    /// A vision Transformer on `patch × patch` patches, mean-pooled.
    Vit {
        /// The patch side.
        patch: usize,
    },
}

/// The dropout rates of a Transformer (one per site kind).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TransformerDropout {
    /// On the embedding's output.
    pub embed: f32,
    /// On the attention probabilities.
    pub attn: f32,
    /// On each branch's output before it is added (attention and MLP).
    pub resid: f32,
    /// On the MLP's hidden layer.
    pub mlp: f32,
    /// DropHead (whole heads).
    pub head: f32,
    /// DropPath of the deepest block.
    pub path: f32,
}

/// A typed Transformer.
#[derive(Clone, Debug, PartialEq)]
pub struct TransformerSpec {
    /// The architecture text (errors name it).
    pub text: String,
    /// GPT or ViT.
    pub kind: TransformerKind,
    /// Blocks L.
    pub layers: usize,
    /// Heads H.
    pub heads: usize,
    /// Width D.
    pub width: usize,
    /// MLP width M.
    pub hidden: usize,
    /// A GPT's head is its token table (`tie`).
    pub tied: bool,
    /// Output size: vocabulary or classes.
    pub outputs: usize,
    /// The rates.
    pub dropout: TransformerDropout,
    /// The first stream (the embedding's); block l's are `first + 1 + 7 (l − 1) …`.
    pub first_stream: u32,
}

/// Streams per block.
pub const BLOCK_STREAMS: u32 = 7;

/// The largest size a token may give (2^20): every product of sizes stays
/// far inside `u64`, and the parameter bound refuses big models before
/// anything is allocated.
pub const MAX_SIZE: usize = 1 << 20;

impl TransformerSpec {
    /// Read `text` (its first token `gpt` or `vit`) for `outputs` outputs.
    ///
    /// # Errors
    /// [`ArchProblem::Transformer`] for a token outside the grammar, a repeated
    /// one, a zero, or a width that is not a multiple of the heads.
    pub fn read(
        text: &str,
        outputs: usize,
        dropout: TransformerDropout,
        first_stream: u32,
    ) -> Result<Self, EngineError> {
        let err = |why: String| EngineError::arch(text, ArchProblem::Transformer(why));
        let gpt = match family(text) {
            Some(Family::Gpt) => true,
            Some(Family::Vit) => false,
            None => return Err(err("a Transformer starts with gpt or vit".into())),
        };
        let toks = text.split('-').map(str::trim).skip(1);
        let mut seen: [Option<usize>; 6] = [None; 6];
        const LETTERS: &str = "lhdmtp";
        let mut tied = false;
        for t in toks {
            if t == "tie" && gpt && !tied {
                tied = true;
                continue;
            }
            let mut chars = t.chars();
            let letter = chars.next().unwrap_or(' ');
            let slot = LETTERS.find(letter).filter(|&i| i < 4 || (i == 4) == gpt);
            let digits = chars.as_str();
            let value = digits
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| digits.parse::<usize>().ok())
                .flatten()
                .filter(|&v| (1..=MAX_SIZE).contains(&v));
            match (slot, value) {
                (Some(i), Some(v)) if seen[i].is_none() => seen[i] = Some(v),
                (Some(_), Some(_)) => return Err(err(format!("`{t}` repeats a size given before"))),
                _ => {
                    return Err(err(format!(
                        "cannot read `{t}`: expected lL (blocks), hH (heads), dD (width), mM (MLP width){}, each a whole number from 1 to {MAX_SIZE}",
                        if gpt { ", tT (context), tie (the head is the token table; once)" } else { ", pP (patch side)" }
                    )))
                }
            }
        }
        let (layers, heads) = (seen[0].unwrap_or(4), seen[1].unwrap_or(4));
        let width = seen[2].unwrap_or(if gpt { 128 } else { 64 });
        if !width.is_multiple_of(heads) {
            return Err(err(format!(
                "the width {width} is not a multiple of the {heads} heads"
            )));
        }
        let kind = if gpt {
            TransformerKind::Gpt {
                context: seen[4].unwrap_or(64),
            }
        } else {
            TransformerKind::Vit {
                patch: seen[5].unwrap_or(7),
            }
        };
        Ok(Self {
            text: text.to_string(),
            kind,
            layers,
            heads,
            width,
            hidden: seen[3].unwrap_or(4 * width),
            tied,
            outputs,
            dropout,
            first_stream,
        })
    }

    /// The streams this model numbers.
    pub fn streams(&self) -> u32 {
        1 + BLOCK_STREAMS * self.layers as u32
    }

    /// Tokens per sample for per-sample input `input`.
    fn tokens(&self, input: &[u64]) -> u64 {
        match self.kind {
            TransformerKind::Gpt { context } => input.first().copied().unwrap_or(context as u64),
            TransformerKind::Vit { patch } => {
                let p = patch as u64;
                input.get(1).map_or(0, |h| h / p) * input.get(2).map_or(0, |w| w / p)
            }
        }
    }

    /// Append the model's layers for per-sample input `input`; returns the output shape.
    pub(crate) fn build(
        &self,
        input: &[usize],
        b: &mut Builder,
    ) -> Result<Vec<usize>, EngineError> {
        let err = |p| EngineError::arch(&self.text, p);
        let (d, l, r) = (self.width, self.layers, self.dropout);
        let std = 0.02f64;
        let proj_std = std / (2.0 * l as f64).sqrt();
        if self.outputs == 0 {
            return Err(err(ArchProblem::Transformer(
                "the output size comes from the data, which gave none".into(),
            )));
        }
        let stream = self.first_stream;
        let mut tied_head = None;
        let tokens = match self.kind {
            TransformerKind::Gpt { context } => {
                if input != [context] {
                    return Err(err(ArchProblem::Transformer(format!(
                        "a GPT with context {context} reads windows of {context} token ids, but each sample has shape {input:?}"
                    ))));
                }
                let mut e = TokenEmbedding::new(self.outputs, context, d, r.embed, stream)?;
                b.fill_normal(&mut e.wte().w, std);
                b.fill_normal(&mut e.wpe, std);
                tied_head = self.tied.then(|| e.tied_head());
                b.push(Box::new(e));
                context
            }
            TransformerKind::Vit { patch } => {
                let ok = input.len() == 3
                    && input[1].is_multiple_of(patch)
                    && input[2].is_multiple_of(patch);
                if !ok {
                    return Err(err(ArchProblem::Transformer(format!(
                        "a ViT with {patch} × {patch} patches needs images (C, H, W) with H and W multiples of {patch}, but each sample has shape {input:?}"
                    ))));
                }
                let mut e =
                    PatchEmbedding::new((input[0], input[1], input[2]), patch, d, r.embed, stream)?;
                b.fill_normal(&mut e.weight, std);
                b.fill_normal(&mut e.wpe, std);
                let t = e.tokens();
                b.push(Box::new(e));
                t
            }
        };
        let causal = matches!(self.kind, TransformerKind::Gpt { .. });
        for i in 0..l {
            let s = stream + 1 + BLOCK_STREAMS * i as u32;
            let sites = BlockSites {
                attn: AttentionSites {
                    probs: (r.attn, s),
                    head: (r.head, s + 1),
                    resid: (r.resid, s + 2),
                },
                mlp: (r.mlp, s + 3),
                mlp_resid: (r.resid, s + 4),
                path: (dropout::depth_rate(r.path, i + 1, l), s + 5),
            };
            let mut blk = TransformerBlock::new(d, self.heads, self.hidden, causal, sites)?;
            b.fill_normal(&mut blk.attn.qkv.w, std);
            b.fill_normal(&mut blk.attn.proj.w, proj_std);
            b.fill_normal(&mut blk.fc1.w, std);
            b.fill_normal(&mut blk.fc2.w, proj_std);
            b.push(Box::new(blk));
        }
        b.push(Box::new(LayerNorm::new(d)));
        if let Some(head) = tied_head {
            b.push(Box::new(head));
            return Ok(vec![tokens, self.outputs]);
        }
        let identity = dropout::Act::Identity;
        let mut head = Dense::new(d, self.outputs, identity, 0.0, stream)?;
        b.fill_normal(&mut head.w, std);
        Ok(if causal {
            b.push(Box::new(head.per_token()));
            vec![tokens, self.outputs]
        } else {
            b.push(Box::new(TokenMean::default()));
            b.push(Box::new(head));
            vec![self.outputs]
        })
    }
}

impl Footprint for TransformerSpec {
    fn size(&self, input: &[u64]) -> LayerSize {
        let (t, d, m, v) = (
            self.tokens(input),
            self.width as u64,
            self.hidden as u64,
            self.outputs as u64,
        );
        let (l, h) = (self.layers as u64, self.heads as u64);
        let embed = match self.kind {
            TransformerKind::Gpt { context } => mul(v.saturating_add(context as u64), d),
            TransformerKind::Vit { patch } => {
                let c = input.first().copied().unwrap_or(1);
                mul(mul(c, mul(patch as u64, patch as u64)), d)
                    .saturating_add(d)
                    .saturating_add(mul(t, d))
            }
        };
        let block = mul(4, d)
            .saturating_add(mul(4, mul(d, d)))
            .saturating_add(mul(4, d))
            .saturating_add(mul(2, mul(d, m)))
            .saturating_add(m.saturating_add(d));
        let head = if self.tied {
            0
        } else {
            mul(d, v).saturating_add(v)
        };
        let params = embed
            .saturating_add(mul(l, block))
            .saturating_add(mul(2, d))
            .saturating_add(head);
        let td = mul(t, d);
        let per_block = mul(34, td)
            .saturating_add(mul(2, mul(h, mul(t, t))))
            .saturating_add(mul(7, mul(t, m)));
        let floats = mul(4, td)
            .saturating_add(mul(l, per_block))
            .saturating_add(mul(6, td))
            .saturating_add(mul(3, mul(t, v)));
        let output = match self.kind {
            TransformerKind::Gpt { .. } => vec![t, v],
            TransformerKind::Vit { .. } => vec![v],
        };
        LayerSize {
            params,
            floats_per_sample: floats,
            output,
        }
    }
}

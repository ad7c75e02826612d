//! The layer interface: explicit forward and backward.
//!
//! A layer owns its output `y` and its input gradient `dx`; the model hands
//! each layer its input `x` (the previous layer's output) in both passes, so
//! nothing is copied to be kept for backward. `backward(x, dy)` may overwrite
//! `dy` (scratch), writes `dx = ∂L/∂x` when asked, and **overwrites** each
//! parameter's gradient with this batch's `∂L/∂θ`.
//!
//! Train/eval is explicit in [`Ctx::mode`]; dropout keys are
//! `(ctx.seed, layer's stream, ctx.step)`.
//!
//! MC dropout ([`Ctx::mc_sample`]) may leave the input site deterministic
//! ([`Ctx::mc_input`]) and may share one mask between blocks of rows
//! ([`Ctx::mc_group`]): with `g` rows per block, row `r` uses the mask of
//! block `⌊r/g⌋` — "consistent" masks, the same for every input of an MC sample.

use dropout::{MaskKey, Mode};

use crate::error::EngineError;
use crate::tensor::Tensor;

/// Per-call context: mode and the dropout key parts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ctx {
    /// Train or eval.
    pub mode: Mode,
    /// Run seed (the Philox key of every dropout site).
    pub seed: u64,
    /// Training step (or MC sample index in eval with MC dropout).
    pub step: u32,
    /// MC dropout: dropout layers draw masks although `mode` is eval (every
    /// other layer, e.g. BatchNorm, stays in eval mode; Gal & Ghahramani 2016).
    pub mc: bool,
    /// MC dropout: whether the input-dropout site samples too (else it is the identity).
    pub mc_input: bool,
    /// MC dropout: rows per block sharing one mask (0: each row its own mask).
    pub mc_group: u32,
}

impl Ctx {
    /// A training call at `step`.
    pub const fn train(seed: u64, step: u32) -> Self {
        Self {
            mode: Mode::Train,
            seed,
            step,
            mc: false,
            mc_input: true,
            mc_group: 0,
        }
    }

    /// A deterministic evaluation call.
    pub fn eval() -> Self {
        Self {
            mode: Mode::Eval,
            seed: 0,
            step: 0,
            mc: false,
            mc_input: true,
            mc_group: 0,
        }
    }

    /// MC-dropout sample `t`: eval everywhere except the dropout masks.
    pub fn mc_sample(seed: u64, t: u32) -> Self {
        Self {
            mode: Mode::Eval,
            seed,
            step: t,
            mc: true,
            mc_input: true,
            mc_group: 0,
        }
    }

    /// This MC call with the input site deterministic (`false`) or sampled.
    pub fn with_mc_input(self, sampled: bool) -> Self {
        Self {
            mc_input: sampled,
            ..self
        }
    }

    /// This MC call with blocks of `rows` rows sharing one mask (0: none).
    pub fn with_mc_group(self, rows: u32) -> Self {
        Self {
            mc_group: rows,
            ..self
        }
    }

    /// The mode dropout layers use.
    pub fn dropout_mode(&self) -> Mode {
        if self.mc {
            Mode::Train
        } else {
            self.mode
        }
    }

    /// The mode of a dropout site; `input`: it is the input-dropout site.
    pub fn site_mode(&self, input: bool) -> Mode {
        if self.mc && input && !self.mc_input {
            Mode::Eval
        } else {
            self.dropout_mode()
        }
    }

    /// The rows per shared mask of this call, if masks are shared (MC only).
    pub fn shared_rows(&self) -> Option<usize> {
        (self.mc && self.mc_group > 0).then_some(self.mc_group as usize)
    }

    /// The mask key of dropout site `stream` in this call.
    pub fn key(&self, stream: u32) -> MaskKey {
        MaskKey::new(self.seed, stream, self.step)
    }
}

/// What kind of tensor a parameter is (decides weight decay and max-norm).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// A weight matrix `[out, fan_in…]`: decayed; max-norm applies per output row.
    Weight,
    /// A bias or a normalisation scale/shift: not decayed.
    Other,
}

/// A parameter as the optimizer sees it.
pub struct Param<'a> {
    /// Name, e.g. `"weight"`; the model prefixes the layer index.
    pub name: &'static str,
    /// The values.
    pub value: &'a mut [f32],
    /// This batch's gradient.
    pub grad: &'a mut [f32],
    /// Its kind.
    pub kind: ParamKind,
    /// Length of one output unit's incoming weight vector (for max-norm).
    pub row: usize,
    /// Shape for checkpoints.
    pub shape: Dims,
}

/// A small fixed-capacity shape (up to 4 dims), so visiting parameters in
/// the training step allocates nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims {
    len: usize,
    d: [usize; 4],
}

impl Dims {
    /// From up to 4 dimensions.
    pub fn new(dims: &[usize]) -> Self {
        assert!(dims.len() <= 4, "at most 4 dims");
        let mut d = [0; 4];
        d[..dims.len()].copy_from_slice(dims);
        Self { len: dims.len(), d }
    }

    /// The dimensions.
    pub fn as_slice(&self) -> &[usize] {
        &self.d[..self.len]
    }
}

/// Non-trainable state saved with a checkpoint (e.g. BatchNorm running stats).
pub struct Buffer<'a> {
    /// Name, e.g. `"running_mean"`.
    pub name: &'static str,
    /// The values.
    pub value: &'a mut [f32],
}

/// One layer of a model.
pub trait Layer: Send {
    /// A one-line description, e.g. `Dense(784→1024, relu, dropout 0.5)`.
    fn describe(&self) -> String;
    /// Per-sample output shape for a per-sample input shape.
    ///
    /// # Errors
    /// [`EngineError::Shape`] if the layer cannot take that input.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, EngineError>;
    /// Compute the output from `x` (batch-first).
    fn forward(&mut self, x: &Tensor, ctx: &Ctx);
    /// The output of the last forward.
    fn output(&self) -> &Tensor;
    /// Backward from `dy` (may be overwritten); writes `dx` if `need_dx`.
    fn backward(&mut self, x: &Tensor, dy: &mut Tensor, ctx: &Ctx, need_dx: bool);
    /// The input gradient of the last backward.
    fn input_grad(&mut self) -> &mut Tensor;
    /// Visit the trainable parameters in a fixed order.
    fn visit_params(&mut self, _f: &mut dyn FnMut(Param<'_>)) {}
    /// Visit non-trainable state in a fixed order.
    fn visit_buffers(&mut self, _f: &mut dyn FnMut(Buffer<'_>)) {}
    /// Run every dropout site of this layer at `factor` × its configured rate
    /// (a dropout schedule; 1 restores the configured rates).
    fn set_dropout_factor(&mut self, _factor: f32) {}
    /// A dropout rate the layer learns (Concrete dropout), if any.
    fn learned_rate(&self) -> Option<f32> {
        None
    }
}

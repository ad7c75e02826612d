//! A sequential model: layers in order, each fed the previous one's output.
//!
//! ```text
//! forward:  a_0 = input,  a_i = layer_i(a_{i−1}),  logits = a_L
//! backward: g_L = ∂L/∂logits,  g_{i−1} = layer_i.backward(a_{i−1}, g_i)
//! ```
//! The model owns the input buffer (the trainer copies a batch into it) and
//! the logits' gradient; every other buffer belongs to a layer and is reused
//! from step to step, so a training step allocates nothing once the buffers
//! have seen the largest batch.

use dropout::Mode;

use crate::error::EngineError;
use crate::layer::{Buffer, Ctx, Layer, Param};
use crate::loss::{softmax_cross_entropy, LossOut};
use crate::tensor::Tensor;

/// Layers in sequence.
pub struct Sequential {
    layers: Vec<Box<dyn Layer>>,
    sample_shape: Vec<usize>,
    classes: usize,
    /// The batch input, `(N, sample_shape…)`.
    pub input: Tensor,
    dlogits: Tensor,
    first_trainable: usize,
    buffer_floats: u64,
}

impl Sequential {
    /// Chain `layers` for inputs of per-sample shape `sample_shape`; the last
    /// layer's output size is the number of classes.
    ///
    /// # Errors
    /// [`EngineError::Shape`] if a layer cannot take its predecessor's output.
    pub fn new(
        mut layers: Vec<Box<dyn Layer>>,
        sample_shape: &[usize],
    ) -> Result<Self, EngineError> {
        let mut shape = sample_shape.to_vec();
        for l in &layers {
            shape = l.output_shape(&shape)?;
        }
        // A classifier's (N, K) logits, or a language model's (N, T, K): K classes.
        let classes = if shape.len() > 1 {
            shape.last().copied().unwrap_or(0)
        } else {
            shape.iter().product()
        };
        let first_trainable = layers
            .iter_mut()
            .position(|l| {
                let mut any = false;
                l.visit_params(&mut |_| any = true);
                any
            })
            .unwrap_or(usize::MAX);
        Ok(Self {
            layers,
            sample_shape: sample_shape.to_vec(),
            classes,
            input: Tensor::default(),
            dlogits: Tensor::default(),
            first_trainable,
            buffer_floats: 0,
        })
    }

    /// f32 buffers per sample over all layers: what one more sample in a
    /// batch costs (see [`crate::arch::Arch::size`]; for models not built from a
    /// typed description, three buffers per layer output).
    pub fn buffer_floats_per_sample(&self) -> u64 {
        if self.buffer_floats > 0 {
            return self.buffer_floats;
        }
        let mut shape = self.sample_shape.clone();
        let mut n = 2 * shape.iter().product::<usize>() as u64;
        for l in &self.layers {
            shape = l.output_shape(&shape).unwrap_or_default();
            n += 3 * shape.iter().product::<usize>() as u64;
        }
        n
    }

    /// Record [`buffer_floats_per_sample`](Self::buffer_floats_per_sample) as estimated by the builder.
    pub fn set_buffer_floats(&mut self, floats: u64) {
        self.buffer_floats = floats;
    }

    /// Per-sample input shape.
    pub fn sample_shape(&self) -> &[usize] {
        &self.sample_shape
    }

    /// Output size.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The layers.
    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }

    /// Mutable access to the layers.
    pub fn layers_mut(&mut self) -> &mut [Box<dyn Layer>] {
        &mut self.layers
    }

    /// Run every dropout site at `factor` × its configured rate (a dropout
    /// schedule sets this before each step; 1 restores the configured rates).
    pub fn set_dropout_factor(&mut self, factor: f32) {
        for l in &mut self.layers {
            l.set_dropout_factor(factor);
        }
    }

    /// Size the input buffer for a batch of `n` and return its data to fill.
    pub fn input_mut(&mut self, n: usize) -> &mut [f32] {
        // In place, so alternating batch sizes (training, then the last
        // smaller batch of an evaluation) never allocate once grown.
        let t = &mut self.input;
        if t.shape.len() != self.sample_shape.len() + 1 || t.shape[1..] != self.sample_shape[..] {
            t.shape.clear();
            t.shape.push(n);
            t.shape.extend_from_slice(&self.sample_shape);
        }
        t.shape[0] = n;
        t.data
            .resize(n * self.sample_shape.iter().product::<usize>(), 0.0);
        &mut t.data
    }

    /// Forward the current input; returns the logits.
    pub fn forward(&mut self, ctx: &Ctx) -> &Tensor {
        for i in 0..self.layers.len() {
            let (before, rest) = self.layers.split_at_mut(i);
            let x = if i == 0 {
                &self.input
            } else {
                before[i - 1].output()
            };
            rest[0].forward(x, ctx);
        }
        self.logits()
    }

    /// The logits of the last forward.
    pub fn logits(&self) -> &Tensor {
        self.layers.last().map_or(&self.input, |l| l.output())
    }

    /// Backward from the gradient left in the logits' gradient buffer. A
    /// layer computes its input gradient only if some layer before it has
    /// parameters (nothing upstream of the first weights needs a gradient).
    fn backward(&mut self, ctx: &Ctx) {
        let n = self.layers.len();
        let first_trainable = self.first_trainable;
        for i in ((first_trainable.min(n))..n).rev() {
            let (before, rest) = self.layers.split_at_mut(i);
            let (cur, after) = rest.split_first_mut().expect("i < n");
            let x = if i == 0 {
                &self.input
            } else {
                before[i - 1].output()
            };
            let dy = if i + 1 == n {
                &mut self.dlogits
            } else {
                after[0].input_grad()
            };
            cur.backward(x, dy, ctx, i > first_trainable);
        }
    }

    /// Forward, softmax cross-entropy against `labels`, backward: every
    /// parameter gradient now holds this batch's mean-loss gradient.
    ///
    /// # Errors
    /// [`EngineError::Label`] / [`EngineError::Shape`] for bad labels.
    pub fn forward_backward(&mut self, labels: &[u32], ctx: &Ctx) -> Result<LossOut, EngineError> {
        self.forward(ctx);
        let logits = self.layers.last().map_or(&self.input, |l| l.output());
        let out = softmax_cross_entropy(logits, labels, Some(&mut self.dlogits))?;
        self.backward(ctx);
        Ok(out)
    }

    /// Evaluate (eval mode, no gradients): loss and correct count.
    ///
    /// # Errors
    /// As [`forward_backward`](Self::forward_backward).
    pub fn evaluate(&mut self, labels: &[u32], ctx: &Ctx) -> Result<LossOut, EngineError> {
        debug_assert_eq!(ctx.mode, Mode::Eval);
        self.forward(ctx);
        softmax_cross_entropy(self.logits(), labels, None)
    }

    /// Visit every parameter with its layer index, in a fixed order.
    pub fn visit_params(&mut self, f: &mut dyn FnMut(usize, Param<'_>)) {
        for (i, l) in self.layers.iter_mut().enumerate() {
            l.visit_params(&mut |p| f(i, p));
        }
    }

    /// Visit every non-trainable buffer with its layer index.
    pub fn visit_buffers(&mut self, f: &mut dyn FnMut(usize, Buffer<'_>)) {
        for (i, l) in self.layers.iter_mut().enumerate() {
            l.visit_buffers(&mut |b| f(i, b));
        }
    }

    /// Number of trainable scalars.
    pub fn num_params(&mut self) -> usize {
        let mut n = 0;
        self.visit_params(&mut |_, p| n += p.value.len());
        n
    }

    /// The rates the layers learn (Concrete dropout), in layer order.
    pub fn learned_rates(&self) -> Vec<f32> {
        self.layers
            .iter()
            .filter_map(|l| l.learned_rate())
            .collect()
    }

    /// A multi-line summary of the layers.
    pub fn describe(&self) -> String {
        self.layers
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{i:>3}  {}", l.describe()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

//! Evaluation: a model's mean loss and accuracy on a data set, in eval mode
//! (no dropout), in batches sized to bounded memory.
//!
//! ```text
//! loss = (1/n) Σ_i −log softmax(f(x_i))_{y_i}      acc = (1/n) Σ_i [argmax f(x_i) = y_i]
//! (a language model: i runs over every position of every window, so the loss is per character)
//! batch = max(min(1000, ⌊512 MiB / (4 · floats per sample)⌋), min(train batch, 1000))
//! ```

use engine::layer::Ctx;
use engine::Sequential;
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::Result;

/// Loss and accuracy on a data set.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Score {
    /// Mean cross-entropy.
    pub loss: f64,
    /// Accuracy in [0, 1].
    pub acc: f64,
}

/// The scores of one evaluation (eval mode, no dropout).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Evaluation {
    /// Training set.
    pub train: Score,
    /// Validation set (absent without a validation split).
    pub val: Option<Score>,
    /// Test set.
    pub test: Score,
    /// Generalisation gap: train accuracy − test accuracy.
    pub gap: f64,
}

/// Most memory the buffers of one evaluation batch should take (512 MiB).
const EVAL_BATCH_BYTES: u64 = 512 << 20;

/// The evaluation batch for `model`: up to 1,000 samples, fewer when that
/// would need more than 512 MiB of buffers, never fewer than `train_batch`.
pub fn eval_batch(model: &Sequential, train_batch: usize) -> usize {
    let per_sample = model.buffer_floats_per_sample().max(1);
    let fit = (EVAL_BATCH_BYTES / (4 * per_sample)).max(1);
    (fit.min(1000) as usize).max(train_batch.min(1000))
}

/// Evaluate `model` on `data` in batches (eval mode).
///
/// # Errors
/// [`crate::LabError::Engine`] for labels the model cannot take.
pub fn evaluate(model: &mut Sequential, data: &Dataset, batch: usize) -> Result<Score> {
    if data.is_empty() {
        return Ok(Score::default());
    }
    let (d, k) = (data.dim(), data.targets());
    let (mut loss, mut correct) = (0.0, 0usize);
    for start in (0..data.len()).step_by(batch) {
        let n = batch.min(data.len() - start);
        model
            .input_mut(n)
            .copy_from_slice(&data.x[start * d..(start + n) * d]);
        let out = model.evaluate(&data.y[start * k..(start + n) * k], &Ctx::eval())?;
        loss += out.loss_sum;
        correct += out.correct;
    }
    Ok(Score {
        loss: loss / data.y.len() as f64,
        acc: correct as f64 / data.y.len() as f64,
    })
}

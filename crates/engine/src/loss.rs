//! Softmax cross-entropy, numerically stable.
//!
//! For logits `z` (N × K) and labels `t` — or `(N, T, K)` logits of a
//! language model, read as N·T rows, one label per token:
//! ```text
//! log softmax(z)_k = z_k − m − ln Σ_j e^(z_j − m),   m = max_j z_j
//! L = −(1/N) Σ_i log softmax(z_i)_{t_i}
//! ∂L/∂z_ik = (softmax(z_i)_k − [k = t_i]) / N
//! ```
//!
//! ```
//! use engine::{loss::softmax_cross_entropy, Tensor};
//! let z = Tensor::from_vec(vec![1000.0, 0.0, 0.0, 1000.0], &[2, 2]);
//! let mut dz = Tensor::default();
//! let out = softmax_cross_entropy(&z, &[0, 1], Some(&mut dz)).unwrap();
//! assert!(out.loss_sum.abs() < 1e-6 && out.correct == 2); // no overflow at 1000
//! ```

use crate::error::EngineError;
use crate::tensor::Tensor;

/// Loss and accuracy of a batch.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LossOut {
    /// Sum (not mean) of the per-sample losses.
    pub loss_sum: f64,
    /// Samples whose arg-max logit is the label.
    pub correct: usize,
}

/// Loss and (optionally) its gradient w.r.t. the logits, `dz` resized to match.
///
/// # Errors
/// [`EngineError::Label`] for a label ≥ K; [`EngineError::Shape`] if the
/// label count is not N.
pub fn softmax_cross_entropy(
    z: &Tensor,
    labels: &[u32],
    dz: Option<&mut Tensor>,
) -> Result<LossOut, EngineError> {
    let k = z.shape.last().copied().unwrap_or(0).max(1);
    let n = z.len() / k;
    if labels.len() != n {
        return Err(EngineError::Shape {
            layer: "the loss".into(),
            got: vec![labels.len()],
            expected: format!("one label per row of logits ({n})"),
        });
    }
    if let Some((row, &l)) = labels.iter().enumerate().find(|(_, &l)| l as usize >= k) {
        return Err(EngineError::Label {
            label: l as usize,
            row,
            classes: k,
        });
    }
    let mut out = LossOut::default();
    let mut dz = dz;
    if let Some(d) = dz.as_deref_mut() {
        d.resize(&z.shape);
    }
    for i in 0..n {
        let row = &z.data[i * k..(i + 1) * k];
        let t = labels[i] as usize;
        let (mut arg, mut m) = (0, f32::NEG_INFINITY);
        for (j, &v) in row.iter().enumerate() {
            if v > m {
                m = v;
                arg = j;
            }
        }
        let sum: f64 = row.iter().map(|&v| f64::from(v - m).exp()).sum();
        let lse = sum.ln();
        out.loss_sum += lse - f64::from(row[t] - m);
        out.correct += usize::from(arg == t);
        if let Some(d) = dz.as_deref_mut() {
            let inv_n = 1.0 / n as f64;
            for j in 0..k {
                let p = (f64::from(row[j] - m) - lse).exp();
                let onehot = if j == t { 1.0 } else { 0.0 };
                d.data[i * k + j] = ((p - onehot) * inv_n) as f32;
            }
        }
    }
    Ok(out)
}

/// Row-wise softmax probabilities of logits (N × K, or any shape read as
/// rows of its last axis), into `p`.
pub fn softmax(z: &Tensor, p: &mut Vec<f64>) {
    let k = z.shape.last().copied().unwrap_or(0).max(1);
    let n = z.len() / k;
    p.resize(n * k, 0.0);
    for i in 0..n {
        let row = &z.data[i * k..(i + 1) * k];
        let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum: f64 = row.iter().map(|&v| f64::from(v - m).exp()).sum();
        for j in 0..k {
            p[i * k + j] = f64::from(row[j] - m).exp() / sum;
        }
    }
}

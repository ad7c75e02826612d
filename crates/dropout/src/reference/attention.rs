//! References of DropHead and of attention-probability dropout, one
//! element (one Philox block) at a time, straight from the formulas of
//! `drophead.rs` and `attention.rs`; the softmax in f64 with the standard
//! library's `exp`.

use super::keep;
use crate::error::{check_len, DropoutError};
use crate::philox::MaskKey;
use crate::rule::Mode;
use crate::{AttentionDropout, DropHead};

/// DropHead over `(N, H, …)`: element `i` of sample `n`, head `h` takes draw `n·H + h`.
///
/// # Errors
/// [`DropoutError::NotHeads`] for fewer than 2 dimensions; [`DropoutError::LengthMismatch`].
pub fn drophead_forward(
    d: &DropHead,
    key: MaskKey,
    mode: Mode,
    dims: &[usize],
    x: &[f32],
    y: &mut [f32],
) -> Result<(), DropoutError> {
    if dims.len() < 2 {
        return Err(DropoutError::NotHeads {
            shape: dims.to_vec(),
        });
    }
    let n: usize = dims.iter().product();
    check_len("input", x.len(), n)?;
    check_len("output", y.len(), n)?;
    let heads = dims[1];
    let inner: usize = dims[2..].iter().product();
    for i in 0..n {
        let (sample, head) = (i / (heads * inner), (i / inner.max(1)) % heads);
        let (k, s) = keep(&d.rule(), key, mode, (sample * heads + head) as u64);
        y[i] = if k { x[i] * s } else { 0.0 };
    }
    Ok(())
}

/// Attention-probability dropout of block `b` (`t × t` scores `s`): the
/// probabilities `P` and `A = dropout(P)`, each element by itself.
pub fn attention_dropout_forward(
    d: &AttentionDropout,
    key: MaskKey,
    mode: Mode,
    b: u64,
    t: usize,
    causal: bool,
    s: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    let mut p = vec![0.0f32; t * t];
    let mut a = vec![0.0f32; t * t];
    for i in 0..t {
        let len = if causal { i + 1 } else { t };
        let m = (0..len)
            .map(|j| f64::from(s[i * t + j]))
            .fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = (0..len).map(|j| (f64::from(s[i * t + j]) - m).exp()).sum();
        for j in 0..len {
            let pij = ((f64::from(s[i * t + j]) - m).exp() / z) as f32;
            p[i * t + j] = pij;
            let (k, sc) = keep(
                &d.rule(),
                key,
                mode,
                b * (t * t) as u64 + (i * t + j) as u64,
            );
            a[i * t + j] = if k { pij * sc } else { 0.0 };
        }
    }
    (p, a)
}

/// `∂L/∂S` of block `b` from the probabilities `p` and `∂L/∂A` (`da`), in f64.
pub fn attention_dropout_backward(
    d: &AttentionDropout,
    key: MaskKey,
    mode: Mode,
    b: u64,
    t: usize,
    p: &[f32],
    da: &[f32],
) -> Vec<f32> {
    let mut ds = vec![0.0f32; t * t];
    for i in 0..t {
        let dp: Vec<f64> = (0..t)
            .map(|j| {
                let (k, sc) = keep(
                    &d.rule(),
                    key,
                    mode,
                    b * (t * t) as u64 + (i * t + j) as u64,
                );
                if k {
                    f64::from(da[i * t + j]) * f64::from(sc)
                } else {
                    0.0
                }
            })
            .collect();
        let dot: f64 = (0..t).map(|j| f64::from(p[i * t + j]) * dp[j]).sum();
        for j in 0..t {
            ds[i * t + j] = (f64::from(p[i * t + j]) * (dp[j] - dot)) as f32;
        }
    }
    ds
}

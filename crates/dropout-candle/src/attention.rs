//! Attention-probability dropout fused with the softmax, as a candle op:
//! the `dropout` crate's [`AttentionDropout`] over the last two axes of a
//! `(…, T, T)` score tensor, block `b` the row-major index of the leading
//! axes (`b = n·H + h` for `(N, H, T, T)`):
//!
//! ```text
//! forward   P = softmax(S) over each row (keys j ≤ i when causal),  A = keep ? P/(1 − p) : 0
//!           keep of element (b, i, j) = Philox word b·T² + i·T + j of the key ≥ round(p · 2^32)
//! backward  ∂S = P ⊙ (∂P − Σ_j P ∂P),  ∂P = keep ? ∂A/(1 − p) : 0     (P from S, keep from the key)
//! ```
//! the same bits as the engine's attention layer and the Python package's
//! `attention_dropout` for the same key. In eval (`train = false`) it is the
//! plain softmax (with the causal mask).
//!
//! ```
//! use candle_core::{Device, Tensor};
//! use dropout_candle::{softmax_dropout, MaskKey};
//! let s = Tensor::zeros((2, 3, 4, 4), candle_core::DType::F32, &Device::Cpu)?;
//! let a = softmax_dropout(&s, 0.0, MaskKey::new(1, 0, 0), true, true)?;
//! let row = a.get(0)?.get(0)?.get(1)?.to_vec1::<f32>()?;
//! assert_eq!(row, vec![0.5, 0.5, 0.0, 0.0]); // row 1 sees keys 0 and 1
//! # Ok::<(), candle_core::Error>(())
//! ```

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, Layout, Result, Tensor};
use dropout::{AttentionDropout, MaskKey, Mode};

use crate::err;

/// The op: rate, key, causal mask, train or eval.
#[derive(Clone, Copy, Debug)]
struct SoftmaxDropout {
    drop: AttentionDropout,
    key: MaskKey,
    causal: bool,
    mode: Mode,
}

impl SoftmaxDropout {
    /// Rows of the last axis and its length `T`, checking the last two axes are square.
    fn blocks(dims: &[usize]) -> Result<usize> {
        match dims {
            [.., a, b] if a == b => Ok(*a),
            _ => {
                candle_core::bail!("softmax_dropout takes scores of shape (…, T, T), got {dims:?}")
            }
        }
    }
}

impl CustomOp1 for SoftmaxDropout {
    fn name(&self) -> &'static str {
        "dropout-lab-softmax-dropout"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, candle_core::Shape)> {
        let CpuStorage::F32(x) = s else {
            candle_core::bail!("softmax_dropout takes f32 scores, got {:?}", s.dtype());
        };
        let t = Self::blocks(l.dims())?;
        let mut p = match l.contiguous_offsets() {
            Some((a, b)) => x[a..b].to_vec(),
            None => crate::gather(x, l),
        };
        let mut a = vec![0.0f32; p.len()];
        for (b, (pb, ab)) in p
            .chunks_mut((t * t).max(1))
            .zip(a.chunks_mut((t * t).max(1)))
            .enumerate()
        {
            self.drop
                .forward(self.key, self.mode, b as u64, t, self.causal, pb, ab)
                .map_err(err)?;
        }
        Ok((CpuStorage::F32(a), l.shape().clone()))
    }

    /// `∂S` from the scores (P recomputed) and the incoming `∂A`.
    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let t = Self::blocks(arg.dims())?;
        let mut p = arg.flatten_all()?.to_vec1::<f32>()?;
        let mut g = grad_res.flatten_all()?.to_vec1::<f32>()?;
        let mut scratch = vec![0.0f32; (t * t).max(1)];
        for (b, (pb, gb)) in p
            .chunks_mut((t * t).max(1))
            .zip(g.chunks_mut((t * t).max(1)))
            .enumerate()
        {
            self.drop
                .forward(
                    self.key,
                    self.mode,
                    b as u64,
                    t,
                    self.causal,
                    pb,
                    &mut scratch,
                )
                .map_err(err)?;
            self.drop
                .backward(self.key, self.mode, b as u64, t, pb, gb)
                .map_err(err)?;
        }
        Ok(Some(Tensor::from_vec(g, arg.shape(), arg.device())?))
    }
}

/// `dropout(softmax(scores))` over the last two axes of `(…, T, T)` scores
/// (see the module docs); `train = false`: the softmax alone.
///
/// # Errors
/// `p` outside [0, 1], scores that are not f32 on the CPU or not `(…, T, T)`.
pub fn softmax_dropout(
    scores: &Tensor,
    p: f32,
    key: MaskKey,
    causal: bool,
    train: bool,
) -> Result<Tensor> {
    let op = SoftmaxDropout {
        drop: AttentionDropout::new(p).map_err(err)?,
        key,
        causal,
        mode: if train { Mode::Train } else { Mode::Eval },
    };
    scores.apply_op1(op)
}

//! # dropout-candle — the `dropout` crate as a candle op
//!
//! Dropout for candle tensors with the `dropout` crate's contract: element
//! `e` (its row-major index in the tensor's shape, whatever the storage's
//! strides or offset) is kept iff its Philox4x32-10 word under the key
//! `(seed, stream, step)` is at least `t = round(p · 2^32)`, and
//!
//! ```text
//! forward   y_e  = keep_e · x_e / (1 − p)
//! backward  dx_e = keep_e · dy_e / (1 − p)      keep_e recomputed from (p, key): no mask is stored
//! ```
//!
//! so the mask is the same on any thread count or CPU, and the same as the
//! `dropout` crate's (and the Python package's) for the same key. The op is a
//! candle [`CustomOp1`]; its backward applies a second op built from the same
//! `(p, key)`, so candle's autograd trains through it. f32 on the CPU; other
//! float dtypes are converted to f32 and back by [`dropout()`]; other devices
//! are a clear error.
//!
//! The key is explicit: use a new `step` for every training step
//! ([`DropoutLayer`] counts them), a different `stream` for every dropout
//! site of a model.
//!
//! ```
//! use candle_core::{Device, Tensor};
//! use dropout_candle::{dropout, MaskKey};
//! let x = Tensor::ones((2, 4), candle_core::DType::F32, &Device::Cpu)?;
//! let key = MaskKey { seed: 7, stream: 0, step: 1 };
//! let y = dropout(&x, 0.5, key, true)?;
//! for v in y.flatten_all()?.to_vec1::<f32>()? {
//!     assert!(v == 0.0 || v == 2.0);
//! }
//! assert_eq!(dropout(&x, 0.5, key, false)?.to_vec2::<f32>()?, x.to_vec2::<f32>()?);
//! # Ok::<(), candle_core::Error>(())
//! ```

use std::sync::atomic::{AtomicU32, Ordering};

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor};
pub use dropout::MaskKey;
use dropout::{Dropout, Mode};

/// The dropout op for one `(p, key)`: forward, and (as its own backward) the
/// gradient with the same mask.
#[derive(Clone, Copy, Debug)]
pub struct DropoutOp {
    d: Dropout,
    key: MaskKey,
}

impl DropoutOp {
    /// The op dropping with probability `p` under `key`.
    ///
    /// # Errors
    /// `p` outside [0, 1] or NaN.
    pub fn new(p: f32, key: MaskKey) -> Result<Self> {
        let d = Dropout::new(p).map_err(|e| candle_core::Error::Msg(format!("dropout: {e}")))?;
        Ok(Self { d, key })
    }
}

/// `x`'s elements in row-major order of its shape (any strides, offset, or
/// broadcast dimensions with stride 0), one innermost row at a time: a row
/// of stride 1 is a slice copy, of stride 0 (broadcast) a fill.
fn gather(x: &[f32], l: &Layout) -> Vec<f32> {
    let dims = l.dims();
    let stride = l.stride();
    let n = l.shape().elem_count();
    let mut out = Vec::with_capacity(n);
    advise_huge_pages(&mut out);
    if n == 0 {
        return out;
    }
    let Some((&row, outer)) = dims.split_last() else {
        out.push(x[l.start_offset()]); // a scalar
        return out;
    };
    let inner = stride[dims.len() - 1];
    let mut idx = vec![0usize; outer.len()];
    let mut at = l.start_offset();
    for _ in 0..n / row {
        match inner {
            1 => out.extend_from_slice(&x[at..at + row]),
            0 => out.resize(out.len() + row, x[at]),
            s => out.extend((0..row).map(|i| x[at + i * s])),
        }
        // Odometer over the outer dimensions: advance the last, carrying into earlier ones.
        for d in (0..outer.len()).rev() {
            idx[d] += 1;
            at += stride[d];
            if idx[d] < outer[d] {
                break;
            }
            at -= stride[d] * outer[d];
            idx[d] = 0;
        }
    }
    out
}

/// Ask Linux for 2 MiB pages for a large fresh buffer, before its first
/// touch, as NumPy does for its arrays: one page fault per 2 MiB instead of
/// 512. Advisory; where it is refused (or off Linux) nothing changes.
fn advise_huge_pages(v: &mut Vec<f32>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let (start, bytes) = (v.as_mut_ptr() as usize, v.capacity() * 4);
        if bytes < 4 * HUGE {
            return;
        }
        let first = start.next_multiple_of(HUGE);
        let end = (start + bytes) / HUGE * HUGE;
        if end > first {
            // SAFETY: [first, end) lies inside v's allocation; MADV_HUGEPAGE
            // changes no contents, only how the pages are backed.
            unsafe { libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

impl CustomOp1 for DropoutOp {
    fn name(&self) -> &'static str {
        "dropout-lab-dropout"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(x) = s else {
            candle_core::bail!(
                "dropout-candle: the op takes f32 tensors, got {:?}; use dropout_candle::dropout (it converts) or .to_dtype(DType::F32)",
                s.dtype()
            );
        };
        let y = match l.contiguous_offsets() {
            Some((a, b)) => {
                // No zeroing pass: the kernel writes every element of the spare capacity.
                let mut y = Vec::with_capacity(b - a);
                advise_huge_pages(&mut y);
                self.d
                    .forward_uninit(self.key, Mode::Train, &x[a..b], y.spare_capacity_mut())
                    .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
                // SAFETY: forward_uninit initialised all b − a elements.
                unsafe { y.set_len(b - a) };
                y
            }
            None => {
                let mut y = gather(x, l);
                self.d.forward_inplace(self.key, Mode::Train, &mut y);
                y
            }
        };
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    /// dx = keep · dy / (1 − p): the same op on the incoming gradient.
    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(grad_res.apply_op1_no_bwd(self)?))
    }
}

/// Dropout of `x` with probability `p` under `key` when `train`; the
/// identity otherwise (`x` itself). f32 tensors go straight through the op;
/// f16, bf16 and f64 are converted to f32 and back (the mask is the same).
///
/// # Errors
/// `p` outside [0, 1], an integer dtype, a tensor not on the CPU.
pub fn dropout(x: &Tensor, p: f32, key: MaskKey, train: bool) -> Result<Tensor> {
    let op = DropoutOp::new(p, key)?;
    if !train {
        return Ok(x.clone());
    }
    if !x.device().is_cpu() {
        candle_core::bail!(
            "dropout-candle runs on the CPU; move the tensor with .to_device(&Device::Cpu)"
        );
    }
    match x.dtype() {
        DType::F32 => x.apply_op1(op),
        DType::F16 | DType::BF16 | DType::F64 => {
            x.to_dtype(DType::F32)?.apply_op1(op)?.to_dtype(x.dtype())
        }
        other => candle_core::bail!(
            "dropout-candle: dropout of a {other:?} tensor; it takes float tensors"
        ),
    }
}

/// A dropout site of a model: its rate, seed and stream, and a step counter
/// that advances on every training forward, so each step gets a new mask
/// and backward (candle's autograd) reuses it.
#[derive(Debug)]
pub struct DropoutLayer {
    p: f32,
    seed: u64,
    stream: u32,
    step: AtomicU32,
}

impl DropoutLayer {
    /// A site dropping with probability `p`; `stream` tells sites of one model apart.
    ///
    /// # Errors
    /// `p` outside [0, 1].
    pub fn new(p: f32, seed: u64, stream: u32) -> Result<Self> {
        DropoutOp::new(
            p,
            MaskKey {
                seed,
                stream,
                step: 0,
            },
        )?;
        Ok(Self {
            p,
            seed,
            stream,
            step: AtomicU32::new(0),
        })
    }

    /// The key the next training forward uses.
    pub fn next_key(&self) -> MaskKey {
        MaskKey {
            seed: self.seed,
            stream: self.stream,
            step: self.step.load(Ordering::Relaxed),
        }
    }

    /// Dropout in training (then the step advances), the identity in evaluation.
    ///
    /// # Errors
    /// See [`dropout()`].
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        if !train {
            return Ok(x.clone());
        }
        let key = MaskKey {
            step: self.step.fetch_add(1, Ordering::Relaxed),
            ..self.next_key()
        };
        dropout(x, self.p, key, true)
    }
}

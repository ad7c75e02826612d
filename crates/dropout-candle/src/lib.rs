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
//! `(variant, key)`, so candle's autograd trains through it. f32 on the CPU;
//! other float dtypes are converted to f32 and back by [`dropout()`] and
//! [`apply`]; other devices are a clear error.
//!
//! Every member of the family goes through the same op, [`DropoutOp`],
//! parameterised by a [`Variant`] (`DropoutOp::variant`): plain, alpha,
//! gaussian, noise, concrete, block, path, head, with the tensor's shape as the
//! data's shape and an optional noise shape for the broadcast forms
//! (`with_noise_shape`: spatial dropout, FeatureAlphaDropout, locked
//! dropout). Its backward is the variant's backward with the draws
//! recomputed from the key (`dx = f'ᵀ dy`; the identity for Gaussian noise).
//! DropHead is the `head` member over `(N, H, …)`; attention-probability
//! dropout fused with the softmax is [`softmax_dropout`].
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
//! // Any member: AlphaDropout, one bit per (sample, channel) of (N, C, H, W) maps.
//! use dropout_candle::{apply, DropoutOp, Variant, VariantKind};
//! let maps = Tensor::ones((2, 3, 4, 4), candle_core::DType::F32, &Device::Cpu)?;
//! let alpha = Variant::new(VariantKind::Alpha, 0.2).map_err(candle_core::Error::wrap)?;
//! let op = DropoutOp::variant(alpha, key).with_noise_shape(&[2, 3, 1, 1])?;
//! let y = apply(&maps, op, true)?;
//! # Ok::<(), candle_core::Error>(())
//! ```

use std::sync::atomic::{AtomicU32, Ordering};

mod attention;
pub use attention::softmax_dropout;

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Tensor};
pub use dropout::{MaskKey, PathScope, Variant, VariantKind};
use dropout::{Mode, Pass, Shape, MAX_DIMS};

/// The op of one member of the family under one key: its forward, or (the
/// op its own backward applies) its backward, with an optional noise shape.
#[derive(Clone, Copy, Debug)]
pub struct DropoutOp {
    variant: Variant,
    key: MaskKey,
    pass: Pass,
    /// The noise shape's dimensions, in the first `rank` entries.
    noise: Option<([usize; MAX_DIMS], usize)>,
}

impl DropoutOp {
    /// Plain dropout with probability `p` under `key`.
    ///
    /// # Errors
    /// `p` outside [0, 1] or NaN.
    pub fn new(p: f32, key: MaskKey) -> Result<Self> {
        Ok(Self::variant(
            Variant::new(VariantKind::Plain, p).map_err(err)?,
            key,
        ))
    }

    /// Any member of the family under `key` (the tensor's shape is the data's).
    pub fn variant(variant: Variant, key: MaskKey) -> Self {
        Self {
            variant,
            key,
            pass: Pass::Forward,
            noise: None,
        }
    }

    /// The same op with a broadcast noise shape (one entry per dimension of
    /// the tensor, each equal to it or 1; at most 8), for the element-wise
    /// members (plain, alpha, gaussian, noise).
    ///
    /// # Errors
    /// More than 8 dimensions.
    pub fn with_noise_shape(self, noise: &[usize]) -> Result<Self> {
        if noise.len() > MAX_DIMS {
            candle_core::bail!(
                "dropout-candle: a noise shape has at most {MAX_DIMS} dimensions, got {noise:?}"
            );
        }
        let mut dims = [0; MAX_DIMS];
        dims[..noise.len()].copy_from_slice(noise);
        Ok(Self {
            noise: Some((dims, noise.len())),
            ..self
        })
    }

    /// The op of this op's gradient: the variant's backward with the same key.
    pub fn backward(&self) -> Self {
        Self {
            pass: Pass::Backward,
            ..*self
        }
    }
}

/// A `dropout` crate error as a candle error.
fn err(e: dropout::DropoutError) -> candle_core::Error {
    candle_core::Error::Msg(format!("dropout: {e}"))
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

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, candle_core::Shape)> {
        let CpuStorage::F32(x) = s else {
            candle_core::bail!(
                "dropout-candle: the op takes f32 tensors, got {:?}; use dropout_candle::dropout or apply (they convert) or .to_dtype(DType::F32)",
                s.dtype()
            );
        };
        let noise = self.noise.as_ref().map(|(d, rank)| &d[..*rank]);
        let shape = Shape {
            dims: l.dims(),
            noise,
        };
        let (v, key, pass) = (self.variant, self.key, self.pass);
        let y = match l.contiguous_offsets() {
            Some((a, b)) => {
                // No zeroing pass for plain dropout: it writes every element of the spare capacity.
                let mut y = Vec::with_capacity(b - a);
                advise_huge_pages(&mut y);
                v.apply_uninit(
                    pass,
                    key,
                    Mode::Train,
                    shape,
                    &x[a..b],
                    y.spare_capacity_mut(),
                )
                .map_err(err)?;
                // SAFETY: apply_uninit initialised all b − a elements.
                unsafe { y.set_len(b - a) };
                y
            }
            None => {
                let mut y = gather(x, l);
                v.apply_inplace(pass, key, Mode::Train, shape, &mut y)
                    .map_err(err)?;
                y
            }
        };
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    /// dx = f'ᵀ dy: the variant's backward on the incoming gradient, the
    /// draws recomputed from the same key.
    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(grad_res.apply_op1_no_bwd(&self.backward())?))
    }
}

/// Dropout of `x` with probability `p` under `key` when `train`; the
/// identity otherwise (`x` itself). f32 tensors go straight through the op;
/// f16, bf16 and f64 are converted to f32 and back (the mask is the same).
///
/// # Errors
/// `p` outside [0, 1], an integer dtype, a tensor not on the CPU.
pub fn dropout(x: &Tensor, p: f32, key: MaskKey, train: bool) -> Result<Tensor> {
    apply(x, DropoutOp::new(p, key)?, train)
}

/// `op` (any member of the family) on `x` when `train`; the identity
/// otherwise (`x` itself). Dtypes as [`dropout()`].
///
/// # Errors
/// An integer dtype, a tensor not on the CPU, a shape the variant cannot take
/// (DropBlock needs `(N, C, H, W)`; a noise shape that does not broadcast).
pub fn apply(x: &Tensor, op: DropoutOp, train: bool) -> Result<Tensor> {
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

/// A dropout site of a model: its variant, seed and stream, and a step
/// counter that advances on every training forward, so each step gets a new
/// mask and backward (candle's autograd) reuses it.
#[derive(Debug)]
pub struct DropoutLayer {
    variant: Variant,
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
        Ok(Self::variant(
            Variant::new(VariantKind::Plain, p).map_err(err)?,
            seed,
            stream,
        ))
    }

    /// A site of any member of the family.
    pub fn variant(variant: Variant, seed: u64, stream: u32) -> Self {
        Self {
            variant,
            seed,
            stream,
            step: AtomicU32::new(0),
        }
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
    /// See [`apply`].
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        if !train {
            return Ok(x.clone());
        }
        let key = MaskKey {
            step: self.step.fetch_add(1, Ordering::Relaxed),
            ..self.next_key()
        };
        apply(x, DropoutOp::variant(self.variant, key), true)
    }
}

//! `dropout_lab._native`: the `dropout` crate's kernels on NumPy float32 arrays.
//!
//! Every function keys its randomness by `(seed, stream, step)` and an
//! element's row-major index `e` in the array's shape:
//!
//! ```text
//! keep_e = philox4x32_10(e, key) ≥ t,  t = round(p · 2^32)      (|P(drop) − p| ≤ 2^-33)
//! forward   y_e  = keep_e · x_e / (1 − p)
//! backward  dx_e = keep_e · dy_e / (1 − p)                      (keep_e recomputed; no mask kept)
//! ```
//!
//! so the mask is the same as the Rust crate's and the candle op's for the
//! same key, on any thread count. Every member of the family is reachable
//! through one class, `Variant(kind, p, …)` ([`family`]), with the same
//! `forward` / `backward`; the per-member functions stay ([`variants`]). Inputs are read in place (zero-copy) when
//! they are C-contiguous float32 arrays; anything else is refused with a
//! message saying how to convert it. Outputs are new arrays (numpy's
//! allocator), the caller's `out=` array, or the input itself
//! (`inplace=True`, plain dropout); an `out` sharing memory with the input
//! is refused. The kernels run with the GIL released on the package's own
//! rayon pool (`RAYON_NUM_THREADS`, capped), rebuilt in a forked child
//! ([`pool`]); a panic surfaces as `RuntimeError`, a failed allocation as
//! `MemoryError`, an oversized request as `ValueError` ([`alloc`]).

mod alloc;
mod array;
mod attention;
mod family;
mod mask;
mod ops;
mod pool;
mod variants;

use dropout::MaskKey as Key;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

/// `(seed, stream, step)`: the key of a mask. Use a new `step` for every
/// training step and a different `stream` for every dropout site.
#[pyclass(frozen, eq, hash, module = "dropout_lab", name = "MaskKey")]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PyMaskKey {
    /// The run's seed.
    #[pyo3(get)]
    seed: u64,
    /// The dropout site.
    #[pyo3(get)]
    stream: u32,
    /// The training step.
    #[pyo3(get)]
    step: u32,
}

#[pymethods]
impl PyMaskKey {
    #[new]
    #[pyo3(signature = (seed, stream = 0, step = 0))]
    fn new(seed: u64, stream: u32, step: u32) -> Self {
        Self { seed, stream, step }
    }

    /// The same key at the next step.
    fn next(&self) -> PyResult<Self> {
        let step = self.step.checked_add(1).ok_or_else(|| {
            PyValueError::new_err(
                "MaskKey.next: step 4294967295 is the last one; use a new seed or stream",
            )
        })?;
        Ok(Self { step, ..*self })
    }

    fn __repr__(&self) -> String {
        format!(
            "MaskKey(seed={}, stream={}, step={})",
            self.seed, self.stream, self.step
        )
    }
}

/// A key from a `MaskKey` or a `(seed, stream, step)` tuple.
pub(crate) fn key(k: &Bound<'_, PyAny>) -> PyResult<Key> {
    if let Ok(k) = k.cast::<PyMaskKey>() {
        let k = k.get();
        return Ok(Key::new(k.seed, k.stream, k.step));
    }
    let (seed, stream, step) =
        k.extract::<(u64, u32, u32)>().map_err(|_| {
            PyTypeError::new_err(format!(
            "key must be dropout_lab.MaskKey(seed, stream, step) or a tuple (seed, stream, step) \
             of non-negative integers (seed < 2**64, stream and step < 2**32), got {}",
            k.repr().map(|r| r.to_string()).unwrap_or_else(|_| "?".into())
        ))
        })?;
    Ok(Key::new(seed, stream, step))
}

/// A library error as a Python `ValueError`.
pub(crate) fn err(e: dropout::DropoutError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// The threads the kernels use: the package's pool in this process, sized by
/// `RAYON_NUM_THREADS` (read when the pool is built: at the first call in a
/// process, or in a forked child; capped at 4 per CPU, at most 256).
#[pyfunction]
fn num_threads(py: Python<'_>) -> PyResult<usize> {
    Ok(pool::get(py)?.current_num_threads())
}

/// The SIMD backend the kernels picked on this CPU (`avx512`, `avx2`, `portable`).
#[pyfunction]
fn backend() -> &'static str {
    dropout::Backend::best().name()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyMaskKey>()?;
    m.add_function(wrap_pyfunction!(num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(backend, m)?)?;
    ops::register(m)?;
    attention::register(m)?;
    mask::register(m)?;
    variants::register(m)?;
    family::register(m)?;
    pool::register(m)?;
    Ok(())
}

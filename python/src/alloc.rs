//! Allocation that fails as a Python exception instead of aborting the
//! interpreter:
//!
//! - new NumPy arrays come from numpy's C API with the result checked, so an
//!   allocation numpy cannot make raises its `MemoryError` (rust-numpy's own
//!   constructors panic on a NULL array);
//! - a size the caller gives directly (`mask(p, key, n)`) is bounded by
//!   [`MAX_MASK_LEN`] (`ValueError` naming the cap), and the memory for it is
//!   reserved with `try_reserve` before any work (`MemoryError` when it cannot
//!   be had).

use std::ffi::c_int;

use numpy::npyffi::{npy_intp, PY_ARRAY_API};
use numpy::{Element, PyArrayDescrMethods, PyArrayDyn};
use pyo3::exceptions::{PyMemoryError, PyValueError};
use pyo3::prelude::*;

/// The most elements a packed mask may cover: 2^34 (a 2 GiB mask, the mask
/// of a 64 GiB float32 array).
pub(crate) const MAX_MASK_LEN: usize = 1 << 34;

/// A new C-order array of `shape`, uninitialised like `np.empty`
/// (`zeroed = false`) or zero-filled; `MemoryError` when it cannot be allocated.
pub(crate) fn new_array<'py, T: Element>(
    py: Python<'py>,
    shape: &[usize],
    zeroed: bool,
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    let mut dims = shape
        .iter()
        .map(|&d| npy_intp::try_from(d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| PyMemoryError::new_err(format!("an array of shape {shape:?} is too large")))?;
    let nd = c_int::try_from(dims.len())
        .map_err(|_| PyValueError::new_err(format!("{} dimensions are too many", dims.len())))?;
    let descr = T::get_dtype(py).into_dtype_ptr();
    // SAFETY: numpy's C API with `nd` dimensions in `dims`; it steals the
    // reference to `descr` and returns a new array or NULL with an exception set.
    let ptr = unsafe {
        if zeroed {
            PY_ARRAY_API.PyArray_Zeros(py, nd, dims.as_mut_ptr(), descr, 0)
        } else {
            PY_ARRAY_API.PyArray_Empty(py, nd, dims.as_mut_ptr(), descr, 0)
        }
    };
    // SAFETY: `ptr` is an owned reference or NULL (then the error is fetched).
    let any = unsafe { Bound::from_owned_ptr_or_err(py, ptr) }?;
    // SAFETY: an ndarray of T's dtype, C order, `nd` dimensions.
    Ok(unsafe { any.cast_into_unchecked() })
}

/// `n` is a mask length within [`MAX_MASK_LEN`] whose words can be
/// allocated: `ValueError` above the cap, `MemoryError` when the memory
/// cannot be reserved (checked before the mask is built).
pub(crate) fn reserve_mask(n: usize) -> PyResult<()> {
    if n > MAX_MASK_LEN {
        return Err(PyValueError::new_err(format!(
            "n = {n} is above the cap of {MAX_MASK_LEN} elements (2**34, a 2 GiB mask) \
             for a packed mask; the kernels need no stored mask: call dropout(x, p, key) \
             and dropout_backward(dy, p, key), which recompute it"
        )));
    }
    let words = n.div_ceil(64);
    let mut probe: Vec<u64> = Vec::new();
    probe.try_reserve_exact(words).map_err(|_| {
        PyMemoryError::new_err(format!(
            "cannot allocate {} bytes for a mask of n = {n} elements; \
             free memory or build the mask in smaller parts",
            words * 8
        ))
    })
}

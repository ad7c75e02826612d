//! NumPy arrays in and out: a C-contiguous float32 array is read in place
//! (its buffer is the kernel's input slice, element `e` = row-major index);
//! the output is a new array of the same shape that the kernel overwrites
//! (uninitialised when the kernel writes every element, zeroed otherwise),
//! the caller's `out` array, or the input itself. Anything else is a
//! `TypeError`/`ValueError` naming the argument and the conversion that
//! fixes it. An `out` sharing memory with the input is refused by comparing
//! the byte ranges `[ptr, ptr + nbytes)` of both — views of one buffer made
//! any way (slices, `np.frombuffer`, memoryviews) — since the kernels read
//! and write in chunks and would read values they already overwrote. New
//! arrays come from [`new_array`] (`MemoryError`, not an abort, when memory
//! runs out); kernels run through [`pool::run`](crate::pool::run).

use std::mem::MaybeUninit;

use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::alloc::new_array;
use crate::pool;

/// `x` as a float32 array that is C-contiguous and aligned, or the error saying how to make one.
pub(crate) fn f32_array<'py>(
    x: &Bound<'py, PyAny>,
    name: &str,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let a = x.cast::<PyArrayDyn<f32>>().map_err(|_| type_err(x, name))?;
    if !a.is_c_contiguous() {
        return Err(PyValueError::new_err(format!(
            "{name} is not C-contiguous (a transposed, strided or Fortran-order view); \
             the mask follows row-major element order, so pass np.ascontiguousarray({name}) (a copy)"
        )));
    }
    if !a.is_aligned() {
        return Err(PyValueError::new_err(format!(
            "{name} is C-contiguous but misaligned: its data does not start at a multiple of \
             4 bytes (e.g. np.frombuffer(buf, np.float32, offset=k) with k not a multiple of 4); \
             pass np.require({name}, requirements='CA') or {name}.copy() (an aligned copy; \
             np.ascontiguousarray keeps the misalignment)"
        )));
    }
    Ok(a.clone())
}

/// The `TypeError` for a value that is not a float32 ndarray: what it is
/// (a NumPy scalar, an array of another dtype, another type) and the fix.
fn type_err(x: &Bound<'_, PyAny>, name: &str) -> PyErr {
    let dtype = x.getattr("dtype").map(|d| d.to_string()).ok();
    let scalar = x
        .py()
        .import("numpy")
        .and_then(|np| np.getattr("generic"))
        .and_then(|g| x.is_instance(&g))
        .unwrap_or(false);
    let msg = match (scalar, dtype) {
        (true, Some(d)) if d == "float32" => format!(
            "{name} must be a NumPy float32 array, got a NumPy float32 scalar (not an array); \
             pass np.atleast_1d({name}) (a 1-element array) or np.asarray({name}) (a 0-d array)"
        ),
        (true, d) => format!(
            "{name} must be a NumPy float32 array, got a NumPy {} scalar (not an array); \
             pass np.asarray({name}, dtype=np.float32) (a 0-d array) or \
             np.atleast_1d({name}).astype(np.float32) (a 1-element array)",
            d.unwrap_or_else(|| "?".into())
        ),
        (false, Some(d)) => format!(
            "{name} must be a NumPy float32 array, got an array of dtype {d}; \
             convert with np.asarray({name}, dtype=np.float32) (a copy)"
        ),
        (false, None) => format!(
            "{name} must be a NumPy float32 array, got a {}; \
             convert with np.asarray({name}, dtype=np.float32) (a copy)",
            x.get_type()
        ),
    };
    PyTypeError::new_err(msg)
}

/// `out` must share no byte with `x` (compared as address ranges, so views
/// of one buffer made any way are caught). `inplace` says whether the
/// function has `inplace=True` to offer instead.
fn disjoint(
    x: &Bound<'_, PyArrayDyn<f32>>,
    out: &Bound<'_, PyArrayDyn<f32>>,
    names: (&str, &str),
    inplace: bool,
) -> PyResult<()> {
    let size = std::mem::size_of::<f32>();
    let (xs, os) = (x.data() as usize, out.data() as usize);
    let (xe, oe) = (xs + x.len() * size, os + out.len() * size);
    if xs >= xe || os >= oe || xe <= os || oe <= xs {
        return Ok(());
    }
    let (n, o) = names;
    let fix = format!("pass an {o} that shares no memory with {n}, such as np.empty_like({n})");
    Err(PyValueError::new_err(if xs == os && xe == oe {
        let alt = if inplace {
            format!("to change {n} in place use inplace=True instead of {o}=; else ")
        } else {
            String::new()
        };
        format!("{o} is the same memory as {n}; {alt}{fix}")
    } else {
        format!(
            "{o} overlaps {n} in memory ({} shared bytes: two views of one buffer, e.g. \
             slices, np.frombuffer or memoryviews of one bytearray); the kernel would read \
             values it has already overwritten, so {fix}",
            xe.min(oe) - xs.max(os)
        )
    }))
}

/// The shapes of two arrays must agree.
pub(crate) fn same_shape(a: &[usize], b: &[usize], names: (&str, &str)) -> PyResult<()> {
    if a == b {
        Ok(())
    } else {
        Err(PyValueError::new_err(format!(
            "{} has shape {a:?} but {} has shape {b:?}; they must match",
            names.0, names.1
        )))
    }
}

/// A new array of `x`'s shape computed from `x` by `f(x, y)`, the GIL released.
pub(crate) fn map<'py, F>(
    x: &Bound<'py, PyAny>,
    name: &str,
    f: F,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>>
where
    F: FnOnce(&[usize], &[f32], &mut [f32]) -> Result<(), dropout::DropoutError> + Send,
{
    let a = f32_array(x, name)?;
    let out = new_array(x.py(), a.shape(), true)?;
    fill(&a, &out, f)?;
    Ok(out)
}

/// `f(a, o)` with `a` read and `o` written in place, the GIL released.
fn fill<F>(a: &Bound<'_, PyArrayDyn<f32>>, o: &Bound<'_, PyArrayDyn<f32>>, f: F) -> PyResult<()>
where
    F: FnOnce(&[usize], &[f32], &mut [f32]) -> Result<(), dropout::DropoutError> + Send,
{
    let shape = a.shape().to_vec();
    let ro = a.try_readonly().map_err(borrow_err)?;
    let mut rw = o.try_readwrite().map_err(borrow_err)?;
    let xs = ro.as_slice().map_err(slice_err)?;
    let ys = rw.as_slice_mut().map_err(slice_err)?;
    pool::run(a.py(), || f(&shape, xs, ys))?.map_err(crate::err)
}

/// Like [`map`] for a kernel that writes every element: the output is
/// allocated uninitialised (no zeroing pass), as `np.empty` would; `f`
/// gets the shape, the input and the output.
pub(crate) fn map_fresh<'py, F>(
    x: &Bound<'py, PyAny>,
    name: &str,
    f: F,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>>
where
    F: FnOnce(&[usize], &[f32], &mut [MaybeUninit<f32>]) -> Result<(), dropout::DropoutError>
        + Send,
{
    let a = f32_array(x, name)?;
    let py = x.py();
    let shape = a.shape().to_vec();
    // A new C-order array; its elements are written before anyone reads them (below).
    let out = new_array::<f32>(py, a.shape(), false)?;
    let ro = a.try_readonly().map_err(borrow_err)?;
    let xs = ro.as_slice().map_err(slice_err)?;
    let ys: &mut [MaybeUninit<f32>] = if xs.is_empty() {
        &mut []
    } else {
        // SAFETY: `out` was just created with x's shape: a contiguous, aligned buffer of
        // xs.len() float32 elements that nothing else references yet.
        unsafe { std::slice::from_raw_parts_mut(out.data().cast(), xs.len()) }
    };
    pool::run(py, || f(&shape, xs, ys))?.map_err(crate::err)?;
    Ok(out)
}

/// A new array of the shape of `a` and `b` computed from both by `f(a, b, y)`.
pub(crate) fn map2<'py, F>(
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
    names: (&str, &str),
    f: F,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>>
where
    F: FnOnce(&[usize], &[f32], &[f32], &mut [f32]) -> Result<(), dropout::DropoutError> + Send,
{
    let (aa, ba) = (f32_array(a, names.0)?, f32_array(b, names.1)?);
    same_shape(aa.shape(), ba.shape(), names)?;
    let py = a.py();
    let shape = aa.shape().to_vec();
    let out = new_array(py, shape.as_slice(), true)?;
    {
        let (ra, rb) = (
            aa.try_readonly().map_err(borrow_err)?,
            ba.try_readonly().map_err(borrow_err)?,
        );
        let mut rw = out.try_readwrite().map_err(borrow_err)?;
        let (xa, xb) = (
            ra.as_slice().map_err(slice_err)?,
            rb.as_slice().map_err(slice_err)?,
        );
        let ys = rw.as_slice_mut().map_err(slice_err)?;
        pool::run(py, || f(&shape, xa, xb, ys))?.map_err(crate::err)?;
    }
    Ok(out)
}

/// `f(x, out)` into the caller's array `out` (same shape as `x`, C-contiguous
/// float32, writeable, sharing no memory with `x`); returns `out`. `inplace`:
/// whether the caller offers `inplace=True` (named in the aliasing error).
pub(crate) fn map_into<'py, F>(
    x: &Bound<'py, PyAny>,
    out: &Bound<'py, PyAny>,
    names: (&str, &str),
    inplace: bool,
    f: F,
) -> PyResult<Bound<'py, PyAny>>
where
    F: FnOnce(&[usize], &[f32], &mut [f32]) -> Result<(), dropout::DropoutError> + Send,
{
    let (a, o) = (f32_array(x, names.0)?, f32_array(out, names.1)?);
    same_shape(o.shape(), a.shape(), (names.1, names.0))?;
    disjoint(&a, &o, names, inplace)?;
    fill(&a, &o, f)?;
    Ok(out.clone())
}

/// `x` changed in place by `f(x)`, the GIL released; returns `x`.
pub(crate) fn in_place<'py, F>(
    x: &Bound<'py, PyAny>,
    name: &str,
    f: F,
) -> PyResult<Bound<'py, PyAny>>
where
    F: FnOnce(&[usize], &mut [f32]) -> Result<(), dropout::DropoutError> + Send,
{
    let a = f32_array(x, name)?;
    let shape = a.shape().to_vec();
    {
        let mut rw = a.try_readwrite().map_err(borrow_err)?;
        let xs = rw.as_slice_mut().map_err(slice_err)?;
        pool::run(x.py(), || f(&shape, xs))?.map_err(crate::err)?;
    }
    Ok(x.clone())
}

fn slice_err(e: numpy::AsSliceError) -> PyErr {
    PyValueError::new_err(format!(
        "{e}; pass np.require(a, dtype=np.float32, requirements='CA') (a C-contiguous, aligned copy)"
    ))
}

fn borrow_err(e: numpy::BorrowError) -> PyErr {
    PyValueError::new_err(format!(
        "{e}: the array is read-only, or another call (in another thread) is writing it now; \
         pass a writeable array that shares no memory with the input and no other call uses"
    ))
}

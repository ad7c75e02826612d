//! NumPy arrays in and out: a C-contiguous float32 array is read in place
//! (its buffer is the kernel's input slice, element `e` = row-major index);
//! the output is a new array of the same shape that the kernel overwrites
//! (uninitialised when the kernel writes every element, zeroed otherwise),
//! the caller's `out` array, or the input itself. Anything else is a
//! `TypeError`/`ValueError` naming the argument and the conversion that
//! fixes it.

use std::mem::MaybeUninit;

use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

/// `x` as a float32 array that is C-contiguous, or the error saying how to make one.
pub(crate) fn f32_array<'py>(
    x: &Bound<'py, PyAny>,
    name: &str,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let a = x.cast::<PyArrayDyn<f32>>().map_err(|_| {
        let what = x
            .getattr("dtype")
            .map(|d| format!("an array of dtype {d}"))
            .unwrap_or_else(|_| format!("a {}", x.get_type()));
        PyTypeError::new_err(format!(
            "{name} must be a NumPy float32 array, got {what}; \
             convert with np.asarray({name}, dtype=np.float32) (a copy)"
        ))
    })?;
    if !a.is_c_contiguous() {
        return Err(PyValueError::new_err(format!(
            "{name} is not C-contiguous (a transposed, strided or Fortran-order view); \
             the mask follows row-major element order, so pass np.ascontiguousarray({name}) (a copy)"
        )));
    }
    Ok(a.clone())
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
    let out = PyArrayDyn::<f32>::zeros(x.py(), a.shape(), false);
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
    a.py().detach(|| f(&shape, xs, ys)).map_err(crate::err)
}

/// Like [`map`] for a kernel that writes every element: the output is
/// allocated uninitialised (no zeroing pass), as `np.empty` would.
pub(crate) fn map_fresh<'py, F>(
    x: &Bound<'py, PyAny>,
    name: &str,
    f: F,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>>
where
    F: FnOnce(&[f32], &mut [MaybeUninit<f32>]) -> Result<(), dropout::DropoutError> + Send,
{
    let a = f32_array(x, name)?;
    let py = x.py();
    // SAFETY: a new C-order array; its elements are written before anyone reads them (below).
    let out = unsafe { PyArrayDyn::<f32>::new(py, a.shape(), false) };
    let ro = a.try_readonly().map_err(borrow_err)?;
    let xs = ro.as_slice().map_err(slice_err)?;
    let ys: &mut [MaybeUninit<f32>] = if xs.is_empty() {
        &mut []
    } else {
        // SAFETY: `out` was just created with x's shape: a contiguous, aligned buffer of
        // xs.len() float32 elements that nothing else references yet.
        unsafe { std::slice::from_raw_parts_mut(out.data().cast(), xs.len()) }
    };
    py.detach(|| f(xs, ys)).map_err(crate::err)?;
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
    let out = PyArrayDyn::<f32>::zeros(py, shape.as_slice(), false);
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
        py.detach(|| f(&shape, xa, xb, ys)).map_err(crate::err)?;
    }
    Ok(out)
}

/// `f(x, out)` into the caller's array `out` (same shape as `x`, C-contiguous
/// float32, writeable, not overlapping `x`); returns `out`.
pub(crate) fn map_into<'py, F>(
    x: &Bound<'py, PyAny>,
    out: &Bound<'py, PyAny>,
    names: (&str, &str),
    f: F,
) -> PyResult<Bound<'py, PyAny>>
where
    F: FnOnce(&[usize], &[f32], &mut [f32]) -> Result<(), dropout::DropoutError> + Send,
{
    let (a, o) = (f32_array(x, names.0)?, f32_array(out, names.1)?);
    same_shape(o.shape(), a.shape(), (names.1, names.0))?;
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
        x.py().detach(|| f(&shape, xs)).map_err(crate::err)?;
    }
    Ok(x.clone())
}

fn slice_err(e: numpy::AsSliceError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

fn borrow_err(e: numpy::BorrowError) -> PyErr {
    PyValueError::new_err(format!(
        "{e}: the array is read-only, or already borrowed (an `out` that overlaps the input, \
         or an array another call is writing); pass a writeable array that shares no memory with the input"
    ))
}

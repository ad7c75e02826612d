//! The opt-in 1-bit packed mask: bit `e` (word `e / 64`, bit `e mod 64`) is
//! 1 iff element `e` is kept under `(p, key)`; `apply` maps
//! `y_e = keep_e ? x_e · s : 0` with `s = 1/(1 − p)` — the same bits and the
//! same values as `dropout(x, p, key)`. n/8 bytes instead of zero: for
//! inspecting a mask or reusing it when the key is not at hand. `n` is
//! bounded by [`MAX_MASK_LEN`](crate::alloc::MAX_MASK_LEN) and its words are
//! reserved before the mask is built; the arrays `words` and `unpack` return
//! are allocated fallibly (`MemoryError`, never an abort).

use std::mem::MaybeUninit;

use dropout::{Dropout, PackedMask};
use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use rayon::prelude::*;

use crate::alloc::{new_array, reserve_mask};
use crate::array::map;
use crate::ops::mode;
use crate::{err, key, pool};

/// A keep mask, one bit per element, with the survivors' scale.
#[pyclass(frozen, module = "dropout_lab", name = "PackedMask")]
pub struct PyPackedMask(PackedMask);

#[pymethods]
impl PyPackedMask {
    fn __len__(&self) -> usize {
        self.0.len()
    }

    /// Elements kept.
    #[getter]
    fn kept(&self) -> usize {
        self.0.kept()
    }

    /// The survivors' scale `1/(1 − p)` (0 when p = 1).
    #[getter]
    fn scale(&self) -> f32 {
        self.0.scale()
    }

    /// Bytes the bits take (`8 · ceil(n / 64)`).
    #[getter]
    fn nbytes(&self) -> usize {
        self.0.bytes()
    }

    /// The 64-bit words, little-end bit first, as a new uint64 array.
    fn words<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArrayDyn<u64>>> {
        let w = self.0.words();
        let out = new_array::<u64>(py, &[w.len()], false)?;
        if !w.is_empty() {
            // SAFETY: a new C-order array of w.len() u64 that nothing else references yet.
            unsafe { std::slice::from_raw_parts_mut(out.data(), w.len()) }.copy_from_slice(w);
        }
        Ok(out)
    }

    /// One bool per element (`True` = kept), as a new array.
    fn unpack<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArrayDyn<bool>>> {
        let n = self.0.len();
        let out = new_array::<bool>(py, &[n], false)?;
        if n > 0 {
            // SAFETY: a new C-order array of n bools that nothing else references yet;
            // every element is written below before it is read.
            let bits: &mut [MaybeUninit<bool>] =
                unsafe { std::slice::from_raw_parts_mut(out.data().cast(), n) };
            let words = self.0.words();
            pool::run(py, || {
                bits.par_chunks_mut(64)
                    .zip(words.par_iter())
                    .for_each(|(c, &w)| {
                        for (j, b) in c.iter_mut().enumerate() {
                            b.write((w >> j) & 1 == 1);
                        }
                    });
            })?;
        }
        Ok(out)
    }

    /// `x` with the mask applied (x must hold `len(mask)` elements, any shape).
    fn apply<'py>(&self, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        let n = crate::array::f32_array(x, "x")?.len();
        if n != self.0.len() {
            return Err(PyValueError::new_err(format!(
                "x has {n} elements but the mask covers {}; build the mask with n = x.size",
                self.0.len()
            )));
        }
        map(x, "x", |_, xs, ys| self.0.apply(xs, ys))
    }

    fn __repr__(&self) -> String {
        format!(
            "PackedMask(len={}, kept={}, scale={}, nbytes={})",
            self.0.len(),
            self.0.kept(),
            self.0.scale(),
            self.0.bytes()
        )
    }
}

/// The keep mask of `n` elements under `(p, key)`, packed 1 bit per element.
#[pyfunction]
#[pyo3(signature = (p, key, n, *, train = true))]
fn mask(
    py: Python<'_>,
    p: f32,
    key: &Bound<'_, PyAny>,
    n: usize,
    train: bool,
) -> PyResult<PyPackedMask> {
    let d = Dropout::new(p).map_err(err)?;
    let k = self::key(key)?;
    reserve_mask(n)?;
    Ok(PyPackedMask(pool::run(py, || d.mask(k, mode(train), n))?))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyPackedMask>()?;
    m.add_function(wrap_pyfunction!(mask, m)?)?;
    Ok(())
}

//! The opt-in 1-bit packed mask: bit `e` (word `e / 64`, bit `e mod 64`) is
//! 1 iff element `e` is kept under `(p, key)`; `apply` maps
//! `y_e = keep_e ? x_e · s : 0` with `s = 1/(1 − p)` — the same bits and the
//! same values as `dropout(x, p, key)`. n/8 bytes instead of zero: for
//! inspecting a mask or reusing it when the key is not at hand.

use dropout::{Dropout, PackedMask};
use numpy::{PyArray1, PyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::array::map;
use crate::ops::mode;
use crate::{err, key};

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
    fn words<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        PyArray1::from_slice(py, self.0.words())
    }

    /// One bool per element (`True` = kept), as a new array.
    fn unpack<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<bool>> {
        PyArray1::from_vec(py, self.0.unpack())
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
    Ok(PyPackedMask(py.detach(|| d.mask(k, mode(train), n))))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyPackedMask>()?;
    m.add_function(wrap_pyfunction!(mask, m)?)?;
    Ok(())
}

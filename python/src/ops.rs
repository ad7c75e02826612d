//! Plain dropout on NumPy arrays, element-wise or with a broadcast mask:
//!
//! ```text
//! y_e  = keep_m(e) · x_e / (1 − p)     dx_e = keep_m(e) · dy_e / (1 − p)
//! m(e) = e                              without noise_shape
//! m(e) = e's index in noise_shape       with it (noise_shape[d] ∈ {1, shape[d]}): one draw per
//!        with broadcast dims set to 0   kept index, shared along the 1-dims (spatial / locked dropout)
//! ```
//!
//! `train=False` is the identity and returns `x` itself (no copy).

use ::dropout::{Dropout, Mode};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::array::{f32_array, in_place, map, map_fresh, map_into};
use crate::{err, key};

pub(crate) fn mode(train: bool) -> Mode {
    if train {
        Mode::Train
    } else {
        Mode::Eval
    }
}

/// Dropout of `x` with probability `p` under `key`: a new array; or the
/// caller's array `out` (shape of `x`, no overlap) filled; or `x` itself
/// changed with `inplace=True`. `noise_shape` broadcasts the mask (e.g.
/// `(N, C, 1, 1)` drops whole channels). `train=False` returns `x`
/// unchanged (or copies it into `out`).
#[pyfunction(name = "dropout")]
#[pyo3(signature = (x, p, key, *, train = true, noise_shape = None, inplace = false, out = None))]
fn forward<'py>(
    x: &Bound<'py, PyAny>,
    p: f32,
    key: &Bound<'py, PyAny>,
    train: bool,
    noise_shape: Option<Vec<usize>>,
    inplace: bool,
    out: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let d = Dropout::new(p).map_err(err)?;
    let (k, m) = (self::key(key)?, mode(train));
    if let Some(o) = out {
        if inplace {
            return Err(PyValueError::new_err(
                "give either out= or inplace=True, not both",
            ));
        }
        return map_into(x, o, ("x", "out"), true, |s, xs, ys| match &noise_shape {
            None => d.forward(k, m, xs, ys),
            Some(ns) => d.forward_broadcast(k, m, s, ns, xs, ys),
        });
    }
    if !train {
        f32_array(x, "x")?;
        return Ok(x.clone());
    }
    match (noise_shape, inplace) {
        (None, false) => map_fresh(x, "x", |_, xs, ys| d.forward_uninit(k, m, xs, ys).map(drop))
            .map(Bound::into_any),
        (None, true) => in_place(x, "x", |_, xs| {
            d.forward_inplace(k, m, xs);
            Ok(())
        }),
        (Some(ns), false) => map(x, "x", |s, xs, ys| {
            d.forward_broadcast(k, m, s, &ns, xs, ys)
        })
        .map(Bound::into_any),
        (Some(ns), true) => in_place(x, "x", |s, xs| {
            d.forward_broadcast_inplace(k, m, s, &ns, xs)
        }),
    }
}

/// The gradient of [`forward`]: `dx = keep · dy / (1 − p)` with the mask
/// recomputed from `(p, key, noise_shape)`, as a new array or into `out`.
/// `train=False` returns `dy` (or copies it into `out`).
#[pyfunction]
#[pyo3(signature = (dy, p, key, *, train = true, noise_shape = None, out = None))]
fn dropout_backward<'py>(
    dy: &Bound<'py, PyAny>,
    p: f32,
    key: &Bound<'py, PyAny>,
    train: bool,
    noise_shape: Option<Vec<usize>>,
    out: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let d = Dropout::new(p).map_err(err)?;
    let (k, m) = (self::key(key)?, mode(train));
    if let Some(o) = out {
        return map_into(dy, o, ("dy", "out"), false, |s, g, dx| match &noise_shape {
            None => d.backward(k, m, g, dx),
            Some(ns) => d.backward_broadcast(k, m, s, ns, g, dx),
        });
    }
    if !train {
        f32_array(dy, "dy")?;
        return Ok(dy.clone());
    }
    match noise_shape {
        // The backward map is the forward map applied to dy.
        None => map_fresh(dy, "dy", |_, g, dx| d.forward_uninit(k, m, g, dx).map(drop)),
        Some(ns) => map(dy, "dy", |s, g, dx| {
            d.backward_broadcast(k, m, s, &ns, g, dx)
        }),
    }
    .map(Bound::into_any)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(forward, m)?)?;
    m.add_function(wrap_pyfunction!(dropout_backward, m)?)?;
    Ok(())
}

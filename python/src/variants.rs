//! The rest of the dropout family on NumPy arrays, each with its backward
//! from the same key (nothing stored):
//!
//! ```text
//! alpha_dropout      y = keep ? a·x + b : a·α' + b      (SELU's fixed point kept; FeatureAlpha with noise_shape)
//! gaussian_dropout   y = x · (1 + σ ε),  σ² = p/(1 − p), ε ~ N(0, 1) from the key
//! gaussian_noise     y = x + σ ε                        (backward: the identity)
//! dropblock          zero b×b blocks of (N, C, H, W) maps around seeds drawn at rate γ; rescale by kept fraction
//! drop_path          y_n = residual_n + s_n · branch_n,  s_n ∈ {0, 1/(1 − p)} per sample (row) or batch
//! concrete_dropout   y = x · (1 − z)/(1 − p), z = σ((logit p + logit u)/τ): p learnable, ∂L/∂p returned
//! ```
//!
//! The exact rules (and the proofs that backward matches forward) are the
//! Rust crate's; these functions only move arrays in and out.

use dropout::{
    AlphaDropout, ConcreteDropout, DropBlock, DropPath, GaussianDropout, GaussianNoise, PathScope,
};
use numpy::PyArrayDyn;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::array::{map, map2};
use crate::ops::mode;
use crate::{err, key};

type Out<'py> = PyResult<Bound<'py, PyArrayDyn<f32>>>;

/// A pyfunction `$name($arg, $rate, key, *, train=True, noise_shape=None)`
/// applying `$ty::new($rate)`'s `$plain` map, or its `$broadcast` map when
/// a noise shape is given.
macro_rules! elementwise {
    ($(#[$doc:meta])* $name:ident, $rate:ident, $arg:ident, $ty:ident, $plain:ident, $broadcast:ident) => {
        $(#[$doc])*
        #[pyfunction]
        #[pyo3(signature = ($arg, $rate, key, *, train = true, noise_shape = None))]
        fn $name<'py>(
            $arg: &Bound<'py, PyAny>,
            $rate: f32,
            key: &Bound<'py, PyAny>,
            train: bool,
            noise_shape: Option<Vec<usize>>,
        ) -> Out<'py> {
            let v = $ty::new($rate).map_err(err)?;
            let (k, m) = (self::key(key)?, mode(train));
            match noise_shape {
                None => map($arg, stringify!($arg), |_, xs, ys| v.$plain(k, m, xs, ys)),
                Some(ns) => map($arg, stringify!($arg), |s, xs, ys| {
                    v.$broadcast(k, m, s, &ns, xs, ys)
                }),
            }
        }
    };
}

elementwise!(
    /// AlphaDropout for SELU nets (FeatureAlphaDropout with `noise_shape`, e.g. `(N, C, 1, 1)`).
    alpha_dropout, p, x, AlphaDropout, forward, forward_broadcast
);
elementwise!(
    /// The gradient of [`alpha_dropout`]: `dx = keep ? a·dy : 0`.
    alpha_dropout_backward, p, dy, AlphaDropout, backward, backward_broadcast
);
elementwise!(
    /// Multiplicative Gaussian dropout with the variance of rate `p`.
    gaussian_dropout, p, x, GaussianDropout, forward, forward_broadcast
);
elementwise!(
    /// The gradient of [`gaussian_dropout`]: `dx = dy · (1 + σ ε)`, ε regenerated.
    gaussian_dropout_backward, p, dy, GaussianDropout, backward, backward_broadcast
);
elementwise!(
    /// Additive Gaussian noise `x + σ ε` (its gradient is `dy` itself).
    gaussian_noise, sigma, x, GaussianNoise, forward, forward_broadcast
);

/// DropBlock on `(N, C, H, W)` maps with `block × block` blocks.
#[pyfunction]
#[pyo3(signature = (x, p, block, key, *, train = true))]
fn dropblock<'py>(
    x: &Bound<'py, PyAny>,
    p: f32,
    block: usize,
    key: &Bound<'py, PyAny>,
    train: bool,
) -> Out<'py> {
    let b = DropBlock::new(p, block).map_err(err)?;
    let (k, m) = (self::key(key)?, mode(train));
    map(x, "x", |s, xs, ys| b.forward(k, m, s, xs, ys))
}

/// The gradient of [`dropblock`]: the same blocks and scale applied to `dy`.
#[pyfunction]
#[pyo3(signature = (dy, p, block, key, *, train = true))]
fn dropblock_backward<'py>(
    dy: &Bound<'py, PyAny>,
    p: f32,
    block: usize,
    key: &Bound<'py, PyAny>,
    train: bool,
) -> Out<'py> {
    let b = DropBlock::new(p, block).map_err(err)?;
    let (k, m) = (self::key(key)?, mode(train));
    map(dy, "dy", |s, g, dx| b.backward(k, m, s, g, dx))
}

fn path(p: f32, scope: &str, group: usize) -> PyResult<DropPath> {
    let scope = match scope {
        "sample" => PathScope::Sample,
        "batch" => PathScope::Batch,
        other => {
            return Err(PyValueError::new_err(format!(
            "scope must be \"sample\" (one draw per row) or \"batch\" (one for all), got {other:?}"
        )))
        }
    };
    Ok(DropPath::new(p, scope).map_err(err)?.with_group(group))
}

/// Rows and columns of an array whose first axis is the sample axis.
fn rows_cols(shape: &[usize]) -> (usize, usize) {
    match shape.split_first() {
        Some((&r, rest)) => (r, rest.iter().product()),
        None => (1, 1),
    }
}

/// DropPath (stochastic depth): `residual + s · branch`, one draw per sample
/// (first axis; `group` consecutive samples share one) or per batch.
#[pyfunction]
#[pyo3(signature = (residual, branch, p, key, *, scope = "sample", group = 1, train = true))]
fn drop_path<'py>(
    residual: &Bound<'py, PyAny>,
    branch: &Bound<'py, PyAny>,
    p: f32,
    key: &Bound<'py, PyAny>,
    scope: &str,
    group: usize,
    train: bool,
) -> Out<'py> {
    let d = path(p, scope, group)?;
    let (k, m) = (self::key(key)?, mode(train));
    map2(residual, branch, ("residual", "branch"), |s, r, b, y| {
        let (rows, cols) = rows_cols(s);
        d.forward(k, m, rows, cols, r, b, y)
    })
}

/// The branch's gradient of [`drop_path`] (the residual's is `dy`).
#[pyfunction]
#[pyo3(signature = (dy, p, key, *, scope = "sample", group = 1, train = true))]
fn drop_path_backward<'py>(
    dy: &Bound<'py, PyAny>,
    p: f32,
    key: &Bound<'py, PyAny>,
    scope: &str,
    group: usize,
    train: bool,
) -> Out<'py> {
    let d = path(p, scope, group)?;
    let (k, m) = (self::key(key)?, mode(train));
    map(dy, "dy", |s, g, dx| {
        let (rows, cols) = rows_cols(s);
        d.backward_branch(k, m, rows, cols, g, dx)
    })
}

/// Concrete dropout with rate `p ∈ (0, 1)` and temperature `temperature`.
#[pyfunction]
#[pyo3(signature = (x, p, key, *, temperature = 0.1, train = true))]
fn concrete_dropout<'py>(
    x: &Bound<'py, PyAny>,
    p: f32,
    key: &Bound<'py, PyAny>,
    temperature: f32,
    train: bool,
) -> Out<'py> {
    let c = ConcreteDropout::new(temperature).map_err(err)?;
    let (k, m) = (self::key(key)?, mode(train));
    map(x, "x", |_, xs, ys| c.forward_at(k, m, 0, p, xs, ys))
}

/// The gradients of [`concrete_dropout`]: `(dx, dL/dp)`.
#[pyfunction]
#[pyo3(signature = (x, dy, p, key, *, temperature = 0.1, train = true))]
fn concrete_dropout_backward<'py>(
    x: &Bound<'py, PyAny>,
    dy: &Bound<'py, PyAny>,
    p: f32,
    key: &Bound<'py, PyAny>,
    temperature: f32,
    train: bool,
) -> PyResult<(Bound<'py, PyArrayDyn<f32>>, f64)> {
    let c = ConcreteDropout::new(temperature).map_err(err)?;
    let (k, m) = (self::key(key)?, mode(train));
    let mut dp = 0.0;
    let dx = map2(x, dy, ("x", "dy"), |_, xs, g, dx| {
        dp = c.backward_at(k, m, 0, p, xs, g, dx)?;
        Ok(())
    })?;
    Ok((dx, dp))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(alpha_dropout, m)?)?;
    m.add_function(wrap_pyfunction!(alpha_dropout_backward, m)?)?;
    m.add_function(wrap_pyfunction!(gaussian_dropout, m)?)?;
    m.add_function(wrap_pyfunction!(gaussian_dropout_backward, m)?)?;
    m.add_function(wrap_pyfunction!(gaussian_noise, m)?)?;
    m.add_function(wrap_pyfunction!(dropblock, m)?)?;
    m.add_function(wrap_pyfunction!(dropblock_backward, m)?)?;
    m.add_function(wrap_pyfunction!(drop_path, m)?)?;
    m.add_function(wrap_pyfunction!(drop_path_backward, m)?)?;
    m.add_function(wrap_pyfunction!(concrete_dropout, m)?)?;
    m.add_function(wrap_pyfunction!(concrete_dropout_backward, m)?)?;
    Ok(())
}

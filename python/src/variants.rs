//! The rest of the dropout family on NumPy arrays, one function per member,
//! each with its backward from the same key (nothing stored):
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
//! The maps given by a rate (alpha, gaussian, dropblock) go through the one
//! interface, `family::run` (the calls of the `Variant` class); `gaussian_noise`
//! (given σ), `drop_path` (with its residual) and `concrete_dropout` (with
//! ∂L/∂p) are the members' own calls. The exact rules (and the proofs that
//! backward matches forward) are the Rust crate's; these functions only move
//! arrays in and out.

use dropout::{ConcreteDropout, DropPath, GaussianNoise, Pass, Variant, VariantKind};
use numpy::PyArrayDyn;
use pyo3::prelude::*;

use crate::array::{map, map2};
use crate::family::run;
use crate::ops::mode;
use crate::{err, key};

type Out<'py> = PyResult<Bound<'py, PyArrayDyn<f32>>>;

/// A pyfunction `$name($arg, p, key, *, train=True, noise_shape=None)`:
/// the `$pass` of `$kind` at rate `p`, with a broadcast mask when a noise
/// shape is given.
macro_rules! member {
    ($(#[$doc:meta])* $name:ident, $arg:ident, $kind:ident, $pass:ident) => {
        $(#[$doc])*
        #[pyfunction]
        #[pyo3(signature = ($arg, p, key, *, train = true, noise_shape = None))]
        fn $name<'py>(
            $arg: &Bound<'py, PyAny>,
            p: f32,
            key: &Bound<'py, PyAny>,
            train: bool,
            noise_shape: Option<Vec<usize>>,
        ) -> Out<'py> {
            let v = Variant::new(VariantKind::$kind, p).map_err(err)?;
            run(v, Pass::$pass, $arg, stringify!($arg), key, train, noise_shape, None)
        }
    };
}

member!(
    /// AlphaDropout for SELU nets (FeatureAlphaDropout with `noise_shape`, e.g. `(N, C, 1, 1)`).
    alpha_dropout, x, Alpha, Forward
);
member!(
    /// The gradient of [`alpha_dropout`]: `dx = keep ? a·dy : 0`.
    alpha_dropout_backward, dy, Alpha, Backward
);
member!(
    /// Multiplicative Gaussian dropout with the variance of rate `p`.
    gaussian_dropout, x, Gaussian, Forward
);
member!(
    /// The gradient of [`gaussian_dropout`]: `dx = dy · (1 + σ ε)`, ε regenerated.
    gaussian_dropout_backward, dy, Gaussian, Backward
);

/// Additive Gaussian noise `x + σ ε` (its gradient is `dy` itself).
#[pyfunction]
#[pyo3(signature = (x, sigma, key, *, train = true, noise_shape = None))]
fn gaussian_noise<'py>(
    x: &Bound<'py, PyAny>,
    sigma: f32,
    key: &Bound<'py, PyAny>,
    train: bool,
    noise_shape: Option<Vec<usize>>,
) -> Out<'py> {
    let g = GaussianNoise::new(sigma).map_err(err)?;
    let (k, m) = (self::key(key)?, mode(train));
    match noise_shape {
        None => map(x, "x", |_, xs, ys| g.forward(k, m, xs, ys)),
        Some(ns) => map(x, "x", |s, xs, ys| {
            g.forward_broadcast(k, m, s, &ns, xs, ys)
        }),
    }
}

/// DropBlock as a [`Variant`] with `block × block` blocks.
fn block(p: f32, block: usize) -> PyResult<Variant> {
    Variant::new(VariantKind::Block, p)
        .and_then(|v| v.with_block(block))
        .map_err(err)
}

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
    let v = self::block(p, block)?;
    run(v, Pass::Forward, x, "x", key, train, None, None)
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
    let v = self::block(p, block)?;
    run(v, Pass::Backward, dy, "dy", key, train, None, None)
}

fn path(p: f32, scope: &str, group: usize) -> PyResult<DropPath> {
    let scope = scope.parse().map_err(err)?;
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

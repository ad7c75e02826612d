//! The dropout family as one class: `dropout_lab.Variant(kind, p, …)` is any
//! member of the `dropout` crate's family, with the same key and the same
//! two calls for every member (the crate's `dropout::Variant` dispatches):
//!
//! ```text
//! v = Variant(kind, p, *, block=None, scope=None, group=None, temperature=None)
//!     kind ∈ VARIANT_KINDS = plain, alpha, gaussian, noise, concrete, block, path, head
//! v.forward(x, key, *, train=True, noise_shape=None, offset=None)    y  = f(x)
//! v.backward(dy, key, *, train=True, noise_shape=None, offset=None)  dx = f'ᵀ dy   (draws recomputed)
//!   x's shape is the data's: DropPath takes rows on the first axis, DropBlock (N, C, H, W) maps;
//!   noise_shape gives the broadcast forms of plain, alpha, gaussian, noise (e.g. (N, C, 1, 1));
//!   offset: element i takes draw offset + i (the element-wise members, without noise_shape)
//! ```
//!
//! `noise` at rate p has σ = √(p/(1 − p)) (`gaussian_noise` takes σ itself);
//! `path` is timm's `drop_path(x)`, the branch alone (`drop_path` adds the
//! residual); `concrete`'s backward is `dx` (`concrete_dropout_backward` also
//! gives ∂L/∂p). The outputs are new arrays; `train=False` copies.

use dropout::{Layout, Pass, Shape, Variant, VariantKind};
use numpy::PyArrayDyn;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::array::{map, map_fresh};
use crate::ops::mode;
use crate::{err, key};

type Out<'py> = PyResult<Bound<'py, PyArrayDyn<f32>>>;

/// `pass` of `v` on the array `x` (named `name` in errors) under `key`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run<'py>(
    v: Variant,
    pass: Pass,
    x: &Bound<'py, PyAny>,
    name: &str,
    key: &Bound<'py, PyAny>,
    train: bool,
    noise_shape: Option<Vec<usize>>,
    offset: Option<u64>,
) -> Out<'py> {
    let (k, m) = (self::key(key)?, mode(train));
    match (offset, noise_shape) {
        (Some(_), Some(_)) => Err(PyValueError::new_err(
            "give offset= or noise_shape=, not both: an offset places a slice of a flat \
             element-wise mask, a noise shape broadcasts one over the array's shape",
        )),
        (Some(o), None) => map(x, name, |_, xs, ys| match pass {
            Pass::Forward => v.forward_at(k, m, o, xs, ys),
            Pass::Backward => v.backward_at(k, m, o, xs, ys),
        }),
        (None, ns) => map_fresh(x, name, |dims, xs, ys| {
            let shape = Shape {
                dims,
                noise: ns.as_deref(),
            };
            v.apply_uninit(pass, k, m, shape, xs, ys).map(drop)
        }),
    }
}

/// A member of the dropout family: `Variant(kind, p, *, block=None,
/// scope=None, group=None, temperature=None)`; `block` is DropBlock's block
/// size (default 3), `scope` DropPath's `"sample"` or `"batch"` and `group`
/// its rows per coin, `temperature` Concrete dropout's τ (default 0.1).
#[pyclass(frozen, eq, module = "dropout_lab", name = "Variant")]
#[derive(Clone, Copy, PartialEq)]
pub struct PyVariant(Variant);

#[pymethods]
impl PyVariant {
    #[new]
    #[pyo3(signature = (kind, p, *, block = None, scope = None, group = None, temperature = None))]
    fn new(
        kind: &str,
        p: f32,
        block: Option<usize>,
        scope: Option<&str>,
        group: Option<usize>,
        temperature: Option<f32>,
    ) -> PyResult<Self> {
        let mut v = Variant::new(kind.parse::<VariantKind>().map_err(err)?, p).map_err(err)?;
        if let Some(b) = block {
            v = v.with_block(b).map_err(err)?;
        }
        if let Some(s) = scope {
            v = v.with_scope(s.parse().map_err(err)?).map_err(err)?;
        }
        if let Some(g) = group {
            v = v.with_group(g).map_err(err)?;
        }
        if let Some(t) = temperature {
            v = v.with_temperature(t).map_err(err)?;
        }
        Ok(Self(v))
    }

    /// The member's name (one of `VARIANT_KINDS`).
    #[getter]
    fn kind(&self) -> &'static str {
        self.0.kind().name()
    }

    /// The rate.
    #[getter]
    fn p(&self) -> f32 {
        self.0.p()
    }

    /// What one draw covers: `"elements"`, `"rows"` (DropPath), `"maps"` (DropBlock) or `"heads"` (DropHead).
    #[getter]
    fn layout(&self) -> &'static str {
        match self.0.layout() {
            Layout::Elements => "elements",
            Layout::Rows => "rows",
            Layout::Maps => "maps",
            Layout::Heads => "heads",
        }
    }

    /// DropBlock's block size (`None` for the others).
    #[getter]
    fn block(&self) -> Option<usize> {
        self.0.block()
    }

    /// DropPath's scope, `"sample"` or `"batch"` (`None` for the others).
    #[getter]
    fn scope(&self) -> Option<&'static str> {
        self.0.scope().map(|(s, _)| s.name())
    }

    /// DropPath's rows per coin (`None` for the others).
    #[getter]
    fn group(&self) -> Option<usize> {
        self.0.scope().map(|(_, g)| g)
    }

    /// Concrete dropout's temperature (`None` for the others).
    #[getter]
    fn temperature(&self) -> Option<f32> {
        self.0.temperature()
    }

    /// `y = f(x)` under `key` (`MaskKey` or `(seed, stream, step)`), a new array.
    #[pyo3(signature = (x, key, *, train = true, noise_shape = None, offset = None))]
    fn forward<'py>(
        &self,
        x: &Bound<'py, PyAny>,
        key: &Bound<'py, PyAny>,
        train: bool,
        noise_shape: Option<Vec<usize>>,
        offset: Option<u64>,
    ) -> Out<'py> {
        run(
            self.0,
            Pass::Forward,
            x,
            "x",
            key,
            train,
            noise_shape,
            offset,
        )
    }

    /// `dx = f'ᵀ dy` with the forward's draws recomputed from `key`, a new array.
    #[pyo3(signature = (dy, key, *, train = true, noise_shape = None, offset = None))]
    fn backward<'py>(
        &self,
        dy: &Bound<'py, PyAny>,
        key: &Bound<'py, PyAny>,
        train: bool,
        noise_shape: Option<Vec<usize>>,
        offset: Option<u64>,
    ) -> Out<'py> {
        run(
            self.0,
            Pass::Backward,
            dy,
            "dy",
            key,
            train,
            noise_shape,
            offset,
        )
    }

    fn __repr__(&self) -> String {
        let v = &self.0;
        let mut s = format!("Variant({:?}, {}", v.kind().name(), v.p());
        if let Some(b) = v.block() {
            s += &format!(", block={b}");
        }
        if let Some((scope, g)) = v.scope() {
            s += &format!(", scope={:?}, group={g}", scope.name());
        }
        if let Some(t) = v.temperature() {
            s += &format!(", temperature={t}");
        }
        s + ")"
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyVariant>()?;
    let names = VariantKind::ALL.map(VariantKind::name);
    m.add("VARIANT_KINDS", PyTuple::new(m.py(), names)?)?;
    Ok(())
}

//! Attention-probability dropout fused with the softmax, on NumPy score
//! arrays of shape `(…, T, T)` (block `b` = the row-major index of the
//! leading axes, `b = n·H + h` for `(N, H, T, T)`):
//!
//! ```text
//! attention_dropout:           A = keep ? softmax(S)/(1 − p) : 0   (rows over keys j ≤ i if causal)
//! attention_dropout_backward:  ∂S = P ⊙ (∂P − Σ_j P ∂P),  ∂P = keep ? ∂A/(1 − p) : 0   (P from S again)
//! keep of element (b, i, j) = Philox word b·T² + i·T + j ≥ round(p · 2^32)
//! ```
//! the bits of the engine's attention layer and of the candle op for the same key.

use ::dropout::AttentionDropout;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::array::{f32_array, map, map2};
use crate::ops::mode;
use crate::{err, key};

/// `T` of `(…, T, T)` scores, or the error naming the shape.
fn side(x: &Bound<'_, PyAny>, name: &str) -> PyResult<usize> {
    let a = f32_array(x, name)?;
    let shape = numpy::PyUntypedArrayMethods::shape(&a).to_vec();
    match shape.as_slice() {
        [.., a, b] if a == b && *a > 0 => Ok(*a),
        _ => Err(PyValueError::new_err(format!(
            "{name} must have shape (…, T, T) with T ≥ 1 (the last two axes queries × keys), got {shape:?}"
        ))),
    }
}

/// `dropout(softmax(scores))` over the last two axes (see the module docs): a new array.
#[pyfunction]
#[pyo3(signature = (scores, p, key, *, causal = false, train = true))]
fn attention_dropout<'py>(
    scores: &Bound<'py, PyAny>,
    p: f32,
    key: &Bound<'py, PyAny>,
    causal: bool,
    train: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let d = AttentionDropout::new(p).map_err(err)?;
    let (k, m, t) = (self::key(key)?, mode(train), side(scores, "scores")?);
    map(scores, "scores", move |_, s, a| {
        let mut pb = vec![0.0f32; t * t];
        for (b, (sb, ab)) in s.chunks(t * t).zip(a.chunks_mut(t * t)).enumerate() {
            pb.copy_from_slice(sb);
            d.forward(k, m, b as u64, t, causal, &mut pb, ab)?;
        }
        Ok(())
    })
    .map(Bound::into_any)
}

/// The gradient of [`attention_dropout`] with respect to the scores, from
/// the scores and `∂L/∂A` (`da`), the mask recomputed from the key: a new array.
#[pyfunction]
#[pyo3(signature = (scores, da, p, key, *, causal = false, train = true))]
fn attention_dropout_backward<'py>(
    scores: &Bound<'py, PyAny>,
    da: &Bound<'py, PyAny>,
    p: f32,
    key: &Bound<'py, PyAny>,
    causal: bool,
    train: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let d = AttentionDropout::new(p).map_err(err)?;
    let (k, m, t) = (self::key(key)?, mode(train), side(scores, "scores")?);
    map2(scores, da, ("scores", "da"), move |_, s, g, ds| {
        let (mut pb, mut ab) = (vec![0.0f32; t * t], vec![0.0f32; t * t]);
        let blocks = s
            .chunks(t * t)
            .zip(g.chunks(t * t))
            .zip(ds.chunks_mut(t * t));
        for (b, ((sb, gb), out)) in blocks.enumerate() {
            pb.copy_from_slice(sb);
            d.forward(k, m, b as u64, t, causal, &mut pb, &mut ab)?;
            out.copy_from_slice(gb);
            d.backward(k, m, b as u64, t, &pb, out)?;
        }
        Ok(())
    })
    .map(Bound::into_any)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(attention_dropout, m)?)?;
    m.add_function(wrap_pyfunction!(attention_dropout_backward, m)?)?;
    Ok(())
}

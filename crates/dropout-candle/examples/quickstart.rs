//! The README's "Use from candle" example, compiled and run:
//! `cargo run -p dropout-candle --example quickstart`.
//!
//! ```text
//! y = keep · x / (1 − p),   keep from (seed, stream, step) and the element's row-major index
//! ```

fn main() -> candle_core::Result<()> {
    use candle_core::{Device, Tensor, Var};
    use dropout_candle::{dropout, DropoutLayer};

    // A layer per dropout site: its own stream; the step advances every training forward.
    let drop = DropoutLayer::new(0.5, /* seed */ 42, /* stream */ 0)?;
    let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (4, 8), &Device::Cpu)?)?;
    let key = drop.next_key(); // the key this forward will use
    let y = drop.forward_t(x.as_tensor(), /* train */ true)?;

    // Backward recomputes the mask from (p, key): candle's autograd trains through it.
    let grads = y.sum_all()?.backward()?;
    let dx = grads.get(x.as_tensor()).expect("x takes part in y");

    // The same key gives the same mask anywhere: here, through the function form.
    let again = dropout(x.as_tensor(), 0.5, key, true)?;
    assert_eq!(again.to_vec2::<f32>()?, y.to_vec2::<f32>()?);
    // dx is 2 where x was kept and 0 where it was dropped.
    let kept = y.ne(0f32)?.to_dtype(candle_core::DType::F32)?;
    assert_eq!(
        dx.to_vec2::<f32>()?,
        kept.affine(2.0, 0.0)?.to_vec2::<f32>()?
    );
    // Evaluation: the identity.
    let e = drop.forward_t(x.as_tensor(), false)?;
    assert_eq!(e.to_vec2::<f32>()?, x.as_tensor().to_vec2::<f32>()?);
    println!(
        "key {key:?}: kept {} of 32",
        kept.sum_all()?.to_scalar::<f32>()?
    );
    Ok(())
}

//! Global-norm gradient clipping (Pascanu et al. 2013; PyTorch's
//! `clip_grad_norm_`), a bound on the whole gradient's length — distinct
//! from the per-unit max-norm constraint on weights ([`crate::optim`]):
//!
//! ```text
//! ‖g‖ = sqrt(Σ_θ Σ_i g_θi²)              over every parameter, in f64, in parameter order
//! g ← g · min(1, c / (‖g‖ + 1e-6))        (PyTorch's coefficient)
//! ```
//! The sum runs in one fixed order on the calling thread (a millisecond for
//! a million parameters), so the result is the same on any thread count.
//!
//! ```
//! use engine::{clip::clip_grad_norm, spec::{build, ModelSpec}};
//! let mut m = build(&ModelSpec::new("2-3-2"), &[2], 1).unwrap();
//! m.visit_params(&mut |_, p| p.grad.fill(1.0));
//! let norm = clip_grad_norm(&mut m, 1.0);
//! assert!((norm - 17f64.sqrt()).abs() < 1e-5); // 3·2 + 3 + 2·3 + 2 = 17 entries of 1
//! let mut after = 0.0;
//! m.visit_params(&mut |_, p| after += p.grad.iter().map(|g| f64::from(*g).powi(2)).sum::<f64>());
//! assert!((after.sqrt() - 1.0).abs() < 1e-5);
//! ```

use rayon::prelude::*;

use crate::model::Sequential;

/// Scale every gradient so their global norm is at most `max_norm`;
/// returns the norm before clipping.
pub fn clip_grad_norm(model: &mut Sequential, max_norm: f32) -> f64 {
    let mut total = 0.0f64;
    model.visit_params(&mut |_, p| {
        total += p
            .grad
            .iter()
            .map(|&g| f64::from(g) * f64::from(g))
            .sum::<f64>();
    });
    let norm = total.sqrt();
    let coef = f64::from(max_norm) / (norm + 1e-6);
    if coef < 1.0 {
        let c = coef as f32;
        model.visit_params(&mut |_, p| p.grad.par_iter_mut().for_each(|g| *g *= c));
    }
    norm
}

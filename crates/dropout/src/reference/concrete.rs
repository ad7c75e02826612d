//! Reference of Concrete dropout: one element at a time, sums in element order.
//!
//! ```text
//! y_e = x_e (1 − z_e)/(1 − p),   ∂L/∂p = Σ_e dy_e x_e [(1 − z_e)/(1 − p)² − z_e(1 − z_e)/(τ p (1 − p)²)]
//! ```

use crate::concrete::{logit, relaxed, ConcreteDropout};
use crate::philox::MaskKey;

/// Reference forward (train mode).
pub fn concrete_forward_at(
    d: &ConcreteDropout,
    key: MaskKey,
    offset: u64,
    p: f32,
    x: &[f32],
) -> Vec<f32> {
    x.iter()
        .enumerate()
        .map(|(i, &v)| {
            v * ((1.0 - relaxed(key, offset + i as u64, logit(p), d.temperature())) / (1.0 - p))
        })
        .collect()
}

/// Reference backward (train mode): `(dx, ∂L/∂p)`.
pub fn concrete_backward_at(
    d: &ConcreteDropout,
    key: MaskKey,
    offset: u64,
    p: f32,
    x: &[f32],
    dy: &[f32],
) -> (Vec<f32>, f64) {
    let (tau, q) = (d.temperature(), 1.0 - p);
    let mut dp = 0.0f64;
    let dx = x
        .iter()
        .zip(dy)
        .enumerate()
        .map(|(i, (&v, &g))| {
            let z = relaxed(key, offset + i as u64, logit(p), tau);
            let df = (1.0 - z) / (q * q) - z * (1.0 - z) / (tau * p * q * q);
            dp += f64::from(g) * f64::from(v) * f64::from(df);
            g * ((1.0 - z) / q)
        })
        .collect();
    (dx, dp)
}

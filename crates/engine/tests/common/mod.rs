//! The finite-difference harness shared by the gradient checks (see
//! `gradcheck.rs` for the method and its tolerance).

#![allow(dead_code)]

use engine::layer::{Ctx, Layer};
use engine::rng::Rng;
use engine::Tensor;

pub const STEPS: [f32; 3] = [1e-3, 2.5e-4, 4e-3];
pub const CTX: Ctx = Ctx::train(77, 3);

pub fn close(a: f64, n: f64) -> bool {
    (a - n).abs() <= 2e-3 + 3e-2 * a.abs().max(n.abs())
}

pub fn randn(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.normal() as f32).collect()
}

/// Coordinates to test: all if few, else 12 spread over the range.
pub fn coords(n: usize) -> Vec<usize> {
    if n <= 12 {
        (0..n).collect()
    } else {
        (0..12).map(|i| i * (n - 1) / 11).collect()
    }
}

pub fn layer_loss(layer: &mut dyn Layer, x: &Tensor, c: &[f32]) -> f64 {
    layer.forward(x, &CTX);
    layer
        .output()
        .data
        .iter()
        .zip(c)
        .map(|(&y, &c)| f64::from(y) * f64::from(c))
        .sum()
}

pub fn perturb(layer: &mut dyn Layer, which: usize, j: usize, delta: f32) {
    let mut k = 0;
    layer.visit_params(&mut |p| {
        if k == which {
            p.value[j] += delta;
        }
        k += 1;
    });
}

pub fn check_layer(name: &str, layer: &mut dyn Layer, shape: &[usize], seed: u64) {
    let mut rng = Rng::new(seed);
    let x = Tensor::from_vec(randn(&mut rng, shape.iter().product()), shape);
    check_layer_at(name, layer, &x, true, &mut rng);
}

/// The check at input `x`; `inputs`: whether `∂L/∂x` is checked too.
pub fn check_layer_at(name: &str, layer: &mut dyn Layer, x: &Tensor, inputs: bool, rng: &mut Rng) {
    layer.forward(x, &CTX);
    let c = randn(rng, layer.output().len());
    let mut dy = Tensor::from_vec(c.clone(), &layer.output().shape.clone());
    layer.backward(x, &mut dy, &CTX, inputs);
    let dx = layer.input_grad().data.clone();
    let mut grads: Vec<Vec<f32>> = Vec::new();
    layer.visit_params(&mut |p| grads.push(p.grad.to_vec()));
    for j in coords(x.len()).into_iter().filter(|_| inputs) {
        let mut xs = x.clone();
        let (ok, nums) = agrees(dx[j], |d| {
            xs.data[j] = x.data[j] + d;
            layer_loss(layer, &xs, &c)
        });
        assert!(ok, "{name}: dx[{j}] analytic {} vs numeric {nums:?}", dx[j]);
    }
    for (pi, g) in grads.iter().enumerate() {
        for j in coords(g.len()) {
            let mut at = 0.0;
            let (ok, nums) = agrees(g[j], |d| {
                perturb(layer, pi, j, d - at);
                at = d;
                layer_loss(layer, x, &c)
            });
            perturb(layer, pi, j, -at);
            assert!(
                ok,
                "{name}: param {pi}[{j}] analytic {} vs numeric {nums:?}",
                g[j]
            );
        }
    }
}

/// Central differences of `loss_at(δ)` (the loss with the coordinate moved
/// by δ) at each step size; whether any agrees with `analytic`.
pub fn agrees(analytic: f32, mut loss_at: impl FnMut(f32) -> f64) -> (bool, Vec<f64>) {
    let nums: Vec<f64> = STEPS
        .iter()
        .map(|&h| (loss_at(h) - loss_at(-h)) / (2.0 * f64::from(h)))
        .collect();
    loss_at(0.0);
    (nums.iter().any(|&n| close(f64::from(analytic), n)), nums)
}

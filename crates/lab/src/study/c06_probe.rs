//! C6's 2-D problems and what is measured on a trained net.
//!
//! Two problems with known class densities: two moons (arcs m₀(t) =
//! (cos t − ½, sin t − ¼), m₁(t) = (½ − cos t, ¼ − sin t), t ~ U[0, π],
//! σ = 0.25) and two spirals (m₀(t) = (t cos t, t sin t)/6, m₁ = −m₀,
//! t = 3π√u, u ~ U[0, 1], σ = 0.1), isotropic Gaussian noise. So the Bayes
//! classifier is computable: class 1 where p(x|1) > p(x|0), with
//! p(x|c) = E_t N(x; m_c(t), σ²I) (a 400-point quadrature over t).
//!
//! On a 120 × 120 grid over [−2, 2]², restricted to the data's **support**
//! (cells where the input density ½(p(x|0) + p(x|1)) is at least 5 % of its
//! maximum — within about 2.4σ of the curves):
//!
//! ```text
//! boundary length   class changes between neighbouring support cells × cell size × π/4
//! relative length   that / the Bayes classifier's own length (1 = as simple as the truth)
//! disagreement      share of support cells where the net and the Bayes classifier differ
//! class regions     connected components (4-neighbour) of equal predicted class on the support
//! Jacobian norm     mean over test points of ‖∂softmax/∂x‖_F = √2 · p₁(1 − p₁) · ‖∇ₓ(z₁ − z₀)‖
//!                   (Novak et al. 2018; central differences, h = 10⁻³)
//! ```

use engine::layer::Ctx;
use engine::loss::softmax;
use engine::rng::Rng;
use engine::Sequential;
use serde::Serialize;

use crate::data::Dataset;

/// Grid cells per side.
pub const G: usize = 120;
/// Grid bounds.
pub const LO: f64 = -2.0;
/// Grid bounds.
pub const HI: f64 = 2.0;
const SUPPORT: f64 = 0.05;

/// The curve point of class `c` at parameter `u` ∈ [0, 1] and the noise σ.
fn curve(kind: &str, c: u32, u: f64) -> ((f64, f64), f64) {
    if kind == "moons" {
        let t = u * std::f64::consts::PI;
        let (a, b) = if c == 0 {
            (t.cos(), t.sin())
        } else {
            (1.0 - t.cos(), 0.5 - t.sin())
        };
        ((a - 0.5, b - 0.25), 0.25)
    } else {
        let t = u.sqrt() * 3.0 * std::f64::consts::PI;
        let s = if c == 0 { 1.0 } else { -1.0 };
        ((s * t * t.cos() / 6.0, s * t * t.sin() / 6.0), 0.1)
    }
}

/// `n` points of a named problem, labels 0/1, a fraction `flip` of them flipped.
pub fn make(kind: &str, n: usize, flip: f64, seed: u64) -> Dataset {
    let mut r = Rng::new(seed);
    let (mut x, mut y) = (Vec::with_capacity(2 * n), Vec::with_capacity(n));
    for i in 0..n {
        let c = (i % 2) as u32;
        let ((a, b), s) = curve(kind, c, r.uniform());
        x.push((a + s * r.normal()) as f32);
        x.push((b + s * r.normal()) as f32);
        y.push(if r.uniform() < flip { 1 - c } else { c });
    }
    Dataset {
        x,
        y,
        sample_shape: vec![2],
    }
}

/// The grid's points, row-major (y outer).
pub fn grid_points() -> Vec<f32> {
    let step = (HI - LO) / (G - 1) as f64;
    (0..G * G)
        .flat_map(|k| {
            [
                (LO + (k % G) as f64 * step) as f32,
                (LO + (k / G) as f64 * step) as f32,
            ]
        })
        .collect()
}

/// The Bayes classifier and support of a problem on the grid.
#[derive(Clone, Debug)]
pub struct Truth {
    /// Bayes class per cell.
    pub class: Vec<bool>,
    /// Whether a cell is on the support.
    pub support: Vec<bool>,
    /// The Bayes boundary length on the support.
    pub length: f64,
    /// The Bayes classifier's class regions on the support.
    pub regions: usize,
}

impl Truth {
    /// Compute it for `kind` (`moons` or `spirals`).
    pub fn of(kind: &str) -> Self {
        let pts = grid_points();
        let dens = |c: u32, x: f64, y: f64| {
            (0..400)
                .map(|i| {
                    let ((a, b), s) = curve(kind, c, (i as f64 + 0.5) / 400.0);
                    (-((x - a).powi(2) + (y - b).powi(2)) / (2.0 * s * s)).exp() / (s * s)
                })
                .sum::<f64>()
        };
        let (mut class, mut p) = (Vec::with_capacity(G * G), Vec::with_capacity(G * G));
        for k in 0..G * G {
            let (x, y) = (f64::from(pts[2 * k]), f64::from(pts[2 * k + 1]));
            let (d0, d1) = (dens(0, x, y), dens(1, x, y));
            class.push(d1 > d0);
            p.push(d0 + d1);
        }
        let top = p.iter().copied().fold(0.0, f64::max);
        let support: Vec<bool> = p.iter().map(|&v| v >= SUPPORT * top).collect();
        let length = length(&class, &support);
        let regions = regions(&class, &support);
        Self {
            class,
            support,
            length,
            regions,
        }
    }
}

/// Boundary length on the support (see the module docs).
fn length(class: &[bool], support: &[bool]) -> f64 {
    let step = (HI - LO) / (G - 1) as f64;
    let mut changes = 0usize;
    for j in 0..G {
        for i in 0..G {
            let k = j * G + i;
            for n in [(i + 1 < G).then(|| k + 1), (j + 1 < G).then(|| k + G)]
                .into_iter()
                .flatten()
            {
                changes += usize::from(support[k] && support[n] && class[k] != class[n]);
            }
        }
    }
    changes as f64 * step * std::f64::consts::FRAC_PI_4
}

/// Connected regions of equal class on the support (4-neighbour flood fill).
fn regions(class: &[bool], support: &[bool]) -> usize {
    let mut seen = vec![false; G * G];
    let mut count = 0;
    for start in 0..G * G {
        if !support[start] || seen[start] {
            continue;
        }
        count += 1;
        let mut stack = vec![start];
        seen[start] = true;
        while let Some(k) = stack.pop() {
            let (i, j) = (k % G, k / G);
            let near = [
                (i > 0).then(|| k - 1),
                (i + 1 < G).then(|| k + 1),
                (j > 0).then(|| k - G),
                (j + 1 < G).then(|| k + G),
            ];
            for n in near.into_iter().flatten() {
                if support[n] && !seen[n] && class[n] == class[k] {
                    seen[n] = true;
                    stack.push(n);
                }
            }
        }
    }
    count
}

/// What one trained net shows.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Probe {
    /// Test accuracy on clean points.
    pub test_acc: f64,
    /// Boundary length on the support.
    pub length: f64,
    /// Length relative to the Bayes boundary's.
    pub relative_length: f64,
    /// Share of the support where the net disagrees with the Bayes classifier.
    pub disagreement: f64,
    /// Class regions on the support.
    pub regions: usize,
    /// Mean softmax Jacobian norm on the test points.
    pub jacobian: f64,
    /// P(class 1) per grid cell (for figures; not saved).
    #[serde(skip)]
    pub p1: Vec<f64>,
}

fn margins(model: &mut Sequential, x: &[f32]) -> Vec<f64> {
    let n = x.len() / 2;
    model.input_mut(n).copy_from_slice(x);
    let z = model.forward(&Ctx::eval());
    (0..n)
        .map(|k| f64::from(z.data[2 * k + 1] - z.data[2 * k]))
        .collect()
}

/// Measure `model` against `truth` and the clean `test` points.
pub fn probe(model: &mut Sequential, truth: &Truth, test: &Dataset) -> Probe {
    let pts = grid_points();
    model.input_mut(G * G).copy_from_slice(&pts);
    let mut probs = Vec::new();
    softmax(model.forward(&Ctx::eval()), &mut probs);
    let p1: Vec<f64> = (0..G * G).map(|k| probs[2 * k + 1]).collect();
    let class: Vec<bool> = p1.iter().map(|&p| p > 0.5).collect();
    let on: Vec<usize> = (0..G * G).filter(|&k| truth.support[k]).collect();
    let disagreement =
        on.iter().filter(|&&k| class[k] != truth.class[k]).count() as f64 / on.len().max(1) as f64;
    let len = length(&class, &truth.support);
    let g = margins(model, &test.x);
    let test_acc = g
        .iter()
        .zip(&test.y)
        .filter(|(g, y)| (**g > 0.0) == (**y == 1))
        .count() as f64
        / test.len().max(1) as f64;
    let h = 1e-3f32;
    let shifted = |dx: f32, dy: f32| -> Vec<f32> {
        test.x
            .chunks(2)
            .flat_map(|p| [p[0] + dx, p[1] + dy])
            .collect()
    };
    let (xp, xm, yp, ym) = (
        shifted(h, 0.0),
        shifted(-h, 0.0),
        shifted(0.0, h),
        shifted(0.0, -h),
    );
    let (gxp, gxm, gyp, gym) = (
        margins(model, &xp),
        margins(model, &xm),
        margins(model, &yp),
        margins(model, &ym),
    );
    let jacobian = (0..g.len())
        .map(|k| {
            let (gx, gy) = (
                (gxp[k] - gxm[k]) / (2.0 * f64::from(h)),
                (gyp[k] - gym[k]) / (2.0 * f64::from(h)),
            );
            let p = 1.0 / (1.0 + (-g[k]).exp());
            2f64.sqrt() * p * (1.0 - p) * (gx * gx + gy * gy).sqrt()
        })
        .sum::<f64>()
        / g.len().max(1) as f64;
    Probe {
        test_acc,
        length: len,
        relative_length: len / truth.length.max(1e-12),
        disagreement,
        regions: regions(&class, &truth.support),
        jacobian,
        p1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bayes_classifier_has_two_regions_and_a_finite_boundary() {
        for kind in ["moons", "spirals"] {
            let t = Truth::of(kind);
            assert_eq!(t.regions, 2, "{kind}: one region per class on the support");
            assert!(t.length > 1.0 && t.length < 30.0, "{kind}: {}", t.length);
            let share = t.support.iter().filter(|&&s| s).count() as f64 / (G * G) as f64;
            assert!(share > 0.1 && share < 0.9, "{kind}: support {share}");
        }
    }

    #[test]
    fn lengths_and_regions_of_hand_made_grids() {
        let support = vec![true; G * G];
        // Left half class 0, right half class 1: one vertical line across the box.
        let half: Vec<bool> = (0..G * G).map(|k| k % G >= G / 2).collect();
        let step = (HI - LO) / (G - 1) as f64;
        assert!(
            (length(&half, &support) - G as f64 * step * std::f64::consts::FRAC_PI_4).abs() < 1e-9
        );
        assert_eq!(regions(&half, &support), 2);
        // Three vertical stripes: three regions; off the support nothing counts.
        let stripes: Vec<bool> = (0..G * G).map(|k| (k % G) / (G / 3) == 1).collect();
        assert_eq!(regions(&stripes, &support), 3);
        assert_eq!(length(&stripes, &vec![false; G * G]), 0.0);
    }
}

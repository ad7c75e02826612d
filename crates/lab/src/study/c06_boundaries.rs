//! C6 — "Dropout gives smoother decision boundaries."
//!
//! A setting that can overfit, so that there is something to smooth: two
//! 2-D problems of 300 training points with heavy noise and 20 % of the
//! training labels flipped — two moons (σ = 0.25) and two spirals (σ = 0.1)
//! — and a wide MLP 2-256-256-2 trained with p = 0 and p = 0.5 for the same
//! number of updates (Adam, lr 0.01, batch 32; 400 epochs ≈ 3,800 updates in
//! the default budget), over many seeds (each run takes well under a
//! second). Test points are clean (no flipped labels). Smoothness: the
//! length of the decision boundary (the 50 % contour) inside [−2, 2]²,
//! estimated on a 120 × 120 grid as the number of neighbouring grid cells
//! with different predicted classes times the cell size — a wigglier
//! boundary is longer. The mean norm of the input gradient of the logit
//! margin g(x) = z₁(x) − z₀(x) is reported too, but it also grows with the
//! overall logit scale, so the verdict does not use it.
//!
//! ```text
//! primary endpoint, per problem: paired difference length(p=0) − length(p=0.5) over seeds
//! smoother: its 95 % CI above 0;  rougher: below 0
//! no smoothing: equivalent to 0 within ±10 % of the mean p=0 length (TOST, α = 0.05)
//! ```
//! The verdict rule is [`Boundaries::RULE`].

use engine::layer::Ctx;
use engine::loss::softmax;
use engine::rng::Rng;
use serde::Serialize;

use super::claim::{Claim, Figure, Section, Table, Verdict};
use super::lab::Lab;
use super::plot::boundary;
use super::stats::{paired, Est};
use super::Budget;
use crate::config::{ModelConfig, OptimConfig, OptimizerName, RunConfig};
use crate::data::{Dataset, Splits};
use crate::error::Result;
use crate::train::{fit, LoopOptions};

const G: usize = 120;
const LO: f64 = -2.0;
const HI: f64 = 2.0;

/// Fraction of training labels flipped.
const FLIP: f64 = 0.2;

/// `n` points of a named 2-D problem, labels 0/1, roughly within [−1.6, 1.6]²,
/// with a fraction `flip` of the labels flipped.
pub fn make(kind: &str, n: usize, flip: f64, seed: u64) -> Dataset {
    let mut r = Rng::new(seed);
    let mut x = Vec::with_capacity(2 * n);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = (i % 2) as u32;
        let (px, py) = if kind == "moons" {
            let t = r.uniform() * std::f64::consts::PI;
            let (a, b) = if c == 0 {
                (t.cos(), t.sin())
            } else {
                (1.0 - t.cos(), 0.5 - t.sin())
            };
            (a - 0.5 + 0.25 * r.normal(), b - 0.25 + 0.25 * r.normal())
        } else {
            let t = r.uniform().sqrt() * 3.0 * std::f64::consts::PI;
            let s = if c == 0 { 1.0 } else { -1.0 };
            (
                s * t * t.cos() / 6.0 + 0.1 * r.normal(),
                s * t * t.sin() / 6.0 + 0.1 * r.normal(),
            )
        };
        x.push(px as f32);
        x.push(py as f32);
        y.push(if r.uniform() < flip { 1 - c } else { c });
    }
    Dataset {
        x,
        y,
        sample_shape: vec![2],
    }
}

/// The 2-D runs: MLP 2-256-256-2, ReLU, Adam lr 0.01, batch 32.
fn config(p: f32, seed: u64, epochs: usize) -> RunConfig {
    let d = RunConfig::default();
    RunConfig {
        model: ModelConfig {
            arch: "2-256-256-2".into(),
            dropout: p,
            input_dropout: 0.0,
            ..d.model
        },
        optim: OptimConfig {
            optimizer: OptimizerName::Adam,
            lr: 0.01,
            ..d.optim
        },
        epochs,
        batch: 32,
        seed,
        ..d
    }
}

/// Train on `data`; return (test acc, mean ‖∇g‖, boundary length, grid of P(class 1)).
fn train_and_probe(
    data: &Dataset,
    test: &Dataset,
    p: f32,
    seed: u64,
    epochs: usize,
) -> Result<(f64, f64, f64, Vec<f64>)> {
    let splits = Splits {
        train: data.clone(),
        val: Dataset::default(),
        test: test.clone(),
        classes: 2,
        source: "2-D".into(),
    };
    let (mut model, s) = fit(
        &config(p, seed, epochs),
        &splits,
        LoopOptions::in_memory(0, &mut ()),
    )?;
    let step = (HI - LO) / (G - 1) as f64;
    let mut grid = Vec::with_capacity(2 * G * G);
    for j in 0..G {
        for i in 0..G {
            grid.push((LO + i as f64 * step) as f32);
            grid.push((LO + j as f64 * step) as f32);
        }
    }
    model.input_mut(G * G).copy_from_slice(&grid);
    let z = model.forward(&Ctx::eval()).clone();
    let g: Vec<f64> = (0..G * G)
        .map(|k| f64::from(z.data[2 * k + 1] - z.data[2 * k]))
        .collect();
    let mut norms = Vec::new();
    for j in 1..G - 1 {
        for i in 1..G - 1 {
            let gx = (g[j * G + i + 1] - g[j * G + i - 1]) / (2.0 * step);
            let gy = (g[(j + 1) * G + i] - g[(j - 1) * G + i]) / (2.0 * step);
            norms.push((gx * gx + gy * gy).sqrt());
        }
    }
    let mut probs = Vec::new();
    softmax(&z, &mut probs);
    let p1: Vec<f64> = (0..G * G).map(|k| probs[2 * k + 1]).collect();
    // Boundary length: class changes between horizontal and vertical neighbours.
    let class = |k: usize| g[k] > 0.0;
    let mut changes = 0usize;
    for j in 0..G {
        for i in 0..G {
            if i + 1 < G && class(j * G + i) != class(j * G + i + 1) {
                changes += 1;
            }
            if j + 1 < G && class(j * G + i) != class((j + 1) * G + i) {
                changes += 1;
            }
        }
    }
    // Each change crosses one cell edge; on average a contour crosses
    // 4/π edges per unit length in cell units, so length ≈ changes · step · π/4.
    let length = changes as f64 * step * std::f64::consts::FRAC_PI_4;
    Ok((
        s.eval().test.acc,
        norms.iter().sum::<f64>() / norms.len() as f64,
        length,
        p1,
    ))
}

/// C6.
pub struct Boundaries;

/// The first seed's training points and P(class 1) grids at p = 0 and p = 0.5.
pub type Pictures = (Vec<(f64, f64, u32)>, [Vec<f64>; 2]);

/// One data set's measurements; vectors are per seed.
#[derive(Clone, Debug, Serialize)]
pub struct Problem {
    /// `moons` or `spirals`.
    pub data: String,
    /// Boundary length at p = 0.
    pub boundary_length_p0: Vec<f64>,
    /// Boundary length at p = 0.5.
    pub boundary_length_p05: Vec<f64>,
    /// Mean margin-gradient norm at p = 0.
    pub grad_norm_p0: Vec<f64>,
    /// The same at p = 0.5.
    pub grad_norm_p05: Vec<f64>,
    /// Test accuracy at p = 0.
    pub test_acc_p0: Vec<f64>,
    /// Test accuracy at p = 0.5.
    pub test_acc_p05: Vec<f64>,
    /// First seed's training points and P(class 1) grids (p = 0, p = 0.5), for the figures.
    #[serde(skip)]
    pub pictures: Option<Pictures>,
}

impl Problem {
    fn shorter(&self) -> Est {
        paired(&self.boundary_length_p0, &self.boundary_length_p05)
    }

    /// The difference is equivalent to 0 within ±10 % of the p = 0 length.
    fn no_smoothing(&self) -> bool {
        let margin = 0.1 * Est::of(&self.boundary_length_p0).mean;
        self.shorter().equivalent(margin)
    }
}

/// Seeds of C6's runs for a budget: many, since each run takes well under a second.
fn seeds(budget: Budget) -> u64 {
    match budget {
        Budget::Tiny => 2,
        Budget::Quick => 10,
        Budget::Default => 20,
        Budget::Full => 30,
    }
}

/// What C6 measured.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// Training points.
    pub n: usize,
    /// Epochs.
    pub epochs: usize,
    /// Moons and spirals.
    pub problems: Vec<Problem>,
}

impl Claim for Boundaries {
    const ID: &'static str = "C6";
    const CLAIM: &'static str = "Dropout gives smoother decision boundaries.";
    const RULE: &'static str = "per problem: smoother = paired 95% CI of boundary length (p=0) − (p=0.5) above 0; no smoothing = that difference equivalent to 0 within ±10% of the p=0 length (TOST) or its CI below 0. holds: both problems smoother; holds partly: one; does not hold: neither smoother and both show no smoothing; inconclusive: otherwise.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let n = 300;
        let epochs = match lab.budget {
            Budget::Tiny => 10,
            Budget::Quick => 200,
            Budget::Default => 400,
            Budget::Full => 600,
        };
        let seed_list: Vec<u64> = (0..seeds(lab.budget)).collect();
        lab.begin(Self::ID, 2 * 2 * seed_list.len());
        let mut problems = Vec::new();
        for kind in ["moons", "spirals"] {
            let mut grad = [Vec::new(), Vec::new()];
            let mut len = [Vec::new(), Vec::new()];
            let mut acc = [Vec::new(), Vec::new()];
            let mut grids = [Vec::new(), Vec::new()];
            let mut points = Vec::new();
            for &seed in &seed_list {
                let data = make(kind, n, FLIP, 100 + seed);
                let test = make(kind, 1000, 0.0, 10_000 + seed);
                for (arm, p) in [0.0f32, 0.5].into_iter().enumerate() {
                    let (a, g, l, cells) = train_and_probe(&data, &test, p, seed, epochs)?;
                    grad[arm].push(g);
                    len[arm].push(l);
                    acc[arm].push(a);
                    if seed == seed_list[0] {
                        grids[arm] = cells;
                        points = data
                            .y
                            .iter()
                            .enumerate()
                            .map(|(i, &l)| {
                                (f64::from(data.x[2 * i]), f64::from(data.x[2 * i + 1]), l)
                            })
                            .collect();
                    }
                    lab.tick(&format!("{kind} p={p}"));
                }
            }
            let [boundary_length_p0, boundary_length_p05] = len;
            let [grad_norm_p0, grad_norm_p05] = grad;
            let [test_acc_p0, test_acc_p05] = acc;
            problems.push(Problem {
                data: kind.into(),
                boundary_length_p0,
                boundary_length_p05,
                grad_norm_p0,
                grad_norm_p05,
                test_acc_p0,
                test_acc_p05,
                pictures: Some((points, grids)),
            });
        }
        Ok(Evidence {
            n,
            epochs,
            problems,
        })
    }

    fn verdict(e: &Evidence) -> Verdict {
        let smoother = e
            .problems
            .iter()
            .filter(|p| p.shorter().above_zero())
            .count();
        let none = e
            .problems
            .iter()
            .all(|p| p.no_smoothing() || p.shorter().below_zero());
        match smoother {
            2 => Verdict::Holds,
            1 => Verdict::HoldsPartly,
            _ if none => Verdict::DoesNotHold,
            _ => Verdict::Inconclusive,
        }
    }

    fn render(e: &Evidence) -> Section {
        let mut figures = Vec::new();
        let rows: Vec<Vec<String>> = e
            .problems
            .iter()
            .map(|p| {
                if let Some((pts, grids)) = &p.pictures {
                    for (arm, rate) in [0.0, 0.5].into_iter().enumerate() {
                        let (l, g) = if arm == 0 {
                            (&p.boundary_length_p0, &p.grad_norm_p0)
                        } else {
                            (&p.boundary_length_p05, &p.grad_norm_p05)
                        };
                        figures.push(Figure {
                            caption: format!("{}, p = {rate}: P(class 1) over the plane (seed 0); boundary length {:.2}, mean ‖∇g‖ = {:.2}", p.data, l[0], g[0]),
                            svg: boundary(&format!("{}, p = {rate}", p.data), LO, HI, &grids[arm], G, pts),
                        });
                    }
                }
                vec![
                    p.data.clone(),
                    Est::of(&p.boundary_length_p0).fmt(1.0, 2),
                    Est::of(&p.boundary_length_p05).fmt(1.0, 2),
                    p.shorter().fmt(1.0, 2),
                    Est::of(&p.grad_norm_p0).fmt(1.0, 1),
                    Est::of(&p.grad_norm_p05).fmt(1.0, 1),
                    Est::of(&p.test_acc_p0).fmt(100.0, 1),
                    Est::of(&p.test_acc_p05).fmt(100.0, 1),
                ]
            })
            .collect();
        let seeds = e.problems.first().map_or(0, |p| p.test_acc_p0.len());
        Section {
            finding: String::new(),
            limitations: String::new(),
            method: format!("Two moons (σ = 0.25) and two spirals (σ = 0.1), {} training points with 20 % of the labels flipped, 1,000 clean test points; MLP 2-256-256-2, ReLU, Adam lr 0.01, {} epochs (the same updates for both arms), batch 32, p = 0 vs 0.5, {seeds} seeds. Smoothness: length of the decision boundary in [−2, 2]² (120×120 grid); the mean margin-gradient norm ‖∇ₓ(z₁ − z₀)‖ is shown but scales with the logits. Limitation: the length counts the whole box, including regions far from the data.", e.n, e.epochs),
            key_number: rows.iter().map(|r| format!("{}: boundary length {} → {}", r[0], r[1], r[2])).collect::<Vec<_>>().join("; "),
            tables: vec![Table::new("Boundary length, margin gradient and accuracy (mean ± 95% CI)", &["data", "length p=0", "length p=0.5", "difference", "‖∇g‖ p=0", "‖∇g‖ p=0.5", "test acc % p=0", "test acc % p=0.5"], rows)],
            figures,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(p0: [f64; 5], p05: [f64; 5]) -> Problem {
        Problem {
            data: "moons".into(),
            boundary_length_p0: p0.to_vec(),
            boundary_length_p05: p05.to_vec(),
            grad_norm_p0: vec![1.0; 5],
            grad_norm_p05: vec![1.0; 5],
            test_acc_p0: vec![0.9; 5],
            test_acc_p05: vec![0.9; 5],
            pictures: None,
        }
    }

    #[test]
    fn every_verdict_of_the_rule() {
        let smoother = problem([8.0, 9.0, 10.0, 9.0, 9.5], [5.0, 5.5, 6.0, 5.2, 5.8]);
        // Differences within ±0.1 of 9 ± a little: equivalent to no change.
        let same = problem([8.0, 9.0, 10.0, 9.0, 9.5], [8.05, 9.02, 9.97, 9.01, 9.48]);
        // Noisy differences: neither smoother nor shown equivalent.
        let noisy = problem([8.0, 9.0, 10.0, 9.0, 9.5], [12.0, 6.0, 13.0, 5.0, 9.0]);
        let e = |a: &Problem, b: &Problem| Evidence {
            n: 1,
            epochs: 1,
            problems: vec![a.clone(), b.clone()],
        };
        assert_eq!(
            Boundaries::verdict(&e(&smoother, &smoother)),
            Verdict::Holds
        );
        assert_eq!(
            Boundaries::verdict(&e(&smoother, &same)),
            Verdict::HoldsPartly
        );
        assert_eq!(Boundaries::verdict(&e(&same, &same)), Verdict::DoesNotHold);
        assert_eq!(
            Boundaries::verdict(&e(&same, &noisy)),
            Verdict::Inconclusive
        );
    }
}

//! C6 — "Dropout gives smoother decision boundaries."
//!
//! A setting that can overfit, so that there is something to smooth: two
//! 2-D problems of 300 training points with heavy noise and 20 % of the
//! training labels flipped (two moons, two spirals; see [`super::c06_probe`]
//! for the problems, their Bayes classifiers and the measures) and a wide
//! MLP 2-256-256-2 (Adam, lr 0.01, batch 32; 400 epochs ≈ 3,800 updates in
//! the default budget), over many seeds (each run takes about a second).
//! Test points are clean. Arms: no regularisation; dropout p = 0.5 (the same
//! updates); and two rival smoothers chosen on a validation set of 300
//! points drawn like the training set (noisy labels): L2 (λ from
//! {1e-4, 1e-3, 1e-2}) and early stopping (epochs from {E/8, E/4, E/2, E}).
//!
//! ```text
//! primary endpoint, per problem: boundary length on the data's support, p=0 − p=0.5, paired over seeds
//! smoother: its 95 % CI above 0;  rougher: below 0
//! no smoothing: equivalent to 0 within ±10 % of the mean p=0 length (TOST, α = 0.05)
//! secondary: length relative to the Bayes boundary, disagreement with the Bayes classifier,
//!            class regions, softmax Jacobian norm on test points, test accuracy — for every arm
//! ```
//! The verdict rule is [`Boundaries::RULE`].

use serde::Serialize;

use super::c06_probe::{make, probe, Probe, Truth, G, HI, LO};
use super::claim::{Claim, Figure, Section, Table, Verdict};
use super::lab::Lab;
use super::Budget;
use crate::config::{ModelConfig, OptimConfig, OptimizerName, RunConfig};
use crate::data::{Dataset, Splits};
use crate::error::Result;
use crate::html::plot::boundary;
use crate::stats::{paired, Est};
use crate::train::{evaluate, fit, LoopOptions};

/// Fraction of training labels flipped.
const FLIP: f64 = 0.2;

/// The arms, in order.
pub const ARMS: [&str; 4] = [
    "none",
    "dropout 0.5",
    "L2 (tuned)",
    "early stopping (tuned)",
];

/// The 2-D runs: MLP 2-256-256-2, ReLU, Adam lr 0.01, batch 32.
fn config(p: f32, l2: f32, seed: u64, epochs: usize) -> RunConfig {
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
            weight_decay: l2,
            ..d.optim
        },
        epochs,
        batch: 32,
        seed,
        ..d
    }
}

/// Train on `data`; (validation accuracy, probe).
fn train(
    cfg: &RunConfig,
    data: &Dataset,
    val: &Dataset,
    test: &Dataset,
    truth: &Truth,
) -> Result<(f64, Probe)> {
    let splits = Splits {
        train: data.clone(),
        val: Dataset::default(),
        test: test.clone(),
        classes: 2,
        source: "2-D".into(),
        text: None,
    };
    let (mut model, _) = fit(cfg, &splits, LoopOptions::in_memory(0, &mut ()))?;
    let v = evaluate(&mut model, val, 1000)?.acc;
    Ok((v, probe(&mut model, truth, test)))
}

/// C6.
pub struct Boundaries;

/// One problem; per arm, per seed.
#[derive(Clone, Debug, Serialize)]
pub struct Problem {
    /// `moons` or `spirals`.
    pub data: String,
    /// The Bayes boundary's length on the support.
    pub bayes_length: f64,
    /// The Bayes classifier's regions on the support.
    pub bayes_regions: usize,
    /// Probes, arm × seed.
    pub arms: Vec<Vec<Probe>>,
    /// The tuned arms' choices (λ, epochs) per seed.
    pub choices: Vec<(f32, usize)>,
    /// First seed's training points (for the figures).
    #[serde(skip)]
    pub points: Vec<(f64, f64, u32)>,
}

impl Problem {
    fn col(&self, arm: usize, f: fn(&Probe) -> f64) -> Vec<f64> {
        self.arms[arm].iter().map(f).collect()
    }
    fn shorter(&self) -> Est {
        paired(&self.col(0, |p| p.length), &self.col(1, |p| p.length))
    }
    /// The difference is equivalent to 0 within ±10 % of the p = 0 length.
    fn no_smoothing(&self) -> bool {
        let margin = 0.1 * Est::of(&self.col(0, |p| p.length)).mean;
        self.shorter().equivalent(margin)
    }
}

/// Seeds of C6's runs for a budget: many, since each run takes about a second.
fn seeds(budget: Budget) -> u64 {
    match budget {
        Budget::Tiny => 2,
        Budget::Quick => 6,
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
    const RULE: &'static str = "per problem: smoother = paired 95% CI of the boundary length on the data's support, (p=0) − (p=0.5), above 0; no smoothing = that difference equivalent to 0 within ±10% of the p=0 length (TOST) or its CI below 0. holds: both problems smoother; holds partly: one; does not hold: neither smoother and both show no smoothing; inconclusive: otherwise.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        lab.plans_no_runs()?;
        let n = 300;
        let epochs = match lab.budget {
            Budget::Tiny => 10,
            Budget::Quick => 150,
            Budget::Default => 400,
            Budget::Full => 600,
        };
        let l2s = [1e-4f32, 1e-3, 1e-2];
        let stops = [epochs / 8, epochs / 4, epochs / 2];
        let seed_list: Vec<u64> = (0..seeds(lab.budget)).collect();
        lab.begin(Self::ID, 2 * seed_list.len());
        let mut problems = Vec::new();
        for kind in ["moons", "spirals"] {
            let truth = Truth::of(kind);
            let mut arms = vec![Vec::new(); 4];
            let mut choices = Vec::new();
            let data0 = make(kind, n, FLIP, 100);
            for &seed in &seed_list {
                let data = make(kind, n, FLIP, 100 + seed);
                let val = make(kind, n, FLIP, 20_000 + seed);
                let test = make(kind, 1000, 0.0, 10_000 + seed);
                let run = |p: f32, l2: f32, e: usize| {
                    train(&config(p, l2, seed, e), &data, &val, &test, &truth)
                };
                let plain = run(0.0, 0.0, epochs)?;
                arms[1].push(run(0.5, 0.0, epochs)?.1);
                let best = |c: Vec<(f64, Probe, f32, usize)>| {
                    c.into_iter()
                        .fold(None, |b: Option<(f64, Probe, f32, usize)>, x| match b {
                            Some(b) if b.0 >= x.0 => Some(b),
                            _ => Some(x),
                        })
                };
                let l2 = best(
                    l2s.iter()
                        .map(|&l| run(0.0, l, epochs).map(|(v, p)| (v, p, l, epochs)))
                        .collect::<Result<_>>()?,
                );
                let mut es: Vec<(f64, Probe, f32, usize)> = stops
                    .iter()
                    .map(|&e| run(0.0, 0.0, e.max(1)).map(|(v, p)| (v, p, 0.0, e.max(1))))
                    .collect::<Result<_>>()?;
                es.push((plain.0, plain.1.clone(), 0.0, epochs));
                let es = best(es);
                arms[0].push(plain.1);
                if let (Some(l2), Some(es)) = (l2, es) {
                    choices.push((l2.2, es.3));
                    arms[2].push(l2.1);
                    arms[3].push(es.1);
                }
                lab.tick(&format!("{kind} seed {seed}"));
            }
            problems.push(Problem {
                data: kind.into(),
                bayes_length: truth.length,
                bayes_regions: truth.regions,
                arms,
                choices,
                points: data0
                    .y
                    .iter()
                    .enumerate()
                    .map(|(i, &l)| (f64::from(data0.x[2 * i]), f64::from(data0.x[2 * i + 1]), l))
                    .collect(),
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
        let mut rows = Vec::new();
        let mut finding = Vec::new();
        for pr in &e.problems {
            for (a, name) in ARMS.iter().enumerate() {
                if let Some(first) = pr.arms[a].first().filter(|p| !p.p1.is_empty() && a < 2) {
                    figures.push(Figure {
                        caption: format!("{}, {name}: P(class 1), seed 0; boundary length on the support {:.2} (Bayes {:.2}), {} class regions", pr.data, first.length, pr.bayes_length, first.regions),
                        svg: boundary(&format!("{}, {name}", pr.data), LO, HI, &first.p1, G, &pr.points),
                    });
                }
                let f = |g: fn(&Probe) -> f64, s: f64, d: usize| Est::of(&pr.col(a, g)).fmt(s, d);
                rows.push(vec![
                    pr.data.clone(),
                    name.to_string(),
                    f(|p| p.length, 1.0, 2),
                    f(|p| p.relative_length, 1.0, 2),
                    f(|p| p.disagreement, 100.0, 1),
                    f(|p| p.regions as f64, 1.0, 1),
                    f(|p| p.jacobian, 1.0, 3),
                    f(|p| p.test_acc, 100.0, 1),
                ]);
            }
            let rel = |a: usize| Est::of(&pr.col(a, |p| p.relative_length)).mean;
            let acc = |a: usize| 100.0 * Est::of(&pr.col(a, |p| p.test_acc)).mean;
            finding.push(format!("on {} the boundary on the data's support was {:.1}× the Bayes boundary's length without regularisation and {:.1}× with dropout (L2: {:.1}×, early stopping: {:.1}×), with test accuracy {:.1} → {:.1} % (L2 {:.1} %, early stopping {:.1} %)", pr.data, rel(0), rel(1), rel(2), rel(3), acc(0), acc(1), acc(2), acc(3)));
        }
        let seeds = e.problems.first().map_or(0, |p| p.arms[0].len());
        Section {
            finding: format!("With 20 % flipped labels, {}.", finding.join("; ")),
            limitations: "Two synthetic 2-D problems and one wide net; the support is a density threshold (5 % of the maximum), and lengths are measured on a 120 × 120 grid. The rivals are tuned on a small noisy validation set (300 points), as a user would.".into(),
            method: format!("Two moons (σ = 0.25) and two spirals (σ = 0.1), {} training points with 20 % of the labels flipped, 300 validation points drawn the same way, 1,000 clean test points; MLP 2-256-256-2, ReLU, Adam lr 0.01, batch 32, {} epochs for no regularisation, dropout (the same updates) and L2; L2 λ and the early-stopping epoch chosen per seed on validation accuracy; {seeds} seeds. Measures on the data's support (see the rule); the Bayes classifier is computed from the known class densities.", e.n, e.epochs),
            key_number: e.problems.iter().map(|p| format!("{}: boundary length {} → {} (Bayes {:.2})", p.data, Est::of(&p.col(0, |q| q.length)).fmt(1.0, 2), Est::of(&p.col(1, |q| q.length)).fmt(1.0, 2), p.bayes_length)).collect::<Vec<_>>().join("; "),
            tables: vec![Table::new("On the data's support (mean ± 95% CI over seeds)", &["data", "arm", "boundary length", "× Bayes length", "disagreement with Bayes %", "class regions", "softmax Jacobian norm", "test acc %"], rows)],
            figures,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(p0: [f64; 5], p05: [f64; 5]) -> Problem {
        let arm = |l: [f64; 5]| {
            l.iter()
                .map(|&length| Probe {
                    length,
                    ..Probe::default()
                })
                .collect()
        };
        Problem {
            data: "moons".into(),
            bayes_length: 1.0,
            bayes_regions: 2,
            arms: vec![arm(p0), arm(p05), arm(p0), arm(p0)],
            choices: vec![],
            points: vec![],
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

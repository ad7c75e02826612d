//! C3 — "Dropout reduces overfitting, especially on small or noisy data."
//!
//! Grid: train size × label noise × p ∈ {0, 0.5}, the budget's MLP, SGD,
//! epochs scaled so every size sees about the same number of samples. For
//! each cell, paired over seeds (same subset, init and order): Δacc = test
//! acc(p=0.5) − test acc(p=0) and Δgap = gap(p=0.5) − gap(p=0).
//!
//! The verdict rule is [`Overfitting::RULE`].

use serde::Serialize;

use super::claim::{Claim, Figure, Section, Table, Verdict};
use super::lab::{gaps, mnist_run, test_accs, with_p, Lab};
use super::plot::{lines, Axes, Series};
use super::stats::{paired, Est};
use super::Budget;
use crate::error::Result;

/// C3.
pub struct Overfitting;

/// One cell of the grid, per seed.
#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    /// Training images.
    pub train_size: usize,
    /// Label-noise rate.
    pub noise: f64,
    /// Test accuracy at p = 0.
    pub acc_p0: Vec<f64>,
    /// Test accuracy at p = 0.5.
    pub acc_p05: Vec<f64>,
    /// Gap at p = 0.
    pub gap_p0: Vec<f64>,
    /// Gap at p = 0.5.
    pub gap_p05: Vec<f64>,
}

impl Cell {
    fn delta_acc(&self) -> Est {
        paired(&self.acc_p05, &self.acc_p0)
    }
    fn delta_gap(&self) -> Est {
        paired(&self.gap_p05, &self.gap_p0)
    }
    /// Part (a) in this cell.
    fn reduces(&self) -> bool {
        self.delta_gap().below_zero() && !self.delta_acc().below_zero()
    }
    fn benefit(&self) -> Vec<f64> {
        self.acc_p05
            .iter()
            .zip(&self.acc_p0)
            .map(|(a, b)| a - b)
            .collect()
    }
}

/// What C3 measured.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// The MLP.
    pub mlp: String,
    /// Sizes of the grid.
    pub sizes: Vec<usize>,
    /// Noise rates of the grid.
    pub noises: Vec<f64>,
    /// Cells, size-major.
    pub cells: Vec<Cell>,
}

impl Evidence {
    fn held(&self) -> usize {
        self.cells.iter().filter(|c| c.reduces()).count()
    }
    /// Part (b): Δacc(smallest, noisiest) − Δacc(largest, clean), paired by seed.
    fn more(&self) -> Est {
        let small_noisy = self
            .cells
            .iter()
            .find(|c| c.train_size == self.sizes[0] && Some(&c.noise) == self.noises.last());
        let large_clean = self
            .cells
            .iter()
            .find(|c| Some(&c.train_size) == self.sizes.last() && c.noise == self.noises[0]);
        match (small_noisy, large_clean) {
            (Some(a), Some(b)) => paired(&a.benefit(), &b.benefit()),
            _ => Est::default(),
        }
    }
}

impl Claim for Overfitting {
    const ID: &'static str = "C3";
    const CLAIM: &'static str = "Dropout reduces overfitting, especially on small or noisy data.";
    const RULE: &'static str = "(a) in a cell: CI of Δgap (p=0.5 − p=0) below 0 and CI of Δacc not below 0; (b) Δacc at the smallest, noisiest cell minus Δacc at the largest, clean cell has CI above 0. holds: (a) in ≥ 2/3 of cells and (b); holds partly: (a) in ≥ 1 cell or (b); else does not hold.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let sizes: Vec<usize> = match lab.budget {
            Budget::Tiny => vec![200, 300],
            Budget::Quick => vec![500, 2000],
            Budget::Default => vec![1000, 5000, 20_000],
            Budget::Full => vec![1000, 5000, 20_000, 60_000],
        };
        let noises = vec![0.0, 0.2, 0.4];
        lab.begin(Self::ID, sizes.len() * noises.len() * 2 * lab.seeds.len());
        let mut cells = Vec::new();
        for &n in &sizes {
            for &noise in &noises {
                let base = |s: u64| {
                    let mut c = mnist_run(lab.mlp(), n, lab.epochs_for(n), s);
                    c.data.label_noise = noise;
                    c
                };
                let off = lab.per_seed(&format!("n={n} noise={noise} p=0"), 0, base)?;
                let on = lab.per_seed(&format!("n={n} noise={noise} p=0.5"), 0, |s| {
                    with_p(base(s), 0.5)
                })?;
                cells.push(Cell {
                    train_size: n,
                    noise,
                    acc_p0: test_accs(&off),
                    acc_p05: test_accs(&on),
                    gap_p0: gaps(&off),
                    gap_p05: gaps(&on),
                });
            }
        }
        Ok(Evidence {
            mlp: lab.mlp().into(),
            sizes,
            noises,
            cells,
        })
    }

    fn verdict(e: &Evidence) -> Verdict {
        let held = e.held();
        let part_a = held * 3 >= e.cells.len() * 2;
        let part_b = e.more().above_zero();
        match (part_a, part_b) {
            (true, true) => Verdict::Holds,
            _ if held > 0 || part_b => Verdict::HoldsPartly,
            _ => Verdict::DoesNotHold,
        }
    }

    fn render(e: &Evidence) -> Section {
        let mut series: Vec<Series> = e
            .noises
            .iter()
            .map(|n| Series {
                name: format!("noise {:.0}%", n * 100.0),
                points: vec![],
            })
            .collect();
        let mut rows = Vec::new();
        for c in &e.cells {
            let (dacc, dgap) = (c.delta_acc(), c.delta_gap());
            if let Some(s) = e.noises.iter().position(|&n| n == c.noise) {
                series[s]
                    .points
                    .push((c.train_size as f64, 100.0 * dacc.mean, 100.0 * dacc.ci));
            }
            rows.push(vec![
                c.train_size.to_string(),
                format!("{:.0}%", c.noise * 100.0),
                Est::of(&c.acc_p0).fmt(100.0, 2),
                Est::of(&c.acc_p05).fmt(100.0, 2),
                dacc.fmt(100.0, 2),
                Est::of(&c.gap_p0).fmt(100.0, 2),
                Est::of(&c.gap_p05).fmt(100.0, 2),
                dgap.fmt(100.0, 2),
                if c.reduces() { "yes" } else { "no" }.into(),
            ]);
        }
        let seeds = e.cells.first().map_or(0, |c| c.acc_p0.len());
        Section {
            method: format!(
                "MLP {} trained with SGD (momentum 0.9, lr 0.05, batch 128) on stratified MNIST subsets of {:?} images with {{0, 20, 40}}% symmetric label noise, hidden dropout p = 0 vs 0.5, {seeds} seeds (paired: same subset, init and batch order). Gap = train accuracy (against the training labels as given, noisy ones included) − test accuracy (clean test set); with noise a net that does not memorise the flipped labels has a negative gap.",
                e.mlp, e.sizes
            ),
            key_number: format!("gap reduced in {}/{} cells; benefit small+noisy − large+clean = {} pts", e.held(), e.cells.len(), e.more().fmt(100.0, 2)),
            tables: vec![Table::new(
                "Test accuracy and generalisation gap (%, mean ± 95% CI over seeds)",
                &["train size", "noise", "acc p=0", "acc p=0.5", "Δacc", "gap p=0", "gap p=0.5", "Δgap", "(a)"],
                rows,
            )],
            figures: vec![Figure {
                caption: "Δ test accuracy (p=0.5 − p=0, points, mean ± 95% CI) against training-set size".into(),
                svg: lines(&Axes { title: "Dropout's test-accuracy gain", x: "training images", y: "Δ test acc (pts)", log_x: true, log_y: false }, &series),
            }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2 × 2 grid; `gain[i]` is the accuracy gain in cell i, `gap_cut[i]` the gap reduction.
    fn evidence(gain: [[f64; 3]; 4], gap_cut: [f64; 4]) -> Evidence {
        let mut cells = Vec::new();
        for (i, (n, noise)) in [(100, 0.0), (100, 0.4), (900, 0.0), (900, 0.4)]
            .into_iter()
            .enumerate()
        {
            let base = vec![0.8, 0.81, 0.79];
            cells.push(Cell {
                train_size: n,
                noise,
                acc_p05: base.iter().zip(gain[i]).map(|(a, g)| a + g).collect(),
                acc_p0: base,
                gap_p0: vec![0.2, 0.21, 0.19],
                gap_p05: vec![
                    0.2 - gap_cut[i],
                    0.21 - gap_cut[i] * 1.1,
                    0.19 - gap_cut[i] * 0.9,
                ],
            });
        }
        Evidence {
            mlp: "m".into(),
            sizes: vec![100, 900],
            noises: vec![0.0, 0.4],
            cells,
        }
    }

    #[test]
    fn every_verdict_of_the_rule() {
        let none = [0.0, 0.0, 0.0];
        let big = [0.05, 0.06, 0.055];
        // (a) in 3/4 cells and (b): small+noisy gains, large+clean does not.
        let e = evidence([none, big, none, none], [0.1, 0.1, 0.1, 0.0]);
        assert_eq!(Overfitting::verdict(&e), Verdict::Holds);
        // (a) in one cell only, no (b).
        let e = evidence([none; 4], [0.1, 0.0, 0.0, 0.0]);
        assert_eq!(Overfitting::verdict(&e), Verdict::HoldsPartly);
        // (b) alone.
        let e = evidence([none, big, none, none], [0.0; 4]);
        assert_eq!(Overfitting::verdict(&e), Verdict::HoldsPartly);
        // Neither: dropout narrows no gap and helps nowhere more.
        let e = evidence([none; 4], [0.0; 4]);
        assert_eq!(Overfitting::verdict(&e), Verdict::DoesNotHold);
    }
}

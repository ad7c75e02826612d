//! C3 — "Dropout reduces overfitting, especially on small or noisy data."
//!
//! Per data set, a grid of training-set size n × symmetric label noise η,
//! arms p ∈ {0, 0.5}, the budget's MLP, SGD. Every run takes the **same
//! number of updates** U (epochs = U / ⌈n/128⌉), so size is not confounded
//! with training length. Each arm's learning rate is tuned on validation
//! accuracy (1,000 clean images held out from the training file) at the
//! reference cell (middle n, 20 % noise) and used across the grid.
//!
//! ```text
//! primary endpoint (declared before any number):
//!   Δacc(cell, seed) = test acc(p=0.5) − test acc(p=0), paired by seed, at the final update
//! (a) dropout helps in a cell:    one-sided paired t of Δacc > 0, Holm over the cells, α = 0.05
//! (b) especially small or noisy:  OLS  Δacc = β0 + β1·log10 n + β2·η  over cells × seeds;
//!                                 β1 < 0 and β2 > 0, one-sided, Holm over the two, α = 0.05
//! shown not to help:              every cell's 95 % CI of Δacc ends below +0.5 points
//! secondary (reported):           gap (train acc on the given labels − test acc), memorisation
//!                                 (share of flipped training labels the net reproduces)
//! ```
//! The verdict rule is [`Overfitting::RULE`]; the report section is
//! `render.rs`.

use serde::Serialize;

mod render;

use super::claim::{Claim, Section, Verdict};
use super::lab::Lab;
use super::runs::{gaps, test_accs, updates_run};
use super::tune::{prefetch, tune, Tuned};
use super::Budget;
use crate::config::{Builtin, RunConfig};
use crate::error::Result;
use crate::stats::{holm, ols, paired, Coef, Est};

/// "Shown not to help": every cell's CI of Δacc ends below this (0.5 points).
pub const MARGIN: f64 = 0.005;

/// Validation images held out from the training file in every C3 run.
pub const VAL_SIZE: usize = 1_000;

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
    /// Memorised share of the flipped labels at p = 0 (empty without noise).
    pub mem_p0: Vec<f64>,
    /// The same at p = 0.5.
    pub mem_p05: Vec<f64>,
}

impl Cell {
    pub(super) fn gain(&self) -> Est {
        paired(&self.acc_p05, &self.acc_p0)
    }
}

/// C3 on one data set.
#[derive(Clone, Debug, Serialize)]
pub struct DataEvidence {
    /// The data set.
    pub dataset: String,
    /// Learning-rate tuning of the p = 0 arm.
    pub lr_p0: Tuned,
    /// Learning-rate tuning of the p = 0.5 arm.
    pub lr_p05: Tuned,
    /// Cells, size-major.
    pub cells: Vec<Cell>,
}

impl DataEvidence {
    /// Holm-adjusted one-sided p of "dropout raises test accuracy", per cell.
    pub(super) fn helped(&self) -> Vec<f64> {
        let raw: Vec<f64> = self
            .cells
            .iter()
            .map(|c| c.gain().p_one_sided(true))
            .collect();
        holm(&raw)
    }

    pub(super) fn n_helped(&self) -> usize {
        self.helped().iter().filter(|&&q| q < 0.05).count()
    }

    /// (β1 on log10 n, β2 on noise) of the OLS of per-seed Δacc.
    pub(super) fn slopes(&self) -> Option<(Coef, Coef)> {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for c in &self.cells {
            for (a, b) in c.acc_p05.iter().zip(&c.acc_p0) {
                x.push(vec![1.0, (c.train_size as f64).log10(), c.noise]);
                y.push(a - b);
            }
        }
        let b = ols(&x, &y)?;
        Some((b[1], b[2]))
    }

    /// Holm-adjusted one-sided p of β1 < 0 and β2 > 0.
    pub(super) fn slope_tests(&self) -> Option<(f64, f64)> {
        let (size, noise) = self.slopes()?;
        let q = holm(&[size.p_one_sided(false), noise.p_one_sided(true)]);
        Some((q[0], q[1]))
    }

    pub(super) fn verdict(&self) -> Verdict {
        let helped = self.n_helped() > 0;
        let both = self
            .slope_tests()
            .is_some_and(|(a, b)| a < 0.05 && b < 0.05);
        let no_help = self
            .cells
            .iter()
            .all(|c| c.gain().n >= 2 && c.gain().hi() < MARGIN);
        match (helped, both) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::HoldsPartly,
            _ if no_help => Verdict::DoesNotHold,
            _ => Verdict::Inconclusive,
        }
    }
}

/// What C3 measured.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// The MLP.
    pub mlp: String,
    /// Optimizer updates of every run.
    pub updates: usize,
    /// Sizes of the grid.
    pub sizes: Vec<usize>,
    /// Noise rates of the grid.
    pub noises: Vec<f64>,
    /// Per data set.
    pub data: Vec<DataEvidence>,
}

impl Overfitting {
    fn run(
        lab: &Lab,
        ds: Builtin,
        (n, noise): (usize, f64),
        updates: usize,
        p: f32,
        lr: f32,
        seed: u64,
    ) -> RunConfig {
        let mut c = updates_run(ds, lab.mlp(), (n, VAL_SIZE), updates, (p, lr), seed);
        c.data.label_noise = noise;
        c
    }
}

impl Claim for Overfitting {
    const ID: &'static str = "C3";
    const CLAIM: &'static str = "Dropout reduces overfitting, especially on small or noisy data.";
    const RULE: &'static str = "Per data set, test accuracy after the same number of updates, each arm at its validation-tuned learning rate. (a) dropout helps in a cell: one-sided paired t of Δacc = acc(p=0.5) − acc(p=0) > 0, Holm over the cells, α = 0.05; (b) especially small or noisy: OLS of per-seed Δacc on log10(n) and noise rate gives a negative size slope and a positive noise slope (one-sided, Holm over the two, α = 0.05). holds: (a) in ≥ 1 cell and (b); holds partly: (a) in ≥ 1 cell without (b); does not hold: (a) nowhere and every cell's 95 % CI of Δacc ends below +0.5 points; inconclusive: otherwise. Across data sets: the same verdict on each → that verdict; support on one → holds partly; else inconclusive.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let (sizes, updates, lrs): (Vec<usize>, usize, Vec<f32>) = match lab.budget {
            Budget::Tiny => (vec![200, 400], 30, vec![0.02, 0.05]),
            Budget::Quick => (vec![500, 2_000], 300, vec![0.05]),
            Budget::Default => (vec![1_000, 4_000, 16_000], 1_500, vec![0.02, 0.05, 0.1]),
            Budget::Full => (
                vec![1_000, 4_000, 16_000, 59_000],
                4_000,
                vec![0.02, 0.05, 0.1],
            ),
        };
        let noises = vec![0.0, 0.2, 0.4];
        let seeds = lab.seeds.len();
        let per_data = (2 * lrs.len() + sizes.len() * noises.len() * 2) * seeds;
        lab.begin(Self::ID, per_data * lab.datasets.len());
        let (ref_n, ref_noise) = (sizes[sizes.len() / 2], noises[1]);
        for &ds in &lab.datasets {
            for p in [0.0, 0.5] {
                prefetch(lab, &lrs, 0, |lr, s| {
                    Self::run(lab, ds, (ref_n, ref_noise), updates, p, lr, s)
                })?;
            }
        }
        let mut data = Vec::new();
        for &ds in &lab.datasets {
            let tuned = |p: f32| {
                tune(lab, &format!("{} p={p} lr", ds.name()), &lrs, 0, |lr, s| {
                    Self::run(lab, ds, (ref_n, ref_noise), updates, p, lr, s)
                })
            };
            let (lr_p0, lr_p05) = (tuned(0.0)?, tuned(0.5)?);
            let mut cells = Vec::new();
            for &n in &sizes {
                for &noise in &noises {
                    let arm = |p: f32, lr: f32| {
                        let what = format!("{} n={n} noise={noise} p={p}", ds.name());
                        lab.per_seed(&what, 0, |s| {
                            Self::run(lab, ds, (n, noise), updates, p, lr, s)
                        })
                    };
                    let (off, on) = (arm(0.0, lr_p0.chosen)?, arm(0.5, lr_p05.chosen)?);
                    let mem = |outs: &[crate::runner::cache::RunOut]| -> Vec<f64> {
                        outs.iter().filter_map(|o| o.memorised).collect()
                    };
                    cells.push(Cell {
                        train_size: n,
                        noise,
                        acc_p0: test_accs(&off),
                        acc_p05: test_accs(&on),
                        gap_p0: gaps(&off),
                        gap_p05: gaps(&on),
                        mem_p0: mem(&off),
                        mem_p05: mem(&on),
                    });
                }
            }
            data.push(DataEvidence {
                dataset: ds.name().into(),
                lr_p0,
                lr_p05,
                cells,
            });
        }
        Ok(Evidence {
            mlp: lab.mlp().into(),
            updates,
            sizes,
            noises,
            data,
        })
    }

    fn verdict(e: &Evidence) -> Verdict {
        Verdict::combine(&e.data.iter().map(DataEvidence::verdict).collect::<Vec<_>>())
    }

    fn render(e: &Evidence) -> Section {
        render::render(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2 × 2 grid of one data set; `gain[i]` is the per-seed accuracy gain of cell i.
    fn data(gain: [[f64; 3]; 4]) -> DataEvidence {
        let mut cells = Vec::new();
        for (i, (n, noise)) in [(100, 0.0), (100, 0.4), (1000, 0.0), (1000, 0.4)]
            .into_iter()
            .enumerate()
        {
            let base = vec![0.8, 0.81, 0.79];
            cells.push(Cell {
                train_size: n,
                noise,
                acc_p05: base.iter().zip(gain[i]).map(|(a, g)| a + g).collect(),
                acc_p0: base,
                gap_p0: vec![0.1; 3],
                gap_p05: vec![0.05; 3],
                mem_p0: vec![],
                mem_p05: vec![],
            });
        }
        let t = Tuned::choose(vec![0.05], vec![vec![0.9]]);
        DataEvidence {
            dataset: "D".into(),
            lr_p0: t.clone(),
            lr_p05: t,
            cells,
        }
    }

    fn verdict(d: Vec<DataEvidence>) -> Verdict {
        Overfitting::verdict(&Evidence {
            mlp: "m".into(),
            updates: 1,
            sizes: vec![100, 1000],
            noises: vec![0.0, 0.4],
            data: d,
        })
    }

    #[test]
    fn every_verdict_of_the_rule() {
        let zero = [0.0, 0.001, -0.001];
        let s = |g: f64| [g, g + 0.002, g - 0.002];
        // Gains largest at small n with noise: helps, and both slopes hold.
        let holds = data([s(0.02), s(0.08), zero, s(0.02)]);
        assert_eq!(verdict(vec![holds.clone()]), Verdict::Holds);
        // Helps equally everywhere: (a) without (b).
        let flat = data([s(0.03), s(0.03), s(0.03), s(0.03)]);
        assert_eq!(verdict(vec![flat]), Verdict::HoldsPartly);
        // No gain anywhere, tightly: shown not to help.
        let none = data([zero; 4]);
        assert_eq!(verdict(vec![none.clone()]), Verdict::DoesNotHold);
        // No significant gain, but too noisy to rule one out.
        let noisy = data([[0.05, -0.04, 0.0]; 4]);
        assert_eq!(verdict(vec![noisy]), Verdict::Inconclusive);
        // Two data sets that disagree.
        assert_eq!(verdict(vec![holds, none]), Verdict::HoldsPartly);
    }
}

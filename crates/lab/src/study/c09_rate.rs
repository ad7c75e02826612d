//! C9 — "p is usually 0.3–0.5."
//!
//! Per data set, sweep p ∈ {0, 0.1, …, 0.8} at one setting (the budget's
//! MLP, base subset, plus a stratified validation split from the training
//! file, the same for every p of a seed), trained for a fixed number of
//! updates long enough for large p to converge (about twice the base
//! runs'). Everything is decided on **validation** accuracy; the test
//! accuracy of each p is only reported.
//!
//! ```text
//! primary endpoint: the p with the highest mean validation accuracy (best)
//! tied with best:   TOST on the paired differences val(best) − val(p), margin 0.5 points, α = 0.05
//! singled out:      every p outside [0.3, 0.5] is worse than best — one-sided paired t-tests,
//!                   Holm-adjusted over those p, each < 0.05
//! ```
//! The verdict rule is [`Rate::RULE`].

use serde::Serialize;

use super::claim::{Claim, Figure, Section, Table, Verdict};
use super::lab::Lab;
use super::runs::{test_accs, val_accs};
use super::tune::{prefetch, tune};
use super::Budget;
use crate::config::{Builtin, RunConfig};
use crate::error::Result;
use crate::html::plot::{lines, Axes, Series};
use crate::stats::{holm, paired, Est};

/// Equivalence margin for "tied": half a percentage point of accuracy.
pub const MARGIN: f64 = 0.005;

/// Validation images taken from the training file for C9's runs.
const VAL_SIZE: usize = 1_000;

/// C9.
pub struct Rate;

/// What C9 measured.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// Per data set.
    pub data: Vec<DataEvidence>,
}

/// C9 on one data set.
#[derive(Clone, Debug, Serialize)]
pub struct DataEvidence {
    /// The data set.
    pub dataset: String,
    /// The MLP.
    pub mlp: String,
    /// Training images.
    pub n: usize,
    /// Validation images.
    pub val: usize,
    /// Epochs.
    pub epochs: usize,
    /// Dropout rates swept.
    pub p: Vec<f32>,
    /// The learning rate of each p (chosen on validation in `--full`).
    pub lr: Vec<f32>,
    /// Validation accuracy, p × seed (decides).
    pub val_acc: Vec<Vec<f64>>,
    /// Test accuracy, p × seed (reported only).
    pub test_acc: Vec<Vec<f64>>,
}

fn in_band(p: f32) -> bool {
    (0.3 - 1e-6..=0.5 + 1e-6).contains(&p)
}

impl DataEvidence {
    /// Index of the p with the highest mean validation accuracy.
    fn best(&self) -> usize {
        (0..self.p.len())
            .max_by(|&a, &b| {
                Est::of(&self.val_acc[a])
                    .mean
                    .total_cmp(&Est::of(&self.val_acc[b]).mean)
            })
            .unwrap_or(0)
    }

    /// The rates equivalent to the best within ±[`MARGIN`] (TOST), best included.
    fn tied(&self) -> Vec<f32> {
        let best = self.best();
        (0..self.p.len())
            .filter(|&i| {
                i == best || paired(&self.val_acc[best], &self.val_acc[i]).equivalent(MARGIN)
            })
            .map(|i| self.p[i])
            .collect()
    }

    /// Holm-adjusted one-sided p-values of "best beats p" for every p outside the band.
    fn outside_worse(&self) -> Vec<(f32, f64)> {
        let best = self.best();
        let outside: Vec<usize> = (0..self.p.len()).filter(|&i| !in_band(self.p[i])).collect();
        let raw: Vec<f64> = outside
            .iter()
            .map(|&i| {
                let d = paired(&self.val_acc[best], &self.val_acc[i]);
                if i == best {
                    1.0
                } else if d.mean > 0.0 {
                    d.p_value() / 2.0
                } else {
                    1.0 - d.p_value() / 2.0
                }
            })
            .collect();
        outside.iter().map(|&i| self.p[i]).zip(holm(&raw)).collect()
    }

    /// Index of the p in [0.3, 0.5] with the highest mean validation accuracy.
    fn band_best(&self) -> Option<usize> {
        (0..self.p.len())
            .filter(|&i| in_band(self.p[i]))
            .max_by(|&a, &b| {
                Est::of(&self.val_acc[a])
                    .mean
                    .total_cmp(&Est::of(&self.val_acc[b]).mean)
            })
    }

    fn singled_out(&self) -> bool {
        self.outside_worse().iter().all(|&(_, q)| q < 0.05)
    }

    fn verdict(&self) -> Verdict {
        let e = self;
        if e.val_acc.first().map_or(0, Vec::len) < 2 {
            return Verdict::Inconclusive;
        }
        let best = e.best();
        if in_band(e.p[best]) {
            return if e.singled_out() {
                Verdict::Holds
            } else {
                Verdict::HoldsPartly
            };
        }
        if e.tied().into_iter().any(in_band) {
            return Verdict::HoldsPartly;
        }
        let shown_worse = e.band_best().is_some_and(|b| {
            let d = paired(&e.val_acc[best], &e.val_acc[b]);
            d.mean > 0.0 && d.p_value() / 2.0 < 0.05
        });
        if shown_worse {
            Verdict::DoesNotHold
        } else {
            Verdict::Inconclusive
        }
    }
}

/// C9's run on `ds`: the base run with a validation split and `epochs`.
fn run(lab: &Lab, ds: Builtin, epochs: usize, (p, lr): (f32, f32), seed: u64) -> RunConfig {
    let mut cfg = lab.base_run(p, seed);
    cfg.data.dataset = ds;
    cfg.data.val_size = VAL_SIZE;
    cfg.epochs = epochs;
    cfg.optim.lr = lr;
    cfg
}

impl Claim for Rate {
    const ID: &'static str = "C9";
    const CLAIM: &'static str = "The dropout rate p is usually best around 0.3–0.5.";
    const RULE: &'static str = "decided on validation accuracy: best p = highest mean; tied = equivalent to best within ±0.5 points (TOST, α = 0.05); singled out = every p outside [0.3, 0.5] worse than best (one-sided paired t, Holm, α = 0.05). holds: best p ∈ [0.3, 0.5] and singled out; holds partly: best p ∈ [0.3, 0.5] but not singled out, or a p in [0.3, 0.5] tied with a best outside it; does not hold: best p outside [0.3, 0.5] and the band's best p worse than it (one-sided paired t, α = 0.05); inconclusive: otherwise (the band neither tied nor shown worse), or fewer than 2 seeds.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let ps: Vec<f32> = (0..=8).map(|i| i as f32 / 10.0).collect();
        // Each p at its own learning rate in --full; the study's 0.05 otherwise.
        let lrs: &[f32] = match lab.budget {
            Budget::Full => &[0.02, 0.05, 0.1],
            _ => &[0.05],
        };
        lab.begin(
            Self::ID,
            ps.len() * (lrs.len() + 1) * lab.seeds.len() * lab.datasets.len(),
        );
        let n = lab.base_size();
        // About twice the base runs' updates: large p converges slowly
        // (--quick keeps the base runs' length).
        let epochs = if lab.budget == Budget::Quick { 1 } else { 2 } * lab.epochs_for(n);
        for &ds in &lab.datasets {
            for &p in &ps {
                prefetch(lab, lrs, 0, |lr, s| run(lab, ds, epochs, (p, lr), s))?;
            }
        }
        let mut data = Vec::new();
        for &ds in &lab.datasets {
            let (mut val_acc, mut test_acc, mut lr) = (Vec::new(), Vec::new(), Vec::new());
            for &p in &ps {
                let what = format!("{} p={p}", ds.name());
                let t = tune(lab, &format!("{what} lr"), lrs, 0, |lr, s| {
                    run(lab, ds, epochs, (p, lr), s)
                })?;
                let outs = lab.per_seed(&what, 0, |s| run(lab, ds, epochs, (p, t.chosen), s))?;
                val_acc.push(val_accs(&outs));
                test_acc.push(test_accs(&outs));
                lr.push(t.chosen);
            }
            data.push(DataEvidence {
                dataset: ds.name().into(),
                mlp: lab.mlp().into(),
                n,
                val: VAL_SIZE,
                epochs,
                p: ps.clone(),
                lr,
                val_acc,
                test_acc,
            });
        }
        Ok(Evidence { data })
    }

    fn verdict(e: &Evidence) -> Verdict {
        Verdict::combine(&e.data.iter().map(DataEvidence::verdict).collect::<Vec<_>>())
    }

    fn render(e: &Evidence) -> Section {
        let parts: Vec<Part> = e.data.iter().map(DataEvidence::part).collect();
        let join = |f: &dyn Fn(&Part) -> String, sep: &str| {
            parts.iter().map(f).collect::<Vec<_>>().join(sep)
        };
        let method = e.data.first().map_or(String::new(), |d| {
            let seeds = d.val_acc.first().map_or(0, Vec::len);
            format!("MLP {} on {} training images plus {} validation images (stratified, from the training file) of each data set, {} epochs (twice the other claims' base runs, so large p can converge; the same length in --quick), SGD (lr 0.05 for every p, or tuned per p in `--full`), hidden dropout p ∈ {{0, 0.1, …, 0.8}}, {seeds} seeds. Selection and ties on validation accuracy only; test accuracy reported for the record. With {seeds} seeds a paired difference has a 95 % CI of about ±{:.1} standard deviations of the per-seed differences, so equivalence within ±0.5 points needs seed-to-seed spread well below that.", d.mlp, d.n, d.val, d.epochs, crate::stats::t_quantile(0.975, seeds.max(2) - 1) / (seeds.max(1) as f64).sqrt())
        });
        Section {
            finding: join(&|p| p.finding.clone(), " "),
            limitations: "At the default budget every p trains at the study's learning rate 0.05: a large p can need another rate or more updates, so the best p here is the best at this rate and budget (`--full` tunes the rate of each p on validation from {0.02, 0.05, 0.1}; the lr column shows the choice). The rate and p are chosen on the same validation images, which flatters every p alike. One width and one training-set size.".into(),
            method,
            key_number: join(&|p| p.key.clone(), "; "),
            tables: parts.iter().map(|p| p.table.clone()).collect(),
            figures: parts.into_iter().map(|p| p.figure).collect(),
        }
    }
}

/// One data set's share of the section.
struct Part {
    finding: String,
    key: String,
    table: Table,
    figure: Figure,
}

impl DataEvidence {
    fn part(&self) -> Part {
        let e = self;
        let (best, tied) = (e.best(), e.tied());
        let vals: Vec<Est> = e.val_acc.iter().map(|a| Est::of(a)).collect();
        let tests: Vec<Est> = e.test_acc.iter().map(|a| Est::of(a)).collect();
        let worse = e.outside_worse();
        let rows =
            e.p.iter()
                .enumerate()
                .map(|(i, p)| {
                    let holm_q = worse
                        .iter()
                        .find(|(q, _)| q == p)
                        .map_or(String::new(), |(_, q)| format!("{q:.3}"));
                    vec![
                        format!("{p:.1}"),
                        e.lr.get(i).map_or(String::new(), f32::to_string),
                        vals[i].fmt(100.0, 2),
                        tests[i].fmt(100.0, 2),
                        if i == best {
                            "best".into()
                        } else if tied.contains(p) {
                            "tied (TOST ±0.5)".into()
                        } else {
                            String::new()
                        },
                        holm_q,
                    ]
                })
                .collect();
        let series = |name: &str, ests: &[Est]| Series {
            name: name.into(),
            points: e
                .p
                .iter()
                .zip(ests)
                .map(|(&p, m)| (f64::from(p), 100.0 * m.mean, 100.0 * m.ci))
                .collect(),
        };
        let outside_worse = worse.iter().filter(|(_, q)| *q < 0.05).count();
        let in_band_tied = tied.iter().filter(|&&p| in_band(p)).count();
        Part {
            finding: format!(
                "On {}, validation accuracy peaked at p = {:.1} ({} %); {} rates were within ±0.5 points of it (TOST), {in_band_tied} of them in [0.3, 0.5], and {outside_worse} of the {} rates outside the band were shown worse — the verdict here: {}.",
                e.dataset, e.p[best], vals[best].fmt(100.0, 2), tied.len() - 1, worse.len(), e.verdict().text()
            ),
            key: format!("{}: best p = {:.1} (val {} %, test {} %); tied: {:?}; outside band worse (Holm): {outside_worse}/{}", e.dataset, e.p[best], vals[best].fmt(100.0, 2), tests[best].fmt(100.0, 2), tied, worse.len()),
            table: Table::new(format!("{}: accuracy % by p (mean ± 95% CI)", e.dataset), &["p", "lr", "validation", "test", "", "Holm p (best beats it)"], rows),
            figure: Figure { caption: format!("{}: validation and test accuracy against dropout rate", e.dataset), svg: lines(&Axes { title: &e.dataset, x: "p", y: "accuracy %", log_x: false, log_y: false }, &[series("validation", &vals), series("test", &tests)]) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Per-p validation accuracies: five seeds with a tiny spread.
    fn evidence(means: [f64; 4]) -> DataEvidence {
        let seeds = |m: f64| vec![m - 0.0002, m - 0.0001, m, m + 0.0001, m + 0.0002];
        DataEvidence {
            dataset: "D".into(),
            mlp: "m".into(),
            n: 1,
            val: 1,
            epochs: 1,
            p: vec![0.0, 0.2, 0.4, 0.6],
            lr: vec![0.05; 4],
            val_acc: means.iter().map(|&m| seeds(m)).collect(),
            test_acc: means.iter().map(|&m| seeds(m)).collect(),
        }
    }

    fn verdict(d: &DataEvidence) -> Verdict {
        Rate::verdict(&Evidence {
            data: vec![d.clone()],
        })
    }

    #[test]
    fn every_verdict_of_the_rule() {
        // Best at 0.4, every p outside the band clearly worse.
        assert_eq!(verdict(&evidence([0.90, 0.92, 0.95, 0.93])), Verdict::Holds);
        // Best at 0.4, but 0.6 only 0.1 points lower on average with a wide
        // spread: not shown worse, so the band is not singled out.
        let mut close = evidence([0.90, 0.92, 0.95, 0.949]);
        close.val_acc[3] = vec![0.96, 0.94, 0.95, 0.955, 0.94];
        assert_eq!(verdict(&close), Verdict::HoldsPartly);
        // Best at 0.6, 0.4 equivalent to it.
        let tied = evidence([0.90, 0.92, 0.9495, 0.95]);
        assert_eq!(verdict(&tied), Verdict::HoldsPartly);
        // Best at 0.6, 0.4 two points below with a tiny spread: shown worse.
        assert_eq!(
            verdict(&evidence([0.90, 0.92, 0.93, 0.95])),
            Verdict::DoesNotHold
        );
        // Best at 0.6, 0.4 lower on average but too noisy to tell either way.
        let mut unclear = evidence([0.90, 0.92, 0.94, 0.95]);
        unclear.val_acc[2] = vec![0.97, 0.91, 0.95, 0.96, 0.91];
        assert_eq!(verdict(&unclear), Verdict::Inconclusive);
        // One seed.
        let mut one = evidence([0.90, 0.92, 0.95, 0.93]);
        for v in one.val_acc.iter_mut() {
            v.truncate(1);
        }
        assert_eq!(verdict(&one), Verdict::Inconclusive);
    }
}

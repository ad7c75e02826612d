//! C8 — "Dropout can hurt small models or low-noise data."
//!
//! Two arms of evidence, both on clean labels, p = 0.5 against p = 0:
//! a width sweep (two hidden layers of w units on the base subset plus
//! 1,000 validation images), and a large clean-data arm (the budget's MLP
//! on the whole training file minus the validation images). Training
//! accuracy is reported beside test accuracy, so a collapse (the dropout
//! net cannot even fit the training set) is told apart from regularisation.
//! For each width p is also tuned on validation from {0.1, 0.3, 0.5}: does
//! the harm vanish when p is chosen well?
//!
//! ```text
//! Δ(w)  = test acc(p=0.5) − test acc(p=0), paired by seed
//! S (small):  Δ(smallest w) < 0,      L (large clean data):  Δ(all images) < 0
//! one-sided paired t, Holm over S and L, α = 0.05
//! "does not hurt": both Δ with the lower end of the 95 % CI above −0.5 points
//! ```
//! The verdict rule is [`SmallModels::RULE`].

use serde::Serialize;

use super::claim::{Claim, Figure, Section, Table, Verdict};
use super::lab::Lab;
use super::runs::{image_run, test_accs, with_p};
use super::tune::{tune, Tuned};
use super::Budget;
use crate::config::RunConfig;
use crate::error::Result;
use crate::html::plot::{lines, Axes, Series};
use crate::stats::{holm, paired, Est};

/// "Does not hurt": the CI of Δ ends above −MARGIN (half a point).
pub const MARGIN: f64 = 0.005;
const VAL_SIZE: usize = 1_000;

/// C8.
pub struct SmallModels;

/// One setting: p = 0 and p = 0.5 (and the tuned p), per seed.
#[derive(Clone, Debug, Serialize)]
pub struct Arm {
    /// Architecture.
    pub arch: String,
    /// Training images.
    pub n: usize,
    /// Test accuracy at p = 0 / 0.5.
    pub test: [Vec<f64>; 2],
    /// Training accuracy at p = 0 / 0.5.
    pub train: [Vec<f64>; 2],
    /// Tuning of p on validation (width sweep only).
    pub tuned: Option<Tuned>,
    /// Test accuracy at the tuned p.
    pub tuned_test: Vec<f64>,
}

impl Arm {
    fn delta(&self) -> Est {
        paired(&self.test[1], &self.test[0])
    }
}

/// What C8 measured.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// Epochs of the width sweep.
    pub epochs: usize,
    /// The width sweep, ascending.
    pub widths: Vec<Arm>,
    /// The large clean-data arm.
    pub large: Arm,
}

impl Evidence {
    fn tests(&self) -> (f64, f64) {
        let small = self.widths.first().map_or(Est::default(), Arm::delta);
        let q = holm(&[
            small.p_one_sided(false),
            self.large.delta().p_one_sided(false),
        ]);
        (q[0], q[1])
    }
}

fn run(mut c: RunConfig, p: f32) -> RunConfig {
    c.data.val_size = VAL_SIZE;
    with_p(c, p)
}

fn arm(lab: &Lab, base: &dyn Fn(u64) -> RunConfig, tune_p: bool) -> Result<Arm> {
    // --quick skips the tuning sweep (its one value is p = 0.5 itself).
    let grid: &[f32] = if lab.budget == Budget::Quick {
        &[0.5]
    } else {
        &[0.1, 0.3, 0.5]
    };
    let b = base(0);
    let (arch, n) = (
        b.model.arch.clone(),
        b.data.train_size.unwrap_or(60_000 - VAL_SIZE),
    );
    let mut test = [Vec::new(), Vec::new()];
    let mut train = [Vec::new(), Vec::new()];
    for (i, p) in [0.0, 0.5].into_iter().enumerate() {
        let outs = lab.per_seed(&format!("{arch} p={p}"), 0, |s| run(base(s), p))?;
        test[i] = test_accs(&outs);
        train[i] = outs.iter().map(|o| o.last().train_acc).collect();
    }
    let (tuned, tuned_test) = if tune_p {
        let t = tune(lab, &format!("{arch} p"), grid, 0, |p, s| run(base(s), p))?;
        let outs = lab.per_seed(&format!("{arch} tuned p"), 0, |s| run(base(s), t.chosen))?;
        (Some(t), test_accs(&outs))
    } else {
        (None, vec![])
    };
    Ok(Arm {
        arch,
        n,
        test,
        train,
        tuned,
        tuned_test,
    })
}

impl Claim for SmallModels {
    const ID: &'static str = "C8";
    const CLAIM: &'static str = "Dropout can hurt small models or low-noise data.";
    const RULE: &'static str = "Δ = test acc(p=0.5) − test acc(p=0), paired. S: Δ < 0 at the smallest width; L: Δ < 0 on the large clean data (all training images). One-sided paired t, Holm over S and L, α = 0.05. holds: S and L; holds partly: one of them; does not hold: neither, and both Δ have the lower end of their 95 % CI above −0.5 points; inconclusive: otherwise.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let widths: Vec<usize> = match lab.budget {
            Budget::Tiny => vec![4, 16],
            Budget::Quick => vec![16, 64, 256],
            Budget::Default => vec![16, 32, 64, 256],
            Budget::Full => vec![16, 32, 64, 256, 1024],
        };
        let n = lab.base_size();
        let epochs = lab.epochs_for(n);
        let large_n = match lab.budget {
            Budget::Tiny => 2_000,
            _ => 60_000 - VAL_SIZE,
        };
        let tried = if lab.budget == Budget::Quick { 1 } else { 3 };
        lab.begin(Self::ID, (widths.len() * (3 + tried) + 2) * lab.seeds.len());
        let mut sweep = Vec::new();
        for &w in &widths {
            let arch = format!("784-{w}-{w}-10");
            sweep.push(arm(
                lab,
                &|s| image_run(lab.primary(), &arch, n, epochs, s),
                true,
            )?);
        }
        let large = arm(
            lab,
            &|s| {
                image_run(
                    lab.primary(),
                    lab.mlp(),
                    large_n,
                    lab.epochs_for(large_n),
                    s,
                )
            },
            false,
        )?;
        Ok(Evidence {
            epochs,
            widths: sweep,
            large,
        })
    }

    fn verdict(e: &Evidence) -> Verdict {
        let (qs, ql) = e.tests();
        let small = e.widths.first().map_or(Est::default(), Arm::delta);
        let fine = |d: Est| d.n >= 2 && d.lo() > -MARGIN;
        match (qs < 0.05, ql < 0.05) {
            (true, true) => Verdict::Holds,
            (true, false) | (false, true) => Verdict::HoldsPartly,
            _ if fine(small) && fine(e.large.delta()) => Verdict::DoesNotHold,
            _ => Verdict::Inconclusive,
        }
    }

    fn render(e: &Evidence) -> Section {
        let (qs, ql) = e.tests();
        let row = |a: &Arm| {
            vec![
                a.arch.clone(),
                a.n.to_string(),
                Est::of(&a.test[0]).fmt(100.0, 2),
                Est::of(&a.test[1]).fmt(100.0, 2),
                a.delta().fmt(100.0, 2),
                Est::of(&a.train[0]).fmt(100.0, 1),
                Est::of(&a.train[1]).fmt(100.0, 1),
                a.tuned.as_ref().map_or("—".into(), Tuned::describe),
                if a.tuned_test.is_empty() {
                    "—".into()
                } else {
                    paired(&a.tuned_test, &a.test[0]).fmt(100.0, 2)
                },
            ]
        };
        let mut rows: Vec<Vec<String>> = e.widths.iter().map(row).collect();
        rows.push(row(&e.large));
        let series = |name: &str, f: &dyn Fn(&Arm) -> Est| Series {
            name: name.into(),
            points: e
                .widths
                .iter()
                .filter_map(|a| {
                    a.arch
                        .split('-')
                        .nth(1)?
                        .parse::<f64>()
                        .ok()
                        .map(|w| (w, 100.0 * f(a).mean, 100.0 * f(a).ci))
                })
                .collect(),
        };
        let small = e.widths.first();
        let seeds = e.large.test[0].len();
        Section {
            finding: format!("On MNIST, p = 0.5 changed test accuracy by {} points in the smallest net ({}; training accuracy {} % → {} %, Holm p {qs:.3}) and by {} points with all {} clean training images (Holm p {ql:.3}). With p tuned on validation per width, the change was {} points in the smallest net.",
                small.map_or(String::new(), |a| a.delta().fmt(100.0, 2)), small.map_or("", |a| &a.arch),
                small.map_or(String::new(), |a| Est::of(&a.train[0]).fmt(100.0, 1)), small.map_or(String::new(), |a| Est::of(&a.train[1]).fmt(100.0, 1)),
                e.large.delta().fmt(100.0, 2), e.large.n,
                small.filter(|a| !a.tuned_test.is_empty()).map_or("—".into(), |a| paired(&a.tuned_test, &a.test[0]).fmt(100.0, 2))),
            limitations: "One learning rate (0.05) for every width and p; the large-data arm trains for few epochs on the 2-core budget, which favours the faster-fitting plain net.".into(),
            method: format!("MLPs 784-w-w-10 on {} clean images plus {VAL_SIZE} validation images, {} epochs, and the budget's MLP on all {} remaining training images ({} epochs); SGD lr 0.05; p = 0 vs 0.5, and per width p tuned on validation from {{0.1, 0.3, 0.5}}; {seeds} seeds, paired. Training accuracy is measured in eval mode on the training images.", e.widths.first().map_or(0, |a| a.n), e.epochs, e.large.n, e.large.arch),
            key_number: format!("Δacc smallest net {} pts (p {qs:.3}); all clean data {} pts (p {ql:.3})", small.map_or(String::new(), |a| a.delta().fmt(100.0, 2)), e.large.delta().fmt(100.0, 2)),
            tables: vec![Table::new("Test and training accuracy % (mean ± 95% CI)", &["net", "train images", "test p=0", "test p=0.5", "Δ test", "train p=0", "train p=0.5", "p tuned (val acc)", "Δ test at tuned p"], rows)],
            figures: vec![Figure { caption: "Δ test accuracy against hidden width: p = 0.5 and the validation-tuned p".into(), svg: lines(&Axes { title: "Dropout gain by width", x: "hidden width", y: "Δ test acc (pts)", log_x: true, log_y: false }, &[series("p = 0.5", &Arm::delta), series("tuned p", &|a: &Arm| paired(&a.tuned_test, &a.test[0]))]) }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{five, five_shuffled};

    fn arm(delta: f64, spread: f64) -> Arm {
        let v = |m: f64| five(m, spread);
        let w = |m: f64| five_shuffled(m, spread);
        Arm {
            arch: "784-16-16-10".into(),
            n: 1,
            test: [v(0.9), w(0.9 + delta)],
            train: [v(0.95), v(0.9)],
            tuned: None,
            tuned_test: vec![],
        }
    }

    #[test]
    fn every_verdict_of_the_rule() {
        let v = |small: Arm, large: Arm| {
            SmallModels::verdict(&Evidence {
                epochs: 1,
                widths: vec![small],
                large,
            })
        };
        assert_eq!(v(arm(-0.05, 0.001), arm(-0.01, 0.001)), Verdict::Holds);
        assert_eq!(v(arm(-0.05, 0.001), arm(0.0, 0.001)), Verdict::HoldsPartly);
        assert_eq!(v(arm(0.0, 0.001), arm(0.01, 0.001)), Verdict::DoesNotHold);
        assert_eq!(v(arm(0.0, 0.03), arm(0.0, 0.001)), Verdict::Inconclusive);
    }
}

//! `dropout-lab study --paper`: Srivastava et al. (JMLR 2014), Table 2, on
//! MNIST, with the protocol of the authors' toolkit (see `docs/src/design.md`
//! §5.5): nets of 3 × 1024 units, input dropout 0.2, hidden 0.5, batch
//! 100, SGD (heavy-ball momentum approaching 0.99 from 0.5 as e^(−t/100,000)), learning rate
//! ε_t = ε0 / (1 + t / 10,000) per step, max-norm c = 3.
//!
//! ```text
//! phase 1 (validation): train on 50,000 images, 10,000 held out, for E epochs (one seed), evaluated
//!                       every k epochs; per arm choose ε0 ∈ {0.01, 0.1, 1.0} and the epoch e* with the best
//!                       validation accuracy (a diverged ε0 is not eligible)
//! phase 2 (final):      retrain on all 60,000 images for the same number of updates
//!                       (e* · 500 / 600 epochs) at ε0, over the seeds; test error after the last update
//! endpoint:             mean test error of the headline arms, paper: dropout 1.25 %, + max-norm 1.06 %
//! ```
//! Long runs checkpoint and resume ([`crate::runner::long_run`]). The verdict rule is [`Paper::RULE`].

use engine::layers::Activation;
use serde::Serialize;

use super::claim::{Claim, Figure, Section, Table, Verdict};
use super::lab::Lab;
use super::runs::{image_run, with_p};
use super::Budget;
use crate::config::{Builtin, LrSchedule, MomentumRamp, RunConfig};
use crate::error::{LabError, Result};
use crate::html::plot::{lines, Axes, Series};
use crate::stats::Est;

/// "Within" the paper's number: 0.15 points of test error.
pub const MARGIN: f64 = 0.15;
const VAL: usize = 10_000;

/// The reproduction: `epochs` epochs in the validation phase.
pub struct Paper {
    /// Epochs of the validation phase (the toolkit ran 100,000 steps ≈ 200 epochs).
    pub epochs: usize,
}

/// An arm: name, activation, hidden p, input p, max-norm, the paper's error %.
type ArmSpec = (&'static str, Activation, f32, f32, f32, Option<f64>);

/// The arms of Table 2 reproduced, and the baseline.
const ARMS: [ArmSpec; 4] = [
    ("no dropout", Activation::Relu, 0.0, 0.0, 0.0, None),
    ("dropout", Activation::Relu, 0.5, 0.2, 0.0, Some(1.25)),
    (
        "dropout + max-norm 3",
        Activation::Relu,
        0.5,
        0.2,
        3.0,
        Some(1.06),
    ),
    (
        "dropout + max-norm 3, logistic",
        Activation::Sigmoid,
        0.5,
        0.2,
        3.0,
        Some(1.35),
    ),
];

/// One arm's protocol and results.
#[derive(Clone, Debug, Serialize)]
pub struct Arm {
    /// Name.
    pub name: String,
    /// ε0 tried and their best validation accuracy (None: diverged).
    pub tried: Vec<(f32, Option<f64>)>,
    /// The chosen ε0.
    pub lr: f32,
    /// The chosen epoch of the validation phase.
    pub val_epoch: usize,
    /// Epochs of the final runs.
    pub final_epochs: usize,
    /// Test error % of the final runs, per seed.
    pub test_error: Vec<f64>,
    /// Mean test error % per evaluated epoch of the final runs.
    pub curve: Vec<(usize, f64)>,
    /// The paper's error %.
    pub paper: Option<f64>,
}

/// What the reproduction measured.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// The architecture.
    pub arch: String,
    /// Validation-phase epochs.
    pub epochs: usize,
    /// The arms.
    pub arms: Vec<Arm>,
}

impl Paper {
    fn run(
        &self,
        lab: &Lab,
        arm: usize,
        lr: f32,
        (n, val, epochs): (usize, usize, usize),
        seed: u64,
    ) -> RunConfig {
        let (_, act, p, p_in, c, _) = ARMS[arm];
        let arch = if lab.budget == Budget::Tiny {
            "784-16-16-16-10"
        } else {
            "784-1024-1024-1024-10"
        };
        let mut cfg = with_p(image_run(Builtin::Mnist, arch, n, epochs, seed), p);
        cfg.model.act = act;
        cfg.model.input_dropout = p_in;
        cfg.data.val_size = val;
        cfg.batch = 100;
        cfg.optim.lr = lr;
        cfg.optim.max_norm = c;
        cfg.optim.schedule = LrSchedule::InvTimeStep { k: 1e-4 };
        // The toolkit's momentum: 0.5 approaching 0.99 exponentially over 100,000 steps.
        cfg.optim.momentum_ramp = Some(MomentumRamp {
            from: 0.5,
            to: 0.99,
            span: 100_000,
            exp: true,
        });
        cfg
    }

    fn every(&self) -> usize {
        (self.epochs / 20).max(1)
    }
}

impl Claim for Paper {
    const ID: &'static str = "paper";
    const CLAIM: &'static str = "Srivastava et al. 2014, Table 2: a dropout net (3 × 1024 ReLU) reaches 1.25 % test error on MNIST, 1.06 % with max-norm, 1.35 % with logistic units.";
    const RULE: &'static str = "holds: the mean test error of both headline arms (dropout; dropout + max-norm) within 0.15 points of the paper's; holds partly: one of them; does not hold: neither, and each 95 % CI lies outside the paper's number ± 0.15; inconclusive: otherwise.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let (n_all, val) = if lab.budget == Budget::Tiny {
            (2_500, 500)
        } else {
            (60_000, VAL)
        };
        let seeds: Vec<u64> = lab.seeds.iter().copied().take(3).collect();
        let lrs = [0.01f32, 0.1, 1.0];
        lab.begin(Self::ID, ARMS.len() * (lrs.len() + seeds.len()));
        // Every arm's validation phase first (independent runs), then the choices.
        let (mut phase, inputs) = (Vec::new(), lab.mark());
        for (a, &(name, ..)) in ARMS.iter().enumerate() {
            for &lr in &lrs {
                let cfg = self.run(lab, a, lr, (n_all - val, val, self.epochs), seeds[0]);
                phase.push(lab.run_resumable(&cfg, self.every(), 10));
                lab.tick(&format!("{name}: validation phase, ε0 = {lr}"));
            }
        }
        lab.choice(inputs)?;
        let mut phase = phase.into_iter();
        let mut arms = Vec::new();
        for (a, &(name, .., paper)) in ARMS.iter().enumerate() {
            let (mut tried, mut diverged) = (Vec::new(), None);
            let mut best: Option<(f64, f32, usize)> = None;
            for &lr in &lrs {
                match phase.next().expect("one result per arm and ε0") {
                    Ok(out) => {
                        let top = out
                            .curve
                            .iter()
                            .filter_map(|q| q.val_acc.map(|v| (v, q.epoch)))
                            .fold(None, |b: Option<(f64, usize)>, x| {
                                if b.is_none_or(|b| x.0 > b.0) {
                                    Some(x)
                                } else {
                                    b
                                }
                            });
                        tried.push((lr, top.map(|t| t.0)));
                        if let Some((v, e)) = top {
                            if best.is_none_or(|b| v > b.0) {
                                best = Some((v, lr, e));
                            }
                        }
                    }
                    Err(e @ LabError::Diverged { .. }) => {
                        lab.warn(&format!("paper, {name}, ε0 = {lr}: {e}; not eligible"));
                        tried.push((lr, None));
                        diverged = Some(e);
                    }
                    Err(e) => return Err(e),
                }
            }
            let Some((_, lr, val_epoch)) = best else {
                return Err(diverged.expect("no ε0 finished, so one diverged"));
            };
            // The same number of updates on 60,000 images: 500 → 600 steps per epoch.
            let final_epochs = ((val_epoch * (n_all - val)) as f64 / n_all as f64)
                .round()
                .max(1.0) as usize;
            let (mut test_error, mut curves) = (Vec::new(), Vec::new());
            for &s in &seeds {
                let out = lab.run_resumable(
                    &self.run(lab, a, lr, (n_all, 0, final_epochs), s),
                    self.every(),
                    10,
                )?;
                test_error.push(100.0 * (1.0 - out.last().test_acc));
                curves.push(out.curve);
                lab.tick(&format!("{name}: final run, seed {s}"));
            }
            let curve = curves[0]
                .iter()
                .enumerate()
                .map(|(i, q)| {
                    let errs: Vec<f64> = curves
                        .iter()
                        .filter_map(|c| c.get(i))
                        .map(|q| 100.0 * (1.0 - q.test_acc))
                        .collect();
                    (q.epoch, Est::of(&errs).mean)
                })
                .collect();
            arms.push(Arm {
                name: name.into(),
                tried,
                lr,
                val_epoch,
                final_epochs,
                test_error,
                curve,
                paper,
            });
        }
        let arch = self.run(lab, 0, 1.0, (1, 0, 1), 0).model.arch;
        Ok(Evidence {
            arch,
            epochs: self.epochs,
            arms,
        })
    }

    fn verdict(e: &Evidence) -> Verdict {
        let heads: Vec<(Est, f64)> = e
            .arms
            .iter()
            .filter_map(|a| Some((Est::of(&a.test_error), a.paper?)))
            .take(2)
            .collect();
        let within = heads
            .iter()
            .filter(|(m, p)| (m.mean - p).abs() < MARGIN)
            .count();
        let outside = heads
            .iter()
            .all(|(m, p)| m.n >= 2 && (m.lo() > p + MARGIN || m.hi() < p - MARGIN));
        match within {
            2 => Verdict::Holds,
            1 => Verdict::HoldsPartly,
            _ if outside => Verdict::DoesNotHold,
            _ => Verdict::Inconclusive,
        }
    }

    fn render(e: &Evidence) -> Section {
        let rows = e
            .arms
            .iter()
            .map(|a| {
                vec![
                    a.name.clone(),
                    a.paper.map_or("—".into(), |p| format!("{p:.2}")),
                    Est::of(&a.test_error).fmt(1.0, 2),
                    a.tried
                        .iter()
                        .map(|(lr, v)| {
                            v.map_or(format!("{lr}: diverged"), |v| {
                                format!("{lr}: {:.2} %", 100.0 * (1.0 - v))
                            })
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                    format!(
                        "{} (epoch {} of the validation phase)",
                        a.final_epochs, a.val_epoch
                    ),
                ]
            })
            .collect();
        let series = e
            .arms
            .iter()
            .map(|a| Series {
                name: a.name.clone(),
                points: a
                    .curve
                    .iter()
                    .map(|&(ep, err)| (ep as f64, err, 0.0))
                    .collect(),
            })
            .collect::<Vec<_>>();
        let seeds = e.arms.first().map_or(0, |a| a.test_error.len());
        Section {
            finding: e.arms.iter().map(|a| format!("{}: {} % test error (paper {})", a.name, Est::of(&a.test_error).fmt(1.0, 2), a.paper.map_or("—".into(), |p| format!("{p:.2} %")))).collect::<Vec<_>>().join("; ") + ".",
            limitations: "Weights start from the engine's He initialisation rather than the toolkit's N(0, 1/fan_in); ε0 is chosen from three values only.".into(),
            method: format!("{}, batch 100, SGD heavy-ball momentum 0.99 − 0.49·e^(−t/100,000) at step t, ε_t = ε0/(1 + t/10,000) per step, input dropout 0.2 and hidden 0.5 where named, max-norm 3 where named. Validation phase: 50,000 training / 10,000 validation images, {} epochs, one seed, evaluated every {} epochs; ε0 and the stopping epoch chosen on validation accuracy. Final: all 60,000 images for the same number of updates, {seeds} seeds; test error on the 10,000 test images after the last update.", e.arch, e.epochs, (e.epochs / 20).max(1)),
            key_number: e.arms.iter().filter(|a| a.paper.is_some()).map(|a| format!("{}: {} % (paper {:.2})", a.name, Est::of(&a.test_error).fmt(1.0, 2), a.paper.unwrap_or(0.0))).collect::<Vec<_>>().join("; "),
            tables: vec![Table::new("Test error %: paper vs ours (mean ± 95% CI over seeds)", &["arm", "paper", "ours", "ε0 tried (best validation error)", "final epochs"], rows)],
            figures: vec![Figure { caption: "Test error of the final runs (mean over seeds) per evaluated epoch".into(), svg: lines(&Axes { title: "MNIST test error", x: "epoch", y: "test error %", log_x: false, log_y: true }, &series) }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(err: [f64; 3], paper: Option<f64>) -> Arm {
        Arm {
            name: "a".into(),
            tried: vec![],
            lr: 1.0,
            val_epoch: 1,
            final_epochs: 1,
            test_error: err.to_vec(),
            curve: vec![],
            paper,
        }
    }

    #[test]
    fn every_verdict_of_the_rule() {
        let v = |d: [f64; 3], m: [f64; 3]| {
            Paper::verdict(&Evidence {
                arch: "a".into(),
                epochs: 1,
                arms: vec![arm([1.5; 3], None), arm(d, Some(1.25)), arm(m, Some(1.06))],
            })
        };
        assert_eq!(v([1.2, 1.3, 1.25], [1.0, 1.1, 1.05]), Verdict::Holds);
        assert_eq!(v([1.2, 1.3, 1.25], [1.6, 1.7, 1.65]), Verdict::HoldsPartly);
        assert_eq!(
            v([1.8, 1.81, 1.79], [1.6, 1.61, 1.59]),
            Verdict::DoesNotHold
        );
        assert_eq!(v([1.0, 2.0, 1.6], [0.5, 1.9, 1.3]), Verdict::Inconclusive);
    }
}

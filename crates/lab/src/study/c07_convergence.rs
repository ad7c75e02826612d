//! C7 — "Dropout slows convergence."
//!
//! The budget's MLP on the base subset plus 1,000 validation images,
//! evaluated every other epoch, in two protocols:
//! *same lr* — p ∈ {0, 0.2, 0.5, 0.8} all at lr 0.05; *tuned lr* — p ∈
//! {0, 0.5}, each at the learning rate it does best with on validation
//! (from {0.02, 0.05, 0.1}). Curves are drawn against optimizer updates.
//!
//! ```text
//! endpoint:   U(run) = updates until the training loss (eval mode) first falls to 0.1
//!             (a run that never gets there counts as its last update + one epoch)
//! slower:     U(p=0.5) − U(p=0) > 0, one-sided paired t, in each protocol, Holm over the two, α = 0.05
//! "not slower": the difference ≤ 0 one-sided (p < 0.05) or within ±10 % of U(p=0) (TOST)
//! ```
//! The verdict rule is [`Convergence::RULE`].

use serde::Serialize;

use super::claim::{Claim, Figure, Section, Table, Verdict};
use super::lab::Lab;
use super::tune::{prefetch, tune, Tuned};
use crate::config::RunConfig;
use crate::error::Result;
use crate::html::plot::{lines, Axes, Series};
use crate::runner::cache::Point;
use crate::stats::{holm, paired, Est};

const THRESHOLD: f64 = 0.1;
const VAL_SIZE: usize = 1_000;
/// Evaluate every this many epochs.
const EVERY: usize = 2;

/// C7.
pub struct Convergence;

/// One protocol's runs.
#[derive(Clone, Debug, Serialize)]
pub struct Protocol {
    /// Dropout rates.
    pub p: Vec<f32>,
    /// Learning rate per p (tuning, for the tuned protocol).
    pub lr: Vec<f32>,
    /// Tuning of each p (tuned protocol only).
    pub tuned: Vec<Tuned>,
    /// Curves, p × seed.
    pub curves: Vec<Vec<Vec<Point>>>,
}

/// What C7 measured.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// The MLP.
    pub mlp: String,
    /// Training images.
    pub n: usize,
    /// Epochs.
    pub epochs: usize,
    /// Updates per epoch.
    pub per_epoch: usize,
    /// Same learning rate.
    pub same: Protocol,
    /// Tuned learning rate.
    pub tuned: Protocol,
}

impl Evidence {
    /// Updates to the threshold, p × seed.
    fn updates(&self, pr: &Protocol) -> Vec<Vec<f64>> {
        let never = ((self.epochs + 1) * self.per_epoch) as f64;
        pr.curves
            .iter()
            .map(|outs| {
                outs.iter()
                    .map(|o| {
                        o.iter()
                            .find(|q| q.train_loss <= THRESHOLD)
                            .map_or(never, |q| (q.epoch * self.per_epoch) as f64)
                    })
                    .collect()
            })
            .collect()
    }

    /// U(0.5) − U(0), paired, and U(0)'s mean.
    fn slower(&self, pr: &Protocol) -> (Est, f64) {
        let u = self.updates(pr);
        let at = |p: f32| pr.p.iter().position(|&x| x == p).unwrap_or(0);
        (paired(&u[at(0.5)], &u[at(0.0)]), Est::of(&u[at(0.0)]).mean)
    }

    fn tests(&self) -> (f64, f64) {
        let q = holm(&[
            self.slower(&self.same).0.p_one_sided(true),
            self.slower(&self.tuned).0.p_one_sided(true),
        ]);
        (q[0], q[1])
    }
}

fn run(lab: &Lab, p: f32, lr: f32, seed: u64) -> RunConfig {
    let mut c = lab.base_run(p, seed);
    c.data.val_size = VAL_SIZE;
    c.optim.lr = lr;
    c
}

impl Claim for Convergence {
    const ID: &'static str = "C7";
    const CLAIM: &'static str = "Dropout slows convergence.";
    const RULE: &'static str = "U = updates until the eval-mode training loss first reaches 0.1. Slower: U(p=0.5) − U(p=0) > 0 (one-sided paired t), at the same lr and with each p at its validation-tuned lr; Holm over the two, α = 0.05. holds: slower in both protocols; holds partly: in one; does not hold: in neither, and with tuned lr the difference is negative (one-sided p < 0.05) or within ±10 % of U(p=0) (TOST); inconclusive: otherwise.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let same_p = vec![0.0f32, 0.2, 0.5, 0.8];
        let tuned_p = vec![0.0f32, 0.5];
        let lrs = [0.02f32, 0.05, 0.1];
        lab.begin(
            Self::ID,
            (same_p.len() + tuned_p.len() * (lrs.len() + 1)) * lab.seeds.len(),
        );
        let curves = |p: f32, lr: f32| -> Result<Vec<Vec<Point>>> {
            let outs = lab.per_seed(&format!("p={p} lr={lr}"), EVERY, |s| run(lab, p, lr, s))?;
            Ok(outs.into_iter().map(|o| o.curve).collect())
        };
        let same = Protocol {
            lr: vec![0.05; same_p.len()],
            curves: same_p
                .iter()
                .map(|&p| curves(p, 0.05))
                .collect::<Result<_>>()?,
            p: same_p,
            tuned: vec![],
        };
        let mut tuned = Protocol {
            p: tuned_p.clone(),
            lr: vec![],
            tuned: vec![],
            curves: vec![],
        };
        for &p in &tuned_p {
            prefetch(lab, &lrs, EVERY, |lr, s| run(lab, p, lr, s))?;
        }
        for &p in &tuned_p {
            let t = tune(lab, &format!("p={p} lr"), &lrs, EVERY, |lr, s| {
                run(lab, p, lr, s)
            })?;
            tuned.curves.push(curves(p, t.chosen)?);
            tuned.lr.push(t.chosen);
            tuned.tuned.push(t);
        }
        let n = lab.base_size();
        Ok(Evidence {
            mlp: lab.mlp().into(),
            n,
            epochs: lab.epochs_for(n),
            per_epoch: n.div_ceil(128),
            same,
            tuned,
        })
    }

    fn verdict(e: &Evidence) -> Verdict {
        let (qs, qt) = e.tests();
        let (d, base) = e.slower(&e.tuned);
        match (qs < 0.05, qt < 0.05) {
            (true, true) => Verdict::Holds,
            (true, false) | (false, true) => Verdict::HoldsPartly,
            _ if d.p_one_sided(false) < 0.05 || d.equivalent(0.1 * base) => Verdict::DoesNotHold,
            _ => Verdict::Inconclusive,
        }
    }

    fn render(e: &Evidence) -> Section {
        let series = |pr: &Protocol, f: &dyn Fn(&Point) -> f64| -> Vec<Series> {
            pr.p.iter()
                .zip(&pr.curves)
                .zip(&pr.lr)
                .map(|((p, outs), lr)| Series {
                    name: format!("p = {p}, lr {lr}"),
                    points: outs.first().map_or(vec![], |o| {
                        (0..o.len())
                            .map(|i| {
                                let v: Vec<f64> =
                                    outs.iter().filter_map(|o| o.get(i)).map(f).collect();
                                let m = Est::of(&v);
                                ((o[i].epoch * e.per_epoch) as f64, m.mean, m.ci)
                            })
                            .collect()
                    }),
                })
                .collect()
        };
        let mut rows = Vec::new();
        for (name, pr) in [("same lr", &e.same), ("tuned lr", &e.tuned)] {
            let u = e.updates(pr);
            for (i, p) in pr.p.iter().enumerate() {
                let fin: Vec<f64> = pr.curves[i]
                    .iter()
                    .map(|o| o.last().map_or(0.0, |q| q.val_acc.unwrap_or(0.0)))
                    .collect();
                rows.push(vec![
                    name.into(),
                    p.to_string(),
                    pr.lr[i].to_string(),
                    Est::of(&u[i]).fmt(1.0, 0),
                    Est::of(&fin).fmt(100.0, 2),
                ]);
            }
        }
        let (qs, qt) = e.tests();
        let ((ds, bs), (dt, bt)) = (e.slower(&e.same), e.slower(&e.tuned));
        let fig = |pr: &Protocol, title: &str| Figure {
            caption: format!("Training loss (eval mode) against updates, {title}"),
            svg: lines(
                &Axes {
                    title,
                    x: "updates",
                    y: "cross-entropy",
                    log_x: false,
                    log_y: true,
                },
                &series(pr, &|q| q.train_loss),
            ),
        };
        let seeds = e.same.curves.first().map_or(0, Vec::len);
        Section {
            finding: format!("On MNIST, dropout p = 0.5 needed {} more updates than p = 0 to bring the training loss to {THRESHOLD} at the same learning rate (p = 0: {bs:.0} updates; Holm p {qs:.3}) and {} more with each at its own tuned learning rate (p = 0: {bt:.0}; Holm p {qt:.3}).", ds.fmt(1.0, 0), dt.fmt(1.0, 0)),
            limitations: "Speed is measured as updates to a training-loss target, which is about fitting the training set; a slower fit can still reach a better validation accuracy (final values in the table). The tuned protocol tunes only p = 0 and 0.5.".into(),
            method: format!("MLP {} on {} images plus {VAL_SIZE} validation images, {} epochs ({} updates each), SGD (momentum 0.9, batch 128), {seeds} seeds; evaluated every {EVERY} epochs. Same lr: p ∈ {{0, 0.2, 0.5, 0.8}} at 0.05. Tuned lr: p ∈ {{0, 0.5}}, each at its best final validation accuracy over lr ∈ {{0.02, 0.05, 0.1}} ({}).", e.mlp, e.n, e.epochs, e.per_epoch, e.tuned.tuned.iter().zip(&e.tuned.p).map(|(t, p)| format!("p = {p}: {}", t.describe())).collect::<Vec<_>>().join("; ")),
            key_number: format!("updates to loss {THRESHOLD}, p=0.5 − p=0: same lr {} (p {qs:.3}), tuned lr {} (p {qt:.3})", ds.fmt(1.0, 0), dt.fmt(1.0, 0)),
            tables: vec![Table::new("Updates to training loss 0.1 and final validation accuracy (mean ± 95% CI)", &["protocol", "p", "lr", "updates to loss 0.1", "final val acc %"], rows)],
            figures: vec![fig(&e.same, "same lr"), fig(&e.tuned, "tuned lr")],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Protocols whose runs first reach the threshold at epoch `to[p][seed]` (p = 0, 0.5).
    fn evidence(same: [[usize; 5]; 2], tuned: [[usize; 5]; 2]) -> Evidence {
        let run = |k: usize| -> Vec<Point> {
            (1..=20)
                .map(|epoch| Point {
                    epoch,
                    train_loss: if epoch >= k { 0.05 } else { 1.0 },
                    ..Default::default()
                })
                .collect()
        };
        let pr = |to: [[usize; 5]; 2]| Protocol {
            p: vec![0.0, 0.5],
            lr: vec![0.05; 2],
            tuned: vec![],
            curves: to
                .iter()
                .map(|s| s.iter().map(|&k| run(k)).collect())
                .collect(),
        };
        Evidence {
            mlp: "m".into(),
            n: 1,
            epochs: 20,
            per_epoch: 10,
            same: pr(same),
            tuned: pr(tuned),
        }
    }

    #[test]
    fn every_verdict_of_the_rule() {
        let fast = [5, 5, 6, 5, 6];
        let slow = [9, 10, 9, 10, 10];
        let v = |s, t| Convergence::verdict(&evidence(s, t));
        assert_eq!(v([fast, slow], [fast, slow]), Verdict::Holds);
        assert_eq!(v([fast, slow], [fast, fast]), Verdict::HoldsPartly);
        assert_eq!(v([fast, fast], [slow, fast]), Verdict::DoesNotHold);
        assert_eq!(
            v([fast, fast], [fast, [2, 12, 4, 9, 3]]),
            Verdict::Inconclusive
        );
    }
}

//! C12 — "Dropout is different from (L2) weight decay."
//!
//! A p × λ grid (hidden dropout p, coupled L2 λ, the budget's MLP, base
//! subset plus 1,000 validation images), every setting over the seeds.
//! Selection on **validation** accuracy only: λ* (best L2 alone), p* (best
//! dropout alone), (p, λ)** (best combination, both > 0).
//!
//! Wager et al. (2013) show that, to second order, dropout on a layer's
//! inputs is an L2 penalty whose weight on input j grows with that input's
//! activity: Σ_j a_j ‖W[:, j]‖² with a_j ∝ E\[x_j²\] (times the output's
//! curvature), while weight decay penalises every input alike. So dropout
//! should leave the weights *leaving* busy units smaller than those leaving
//! quiet ones, more than L2 does:
//!
//! ```text
//! a_j = mean over training images of h1_j² (eval mode; dead units, a_j ≤ 1e-6·max a, left out)
//! c_j = ‖W2[:, j]‖  (outgoing weights of hidden unit j of layer 1, the input of dropped layer 2)
//! ρ   = Spearman rank correlation of (a_j, c_j) over units, per trained net
//! (a) complementary:  test acc((p, λ)**) − test acc(better of λ*, p* on validation) > 0
//! (b) Wager:          ρ(p*) − ρ(λ*) < 0
//! both one-sided paired t over seeds, Holm over the two, α = 0.05;
//! "no difference": TOST, margins 0.5 accuracy points for (a) and 0.1 for (b)
//! ```
//! The verdict rule is [`WeightDecay::RULE`].

use engine::layer::{Ctx, ParamKind};
use engine::Sequential;
use serde::Serialize;

use super::claim::{Claim, Section, Table, Verdict};
use super::lab::Lab;
use crate::data::Dataset;
use crate::error::Result;
use crate::stats::{holm, paired, spearman, Est};

/// Equivalence margin of (a): half an accuracy point.
pub const MARGIN_ACC: f64 = 0.005;
/// Equivalence margin of (b): 0.1 of rank correlation.
pub const MARGIN_RHO: f64 = 0.1;

/// Validation images held out from the training file.
const VAL_SIZE: usize = 1_000;

/// C12.
pub struct WeightDecay;

/// One grid point.
#[derive(Clone, Debug, Serialize)]
pub struct Setting {
    /// Hidden dropout.
    pub p: f32,
    /// L2 λ.
    pub l2: f32,
    /// Validation accuracy per seed.
    pub val_acc: Vec<f64>,
    /// Test accuracy per seed.
    pub test_acc: Vec<f64>,
    /// Spearman ρ(activity, outgoing norm) of layer-1 units, per seed.
    pub rho: Vec<f64>,
}

/// What C12 measured.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// The MLP.
    pub mlp: String,
    /// Training images.
    pub n: usize,
    /// Epochs.
    pub epochs: usize,
    /// The grid, p-major.
    pub grid: Vec<Setting>,
}

impl Evidence {
    fn best(&self, keep: impl Fn(&Setting) -> bool) -> Option<&Setting> {
        self.grid.iter().filter(|s| keep(s)).max_by(|a, b| {
            Est::of(&a.val_acc)
                .mean
                .total_cmp(&Est::of(&b.val_acc).mean)
        })
    }

    /// (λ*, p*, (p, λ)**), chosen on validation.
    fn chosen(&self) -> Option<(&Setting, &Setting, &Setting)> {
        Some((
            self.best(|s| s.p == 0.0 && s.l2 > 0.0)?,
            self.best(|s| s.p > 0.0 && s.l2 == 0.0)?,
            self.best(|s| s.p > 0.0 && s.l2 > 0.0)?,
        ))
    }

    /// (combination − better single, ρ(p*) − ρ(λ*)).
    fn effects(&self) -> Option<(Est, Est)> {
        let (l2, drop, both) = self.chosen()?;
        let single = if Est::of(&drop.val_acc).mean >= Est::of(&l2.val_acc).mean {
            drop
        } else {
            l2
        };
        Some((
            paired(&both.test_acc, &single.test_acc),
            paired(&drop.rho, &l2.rho),
        ))
    }

    /// Holm-adjusted one-sided p of (a) and (b).
    fn tests(&self) -> Option<(f64, f64)> {
        let (a, b) = self.effects()?;
        let q = holm(&[a.p_one_sided(true), b.p_one_sided(false)]);
        Some((q[0], q[1]))
    }
}

/// Spearman ρ between each layer-1 unit's mean squared activation on `data`
/// and the norm of its outgoing weights (dead units left out).
fn activity_rho(model: &mut Sequential, data: &Dataset) -> f64 {
    let n = data.len().min(2_000);
    let d = data.dim();
    model.input_mut(n).copy_from_slice(&data.x[..n * d]);
    model.forward(&Ctx::eval());
    let h = model.layers()[0].output();
    let units = h.shape[1];
    let mut act = vec![0.0f64; units];
    for row in h.data.chunks(units) {
        for (a, &v) in act.iter_mut().zip(row) {
            *a += f64::from(v).powi(2) / n as f64;
        }
    }
    let mut weights = Vec::new();
    model.visit_params(&mut |_, prm| {
        if prm.kind == ParamKind::Weight {
            weights.push((prm.value.to_vec(), prm.row));
        }
    });
    let Some((w2, inputs)) = weights.get(1) else {
        return f64::NAN;
    };
    let mut out_norm = vec![0.0f64; *inputs];
    for row in w2.chunks(*inputs) {
        for (c, &w) in out_norm.iter_mut().zip(row) {
            *c += f64::from(w).powi(2);
        }
    }
    let top = act.iter().copied().fold(0.0, f64::max);
    let (a, c): (Vec<f64>, Vec<f64>) = act
        .iter()
        .zip(&out_norm)
        .filter(|(&a, _)| a > 1e-6 * top)
        .map(|(&a, &c)| (a, c.sqrt()))
        .unzip();
    spearman(&a, &c)
}

impl Claim for WeightDecay {
    const ID: &'static str = "C12";
    const CLAIM: &'static str = "Dropout is different from (L2) weight decay.";
    const RULE: &'static str = "Settings chosen on validation: λ* (L2 alone), p* (dropout alone), (p, λ)** (both). (a) complementary: test acc of (p, λ)** above the better single regulariser's (chosen on validation); (b) Wager et al. 2013: the rank correlation between a hidden unit's activity and its outgoing weight norm is lower under p* than under λ*. Each a one-sided paired t, Holm over the two, α = 0.05. holds: (a) and (b); holds partly: one of them; does not hold: neither, and both effects equivalent to 0 (TOST, margins 0.5 points and 0.1); inconclusive: otherwise.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let n = lab.base_size();
        let epochs = lab.epochs_for(n);
        let ps = [0.0f32, 0.25, 0.5];
        let l2s = [0.0f32, 3e-5, 3e-4, 3e-3];
        lab.begin(Self::ID, ps.len() * l2s.len() * lab.seeds.len());
        let cfg_of = |p: f32, l2: f32, seed: u64| {
            let mut cfg = lab.base_run(p, seed);
            cfg.optim.weight_decay = l2;
            cfg.data.val_size = VAL_SIZE;
            cfg
        };
        let all: Vec<_> = ps
            .iter()
            .flat_map(|&p| l2s.iter().map(move |&l2| (p, l2)))
            .flat_map(|(p, l2)| lab.seeds.iter().map(move |&s| cfg_of(p, l2, s)))
            .collect();
        lab.will_load(&all)?;
        let mut grid = Vec::new();
        for &p in &ps {
            for &l2 in &l2s {
                let mut s = Setting {
                    p,
                    l2,
                    val_acc: vec![],
                    test_acc: vec![],
                    rho: vec![],
                };
                for &seed in &lab.seeds {
                    let (out, mut model, splits) = lab.trained(&cfg_of(p, l2, seed))?;
                    s.val_acc.push(out.last().val_acc.unwrap_or(0.0));
                    s.test_acc.push(out.last().test_acc);
                    s.rho.push(activity_rho(&mut model, &splits.train));
                    lab.tick(&format!("p={p} l2={l2}"));
                }
                grid.push(s);
            }
        }
        Ok(Evidence {
            mlp: lab.mlp().into(),
            n,
            epochs,
            grid,
        })
    }

    fn verdict(e: &Evidence) -> Verdict {
        let (Some((a, b)), Some((qa, qb))) = (e.effects(), e.tests()) else {
            return Verdict::Inconclusive;
        };
        match (qa < 0.05, qb < 0.05) {
            (true, true) => Verdict::Holds,
            (true, false) | (false, true) => Verdict::HoldsPartly,
            _ if a.equivalent(MARGIN_ACC) && b.equivalent(MARGIN_RHO) => Verdict::DoesNotHold,
            _ => Verdict::Inconclusive,
        }
    }

    fn render(e: &Evidence) -> Section {
        let chosen = e.chosen();
        let mark = |s: &Setting| match chosen {
            Some((l2, _, _)) if std::ptr::eq(s, l2) => "λ* (L2 alone)",
            Some((_, d, _)) if std::ptr::eq(s, d) => "p* (dropout alone)",
            Some((_, _, b)) if std::ptr::eq(s, b) => "(p, λ)** (both)",
            _ => "",
        };
        let rows = e
            .grid
            .iter()
            .map(|s| {
                vec![
                    format!("{}", s.p),
                    format!("{:e}", s.l2),
                    Est::of(&s.val_acc).fmt(100.0, 2),
                    Est::of(&s.test_acc).fmt(100.0, 2),
                    Est::of(&s.rho).fmt(1.0, 3),
                    mark(s).into(),
                ]
            })
            .collect();
        let (a, b) = e.effects().unwrap_or_default();
        let (qa, qb) = e.tests().unwrap_or((1.0, 1.0));
        let names = chosen.map_or(String::new(), |(l2, d, both)| {
            format!(
                "λ* = {:e}, p* = {}, (p, λ)** = ({}, {:e})",
                l2.l2, d.p, both.p, both.l2
            )
        });
        let none_rho = e.grid.first().map_or(Est::default(), |s| Est::of(&s.rho));
        Section {
            finding: format!("On {} images, the validation-chosen settings were {names}. Combining dropout with L2 changed test accuracy by {} points against the better single regulariser (Holm p = {qa:.3}); the rank correlation between a unit's activity and its outgoing weight norm was {} lower under dropout than under L2 (Holm p = {qb:.3}; without either, ρ = {}).", e.n, a.fmt(100.0, 2), b.fmt(1.0, 3), none_rho.fmt(1.0, 3)),
            limitations: "One learning rate (0.05) for every setting; the Wager test looks at one layer (the weights leaving the first hidden layer, the first layer whose inputs are dropped) and uses rank correlation, which tests the direction the theory predicts, not its size; coupled L2 (added to the gradient) rather than decoupled decay.".into(),
            method: format!("MLP {} on {} training images plus {VAL_SIZE} validation images, {} epochs, SGD (lr 0.05, momentum 0.9), hidden dropout p ∈ {{0, 0.25, 0.5}} × L2 λ ∈ {{0, 3e-5, 3e-4, 3e-3}}, {} seeds; every choice on validation accuracy, effects on test accuracy. Activity a_j = mean of h1_j² over (up to 2,000) training images in eval mode.", e.mlp, e.n, e.epochs, e.grid.first().map_or(0, |s| s.val_acc.len())),
            key_number: format!("{names}; both − better single: {} pts (Holm p {qa:.3}); ρ(p*) − ρ(λ*) = {} (Holm p {qb:.3})", a.fmt(100.0, 2), b.fmt(1.0, 3)),
            tables: vec![Table::new("Accuracy % and activity–weight rank correlation (mean ± 95% CI)", &["p", "λ", "validation acc", "test acc", "ρ(activity, ‖w_out‖)", "chosen"], rows)],
            figures: vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{five, five_shuffled};

    fn evidence(both_gain: f64, rho_drop: f64, spread: f64) -> Evidence {
        let seeds = |m: f64| five(m, spread);
        // The combination's seeds in another order, so paired differences vary.
        let shuffled = |m: f64| five_shuffled(m, spread);
        let mut grid = Vec::new();
        for (p, l2, acc, rho) in [
            (0.0, 0.0, 0.90, 0.0),
            (0.0, 1e-4, 0.92, 0.0),
            (0.5, 0.0, 0.93, rho_drop),
            (0.5, 1e-4, 0.93 + both_gain, rho_drop),
        ] {
            let accs = if p > 0.0 && l2 > 0.0 {
                shuffled(acc)
            } else {
                seeds(acc)
            };
            grid.push(Setting {
                p,
                l2,
                val_acc: accs.clone(),
                test_acc: accs,
                rho: seeds(rho),
            });
        }
        Evidence {
            mlp: "m".into(),
            n: 1,
            epochs: 1,
            grid,
        }
    }

    #[test]
    fn every_verdict_of_the_rule() {
        let v = |e: &Evidence| WeightDecay::verdict(e);
        assert_eq!(v(&evidence(0.02, -0.4, 0.001)), Verdict::Holds);
        assert_eq!(v(&evidence(0.0, -0.4, 0.001)), Verdict::HoldsPartly);
        assert_eq!(v(&evidence(0.02, 0.0, 0.001)), Verdict::HoldsPartly);
        assert_eq!(v(&evidence(0.0, 0.0, 0.001)), Verdict::DoesNotHold);
        assert_eq!(v(&evidence(0.0, 0.0, 0.05)), Verdict::Inconclusive);
    }
}

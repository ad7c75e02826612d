//! C12 — "Dropout is different from weight decay."
//!
//! Configurations: none, L2 λ ∈ {1e-4, 1e-3}, dropout 0.5, dropout + L2 1e-4,
//! dropout + max-norm 3 (Srivastava et al. 2014). Test accuracy and the
//! weights each leaves: ‖W‖_F of every dense layer and the largest incoming
//! weight-vector norm (what max-norm bounds).
//!
//! The verdict rule is [`WeightDecay::RULE`].

use serde::Serialize;

use super::claim::{Claim, Section, Table, Verdict};
use super::lab::Lab;
use super::stats::{paired, Est};
use crate::error::Result;

/// C12.
pub struct WeightDecay;

/// The settings: name, hidden dropout, L2 λ, max-norm bound.
const CONFIGS: [(&str, f32, f32, f32); 6] = [
    ("none", 0.0, 0.0, 0.0),
    ("L2 1e-4", 0.0, 1e-4, 0.0),
    ("L2 1e-3", 0.0, 1e-3, 0.0),
    ("dropout 0.5", 0.5, 0.0, 0.0),
    ("dropout + L2 1e-4", 0.5, 1e-4, 0.0),
    ("dropout + max-norm 3", 0.5, 0.0, 3.0),
];
const L2: usize = 1;
const DROP: usize = 3;
const BOTH: usize = 4;

/// What C12 measured.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// The MLP.
    pub mlp: String,
    /// Training images.
    pub n: usize,
    /// Epochs.
    pub epochs: usize,
    /// Test accuracy, setting (see `CONFIGS`) × seed.
    pub test_acc: Vec<Vec<f64>>,
    /// Setting × seed × [‖W_l‖_F for each layer…, max incoming norm of W_1].
    pub norms: Vec<Vec<Vec<f64>>>,
}

impl Evidence {
    fn mean(&self, c: usize) -> f64 {
        Est::of(&self.test_acc[c]).mean
    }
    /// Column `j` of setting `c`'s norms, over seeds.
    fn col(&self, c: usize, j: usize) -> Vec<f64> {
        self.norms[c].iter().map(|v| v[j]).collect()
    }
    /// (a): dropout + L2 − the better of its parts.
    fn combination(&self) -> Est {
        let better = if self.mean(DROP) >= self.mean(L2) {
            DROP
        } else {
            L2
        };
        paired(&self.test_acc[BOTH], &self.test_acc[better])
    }
    /// The L2 setting closest in accuracy to dropout.
    fn closest_l2(&self) -> usize {
        let d = self.mean(DROP);
        [1, 2]
            .into_iter()
            .min_by(|&a, &b| {
                (self.mean(a) - d)
                    .abs()
                    .total_cmp(&(self.mean(b) - d).abs())
            })
            .unwrap_or(L2)
    }
    /// (b): first-layer ‖W‖_F of dropout − of that L2 setting.
    fn weight_difference(&self) -> Est {
        paired(&self.col(DROP, 0), &self.col(self.closest_l2(), 0))
    }
}

impl Claim for WeightDecay {
    const ID: &'static str = "C12";
    const CLAIM: &'static str = "Dropout is different from (L2) weight decay.";
    const RULE: &'static str = "(a) dropout+L2 − better of (dropout, L2 1e-4): paired CI above 0; (b) first-layer ‖W‖_F of dropout − of the L2 setting closest in accuracy: paired CI excludes 0. holds: ((a) or (b)) and dropout's accuracy not significantly below that L2 setting's; holds partly: (b) alone; else does not hold.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let n = lab.base_size();
        let epochs = lab.epochs_for(n);
        lab.begin(Self::ID, CONFIGS.len() * lab.seeds.len());
        let mut accs: Vec<Vec<f64>> = Vec::new();
        let mut norms: Vec<Vec<Vec<f64>>> = Vec::new(); // config → seed → [‖W_l‖_F…, max row norm of W_1]
        for &(name, p, wd, mn) in &CONFIGS {
            let mut a = Vec::new();
            let mut nm = Vec::new();
            for &s in &lab.seeds {
                let mut cfg = lab.base_run(p, s);
                cfg.optim.weight_decay = wd;
                cfg.optim.max_norm = mn;
                let (out, mut model, _) = lab.trained(&cfg)?;
                a.push(out.last().test_acc);
                let mut v = Vec::new();
                let mut max_row = 0.0f64;
                model.visit_params(&mut |_, prm| {
                    if prm.kind == engine::layer::ParamKind::Weight {
                        v.push(
                            prm.value
                                .iter()
                                .map(|&w| f64::from(w).powi(2))
                                .sum::<f64>()
                                .sqrt(),
                        );
                        if v.len() == 1 {
                            for row in prm.value.chunks(prm.row) {
                                max_row = max_row.max(
                                    row.iter()
                                        .map(|&w| f64::from(w).powi(2))
                                        .sum::<f64>()
                                        .sqrt(),
                                );
                            }
                        }
                    }
                });
                v.push(max_row);
                nm.push(v);
                lab.tick(name);
            }
            accs.push(a);
            norms.push(nm);
        }
        Ok(Evidence {
            mlp: lab.mlp().into(),
            n,
            epochs,
            test_acc: accs,
            norms,
        })
    }

    fn verdict(e: &Evidence) -> Verdict {
        let w = e.weight_difference();
        let differ = w.above_zero() || w.below_zero();
        let not_worse = !paired(&e.test_acc[DROP], &e.test_acc[e.closest_l2()]).below_zero();
        if (e.combination().above_zero() || differ) && not_worse {
            Verdict::Holds
        } else if differ {
            Verdict::HoldsPartly
        } else {
            Verdict::DoesNotHold
        }
    }

    fn render(e: &Evidence) -> Section {
        let layers = e.norms[0][0].len() - 1;
        let rows = CONFIGS
            .iter()
            .enumerate()
            .map(|(c, cfg)| {
                let mut r = vec![cfg.0.to_string(), Est::of(&e.test_acc[c]).fmt(100.0, 2)];
                r.extend((0..=layers).map(|j| Est::of(&e.col(c, j)).fmt(1.0, 2)));
                r
            })
            .collect();
        let mut header = vec!["config".to_string(), "test acc %".to_string()];
        header.extend((1..=layers).map(|l| format!("‖W{l}‖_F")));
        header.push("max ‖w_in‖ (layer 1)".into());
        Section {
        method: format!("MLP {} on {} MNIST images, {} epochs, SGD; six regularisation settings, {} seeds; norms of the trained weights.", e.mlp, e.n, e.epochs, e.test_acc[0].len()),
        key_number: format!("‖W1‖_F dropout − {}: {}; dropout+L2 − better part: {} pts", CONFIGS[e.closest_l2()].0, e.weight_difference().fmt(1.0, 2), e.combination().fmt(100.0, 2)),
        tables: vec![Table { title: "Test accuracy and weight norms (mean ± 95% CI)".into(), header, rows }],
        figures: vec![],
    }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::stats::around;

    /// Mean accuracies per setting and dropout's / the L2 settings' first-layer norms.
    fn evidence(acc: [f64; 6], w1_drop: f64) -> Evidence {
        Evidence {
            mlp: "m".into(),
            n: 1,
            epochs: 1,
            test_acc: acc.iter().map(|&a| around(a)).collect(),
            norms: (0..6)
                .map(|c| {
                    let w1 = if c == DROP { w1_drop } else { 5.0 };
                    vec![
                        vec![w1 - 0.01, 1.0, 1.0],
                        vec![w1, 1.0, 1.0],
                        vec![w1 + 0.02, 1.0, 1.0],
                    ]
                })
                .collect(),
        }
    }

    #[test]
    fn every_verdict_of_the_rule() {
        // Different weights, dropout as accurate as L2.
        assert_eq!(
            WeightDecay::verdict(&evidence([0.9, 0.91, 0.9, 0.92, 0.92, 0.92], 9.0)),
            Verdict::Holds
        );
        // Same weights, but the combination beats both parts.
        assert_eq!(
            WeightDecay::verdict(&evidence([0.9, 0.91, 0.9, 0.91, 0.95, 0.92], 5.0)),
            Verdict::Holds
        );
        // Different weights, but dropout is clearly less accurate than L2.
        assert_eq!(
            WeightDecay::verdict(&evidence([0.9, 0.95, 0.96, 0.92, 0.92, 0.92], 9.0)),
            Verdict::HoldsPartly
        );
        // Same weights, no gain from combining.
        assert_eq!(
            WeightDecay::verdict(&evidence([0.9, 0.91, 0.9, 0.91, 0.91, 0.92], 5.0)),
            Verdict::DoesNotHold
        );
    }
}

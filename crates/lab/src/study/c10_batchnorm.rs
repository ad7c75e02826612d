//! C10 — "Dropout clashes with BatchNorm" (Li et al., CVPR 2019: the
//! "variance shift").
//!
//! Both an MLP and a small CNN. MLP with BatchNorm in every hidden block
//! (Dense → BN → ReLU → dropout):
//! (i) BN, no dropout; (ii) BN + dropout in every block — the dropout output
//! feeds the next block's BN ("dropout before BN"); (iii) BN + dropout only
//! after the last BN; (iv) dropout, no BN. Test accuracy, and the variance
//! shift at the input of the BN that follows a dropout layer: the running
//! variance BN learned in training (with dropout) over the variance the same
//! units actually have at test time (no dropout), averaged over units.
//!
//! The CNN (BN2d after each conv, BN1d in the dense block) has the same four
//! arms, with conv dropout 0.2 feeding the next conv's BN in arm (ii).
//!
//! The verdict rule is [`BatchNormClash::RULE`].

use engine::layer::Ctx;
use engine::spec::Norm;
use serde::Serialize;

use super::claim::{Claim, Section, Table, Verdict};
use super::lab::{mnist_run, with_p, Lab};
use super::stats::{paired, Est};
use super::Budget;
use crate::config::RunConfig;
use crate::error::Result;

/// C10.
pub struct BatchNormClash;

/// Mean over units of running_var / actual eval-time variance at the second BN.
fn variance_shift(model: &mut engine::Sequential, data: &crate::data::Dataset, n: usize) -> f64 {
    let n = data.len().min(n);
    let d = data.dim();
    model.input_mut(n).copy_from_slice(&data.x[..n * d]);
    model.forward(&Ctx::eval());
    // The second BatchNorm is the one fed (through a layer) by a dropout.
    let bn_idx: Vec<usize> = model
        .layers()
        .iter()
        .enumerate()
        .filter(|(_, l)| l.describe().starts_with("BatchNorm"))
        .map(|(i, _)| i)
        .collect();
    let Some(&i) = bn_idx.get(1) else {
        return f64::NAN;
    };
    let x = model.layers()[i - 1].output().clone();
    let mut running = Vec::new();
    model.layers_mut()[i].visit_buffers(&mut |b| {
        if b.name == "running_var" {
            running = b.value.to_vec();
        }
    });
    // Actual test-time variance of each channel at the BN input, over the
    // batch (and the spatial positions for a conv BN).
    let c = x.shape[1];
    let s: usize = x.shape[2..].iter().product();
    let mut ratios = Vec::new();
    for (ch, &rv) in running.iter().enumerate().take(c) {
        let vals: Vec<f64> = (0..n)
            .flat_map(|r| (0..s).map(move |k| (r, k)))
            .map(|(r, k)| f64::from(x.data[(r * c + ch) * s + k]))
            .collect();
        let m = vals.iter().sum::<f64>() / vals.len() as f64;
        let v = vals.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (vals.len() - 1) as f64;
        if v > 1e-8 {
            ratios.push(f64::from(rv) / v);
        }
    }
    ratios.iter().sum::<f64>() / ratios.len().max(1) as f64
}

/// One net's four arms: test accuracies and variance shifts per arm and seed
/// (the shift is NaN, written as null, for the arm without BatchNorm).
#[derive(Clone, Debug, Serialize)]
pub struct Arms {
    /// The architecture.
    pub arch: String,
    /// Training images.
    pub n: usize,
    /// Epochs.
    pub epochs: usize,
    /// Arm names.
    pub names: Vec<String>,
    /// Test accuracy, arm × seed.
    pub accs: Vec<Vec<f64>>,
    /// Variance shift, arm × seed.
    pub shifts: Vec<Vec<f64>>,
}

impl Arms {
    /// acc(BN, no dropout) − acc(dropout before BN).
    fn d_none(&self) -> Est {
        paired(&self.accs[0], &self.accs[1])
    }
    /// acc(dropout after last BN) − acc(dropout before BN).
    fn d_last(&self) -> Est {
        paired(&self.accs[2], &self.accs[1])
    }
    /// shift(dropout before BN) − shift(BN, no dropout).
    fn shift(&self) -> Est {
        paired(&self.shifts[1], &self.shifts[0])
    }
    fn accuracy_part(&self) -> bool {
        self.d_none().above_zero() && self.d_last().above_zero()
    }
    fn shift_part(&self) -> bool {
        self.shift().above_zero()
    }
}

/// What C10 measured.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// The MLP's arms.
    pub mlp: Arms,
    /// The CNN's arms.
    pub cnn: Arms,
}

/// Train the four arms of one architecture.
fn arms(lab: &Lab, what: &str, specs: &[(&str, RunConfig); 4], probe: usize) -> Result<Arms> {
    let mut accs = Vec::new();
    let mut shifts = Vec::new();
    for (name, base) in specs {
        let mut a = Vec::new();
        let mut sh = Vec::new();
        for &s in &lab.seeds {
            let cfg = RunConfig {
                seed: s,
                ..base.clone()
            };
            let (out, mut model, _) = lab.trained(&cfg)?;
            a.push(out.last().test_acc);
            sh.push(if cfg.model.norm == Norm::Batch {
                variance_shift(&mut model, lab.test(), probe)
            } else {
                f64::NAN
            });
            lab.tick(&format!("{what}: {name}"));
        }
        accs.push(a);
        shifts.push(sh);
    }
    Ok(Arms {
        arch: specs[0].1.model.arch.clone(),
        n: specs[0].1.data.train_size.unwrap_or(60_000),
        epochs: specs[0].1.epochs,
        names: specs.iter().map(|s| s.0.to_string()).collect(),
        accs,
        shifts,
    })
}

impl Claim for BatchNormClash {
    const ID: &'static str = "C10";
    const CLAIM: &'static str = "Dropout clashes with BatchNorm (variance shift).";
    const RULE: &'static str = "per net: accuracy part = acc(BN, no dropout) − acc(dropout before BN) and acc(dropout after last BN) − acc(dropout before BN) both with paired CI above 0; shift part = variance shift of 'dropout before BN' − that of 'BN, no dropout' with paired CI above 0 (Li et al. predict ≈ 1/(1−p) for a unit fed directly by dropout). holds: all four parts (2 nets × 2); does not hold: none; else holds partly.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let n = lab.base_size();
        let epochs = lab.epochs_for(n);
        let mlp = |norm: Norm, p: f32, last_only: bool| {
            let mut c = with_p(mnist_run(lab.mlp(), n, epochs, 0), p);
            c.model.norm = norm;
            c.model.dropout_last_only = last_only;
            c
        };
        let mlp_arms = [
            ("BN, no dropout", mlp(Norm::Batch, 0.0, false)),
            ("BN + dropout before BN", mlp(Norm::Batch, 0.5, false)),
            (
                "BN + dropout after last BN only",
                mlp(Norm::Batch, 0.5, true),
            ),
            ("dropout, no BN", mlp(Norm::None, 0.5, false)),
        ];
        let (cnn_arch, cn, ce) = match lab.budget {
            Budget::Tiny => ("c2-p-c2-p-8-10", 200, 1),
            Budget::Quick => ("c4-p-c8-p-32-10", 1000, 3),
            Budget::Default => ("c8-p-c16-p-64-10", 3000, 6),
            Budget::Full => ("c16-p-c32-p-128-10", 10_000, 10),
        };
        let cnn = |norm: Norm, conv_p: f32, p: f32, last_only: bool| {
            let mut c = with_p(mnist_run(cnn_arch, cn, ce, 0), p);
            c.model.norm = norm;
            c.model.conv_dropout = conv_p;
            c.model.dropout_last_only = last_only;
            c.optim.lr = 0.02;
            c
        };
        let cnn_arms = [
            ("BN, no dropout", cnn(Norm::Batch, 0.0, 0.0, false)),
            (
                "BN + conv dropout 0.2 before BN",
                cnn(Norm::Batch, 0.2, 0.0, false),
            ),
            (
                "BN + dropout 0.5 after last BN only",
                cnn(Norm::Batch, 0.0, 0.5, true),
            ),
            ("conv dropout 0.2, no BN", cnn(Norm::None, 0.2, 0.0, false)),
        ];
        lab.begin(
            Self::ID,
            (mlp_arms.len() + cnn_arms.len()) * lab.seeds.len(),
        );
        Ok(Evidence {
            mlp: arms(lab, "MLP", &mlp_arms, 2000)?,
            cnn: arms(lab, "CNN", &cnn_arms, 500)?,
        })
    }

    fn verdict(e: &Evidence) -> Verdict {
        let parts = [
            e.mlp.accuracy_part(),
            e.mlp.shift_part(),
            e.cnn.accuracy_part(),
            e.cnn.shift_part(),
        ];
        match parts.iter().filter(|&&b| b).count() {
            4 => Verdict::Holds,
            0 => Verdict::DoesNotHold,
            _ => Verdict::HoldsPartly,
        }
    }

    fn render(e: &Evidence) -> Section {
        let table = |title: &str, a: &Arms| {
            let rows = a
                .names
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    vec![
                        name.clone(),
                        Est::of(&a.accs[i]).fmt(100.0, 2),
                        if a.shifts[i].iter().all(|v| v.is_finite()) {
                            Est::of(&a.shifts[i]).fmt(1.0, 3)
                        } else {
                            "—".into()
                        },
                    ]
                })
                .collect();
            Table::new(
                title,
                &["setting", "test acc %", "variance shift (2nd BN)"],
                rows,
            )
        };
        let (m, c) = (&e.mlp, &e.cnn);
        Section {
            method: format!(
                "MLP {} with BatchNorm in each hidden block ({} images, {} epochs, p = 0.5) and CNN {} with BatchNorm after each conv and in the dense block ({} images, {} epochs, SGD lr 0.02; conv dropout 0.2 feeds the next conv's BN); {} seeds. Variance shift = mean over units/channels of (BN running variance, learned with dropout) / (variance of the same BN input on test images without dropout), at the second BN.",
                m.arch, m.n, m.epochs, c.arch, c.n, c.epochs, m.accs[0].len()
            ),
            key_number: format!(
                "MLP: shift {} vs {} without dropout, acc no-dropout − before-BN {} pts; CNN: shift {} vs {}, acc {} pts",
                Est::of(&m.shifts[1]).fmt(1.0, 3),
                Est::of(&m.shifts[0]).fmt(1.0, 3),
                m.d_none().fmt(100.0, 2),
                Est::of(&c.shifts[1]).fmt(1.0, 3),
                Est::of(&c.shifts[0]).fmt(1.0, 3),
                c.d_none().fmt(100.0, 2)
            ),
            tables: vec![table("MLP: test accuracy and variance shift (mean ± 95% CI)", m), table("CNN: test accuracy and variance shift (mean ± 95% CI)", c)],
            figures: vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Arms where dropout-before-BN loses accuracy (`acc`) and shifts variance (`shift`).
    fn arms(acc: bool, shift: bool) -> Arms {
        let v = |x: f64| vec![x, x + 0.002, x - 0.002];
        let before = if acc { 0.85 } else { 0.9 };
        let s = if shift { 1.6 } else { 1.1 };
        Arms {
            arch: "a".into(),
            n: 1,
            epochs: 1,
            names: vec!["a".into(); 4],
            accs: vec![
                v(0.9),
                vec![before, before - 0.001, before + 0.003],
                v(0.9),
                v(0.9),
            ],
            shifts: vec![
                v(1.1),
                vec![s, s + 0.001, s - 0.003],
                v(1.1),
                vec![f64::NAN; 3],
            ],
        }
    }

    #[test]
    fn every_verdict_of_the_rule() {
        let e = |m: Arms, c: Arms| Evidence { mlp: m, cnn: c };
        assert_eq!(
            BatchNormClash::verdict(&e(arms(true, true), arms(true, true))),
            Verdict::Holds
        );
        assert_eq!(
            BatchNormClash::verdict(&e(arms(false, true), arms(true, true))),
            Verdict::HoldsPartly
        );
        assert_eq!(
            BatchNormClash::verdict(&e(arms(false, false), arms(false, true))),
            Verdict::HoldsPartly
        );
        assert_eq!(
            BatchNormClash::verdict(&e(arms(false, false), arms(false, false))),
            Verdict::DoesNotHold
        );
    }
}

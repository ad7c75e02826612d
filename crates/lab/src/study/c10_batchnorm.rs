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
//! Rule, per net: the accuracy part holds if (ii) is less accurate than both
//! (i) and (iii) (paired CIs of the differences above 0); the shift part holds
//! if the variance-shift ratio of (ii) exceeds that of (i) — the same
//! measurement without dropout, not exactly 1 because train-mode statistics
//! come from batches — with a paired CI above 0. holds: all four parts (two
//! nets × two parts); does not hold: none; holds partly otherwise.

use anyhow::Result;
use engine::layer::Ctx;

use super::runs::{Lab, RunSpec};
use super::stats::{paired, Est};
use super::{Budget, ClaimResult, Table, Verdict};

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

/// One net's four arms: test accuracies and variance shifts per arm and seed.
struct Arms {
    accs: Vec<Vec<f64>>,
    shifts: Vec<Vec<f64>>,
}

/// Train the four arms of one architecture.
fn arms(lab: &Lab, what: &str, specs: &[(&str, RunSpec)], probe: usize) -> Result<Arms> {
    let mut accs = Vec::new();
    let mut shifts = Vec::new();
    for (name, base) in specs {
        let mut a = Vec::new();
        let mut sh = Vec::new();
        for &s in &lab.seeds {
            let spec = RunSpec {
                seed: s,
                ..base.clone()
            };
            let (out, mut model, _) = lab.trained(&spec)?;
            a.push(out.last().test_acc);
            sh.push(if spec.norm == "bn" {
                variance_shift(&mut model, lab.test(), probe)
            } else {
                f64::NAN
            });
            lab.tick(&format!("{what}: {name}"));
        }
        accs.push(a);
        shifts.push(sh);
    }
    Ok(Arms { accs, shifts })
}

/// The names of four arms.
fn names(arms: &[(&'static str, RunSpec); 4]) -> [&'static str; 4] {
    [arms[0].0, arms[1].0, arms[2].0, arms[3].0]
}

/// Run C10.
pub fn run(lab: &Lab) -> Result<ClaimResult> {
    let n = lab.base_size();
    let epochs = lab.epochs_for(n);
    let mlp = |norm: &str, p: f32, last_only: bool| RunSpec {
        norm: norm.into(),
        last_only,
        ..RunSpec::mlp(lab.mlp(), n, epochs, 0).with_p(p)
    };
    let mlp_arms = [
        ("BN, no dropout", mlp("bn", 0.0, false)),
        ("BN + dropout before BN", mlp("bn", 0.5, false)),
        ("BN + dropout after last BN only", mlp("bn", 0.5, true)),
        ("dropout, no BN", mlp("none", 0.5, false)),
    ];
    let (cnn_arch, cn, ce) = match lab.budget {
        Budget::Tiny => ("c2-p-c2-p-8-10", 200, 1),
        Budget::Quick => ("c4-p-c8-p-32-10", 1000, 3),
        Budget::Default => ("c8-p-c16-p-64-10", 3000, 6),
        Budget::Full => ("c16-p-c32-p-128-10", 10_000, 10),
    };
    let cnn = |norm: &str, conv_p: f32, p: f32, last_only: bool| RunSpec {
        norm: norm.into(),
        conv_dropout: conv_p,
        last_only,
        lr: 0.02,
        ..RunSpec::mlp(cnn_arch, cn, ce, 0).with_p(p)
    };
    let cnn_arms = [
        ("BN, no dropout", cnn("bn", 0.0, 0.0, false)),
        (
            "BN + conv dropout 0.2 before BN",
            cnn("bn", 0.2, 0.0, false),
        ),
        (
            "BN + dropout 0.5 after last BN only",
            cnn("bn", 0.0, 0.5, true),
        ),
        ("conv dropout 0.2, no BN", cnn("none", 0.2, 0.0, false)),
    ];
    lab.begin("C10", (mlp_arms.len() + cnn_arms.len()) * lab.seeds.len());
    let m = arms(lab, "MLP", &mlp_arms, 2000)?;
    let c = arms(lab, "CNN", &cnn_arms, 500)?;
    lab.end();
    // The two parts of the rule, for one net.
    let parts = |a: &Arms| {
        let d_none = paired(&a.accs[0], &a.accs[1]);
        let d_last = paired(&a.accs[2], &a.accs[1]);
        let shift = paired(&a.shifts[1], &a.shifts[0]);
        (
            d_none.above_zero() && d_last.above_zero(),
            shift.above_zero(),
            d_none,
            d_last,
            shift,
        )
    };
    let (ma, ms, m_none, m_last, m_shift) = parts(&m);
    let (ca, cs, c_none, c_last, c_shift) = parts(&c);
    let held = [ma, ms, ca, cs].iter().filter(|&&b| b).count();
    let verdict = match held {
        4 => Verdict::Holds,
        0 => Verdict::DoesNotHold,
        _ => Verdict::HoldsPartly,
    };
    let table = |title: &str, names: [&str; 4], a: &Arms| Table {
        title: title.into(),
        header: vec![
            "setting".into(),
            "test acc %".into(),
            "variance shift (2nd BN)".into(),
        ],
        rows: names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                vec![
                    name.to_string(),
                    Est::of(&a.accs[i]).fmt(100.0, 2),
                    if a.shifts[i].iter().all(|v| v.is_finite()) {
                        Est::of(&a.shifts[i]).fmt(1.0, 3)
                    } else {
                        "—".into()
                    },
                ]
            })
            .collect(),
    };
    let finite = |v: &[Vec<f64>]| -> Vec<Vec<Option<f64>>> {
        v.iter()
            .map(|s| s.iter().map(|x| x.is_finite().then_some(*x)).collect())
            .collect()
    };
    Ok(ClaimResult {
        id: "C10".into(),
        claim: "Dropout clashes with BatchNorm (variance shift).".into(),
        method: format!(
            "MLP {} with BatchNorm in each hidden block ({n} images, {epochs} epochs, p = 0.5) and CNN {cnn_arch} with BatchNorm after each conv and in the dense block ({cn} images, {ce} epochs, SGD lr 0.02; conv dropout 0.2 feeds the next conv's BN); {} seeds. Variance shift = mean over units/channels of (BN running variance, learned with dropout) / (variance of the same BN input on test images without dropout), at the second BN.",
            lab.mlp(),
            lab.seeds.len()
        ),
        verdict,
        rule: "per net: accuracy part = acc(BN, no dropout) − acc(dropout before BN) and acc(dropout after last BN) − acc(dropout before BN) both with paired CI above 0; shift part = variance shift of 'dropout before BN' − that of 'BN, no dropout' with paired CI above 0 (Li et al. predict ≈ 1/(1−p) for a unit fed directly by dropout). holds: all four parts (2 nets × 2); does not hold: none; else holds partly.".into(),
        key_number: format!(
            "MLP: shift {} vs {} without dropout, acc no-dropout − before-BN {} pts; CNN: shift {} vs {}, acc {} pts",
            Est::of(&m.shifts[1]).fmt(1.0, 3),
            Est::of(&m.shifts[0]).fmt(1.0, 3),
            m_none.fmt(100.0, 2),
            Est::of(&c.shifts[1]).fmt(1.0, 3),
            Est::of(&c.shifts[0]).fmt(1.0, 3),
            c_none.fmt(100.0, 2)
        ),
        tables: vec![table("MLP: test accuracy and variance shift (mean ± 95% CI)", names(&mlp_arms), &m), table("CNN: test accuracy and variance shift (mean ± 95% CI)", names(&cnn_arms), &c)],
        figures: vec![],
        numbers: serde_json::json!({
            "mlp": {"arms": names(&mlp_arms), "test_acc": m.accs, "variance_shift": finite(&m.shifts), "acc_no_dropout_minus_before": m_none, "acc_after_last_minus_before": m_last, "shift_before_minus_no_dropout": m_shift, "accuracy_part": ma, "shift_part": ms},
            "cnn": {"arch": cnn_arch, "arms": names(&cnn_arms), "test_acc": c.accs, "variance_shift": finite(&c.shifts), "acc_no_dropout_minus_before": c_none, "acc_after_last_minus_before": c_last, "shift_before_minus_no_dropout": c_shift, "accuracy_part": ca, "shift_part": cs}
        }),
        elapsed_s: 0.0,
    })
}

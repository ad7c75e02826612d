//! C10 — "Dropout clashes with BatchNorm" (Li et al., CVPR 2019: the
//! "variance shift").
//!
//! MLP with BatchNorm in every hidden block (Dense → BN → ReLU → dropout):
//! (i) BN, no dropout; (ii) BN + dropout in every block — the dropout output
//! feeds the next block's BN ("dropout before BN"); (iii) BN + dropout only
//! after the last BN; (iv) dropout, no BN. Test accuracy, and the variance
//! shift at the input of the BN that follows a dropout layer: the running
//! variance BN learned in training (with dropout) over the variance the same
//! units actually have at test time (no dropout), averaged over units.
//!
//! Rule: holds if (ii) is less accurate than both (i) and (iii) (paired CIs
//! of the differences above 0) and the variance-shift ratio of (ii) exceeds
//! that of (i) — the same measurement without dropout, which is not exactly 1
//! because train-mode statistics come from batches — with a paired CI above 0;
//! holds partly if only the accuracy part or only the shift part; does not
//! hold otherwise.

use anyhow::Result;
use dropout::Mode;
use engine::layer::Ctx;

use super::runs::{Lab, RunSpec};
use super::stats::{paired, Est};
use super::{ClaimResult, Table, Verdict};

/// Mean over units of running_var / actual eval-time variance at the second BN.
fn variance_shift(model: &mut engine::Sequential, data: &crate::data::Dataset) -> f64 {
    let n = data.len().min(2000);
    let d = data.dim();
    model.input_mut(n).copy_from_slice(&data.x[..n * d]);
    model.forward(&Ctx {
        mode: Mode::Eval,
        seed: 0,
        step: 0,
        mc: false,
    });
    // The BN layers are found by their description; the second one follows a dropout.
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
    let c = x.cols();
    // Actual test-time variance of each unit at the BN input.
    let mut ratios = Vec::new();
    let running = {
        let mut rv = Vec::new();
        model.layers_mut()[i].visit_buffers(&mut |b| {
            if b.name == "running_var" {
                rv = b.value.to_vec();
            }
        });
        rv
    };
    for (j, &rv) in running.iter().enumerate().take(c) {
        let col: Vec<f64> = (0..n).map(|r| f64::from(x.data[r * c + j])).collect();
        let m = col.iter().sum::<f64>() / n as f64;
        let v = col.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (n - 1) as f64;
        if v > 1e-8 {
            ratios.push(f64::from(rv) / v);
        }
    }
    ratios.iter().sum::<f64>() / ratios.len().max(1) as f64
}

/// Run C10.
pub fn run(lab: &Lab) -> Result<ClaimResult> {
    let n = lab.base_size();
    let epochs = lab.epochs_for(n);
    let arms: [(&str, &str, f32, bool); 4] = [
        ("BN, no dropout", "bn", 0.0, false),
        ("BN + dropout before BN", "bn", 0.5, false),
        ("BN + dropout after last BN only", "bn", 0.5, true),
        ("dropout, no BN", "none", 0.5, false),
    ];
    lab.begin("C10", arms.len() * lab.seeds.len());
    let mut accs = Vec::new();
    let mut shifts = Vec::new();
    for &(name, norm, p, last_only) in &arms {
        let mut a = Vec::new();
        let mut sh = Vec::new();
        for &s in &lab.seeds {
            let spec = RunSpec {
                norm: norm.into(),
                last_only,
                ..RunSpec::mlp(lab.mlp(), n, epochs, s).with_p(p)
            };
            let (out, mut model, _) = lab.trained(&spec)?;
            a.push(out.last().test_acc);
            sh.push(if norm == "bn" {
                variance_shift(&mut model, lab.test())
            } else {
                f64::NAN
            });
            lab.tick(name);
        }
        accs.push(a);
        shifts.push(sh);
    }
    lab.end();
    let d_vs_none = paired(&accs[0], &accs[1]);
    let d_vs_last = paired(&accs[2], &accs[1]);
    let shift = Est::of(&shifts[1]);
    let shift_vs_none = paired(&shifts[1], &shifts[0]);
    let acc_part = d_vs_none.above_zero() && d_vs_last.above_zero();
    let shift_part = shift_vs_none.above_zero();
    let verdict = match (acc_part, shift_part) {
        (true, true) => Verdict::Holds,
        (false, false) => Verdict::DoesNotHold,
        _ => Verdict::HoldsPartly,
    };
    let rows = arms
        .iter()
        .enumerate()
        .map(|(i, a)| {
            vec![
                a.0.to_string(),
                Est::of(&accs[i]).fmt(100.0, 2),
                if a.1 == "bn" {
                    Est::of(&shifts[i]).fmt(1.0, 3)
                } else {
                    "—".into()
                },
            ]
        })
        .collect();
    Ok(ClaimResult {
        id: "C10".into(),
        claim: "Dropout clashes with BatchNorm (variance shift).".into(),
        method: format!("MLP {} with BatchNorm in each hidden block, {n} MNIST images, {epochs} epochs, p = 0.5, {} seeds. Variance shift = mean over units of (BN running variance, learned with dropout) / (variance of the same BN input on 2000 test images without dropout), at the second BN.", lab.mlp(), lab.seeds.len()),
        verdict,
        rule: "accuracy part: acc(BN, no dropout) − acc(dropout before BN) and acc(dropout after last BN) − acc(dropout before BN) both with CI above 0; shift part: variance-shift ratio of 'dropout before BN' minus that of 'BN, no dropout' with paired CI above 0 (Li et al. predict ≈ 1/(1−p) = 2 for a unit fed directly by dropout). holds: both; holds partly: one; else does not hold.".into(),
        key_number: format!("variance shift {} vs {} without dropout; acc no-dropout − before-BN = {} pts", shift.fmt(1.0, 3), Est::of(&shifts[0]).fmt(1.0, 3), d_vs_none.fmt(100.0, 2)),
        tables: vec![Table { title: "Test accuracy % and variance shift (mean ± 95% CI)".into(), header: vec!["setting".into(), "test acc".into(), "variance shift (2nd BN)".into()], rows }],
        figures: vec![],
        numbers: serde_json::json!({"arms": arms.iter().map(|a| a.0).collect::<Vec<_>>(), "test_acc": accs, "variance_shift": shifts, "acc_no_dropout_minus_before": d_vs_none, "acc_after_last_minus_before": d_vs_last, "shift_before_minus_no_dropout": shift_vs_none}),
        elapsed_s: 0.0,
    })
}

//! C7 — "Dropout slows convergence."
//!
//! p ∈ {0, 0.2, 0.5, 0.8}, the budget's MLP on the base subset, evaluated
//! every epoch: training loss (eval mode) and test accuracy curves, and the
//! first epoch at which the training loss falls below a threshold
//! (0.1; a run that never gets there counts as epochs + 1).
//!
//! Rule: holds if the mean epochs-to-threshold never decreases as p grows and
//! the paired difference p=0.5 − p=0 has a CI above 0; holds partly if only
//! one of the two; does not hold otherwise.

use anyhow::Result;

use super::plot::{lines, Axes, Series};
use super::runs::{Lab, RunOut, RunSpec};
use super::stats::{paired, Est};
use super::{per_seed, ClaimResult, Figure, Table, Verdict};

const THRESHOLD: f64 = 0.1;

fn epochs_to(o: &RunOut, max: usize) -> f64 {
    o.curve
        .iter()
        .find(|p| p.train_loss <= THRESHOLD)
        .map_or(max as f64 + 1.0, |p| p.epoch as f64)
}

/// Run C7.
pub fn run(lab: &Lab) -> Result<ClaimResult> {
    let ps = [0.0f32, 0.2, 0.5, 0.8];
    let n = lab.base_size();
    let epochs = lab.epochs_for(n);
    lab.begin("C7", ps.len() * lab.seeds.len());
    let mut loss_series = Vec::new();
    let mut acc_series = Vec::new();
    let mut rows = Vec::new();
    let mut to_thr: Vec<Vec<f64>> = Vec::new();
    for &p in &ps {
        let outs = per_seed(lab, &format!("p={p}"), |s| RunSpec {
            eval_every: 1,
            ..RunSpec::mlp(lab.mlp(), n, epochs, s).with_p(p)
        })?;
        let curve = |f: &dyn Fn(&super::runs::Point) -> f64| -> Vec<(f64, f64, f64)> {
            (0..epochs)
                .map(|e| {
                    let v: Vec<f64> = outs.iter().filter_map(|o| o.curve.get(e)).map(f).collect();
                    let est = Est::of(&v);
                    ((e + 1) as f64, est.mean, est.ci)
                })
                .collect()
        };
        loss_series.push(Series {
            name: format!("p = {p}"),
            points: curve(&|q| q.train_loss),
        });
        acc_series.push(Series {
            name: format!("p = {p}"),
            points: curve(&|q| 100.0 * q.test_acc),
        });
        let t: Vec<f64> = outs.iter().map(|o| epochs_to(o, epochs)).collect();
        let fin: Vec<f64> = outs.iter().map(|o| o.last().test_acc).collect();
        rows.push(vec![
            p.to_string(),
            Est::of(&t).fmt(1.0, 1),
            Est::of(&fin).fmt(100.0, 2),
        ]);
        to_thr.push(t);
    }
    lab.end();
    let means: Vec<f64> = to_thr.iter().map(|t| Est::of(t).mean).collect();
    let monotone = means.windows(2).all(|w| w[1] >= w[0]);
    let d = paired(&to_thr[2], &to_thr[0]);
    let verdict = match (monotone, d.above_zero()) {
        (true, true) => Verdict::Holds,
        (false, false) => Verdict::DoesNotHold,
        _ => Verdict::HoldsPartly,
    };
    Ok(ClaimResult {
        id: "C7".into(),
        claim: "Dropout slows convergence.".into(),
        method: format!(
            "MLP {} on {n} MNIST images, {epochs} epochs, p ∈ {{0, 0.2, 0.5, 0.8}}, {} seeds; training loss measured in eval mode after every epoch; epochs until it first falls below {THRESHOLD} (never = epochs + 1).",
            lab.mlp(),
            lab.seeds.len()
        ),
        verdict,
        rule: format!("holds: mean epochs-to-loss-{THRESHOLD} non-decreasing in p AND paired (p=0.5 − p=0) CI above 0; holds partly: one of the two; else does not hold."),
        key_number: format!("epochs to train loss {THRESHOLD}: {} (p=0.5 − p=0 = {})", means.iter().zip(&ps).map(|(m, p)| format!("p={p}: {m:.1}")).collect::<Vec<_>>().join(", "), d.fmt(1.0, 1)),
        tables: vec![Table { title: "Convergence (mean ± 95% CI)".into(), header: vec!["p".into(), "epochs to loss 0.1".into(), "final test acc %".into()], rows }],
        figures: vec![
            Figure { caption: "Training loss (eval mode) per epoch".into(), svg: lines(&Axes { title: "Training loss", x: "epoch", y: "cross-entropy", log_x: false, log_y: true }, &loss_series) },
            Figure { caption: "Test accuracy per epoch".into(), svg: lines(&Axes { title: "Test accuracy", x: "epoch", y: "accuracy %", log_x: false, log_y: false }, &acc_series) },
        ],
        numbers: serde_json::json!({"p": ps, "epochs_to_threshold": to_thr, "threshold": THRESHOLD, "monotone": monotone, "delta_p05_p0": d}),
        elapsed_s: 0.0,
    })
}

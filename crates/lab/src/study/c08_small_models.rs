//! C8 — "Dropout can hurt small models or low-noise data."
//!
//! Hidden width w ∈ {16, 32, 64, 256, 1024} (two hidden layers) × p ∈ {0, 0.5}
//! on clean data. Δacc(w) = test acc(p=0.5) − test acc(p=0), paired by seed.
//!
//! Rule: "hurts" at w when the CI of Δacc lies below 0. Holds if dropout hurts
//! at the smallest width and the widths where it hurts are all smaller than
//! every width where it does not (a threshold exists); holds partly if it hurts
//! somewhere but not as a threshold; does not hold if it hurts nowhere.

use anyhow::Result;

use super::plot::{lines, Axes, Series};
use super::runs::{Lab, RunSpec};
use super::stats::{paired, Est};
use super::{per_seed, test_accs, Budget, ClaimResult, Figure, Table, Verdict};

/// Run C8.
pub fn run(lab: &Lab) -> Result<ClaimResult> {
    let widths: Vec<usize> = match lab.budget {
        Budget::Tiny => vec![4, 16],
        Budget::Quick => vec![16, 64, 256],
        _ => vec![16, 32, 64, 256, 1024],
    };
    let n = lab.base_size();
    let epochs = lab.epochs_for(n);
    lab.begin("C8", widths.len() * 2 * lab.seeds.len());
    let (mut rows, mut hurts, mut series, mut deltas) = (
        vec![],
        vec![],
        Series {
            name: "Δacc".into(),
            points: vec![],
        },
        vec![],
    );
    for &w in &widths {
        let arch = format!("784-{w}-{w}-10");
        let base = |s: u64| RunSpec::mlp(&arch, n, epochs, s);
        let a0 = test_accs(&per_seed(lab, &format!("w={w} p=0"), base)?);
        let a1 = test_accs(&per_seed(lab, &format!("w={w} p=0.5"), |s| {
            base(s).with_p(0.5)
        })?);
        let d = paired(&a1, &a0);
        hurts.push(d.below_zero());
        series.points.push((w as f64, 100.0 * d.mean, 100.0 * d.ci));
        rows.push(vec![
            w.to_string(),
            Est::of(&a0).fmt(100.0, 2),
            Est::of(&a1).fmt(100.0, 2),
            d.fmt(100.0, 2),
            if d.below_zero() {
                "yes".into()
            } else {
                "no".into()
            },
        ]);
        deltas.push(d);
    }
    lab.end();
    let first_ok = hurts.iter().position(|h| !h).unwrap_or(hurts.len());
    let threshold = hurts[first_ok..].iter().all(|h| !h);
    let verdict = if hurts[0] && threshold {
        Verdict::Holds
    } else if hurts.iter().any(|&h| h) {
        Verdict::HoldsPartly
    } else {
        Verdict::DoesNotHold
    };
    let below = if first_ok == 0 {
        "none".to_string()
    } else {
        format!("w ≤ {}", widths[first_ok - 1])
    };
    Ok(ClaimResult {
        id: "C8".into(),
        claim: "Dropout can hurt small models or low-noise data.".into(),
        method: format!("MLPs 784-w-w-10, w ∈ {widths:?}, on {n} clean MNIST images, {epochs} epochs, p = 0 vs 0.5, {} seeds, paired.", lab.seeds.len()),
        verdict,
        rule: "hurts at w: CI of Δacc (p=0.5 − p=0) below 0. holds: hurts at the smallest w and only below some width; holds partly: hurts somewhere; else does not hold.".into(),
        key_number: format!("dropout lowers test accuracy at {below}; Δacc at w={}: {} pts", widths[0], deltas[0].fmt(100.0, 2)),
        tables: vec![Table { title: "Test accuracy % by width (mean ± 95% CI)".into(), header: vec!["width".into(), "p=0".into(), "p=0.5".into(), "Δacc".into(), "hurts".into()], rows }],
        figures: vec![Figure { caption: "Δ test accuracy (p=0.5 − p=0) against hidden width".into(), svg: lines(&Axes { title: "Dropout gain by width", x: "hidden width", y: "Δ test acc (pts)", log_x: true, log_y: false }, &[series]) }],
        numbers: serde_json::json!({"widths": widths, "delta_acc": deltas, "hurts": hurts}),
        elapsed_s: 0.0,
    })
}

//! C11 — "Dropout works best in dense layers, not conv layers."
//!
//! A small CNN (two 3×3 conv blocks with 2×2 max pooling, a dense head):
//! no dropout; element-wise dropout after each conv block; spatial (channel)
//! dropout after each conv block; dropout in the dense head only.
//!
//! Rule: holds if "dense head only" is at least as accurate as both conv
//! variants (paired CIs of its advantage not below 0) and more accurate than
//! at least one of them or than no dropout (a CI above 0); holds partly if it
//! is at least as accurate as both without any significant win; does not hold
//! if a conv variant is significantly better.

use anyhow::Result;

use super::runs::{Lab, RunSpec};
use super::stats::{paired, Est};
use super::{per_seed, test_accs, Budget, ClaimResult, Table, Verdict};

/// Run C11.
pub fn run(lab: &Lab) -> Result<ClaimResult> {
    let (arch, n, epochs, conv_p) = match lab.budget {
        Budget::Tiny => ("c2-p-c2-p-8-10", 200, 1, 0.1),
        Budget::Quick => ("c4-p-c8-p-32-10", 1000, 3, 0.1),
        Budget::Default => ("c8-p-c16-p-64-10", 3000, 6, 0.1),
        Budget::Full => ("c16-p-c32-p-128-10", 10_000, 10, 0.1),
    };
    let arms: [(&str, f32, f32, bool); 4] = [
        ("no dropout", 0.0, 0.0, false),
        ("element-wise dropout in conv", 0.0, conv_p, false),
        ("spatial dropout in conv", 0.0, conv_p, true),
        ("dropout in dense head only", 0.5, 0.0, false),
    ];
    lab.begin("C11", arms.len() * lab.seeds.len());
    let mut accs = Vec::new();
    for &(name, p, cp, spatial) in &arms {
        let outs = per_seed(lab, name, |s| RunSpec {
            conv_dropout: cp,
            spatial,
            lr: 0.02,
            ..RunSpec::mlp(arch, n, epochs, s).with_p(p)
        })?;
        accs.push(test_accs(&outs));
    }
    lab.end();
    let (none, elem, spat, dense) = (0, 1, 2, 3);
    let vs: Vec<_> = [elem, spat, none]
        .iter()
        .map(|&o| paired(&accs[dense], &accs[o]))
        .collect();
    let not_worse = !vs[0].below_zero() && !vs[1].below_zero();
    let wins = vs.iter().any(|d| d.above_zero());
    let verdict = if not_worse && wins {
        Verdict::Holds
    } else if not_worse {
        Verdict::HoldsPartly
    } else {
        Verdict::DoesNotHold
    };
    let rows = arms
        .iter()
        .enumerate()
        .map(|(i, a)| {
            vec![
                a.0.to_string(),
                Est::of(&accs[i]).fmt(100.0, 2),
                if i == dense {
                    "—".into()
                } else {
                    paired(&accs[dense], &accs[i]).fmt(100.0, 2)
                },
            ]
        })
        .collect();
    Ok(ClaimResult {
        id: "C11".into(),
        claim: "Dropout works best in dense layers, not in conv layers.".into(),
        method: format!("CNN {arch} (3×3 convs, padding 1, 2×2 max pool), {n} MNIST images, {epochs} epochs, SGD lr 0.02; conv dropout p = {conv_p} (element-wise or whole channels), dense-head dropout p = 0.5; {} seeds.", lab.seeds.len()),
        verdict,
        rule: "Δ = acc(dense head only) − acc(other), paired. holds: Δ vs both conv variants not significantly < 0, and some Δ (vs a conv variant or no dropout) with CI above 0; holds partly: not significantly worse, no significant win; does not hold: a conv variant significantly better.".into(),
        key_number: format!("dense-only − element-wise conv = {} pts, − spatial conv = {} pts, − none = {} pts", vs[0].fmt(100.0, 2), vs[1].fmt(100.0, 2), vs[2].fmt(100.0, 2)),
        tables: vec![Table { title: "Test accuracy % (mean ± 95% CI)".into(), header: vec!["setting".into(), "test acc".into(), "dense-only advantage".into()], rows }],
        figures: vec![],
        numbers: serde_json::json!({"arch": arch, "arms": arms.iter().map(|a| a.0).collect::<Vec<_>>(), "test_acc": accs, "dense_minus": {"elementwise": vs[0], "spatial": vs[1], "none": vs[2]}}),
        elapsed_s: 0.0,
    })
}

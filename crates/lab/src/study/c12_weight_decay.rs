//! C12 — "Dropout is different from weight decay."
//!
//! Configurations: none, L2 λ ∈ {1e-4, 1e-3}, dropout 0.5, dropout + L2 1e-4,
//! dropout + max-norm 3 (Srivastava et al. 2014). Test accuracy and the
//! weights each leaves: ‖W‖_F of every dense layer and the largest incoming
//! weight-vector norm (what max-norm bounds).
//!
//! Rule: (a) the combination dropout + L2 beats both parts alone (paired CI of
//! the difference to the better part above 0); (b) dropout leaves weights
//! unlike L2's: first-layer ‖W‖_F of dropout vs the L2 setting with the
//! closest test accuracy differs (paired CI excludes 0). holds: (a) or (b)
//! with dropout's accuracy not below L2's; holds partly: (b) alone; else does not hold.

use anyhow::Result;

use super::runs::{Lab, RunSpec};
use super::stats::{paired, Est};
use super::{ClaimResult, Table, Verdict};

/// Run C12.
pub fn run(lab: &Lab) -> Result<ClaimResult> {
    let n = lab.base_size();
    let epochs = lab.epochs_for(n);
    let configs: [(&str, f32, f32, f32); 6] = [
        ("none", 0.0, 0.0, 0.0),
        ("L2 1e-4", 0.0, 1e-4, 0.0),
        ("L2 1e-3", 0.0, 1e-3, 0.0),
        ("dropout 0.5", 0.5, 0.0, 0.0),
        ("dropout + L2 1e-4", 0.5, 1e-4, 0.0),
        ("dropout + max-norm 3", 0.5, 0.0, 3.0),
    ];
    lab.begin("C12", configs.len() * lab.seeds.len());
    let mut accs: Vec<Vec<f64>> = Vec::new();
    let mut norms: Vec<Vec<Vec<f64>>> = Vec::new(); // config → seed → [‖W_l‖_F…, max row norm of W_1]
    for &(name, p, wd, mn) in &configs {
        let mut a = Vec::new();
        let mut nm = Vec::new();
        for &s in &lab.seeds {
            let spec = RunSpec {
                weight_decay: wd,
                max_norm: mn,
                ..RunSpec::mlp(lab.mlp(), n, epochs, s).with_p(p)
            };
            let (out, mut model, _) = lab.trained(&spec)?;
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
    lab.end();
    let layers = norms[0][0].len() - 1;
    let col = |c: usize, j: usize| -> Vec<f64> { norms[c].iter().map(|v| v[j]).collect() };
    let rows = configs
        .iter()
        .enumerate()
        .map(|(c, cfg)| {
            let mut r = vec![cfg.0.to_string(), Est::of(&accs[c]).fmt(100.0, 2)];
            r.extend((0..=layers).map(|j| Est::of(&col(c, j)).fmt(1.0, 2)));
            r
        })
        .collect();
    // (a) combination beats the better of its parts.
    let (drop, l2, both) = (3, 1, 4);
    let better_part = if Est::of(&accs[drop]).mean >= Est::of(&accs[l2]).mean {
        drop
    } else {
        l2
    };
    let comb = paired(&accs[both], &accs[better_part]);
    // (b) weights differ from the L2 setting closest in accuracy.
    let d_mean = Est::of(&accs[drop]).mean;
    let closest_l2 = [1, 2]
        .into_iter()
        .min_by(|&a, &b| {
            (Est::of(&accs[a]).mean - d_mean)
                .abs()
                .total_cmp(&(Est::of(&accs[b]).mean - d_mean).abs())
        })
        .unwrap_or(1);
    let wdiff = paired(&col(drop, 0), &col(closest_l2, 0));
    let differ = wdiff.above_zero() || wdiff.below_zero();
    let not_worse = !paired(&accs[drop], &accs[closest_l2]).below_zero();
    let verdict = if (comb.above_zero() || differ) && not_worse {
        Verdict::Holds
    } else if differ {
        Verdict::HoldsPartly
    } else {
        Verdict::DoesNotHold
    };
    let mut header = vec!["config".to_string(), "test acc %".to_string()];
    header.extend((1..=layers).map(|l| format!("‖W{l}‖_F")));
    header.push("max ‖w_in‖ (layer 1)".into());
    Ok(ClaimResult {
        id: "C12".into(),
        claim: "Dropout is different from (L2) weight decay.".into(),
        method: format!("MLP {} on {n} MNIST images, {epochs} epochs, SGD; six regularisation settings, {} seeds; norms of the trained weights.", lab.mlp(), lab.seeds.len()),
        verdict,
        rule: "(a) dropout+L2 − better of (dropout, L2 1e-4): paired CI above 0; (b) first-layer ‖W‖_F of dropout − of the L2 setting closest in accuracy: paired CI excludes 0. holds: ((a) or (b)) and dropout's accuracy not significantly below that L2 setting's; holds partly: (b) alone; else does not hold.".into(),
        key_number: format!("‖W1‖_F dropout − {}: {}; dropout+L2 − better part: {} pts", configs[closest_l2].0, wdiff.fmt(1.0, 2), comb.fmt(100.0, 2)),
        tables: vec![Table { title: "Test accuracy and weight norms (mean ± 95% CI)".into(), header, rows }],
        figures: vec![],
        numbers: serde_json::json!({"configs": configs.iter().map(|c| c.0).collect::<Vec<_>>(), "test_acc": accs, "norms": norms, "combination_minus_better_part": comb, "w1_norm_dropout_minus_l2": wdiff, "closest_l2": configs[closest_l2].0}),
        elapsed_s: 0.0,
    })
}

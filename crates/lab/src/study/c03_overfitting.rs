//! C3 — "Dropout reduces overfitting, especially on small or noisy data."
//!
//! Grid: train size × label noise × p ∈ {0, 0.5}, the budget's MLP, SGD,
//! epochs scaled so every size sees about the same number of samples. For
//! each cell, paired over seeds (same subset, init and order): Δacc = test
//! acc(p=0.5) − test acc(p=0) and Δgap = gap(p=0.5) − gap(p=0).
//!
//! Rule. Part (a) "reduces overfitting": holds in a cell when the 95 % CI of
//! Δgap lies below 0 and that of Δacc does not lie below 0. Part (b) "more so
//! for small/noisy": the benefit Δacc in the smallest, noisiest cell minus
//! that in the largest, clean cell has a CI above 0.
//! Verdict: holds if (a) holds in ≥ 2/3 of the cells and (b) holds; holds
//! partly if (a) holds in at least one cell or (b) holds; otherwise does not hold.

use anyhow::Result;

use super::plot::{lines, Axes, Series};
use super::runs::{Lab, RunSpec};
use super::stats::{paired, Est};
use super::{gaps, per_seed, test_accs, Budget, ClaimResult, Figure, Table, Verdict};

/// Run C3.
pub fn run(lab: &Lab) -> Result<ClaimResult> {
    let sizes: Vec<usize> = match lab.budget {
        Budget::Tiny => vec![200, 300],
        Budget::Quick => vec![500, 2000],
        Budget::Default => vec![1000, 5000, 20_000],
        Budget::Full => vec![1000, 5000, 20_000, 60_000],
    };
    let noises = [0.0, 0.2, 0.4];
    lab.begin("C3", sizes.len() * noises.len() * 2 * lab.seeds.len());
    let mut rows = Vec::new();
    let mut cells = Vec::new();
    let mut acc_series: Vec<Series> = noises
        .iter()
        .map(|n| Series {
            name: format!("noise {:.0}%", n * 100.0),
            points: vec![],
        })
        .collect();
    for &n in &sizes {
        for (ni, &noise) in noises.iter().enumerate() {
            let base = |s: u64| RunSpec {
                noise,
                ..RunSpec::mlp(lab.mlp(), n, lab.epochs_for(n), s)
            };
            let off = per_seed(lab, &format!("n={n} noise={noise} p=0"), base)?;
            let on = per_seed(lab, &format!("n={n} noise={noise} p=0.5"), |s| {
                base(s).with_p(0.5)
            })?;
            let (a0, a1) = (test_accs(&off), test_accs(&on));
            let (g0, g1) = (gaps(&off), gaps(&on));
            let dacc = paired(&a1, &a0);
            let dgap = paired(&g1, &g0);
            let reduces = dgap.below_zero() && !dacc.below_zero();
            acc_series[ni]
                .points
                .push((n as f64, 100.0 * dacc.mean, 100.0 * dacc.ci));
            rows.push(vec![
                n.to_string(),
                format!("{:.0}%", noise * 100.0),
                Est::of(&a0).fmt(100.0, 2),
                Est::of(&a1).fmt(100.0, 2),
                dacc.fmt(100.0, 2),
                Est::of(&g0).fmt(100.0, 2),
                Est::of(&g1).fmt(100.0, 2),
                dgap.fmt(100.0, 2),
                if reduces { "yes".into() } else { "no".into() },
            ]);
            cells.push(serde_json::json!({"train_size": n, "noise": noise, "acc_p0": a0, "acc_p05": a1, "gap_p0": g0, "gap_p05": g1,
                "delta_acc": dacc, "delta_gap": dgap, "reduces_overfitting": reduces}));
        }
    }
    lab.end();
    let held = cells
        .iter()
        .filter(|c| c["reduces_overfitting"] == true)
        .count();
    // (b): benefit at (smallest, noisiest) minus benefit at (largest, clean), paired by seed.
    let benefit = |cell: &serde_json::Value| -> Vec<f64> {
        let a1: Vec<f64> = serde_json::from_value(cell["acc_p05"].clone()).unwrap_or_default();
        let a0: Vec<f64> = serde_json::from_value(cell["acc_p0"].clone()).unwrap_or_default();
        a1.iter().zip(&a0).map(|(x, y)| x - y).collect()
    };
    let small_noisy = benefit(&cells[noises.len() - 1]);
    let large_clean = benefit(&cells[(sizes.len() - 1) * noises.len()]);
    let more = paired(&small_noisy, &large_clean);
    let part_a = held * 3 >= cells.len() * 2;
    let part_b = more.above_zero();
    let verdict = match (part_a, part_b) {
        (true, true) => Verdict::Holds,
        _ if held > 0 || part_b => Verdict::HoldsPartly,
        _ => Verdict::DoesNotHold,
    };
    Ok(ClaimResult {
        id: "C3".into(),
        claim: "Dropout reduces overfitting, especially on small or noisy data.".into(),
        method: format!(
            "MLP {} trained with SGD (momentum 0.9, lr 0.05, batch 128) on stratified MNIST subsets of {:?} images with {{0, 20, 40}}% symmetric label noise, hidden dropout p = 0 vs 0.5, {} seeds (paired: same subset, init and batch order). Gap = train accuracy (against the training labels as given, noisy ones included) − test accuracy (clean test set); with noise a net that does not memorise the flipped labels has a negative gap.",
            lab.mlp(), sizes, lab.seeds.len()
        ),
        verdict,
        rule: "(a) in a cell: CI of Δgap (p=0.5 − p=0) below 0 and CI of Δacc not below 0; (b) Δacc at the smallest, noisiest cell minus Δacc at the largest, clean cell has CI above 0. holds: (a) in ≥ 2/3 of cells and (b); holds partly: (a) in ≥ 1 cell or (b); else does not hold.".into(),
        key_number: format!("gap reduced in {held}/{} cells; benefit small+noisy − large+clean = {} pts", cells.len(), more.fmt(100.0, 2)),
        tables: vec![Table {
            title: "Test accuracy and generalisation gap (%, mean ± 95% CI over seeds)".into(),
            header: ["train size", "noise", "acc p=0", "acc p=0.5", "Δacc", "gap p=0", "gap p=0.5", "Δgap", "(a)"].iter().map(|s| s.to_string()).collect(),
            rows,
        }],
        figures: vec![Figure {
            caption: "Δ test accuracy (p=0.5 − p=0, points, mean ± 95% CI) against training-set size".into(),
            svg: lines(&Axes { title: "Dropout's test-accuracy gain", x: "training images", y: "Δ test acc (pts)", log_x: true, log_y: false }, &acc_series),
        }],
        numbers: serde_json::json!({"cells": cells, "cells_reducing_gap": held, "benefit_small_noisy_minus_large_clean": more, "part_a": part_a, "part_b": part_b}),
        elapsed_s: 0.0,
    })
}

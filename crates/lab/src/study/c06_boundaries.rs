//! C6 — "Dropout gives smoother decision boundaries."
//!
//! Two 2-D data sets of a few hundred noisy points — two moons and two
//! spirals — and an MLP 2-64-64-2 trained with p = 0 and p = 0.5 (Adam, lr
//! 0.01, batch 32; 300 epochs in the default budget). Smoothness: the length of the decision boundary (the
//! 50 % contour) inside [−2, 2]², estimated on a 120 × 120 grid as the number
//! of neighbouring grid cells with different predicted classes times the cell
//! size — a wigglier boundary is longer. The mean norm of the input gradient
//! of the logit margin g(x) = z₁(x) − z₀(x) is reported too, but it also grows
//! with the overall logit scale, so the verdict does not use it.
//!
//! Rule: holds if the paired CI of (boundary length at p = 0) − (at p = 0.5)
//! lies above 0 on both data sets; holds partly if on one; else does not hold.

use anyhow::Result;
use engine::layer::Ctx;
use engine::loss::softmax;
use engine::rng::Rng;

use super::plot::boundary;
use super::runs::Lab;
use super::stats::{paired, Est};
use super::{Budget, ClaimResult, Figure, Table, Verdict};
use crate::config::{DataConfig, ModelConfig, OptimConfig, RunConfig};
use crate::data::{Dataset, Splits};
use crate::train::{build_model, train, LoopOptions};

const G: usize = 120;
const LO: f64 = -2.0;
const HI: f64 = 2.0;

/// `n` points of a named 2-D problem, labels 0/1, roughly within [−1.6, 1.6]².
pub fn make(kind: &str, n: usize, seed: u64) -> Dataset {
    let mut r = Rng::new(seed);
    let mut x = Vec::with_capacity(2 * n);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = (i % 2) as u32;
        let (px, py) = if kind == "moons" {
            let t = r.uniform() * std::f64::consts::PI;
            let (a, b) = if c == 0 {
                (t.cos(), t.sin())
            } else {
                (1.0 - t.cos(), 0.5 - t.sin())
            };
            (a - 0.5 + 0.15 * r.normal(), b - 0.25 + 0.15 * r.normal())
        } else {
            let t = r.uniform().sqrt() * 3.0 * std::f64::consts::PI;
            let s = if c == 0 { 1.0 } else { -1.0 };
            (
                s * t * t.cos() / 6.0 + 0.06 * r.normal(),
                s * t * t.sin() / 6.0 + 0.06 * r.normal(),
            )
        };
        x.push(px as f32);
        x.push(py as f32);
        y.push(c);
    }
    Dataset {
        x,
        y,
        sample_shape: vec![2],
    }
}

fn config(p: f32, seed: u64, epochs: usize) -> RunConfig {
    RunConfig {
        data: DataConfig {
            path: None,
            label_column: "last".into(),
            test_fraction: 0.2,
            train_size: None,
            val_size: 0,
            label_noise: 0.0,
            standardize: "off".into(),
        },
        model: ModelConfig {
            arch: "2-64-64-2".into(),
            act: "relu".into(),
            dropout: p,
            input_dropout: 0.0,
            conv_dropout: 0.0,
            spatial: false,
            norm: "none".into(),
            dropout_where: "after-act".into(),
            dropout_last_only: false,
            init: "auto".into(),
        },
        optim: OptimConfig {
            optimizer: "adam".into(),
            lr: 0.01,
            momentum: 0.9,
            nesterov: false,
            weight_decay: 0.0,
            max_norm: 0.0,
            schedule: "constant".into(),
        },
        epochs,
        batch: 32,
        seed,
        threads: 0,
    }
}

/// Train on `data`; return (test acc, mean ‖∇g‖, boundary length, grid of P(class 1)).
fn fit(
    data: &Dataset,
    test: &Dataset,
    p: f32,
    seed: u64,
    epochs: usize,
) -> Result<(f64, f64, f64, Vec<f64>)> {
    let splits = Splits {
        train: data.clone(),
        val: Dataset::default(),
        test: test.clone(),
        classes: 2,
        source: "2-D".into(),
    };
    let cfg = config(p, seed, epochs);
    let (mut model, mut opt, schedule) = build_model(&cfg, &splits)?;
    let s = train(
        &cfg,
        &splits,
        &mut model,
        &mut opt,
        schedule,
        LoopOptions {
            run_dir: None,
            progress: false,
            eval_every: 0,
            on_epoch: &mut |_| {},
        },
    )?;
    let step = (HI - LO) / (G - 1) as f64;
    let mut grid = Vec::with_capacity(2 * G * G);
    for j in 0..G {
        for i in 0..G {
            grid.push((LO + i as f64 * step) as f32);
            grid.push((LO + j as f64 * step) as f32);
        }
    }
    model.input_mut(G * G).copy_from_slice(&grid);
    let z = model.forward(&Ctx::eval()).clone();
    let g: Vec<f64> = (0..G * G)
        .map(|k| f64::from(z.data[2 * k + 1] - z.data[2 * k]))
        .collect();
    let mut norms = Vec::new();
    for j in 1..G - 1 {
        for i in 1..G - 1 {
            let gx = (g[j * G + i + 1] - g[j * G + i - 1]) / (2.0 * step);
            let gy = (g[(j + 1) * G + i] - g[(j - 1) * G + i]) / (2.0 * step);
            norms.push((gx * gx + gy * gy).sqrt());
        }
    }
    let mut probs = Vec::new();
    softmax(&z, &mut probs);
    let p1: Vec<f64> = (0..G * G).map(|k| probs[2 * k + 1]).collect();
    // Boundary length: class changes between horizontal and vertical neighbours.
    let class = |k: usize| g[k] > 0.0;
    let mut changes = 0usize;
    for j in 0..G {
        for i in 0..G {
            if i + 1 < G && class(j * G + i) != class(j * G + i + 1) {
                changes += 1;
            }
            if j + 1 < G && class(j * G + i) != class((j + 1) * G + i) {
                changes += 1;
            }
        }
    }
    // Each change crosses one cell edge; on average a contour crosses
    // 4/π edges per unit length in cell units, so length ≈ changes · step · π/4.
    let length = changes as f64 * step * std::f64::consts::FRAC_PI_4;
    Ok((
        s.last.test.acc,
        norms.iter().sum::<f64>() / norms.len() as f64,
        length,
        p1,
    ))
}

/// Run C6.
pub fn run(lab: &Lab) -> Result<ClaimResult> {
    let n = 300;
    let epochs = match lab.budget {
        Budget::Tiny => 10,
        Budget::Quick => 150,
        Budget::Default => 300,
        Budget::Full => 500,
    };
    lab.begin("C6", 2 * 2 * lab.seeds.len());
    let mut rows = Vec::new();
    let mut figures = Vec::new();
    let mut numbers = Vec::new();
    let mut holds = 0;
    for kind in ["moons", "spirals"] {
        let mut grad = [Vec::new(), Vec::new()];
        let mut len = [Vec::new(), Vec::new()];
        let mut acc = [Vec::new(), Vec::new()];
        for &seed in &lab.seeds {
            let data = make(kind, n, 100 + seed);
            let test = make(kind, 1000, 10_000 + seed);
            for (arm, p) in [0.0f32, 0.5].into_iter().enumerate() {
                let (a, g, l, cells) = fit(&data, &test, p, seed, epochs)?;
                grad[arm].push(g);
                len[arm].push(l);
                acc[arm].push(a);
                if seed == lab.seeds[0] {
                    let pts: Vec<(f64, f64, u32)> = data
                        .y
                        .iter()
                        .enumerate()
                        .map(|(i, &l)| (f64::from(data.x[2 * i]), f64::from(data.x[2 * i + 1]), l))
                        .collect();
                    figures.push(Figure { caption: format!("{kind}, p = {p}: P(class 1) over the plane (seed {seed}); boundary length {l:.2}, mean ‖∇g‖ = {g:.2}"), svg: boundary(&format!("{kind}, p = {p}"), LO, HI, &cells, G, &pts) });
                }
                lab.tick(&format!("{kind} p={p}"));
            }
        }
        let d = paired(&len[0], &len[1]);
        if d.above_zero() {
            holds += 1;
        }
        rows.push(vec![
            kind.to_string(),
            Est::of(&len[0]).fmt(1.0, 2),
            Est::of(&len[1]).fmt(1.0, 2),
            d.fmt(1.0, 2),
            Est::of(&grad[0]).fmt(1.0, 1),
            Est::of(&grad[1]).fmt(1.0, 1),
            Est::of(&acc[0]).fmt(100.0, 1),
            Est::of(&acc[1]).fmt(100.0, 1),
        ]);
        numbers.push(serde_json::json!({"data": kind, "boundary_length_p0": len[0], "boundary_length_p05": len[1], "length_difference": d, "grad_norm_p0": grad[0], "grad_norm_p05": grad[1], "test_acc_p0": acc[0], "test_acc_p05": acc[1]}));
    }
    lab.end();
    let verdict = match holds {
        2 => Verdict::Holds,
        1 => Verdict::HoldsPartly,
        _ => Verdict::DoesNotHold,
    };
    Ok(ClaimResult {
        id: "C6".into(),
        claim: "Dropout gives smoother decision boundaries.".into(),
        method: format!("Two moons and two spirals, {n} noisy training points, 1,000 test points; MLP 2-64-64-2, ReLU, Adam lr 0.01, {epochs} epochs, batch 32, p = 0 vs 0.5, {} seeds. Smoothness: length of the decision boundary in [−2, 2]² (120×120 grid); the mean margin-gradient norm ‖∇ₓ(z₁ − z₀)‖ is shown but scales with the logits.", lab.seeds.len()),
        verdict,
        rule: "per data set: paired CI of boundary length (p=0) − (p=0.5) above 0. holds: both data sets; holds partly: one; else does not hold.".into(),
        key_number: rows.iter().map(|r| format!("{}: boundary length {} → {}", r[0], r[1], r[2])).collect::<Vec<_>>().join("; "),
        tables: vec![Table { title: "Boundary length, margin gradient and accuracy (mean ± 95% CI)".into(), header: vec!["data".into(), "length p=0".into(), "length p=0.5".into(), "difference".into(), "‖∇g‖ p=0".into(), "‖∇g‖ p=0.5".into(), "test acc % p=0".into(), "test acc % p=0.5".into()], rows }],
        figures,
        numbers: serde_json::json!(numbers),
        elapsed_s: 0.0,
    })
}

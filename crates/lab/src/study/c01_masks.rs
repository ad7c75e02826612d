//! C1 — "A fraction p of units is zeroed at each step, temporarily; all units
//! are back at test time."
//!
//! The masks a p = 0.5 network used in its first training steps are
//! regenerated from their keys (seed, site, step) — the exact masks of
//! training, since a mask is a pure function of its key — for both hidden
//! layers: dropped fraction per step, and the overlap of consecutive steps'
//! masks (fraction of units in the same state), whose value for independent
//! masks is p² + (1−p)². At test time the trained net's eval output is
//! compared bit for bit with the same weights in a net built without dropout.
//!
//! Rule: holds if the overall dropped fraction and the mean overlap lie inside
//! their 99.9 % binomial intervals around p and p² + (1−p)², and the eval
//! outputs are identical; holds partly if two of the three; else does not hold.

use anyhow::Result;
use dropout::{Dropout, MaskKey, Mode};
use engine::layer::Ctx;

use super::plot::{lines, Axes, Series};
use super::runs::{Lab, RunSpec};
use super::stats::Est;
use super::{ClaimResult, Figure, Table, Verdict};

const Z999: f64 = 3.2905;

/// Run C1.
pub fn run(lab: &Lab) -> Result<ClaimResult> {
    let p = 0.5f32;
    let n = lab.base_size();
    let spec = RunSpec::mlp(lab.mlp(), n, lab.epochs_for(n), lab.seeds[0]).with_p(p);
    lab.begin("C1", 2);
    let (_, mut model, splits) = lab.trained(&spec)?;
    lab.tick("masks");
    let width: usize = lab
        .mlp()
        .split('-')
        .nth(1)
        .and_then(|w| w.parse().ok())
        .unwrap_or(256);
    let (batch, steps) = (128usize, 200u32);
    let d = Dropout::new(p)?;
    let mut rows = Vec::new();
    let mut series = Vec::new();
    let mut numbers = Vec::new();
    let (mut all_ok_frac, mut all_ok_overlap) = (true, true);
    for stream in 0..2u32 {
        let masks: Vec<Vec<bool>> = (0..steps)
            .map(|t| {
                d.mask(
                    MaskKey::new(spec.seed, stream, t),
                    Mode::Train,
                    batch * width,
                )
                .unpack()
            })
            .collect();
        let frac: Vec<f64> = masks
            .iter()
            .map(|m| m.iter().filter(|k| !**k).count() as f64 / m.len() as f64)
            .collect();
        let overlap: Vec<f64> = masks
            .windows(2)
            .map(|w| {
                w[0].iter().zip(&w[1]).filter(|(a, b)| a == b).count() as f64 / w[0].len() as f64
            })
            .collect();
        let total = (batch * width) as f64 * f64::from(steps);
        let pf = f64::from(p);
        let f = Est::of(&frac);
        let frac_bound = Z999 * (pf * (1.0 - pf) / total).sqrt();
        let q = pf * pf + (1.0 - pf) * (1.0 - pf);
        let o = Est::of(&overlap);
        let overlap_bound = Z999 * (q * (1.0 - q) / (total - (batch * width) as f64)).sqrt();
        let sd = (frac.iter().map(|x| (x - f.mean).powi(2)).sum::<f64>() / (frac.len() - 1) as f64)
            .sqrt();
        let ok_f = (f.mean - pf).abs() <= frac_bound;
        let ok_o = (o.mean - q).abs() <= overlap_bound;
        all_ok_frac &= ok_f;
        all_ok_overlap &= ok_o;
        rows.push(vec![
            format!("hidden {}", stream + 1),
            format!("{:.4} (sd {:.4})", f.mean, sd),
            format!("{pf:.4} ± {frac_bound:.4}"),
            format!("{:.4}", o.mean),
            format!("{q:.4} ± {overlap_bound:.4}"),
        ]);
        series.push(Series {
            name: format!("hidden layer {}", stream + 1),
            points: frac
                .iter()
                .enumerate()
                .map(|(t, &v)| (t as f64, v, 0.0))
                .collect(),
        });
        numbers.push(serde_json::json!({"layer": stream + 1, "dropped_fraction_mean": f.mean, "dropped_fraction_sd": sd, "bound": frac_bound, "overlap_mean": o.mean, "overlap_independent": q, "overlap_bound": overlap_bound}));
    }
    series.push(Series {
        name: "p".into(),
        points: vec![
            (0.0, f64::from(p), 0.0),
            (f64::from(steps - 1), f64::from(p), 0.0),
        ],
    });
    // Eval: identical to the same weights without dropout.
    let mut plain = engine::spec::build(
        &spec
            .with_p(0.0)
            .config()
            .model_spec(784, 10)
            .map_err(anyhow::Error::msg)?,
        &[784],
        0,
    )?;
    let mut weights = Vec::new();
    model.visit_params(&mut |_, prm| weights.push(prm.value.to_vec()));
    let mut k = 0;
    plain.visit_params(&mut |_, prm| {
        prm.value.copy_from_slice(&weights[k]);
        k += 1;
    });
    let m = 1000.min(splits.test.len());
    let xs = &splits.test.x[..m * 784];
    model.input_mut(m).copy_from_slice(xs);
    let a = model.forward(&Ctx::eval()).data.clone();
    plain.input_mut(m).copy_from_slice(xs);
    let b = plain.forward(&Ctx::eval()).data.clone();
    let identical = a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits());
    lab.tick("eval check");
    lab.end();
    let ok = [all_ok_frac, all_ok_overlap, identical]
        .iter()
        .filter(|&&b| b)
        .count();
    let verdict = match ok {
        3 => Verdict::Holds,
        2 => Verdict::HoldsPartly,
        _ => Verdict::DoesNotHold,
    };
    Ok(ClaimResult {
        id: "C1".into(),
        claim: "A fraction p of units is zeroed at each training step, temporarily (a new mask each step); all units are back at test time.".into(),
        method: format!("The masks of the first {steps} training steps (batch {batch} × {width} units, both hidden layers) of an MLP {} trained with p = {p}, regenerated from their (seed, site, step) keys; eval logits on {m} test images compared bit for bit with the same weights in a net built without dropout.", lab.mlp()),
        verdict,
        rule: "holds: mean dropped fraction within its 99.9% binomial interval around p, mean overlap of consecutive masks within its interval around p² + (1−p)², and eval output identical to the dropout-free net; holds partly: two of three; else does not hold.".into(),
        key_number: format!("dropped {:.4} (p = {p}), overlap {:.4} (independent: 0.5), eval identical: {identical}", numbers[0]["dropped_fraction_mean"].as_f64().unwrap_or(f64::NAN), numbers[0]["overlap_mean"].as_f64().unwrap_or(f64::NAN)),
        tables: vec![Table { title: "Masks over training steps".into(), header: vec!["layer".into(), "dropped fraction per step".into(), "expected (99.9%)".into(), "overlap of consecutive masks".into(), "independent (99.9%)".into()], rows }],
        figures: vec![Figure { caption: format!("Fraction of units dropped at each of the first {steps} steps"), svg: lines(&Axes { title: "Dropped fraction per step", x: "training step", y: "fraction dropped", log_x: false, log_y: false }, &series) }],
        numbers: serde_json::json!({"layers": numbers, "eval_identical_to_plain_net": identical, "eval_samples": m}),
        elapsed_s: 0.0,
    })
}

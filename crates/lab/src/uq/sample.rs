//! Drawing the members: the deterministic (weight-scaled) net, and T MC-dropout
//! passes batched into one forward pass.
//!
//! MC: a chunk of m inputs is repeated T times into one batch of T·m rows,
//! row r = t·m + i holding input i for sample t, so each layer runs one GEMM
//! over T·m rows instead of T GEMMs over m rows:
//! ```text
//! independent masks  every row its own mask: key (seed, site, step = chunk index), element index r·width + j
//! consistent masks   block t (rows t·m … t·m + m − 1) shares one mask, the same in every chunk:
//!                    key (seed, site, 0), mask index t·width + j  — one mask per MC sample for all inputs
//! input site         sampled (`McSites::All`) or the identity (`McSites::Hidden`)
//! ```
//! m = max(1, ⌊R / T⌋) with R the evaluation batch the model's buffers allow
//! (`per_pass`: one sample per pass, for DropConnect's one weight mask per call);
//! a T above R is drawn R samples per pass (block b: consistent key step b,
//! independent key step chunk · blocks + b). Passes = ⌈n / m⌉ · ⌈T / samples per pass⌉;
//! [`mc_observed`] reports each finished one (for a progress line).

use engine::layer::Ctx;
use engine::loss::softmax;
use engine::Sequential;

use super::{Accum, Predictions};
use crate::data::Dataset;
use crate::train::eval_batch;

/// Which dropout sites MC sampling draws masks at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum McSites {
    /// Every site, input dropout included.
    #[default]
    All,
    /// Hidden sites only; the input is left whole.
    Hidden,
}

/// How MC dropout samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Sampling {
    /// Samples T (≥ 1).
    pub t: usize,
    /// Key of every mask.
    pub seed: u64,
    /// One mask per sample shared by all inputs (BatchBALD's consistent MC dropout).
    pub consistent: bool,
    /// The sites sampled.
    pub sites: McSites,
    /// One MC sample per forward pass: needed when a site draws one mask per
    /// call for all its rows (DropConnect's weight mask), so that batching the
    /// T samples into one call would make them share it.
    pub per_pass: bool,
}

/// The deterministic net: its predictions and logits (n × k).
pub fn deterministic(model: &mut Sequential, data: &Dataset) -> (Predictions, Vec<f32>) {
    let logits = logits(model, data);
    let k = model.classes();
    (Predictions::single(softmax_rows(&logits, k), k), logits)
}

/// Logits of the deterministic net, n × k.
pub fn logits(model: &mut Sequential, data: &Dataset) -> Vec<f32> {
    let (n, d, k) = (data.len(), data.dim(), model.classes());
    let batch = eval_batch(model, 1);
    let mut out = Vec::with_capacity(n * k);
    for start in (0..n).step_by(batch.max(1)) {
        let m = batch.min(n - start);
        model
            .input_mut(m)
            .copy_from_slice(&data.x[start * d..(start + m) * d]);
        out.extend_from_slice(&model.forward(&Ctx::eval()).data);
    }
    out
}

/// The deterministic net's predictions with its logits divided by `t`
/// (temperature scaling, [`super::temperature`]).
pub fn scaled(model: &mut Sequential, data: &Dataset, t: f64) -> Predictions {
    let k = model.classes();
    let z = super::temperature::scale(&logits(model, data), t);
    Predictions::single(softmax_rows(&z, k), k)
}

/// Row-wise softmax of n × k logits.
pub fn softmax_rows(logits: &[f32], k: usize) -> Vec<f64> {
    let mut p = Vec::new();
    let z = engine::Tensor::from_vec(logits.to_vec(), &[logits.len() / k.max(1), k]);
    softmax(&z, &mut p);
    p
}

/// Samples per forward pass (T itself unless T alone overflows the
/// buffers), inputs per chunk, and passes per chunk.
fn geometry(model: &Sequential, s: &Sampling) -> (usize, usize, usize) {
    let (r, t) = (eval_batch(model, 1).max(1), s.t.max(1));
    let tb = if s.per_pass { 1 } else { t.min(r) };
    (tb, (r / tb).max(1), t.div_ceil(tb))
}

/// Forward passes [`mc`] makes for `n` inputs.
pub fn mc_passes(model: &Sequential, n: usize, s: &Sampling) -> usize {
    let (_, m_max, blocks) = geometry(model, s);
    n.div_ceil(m_max) * blocks
}

/// T MC-dropout samples of every input of `data`, batched (see the module docs).
pub fn mc(model: &mut Sequential, data: &Dataset, s: &Sampling) -> Predictions {
    mc_observed(model, data, s, &mut || {})
}

/// [`mc`], calling `on_pass` after each of its [`mc_passes`] forward passes.
pub fn mc_observed(
    model: &mut Sequential,
    data: &Dataset,
    s: &Sampling,
    on_pass: &mut dyn FnMut(),
) -> Predictions {
    let (n, d, k, t) = (data.len(), data.dim(), model.classes(), s.t.max(1));
    let (tb, m_max, blocks) = geometry(model, s);
    let mut acc = Accum::new(n, k);
    let mut p = Vec::new();
    for (chunk, start) in (0..n).step_by(m_max).enumerate() {
        let m = m_max.min(n - start);
        for b in 0..blocks {
            let ts = tb.min(t - b * tb);
            let rows = model.input_mut(ts * m);
            for block in rows.chunks_mut(m * d) {
                block.copy_from_slice(&data.x[start * d..(start + m) * d]);
            }
            let ctx = if s.consistent {
                Ctx::mc_sample(s.seed, b as u32).with_mc_group(m as u32)
            } else {
                Ctx::mc_sample(s.seed, (chunk * blocks + b) as u32)
            }
            .with_mc_input(s.sites == McSites::All);
            softmax(model.forward(&ctx), &mut p);
            for (row_i, row) in p.chunks(k).enumerate() {
                acc.add(start + row_i % m, row);
            }
            on_pass();
        }
    }
    acc.finish()
}

/// Deterministic predictions of several nets, averaged (a deep ensemble).
pub fn ensemble(members: &[Predictions]) -> Predictions {
    let (n, k) = members.first().map_or((0, 0), |p| (p.len(), p.k));
    let mut acc = Accum::new(n, k);
    for p in members {
        acc.add_rows(0, &p.probs);
    }
    acc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::spec::{build, ModelSpec};

    fn net() -> (Sequential, Dataset) {
        let mut s = ModelSpec::new("8-32-32-3");
        s.dropout = 0.5;
        s.input_dropout = 0.2;
        let model = build(&s, &[8], 4).unwrap();
        let mut rng = engine::rng::Rng::new(1);
        let data = Dataset {
            x: (0..40 * 8).map(|_| rng.normal() as f32).collect(),
            y: vec![0; 40],
            sample_shape: vec![8],
        };
        (model, data)
    }

    /// The obvious reference: T separate passes per input, one row at a time.
    fn reference(model: &mut Sequential, data: &Dataset, t: usize) -> Predictions {
        let mut acc = Accum::new(data.len(), 3);
        let mut p = Vec::new();
        for i in 0..data.len() {
            for s in 0..t {
                model
                    .input_mut(1)
                    .copy_from_slice(&data.x[i * 8..(i + 1) * 8]);
                softmax(
                    model.forward(&Ctx::mc_sample(99 + i as u64, s as u32)),
                    &mut p,
                );
                acc.add(i, &p);
            }
        }
        acc.finish()
    }

    #[test]
    fn batched_mc_agrees_with_the_one_pass_at_a_time_reference() {
        let (mut model, data) = net();
        let t = 4000;
        let r = reference(&mut model, &data, t);
        for consistent in [false, true] {
            let s = Sampling {
                t,
                seed: 5,
                consistent,
                sites: McSites::All,
                per_pass: false,
            };
            let b = mc(&mut model, &data, &s);
            assert_eq!(b.members, t);
            // Means of 4,000 draws of values in [0, 1]: SE ≤ 0.5 / √4000 ≈ 0.008 each; 0.04 is 5 SE.
            for (x, y) in b.probs.iter().zip(&r.probs) {
                assert!(
                    (x - y).abs() < 0.04,
                    "{x} vs {y} (consistent: {consistent})"
                );
            }
            for i in 0..data.len() {
                assert!((b.mutual_information(i) - r.mutual_information(i)).abs() < 0.03);
            }
        }
        // The deterministic net differs from the MC average (dropout at 0.5 is not linear).
        let (det, _) = deterministic(&mut model, &data);
        assert!(det
            .probs
            .iter()
            .zip(&r.probs)
            .any(|(x, y)| (x - y).abs() > 0.01));
    }

    #[test]
    fn more_samples_than_one_pass_holds_are_drawn_in_blocks() {
        let (mut model, data) = net();
        // An evaluation batch of 100 rows (512 MiB / (4 B · floats per sample)): T = 300 takes 3 blocks.
        model.set_buffer_floats((512 << 20) / (4 * 100));
        assert_eq!(eval_batch(&model, 1), 100);
        let s = Sampling {
            t: 300,
            seed: 5,
            consistent: false,
            sites: McSites::Hidden,
            per_pass: false,
        };
        let mut passes = 0;
        let p = mc_observed(&mut model, &data, &s, &mut || passes += 1);
        assert_eq!((p.members, p.len()), (300, 40));
        assert_eq!((passes, mc_passes(&model, 40, &s)), (3 * 40, 3 * 40));
        assert!(p.mode_votes.iter().all(|&v| v <= 300));
    }

    #[test]
    fn dropconnect_needs_one_sample_per_pass() {
        let mut spec = ModelSpec::new("8-32-3");
        spec.dropconnect = 0.5;
        let mut model = build(&spec, &[8], 4).unwrap();
        let (_, data) = net();
        let mi = |model: &mut Sequential, per_pass: bool| {
            let s = Sampling {
                t: 20,
                seed: 5,
                consistent: false,
                sites: McSites::All,
                per_pass,
            };
            let p = mc(model, &data, &s);
            (0..p.len()).map(|i| p.mutual_information(i)).sum::<f64>()
        };
        // Batched, the 20 samples of a call share its one weight mask: no disagreement.
        assert!(mi(&mut model, false) < 1e-9);
        assert!(mi(&mut model, true) > 1e-3);
    }
}

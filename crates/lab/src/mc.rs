//! Evaluation with uncertainty: the deterministic (weight-scaled) network
//! against Monte-Carlo dropout (Gal & Ghahramani 2016): T forward passes with
//! fresh dropout masks (every other layer in eval mode), averaged.
//!
//! For a sample with MC predictive distributions p_1 … p_T over K classes:
//! ```text
//! p̄ = (1/T) Σ_t p_t
//! predictive entropy   H[p̄] = −Σ_k p̄_k ln p̄_k
//! mutual information   I = H[p̄] − (1/T) Σ_t H[p_t]       (the model's own uncertainty)
//! ECE = Σ_bins (n_b / n) · |acc_b − conf_b|,  conf = max_k p_k, 15 equal-width bins
//! ```

use crate::error::Result;
use engine::layer::Ctx;
use engine::loss::softmax;
use engine::Sequential;
use serde::Serialize;

use crate::data::Dataset;

/// Metrics of one predictive distribution over a data set.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq)]
pub struct Calibration {
    /// Accuracy of the arg-max.
    pub acc: f64,
    /// Mean negative log-likelihood of the true label.
    pub nll: f64,
    /// Expected calibration error (15 bins).
    pub ece: f64,
    /// Mean predictive entropy (nats).
    pub entropy: f64,
}

/// Deterministic vs MC-dropout evaluation.
#[derive(Clone, Debug, Serialize)]
pub struct McReport {
    /// MC samples T.
    pub samples: usize,
    /// The deterministic network.
    pub deterministic: Calibration,
    /// The MC average.
    pub mc: Calibration,
    /// Mean mutual information (nats).
    pub mutual_information: f64,
    /// Mean KL(p̄_MC ‖ p_det).
    pub kl_mc_to_det: f64,
}

fn entropy(p: &[f64]) -> f64 {
    -p.iter()
        .filter(|&&v| v > 0.0)
        .map(|&v| v * v.ln())
        .sum::<f64>()
}

/// Calibration of predictions `probs` (n × k) for labels `y`.
pub fn calibration(probs: &[f64], y: &[u32], k: usize) -> Calibration {
    const BINS: usize = 15;
    let n = y.len();
    let (mut acc, mut nll, mut ent) = (0.0, 0.0, 0.0);
    let mut bins = [(0usize, 0.0f64, 0.0f64); BINS];
    for i in 0..n {
        let p = &probs[i * k..(i + 1) * k];
        let (arg, conf) = p
            .iter()
            .enumerate()
            .fold((0, -1.0), |b, (j, &v)| if v > b.1 { (j, v) } else { b });
        let hit = f64::from(u8::from(arg == y[i] as usize));
        acc += hit;
        nll -= p[y[i] as usize].max(1e-300).ln();
        ent += entropy(p);
        let b = ((conf * BINS as f64) as usize).min(BINS - 1);
        bins[b].0 += 1;
        bins[b].1 += hit;
        bins[b].2 += conf;
    }
    let nf = n.max(1) as f64;
    let ece = bins
        .iter()
        .filter(|b| b.0 > 0)
        .map(|b| (b.1 - b.2).abs() / nf)
        .sum();
    Calibration {
        acc: acc / nf,
        nll: nll / nf,
        ece,
        entropy: ent / nf,
    }
}

/// Mean over rows of KL(q ‖ p) for rows of `k` probabilities (terms with
/// q = 0 are 0; p is floored at 1e-300).
pub fn mean_kl(q: &[f64], p: &[f64], k: usize) -> f64 {
    let n = q.len() / k.max(1);
    q.chunks(k)
        .zip(p.chunks(k))
        .map(|(q, p)| {
            q.iter()
                .zip(p)
                .filter(|(a, _)| **a > 0.0)
                .map(|(a, b)| a * (a / b.max(1e-300)).ln())
                .sum::<f64>()
                / n as f64
        })
        .sum()
}

/// Evaluate `data` deterministically and with `t` MC-dropout samples.
pub fn mc_evaluate(
    model: &mut Sequential,
    data: &Dataset,
    t: usize,
    seed: u64,
) -> Result<McReport> {
    let (n, d, k) = (data.len(), data.dim(), model.classes());
    let mut det = vec![0.0f64; n * k];
    let mut mean = vec![0.0f64; n * k];
    let mut mean_h = vec![0.0f64; n];
    let mut p = Vec::new();
    let batch = crate::train::eval_batch(model, 1);
    for start in (0..n).step_by(batch) {
        let m = batch.min(n - start);
        model
            .input_mut(m)
            .copy_from_slice(&data.x[start * d..(start + m) * d]);
        softmax(model.forward(&Ctx::eval()), &mut p);
        det[start * k..(start + m) * k].copy_from_slice(&p);
        for s in 0..t {
            softmax(model.forward(&Ctx::mc_sample(seed, s as u32)), &mut p);
            for i in 0..m {
                let row = &p[i * k..(i + 1) * k];
                mean_h[start + i] += entropy(row) / t as f64;
                for j in 0..k {
                    mean[(start + i) * k + j] += row[j] / t as f64;
                }
            }
        }
    }
    let mut mi = 0.0;
    for i in 0..n {
        mi += (entropy(&mean[i * k..(i + 1) * k]) - mean_h[i]) / n as f64;
    }
    let kl = mean_kl(&mean, &det, k);
    Ok(McReport {
        samples: t,
        deterministic: calibration(&det, &data.y, k),
        mc: calibration(&mean, &data.y, k),
        mutual_information: mi,
        kl_mc_to_det: kl,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_of_known_predictions() {
        // Two confident right, one confident wrong.
        let probs = [0.9, 0.1, 0.2, 0.8, 0.9, 0.1];
        let c = calibration(&probs, &[0, 1, 1], 2);
        assert!((c.acc - 2.0 / 3.0).abs() < 1e-12);
        // conf 0.9 bin: 2 samples, 1 hit → |1 − 1.8|/3; conf 0.8 bin: 1 hit → |1 − 0.8|/3.
        assert!((c.ece - (0.8 + 0.2) / 3.0).abs() < 1e-12, "{}", c.ece);
        assert!((c.nll - (-(0.9f64.ln()) - 0.8f64.ln() - 0.1f64.ln()) / 3.0).abs() < 1e-12);
    }
}

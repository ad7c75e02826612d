//! Calibration and proper scores of [`Predictions`] against labels, under
//! torch-uncertainty's metric names.
//!
//! ```text
//! Acc      (1/n) Σ_i [argmax p̄_i = y_i]
//! NLL      −(1/n) Σ_i ln p̄_i[y_i]                 (of the mixture p̄, i.e. log-mean-exp over members)
//! Brier    (1/n) Σ_i Σ_k (p̄_ik − [k = y_i])²
//! ECE      Σ_b (n_b/n) |acc_b − conf_b|,  conf = max_k p̄_k, 15 equal-width bins of conf
//! aECE     the same over 15 equal-mass bins (samples sorted by conf, cut into 15 near-equal groups)
//! Entropy, MI, VR   the means of the per-sample values (see [`super`])
//! ```

use serde::Serialize;

use super::selective::{aurc, risk_at_coverage};
use super::Predictions;

/// Bins of the calibration errors.
pub const BINS: usize = 15;

/// Every score of one predictive distribution on a labelled set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Metrics {
    /// Accuracy.
    #[serde(rename = "Acc")]
    pub acc: f64,
    /// Negative log-likelihood (nats per sample).
    #[serde(rename = "NLL")]
    pub nll: f64,
    /// Brier score.
    #[serde(rename = "Brier")]
    pub brier: f64,
    /// Expected calibration error, equal-width bins.
    #[serde(rename = "ECE")]
    pub ece: f64,
    /// Adaptive (equal-mass) calibration error.
    #[serde(rename = "aECE")]
    pub aece: f64,
    /// Mean predictive entropy.
    #[serde(rename = "Entropy")]
    pub entropy: f64,
    /// Mean mutual information.
    #[serde(rename = "MI")]
    pub mi: f64,
    /// Mean variation ratio.
    #[serde(rename = "VR")]
    pub vr: f64,
    /// Area under the risk–coverage curve.
    #[serde(rename = "AURC")]
    pub aurc: f64,
    /// AURC minus the oracle's (what torch-uncertainty's recent `AURC` returns).
    #[serde(rename = "E-AURC")]
    pub eaurc: f64,
    /// Error rate on the 80 % most confident samples.
    #[serde(rename = "Risk@80Cov")]
    pub risk80: f64,
}

/// One bin of a reliability diagram.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Bin {
    /// Samples in the bin.
    pub count: usize,
    /// Their accuracy.
    pub acc: f64,
    /// Their mean confidence.
    pub conf: f64,
}

/// Confidence and correctness of every sample.
pub fn confidences(p: &Predictions, y: &[u32]) -> Vec<(f64, bool)> {
    (0..p.len())
        .map(|i| {
            let (arg, conf) = p.top(i);
            (conf, arg == y[i] as usize)
        })
        .collect()
}

/// The 15 equal-width bins of confidence.
pub fn reliability(p: &Predictions, y: &[u32]) -> Vec<Bin> {
    let mut bins = vec![Bin::default(); BINS];
    for (conf, hit) in confidences(p, y) {
        let b = &mut bins[((conf * BINS as f64) as usize).min(BINS - 1)];
        b.count += 1;
        b.acc += f64::from(u8::from(hit));
        b.conf += conf;
    }
    for b in &mut bins {
        if b.count > 0 {
            b.acc /= b.count as f64;
            b.conf /= b.count as f64;
        }
    }
    bins
}

/// Σ_b (n_b/n) |acc_b − conf_b| over `bins`.
fn calibration_error(bins: &[Bin], n: usize) -> f64 {
    bins.iter()
        .map(|b| b.count as f64 / n.max(1) as f64 * (b.acc - b.conf).abs())
        .sum()
}

/// The equal-mass bins: samples sorted by confidence, cut into 15 groups.
fn adaptive_bins(mut cs: Vec<(f64, bool)>) -> Vec<Bin> {
    cs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = cs.len();
    (0..BINS)
        .filter_map(|b| {
            let part = &cs[b * n / BINS..(b + 1) * n / BINS];
            (!part.is_empty()).then(|| Bin {
                count: part.len(),
                acc: part.iter().filter(|c| c.1).count() as f64 / part.len() as f64,
                conf: part.iter().map(|c| c.0).sum::<f64>() / part.len() as f64,
            })
        })
        .collect()
}

/// Every score of `p` against labels `y`.
pub fn score(p: &Predictions, y: &[u32]) -> Metrics {
    let n = p.len();
    let nf = n.max(1) as f64;
    let mean = |f: &dyn Fn(usize) -> f64| (0..n).map(f).sum::<f64>() / nf;
    let cs = confidences(p, y);
    let brier = mean(&|i| {
        p.row(i)
            .iter()
            .enumerate()
            .map(|(k, &v)| (v - f64::from(u8::from(k == y[i] as usize))).powi(2))
            .sum()
    });
    let (aurc, eaurc) = aurc(&cs);
    Metrics {
        acc: cs.iter().filter(|c| c.1).count() as f64 / nf,
        nll: mean(&|i| -p.row(i)[y[i] as usize].max(1e-300).ln()),
        brier,
        ece: calibration_error(&reliability(p, y), n),
        aece: calibration_error(&adaptive_bins(cs.clone()), n),
        entropy: mean(&|i| p.entropy(i)),
        mi: mean(&|i| p.mutual_information(i)),
        vr: mean(&|i| p.variation_ratio(i)),
        aurc,
        eaurc,
        risk80: risk_at_coverage(&cs, 0.8),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_of_known_predictions() {
        // Two confident right, one confident wrong.
        let p = Predictions::single(vec![0.9, 0.1, 0.2, 0.8, 0.9, 0.1], 2);
        let m = score(&p, &[0, 1, 1]);
        assert!((m.acc - 2.0 / 3.0).abs() < 1e-12);
        // conf 0.9 bin: 2 samples, 1 hit → |1 − 1.8|/3; conf 0.8 bin: 1 hit → |1 − 0.8|/3.
        assert!((m.ece - (0.8 + 0.2) / 3.0).abs() < 1e-12, "{}", m.ece);
        let nll = (-(0.9f64.ln()) - 0.8f64.ln() - 0.1f64.ln()) / 3.0;
        assert!((m.nll - nll).abs() < 1e-12);
        // Brier: 2·0.01, 2·0.04, 2·0.81.
        assert!((m.brier - (0.02 + 0.08 + 1.62) / 3.0).abs() < 1e-12);
        // 3 samples in 15 equal-mass bins: 3 bins of one → |1−0.8| + |1−0.9| + |0−0.9|, / 3.
        assert!(
            (m.aece - (0.2 + 0.1 + 0.9) / 3.0).abs() < 1e-12,
            "{}",
            m.aece
        );
        assert_eq!((m.mi, m.vr), (0.0, 0.0));
    }
}

//! Out-of-distribution detection: a score s (higher = "more likely OOD") on
//! in-distribution (ID, negatives) and OOD samples (positives).
//!
//! ```text
//! AUROC  = P(s_ood > s_id) + ½ P(s_ood = s_id)                       (Mann–Whitney, ties halved)
//! AUPR   = Σ_thresholds (R_j − R_{j−1}) · P_j                        (average precision, OOD positive)
//! FPR95  = fraction of ID samples with s ≥ τ, τ the largest threshold flagging ≥ 95 % of OOD samples
//! scores: max-softmax 1 − max_k p̄_k, entropy H[p̄], mutual information
//! ```

use serde::Serialize;

use super::Predictions;

/// Detection quality of one score.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Detection {
    /// Area under the ROC curve.
    #[serde(rename = "AUROC")]
    pub auroc: f64,
    /// Average precision with OOD as the positive class.
    #[serde(rename = "AUPR")]
    pub aupr: f64,
    /// False-positive rate at 95 % true-positive rate.
    #[serde(rename = "FPR95")]
    pub fpr95: f64,
}

/// The OOD scores, in the order of [`Score::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Score {
    /// 1 − max-softmax probability.
    #[serde(rename = "MSP")]
    Msp,
    /// Predictive entropy.
    Entropy,
    /// Mutual information.
    #[serde(rename = "MI")]
    Mi,
}

impl Score {
    /// Every score.
    pub const ALL: [Score; 3] = [Score::Msp, Score::Entropy, Score::Mi];

    /// The score of sample `i`.
    pub fn of(self, p: &Predictions, i: usize) -> f64 {
        match self {
            Score::Msp => 1.0 - p.top(i).1,
            Score::Entropy => p.entropy(i),
            Score::Mi => p.mutual_information(i),
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Score::Msp => "max-softmax",
            Score::Entropy => "entropy",
            Score::Mi => "mutual information",
        }
    }

    /// All samples' scores.
    pub fn all(self, p: &Predictions) -> Vec<f64> {
        (0..p.len()).map(|i| self.of(p, i)).collect()
    }
}

/// AUROC, AUPR and FPR95 of scores on ID and OOD samples.
pub fn detect(id: &[f64], ood: &[f64]) -> Detection {
    let (n0, n1) = (id.len(), ood.len());
    if n0 == 0 || n1 == 0 {
        return Detection::default();
    }
    // (score, is OOD), highest score first.
    let mut all: Vec<(f64, bool)> = id
        .iter()
        .map(|&s| (s, false))
        .chain(ood.iter().map(|&s| (s, true)))
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut tp, mut fp) = (0usize, 0usize);
    let (mut auroc, mut aupr, mut fpr95) = (0.0, 0.0, None);
    let mut i = 0;
    while i < all.len() {
        // One threshold per distinct score: take every sample tied at it.
        let (tp0, fp0) = (tp, fp);
        let s = all[i].0;
        while i < all.len() && all[i].0.total_cmp(&s).is_eq() {
            if all[i].1 {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        let (dt, df) = ((tp - tp0) as f64, (fp - fp0) as f64);
        // Pairs (ood above id) found at this step: tied pairs count half.
        auroc += dt * (fp0 as f64 + df / 2.0);
        aupr += dt / n1 as f64 * tp as f64 / (tp + fp) as f64;
        if fpr95.is_none() && tp as f64 >= 0.95 * n1 as f64 {
            fpr95 = Some(fp as f64 / n0 as f64);
        }
    }
    Detection {
        auroc: 1.0 - auroc / (n0 * n1) as f64,
        aupr,
        fpr95: fpr95.unwrap_or(1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_and_useless_and_by_hand() {
        let d = detect(&[0.1, 0.2], &[0.8, 0.9]);
        assert_eq!((d.auroc, d.aupr, d.fpr95), (1.0, 1.0, 0.0));
        let d = detect(&[0.8, 0.9], &[0.1, 0.2]);
        assert_eq!(d.auroc, 0.0);
        assert_eq!(d.fpr95, 1.0);
        // All tied: AUROC ½, precision ½ everywhere.
        let d = detect(&[0.5; 4], &[0.5; 4]);
        assert_eq!((d.auroc, d.aupr, d.fpr95), (0.5, 0.5, 1.0));
        // ood 0.9, id 0.7, ood 0.6, id 0.1: pairs ood>id: (0.9>0.7, 0.9>0.1, 0.6>0.1) = 3 of 4.
        let d = detect(&[0.7, 0.1], &[0.9, 0.6]);
        assert!((d.auroc - 0.75).abs() < 1e-12, "{}", d.auroc);
        // AP: recall ½ at precision 1, recall 1 at precision 2/3.
        assert!((d.aupr - (0.5 + 0.5 * 2.0 / 3.0)).abs() < 1e-12);
        // 95 % of OOD needs both: threshold 0.6 flags id 0.7 → FPR ½.
        assert_eq!(d.fpr95, 0.5);
    }
}

//! Uncertainty: predictive distributions from one net, from MC dropout
//! (Gal & Ghahramani 2016) or from an ensemble, and what is measured on them.
//!
//! A prediction for sample i is M member distributions p_1 … p_M over K classes
//! (M = 1 for a deterministic net, M = T MC samples, M = nets of an ensemble):
//! ```text
//! p̄          = (1/M) Σ_m p_m                      the prediction scored (argmax, NLL of the mixture)
//! entropy    H[p̄] = −Σ_k p̄_k ln p̄_k               total uncertainty
//! MI         H[p̄] − (1/M) Σ_m H[p_m]              disagreement of the members (≥ 0; 0 when M = 1)
//! VR         1 − f_mode / M                        variation ratio: f_mode = members voting the modal class
//! ```
//! The modules: [`sample`] draws the members, [`metrics`] scores calibration,
//! [`selective`] selective prediction, [`ood`] out-of-distribution detection,
//! [`temperature`] the temperature-scaling baseline, [`report`] ties them for
//! `eval`, [`page`] draws its HTML page, [`per_sample`] writes one line per sample.

pub mod lm;
pub mod metrics;
pub mod ood;
pub mod page;
pub mod per_sample;
pub mod report;
pub mod sample;
pub mod selective;
pub mod temperature;

/// Per-sample predictive summaries of `n` samples over `k` classes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Predictions {
    /// Classes.
    pub k: usize,
    /// Members averaged (1, T or the ensemble size).
    pub members: usize,
    /// The mean distribution p̄, row-major n × k.
    pub probs: Vec<f64>,
    /// Mean member entropy (1/M) Σ_m H\[p_m\], per sample.
    pub member_entropy: Vec<f64>,
    /// Members voting the modal class, per sample.
    pub mode_votes: Vec<u32>,
}

/// Entropy (nats) of a distribution; 0·ln 0 = 0.
pub fn entropy(p: &[f64]) -> f64 {
    -p.iter()
        .filter(|&&v| v > 0.0)
        .map(|&v| v * v.ln())
        .sum::<f64>()
}

/// Index and value of the largest entry (the first on ties).
pub fn argmax(p: &[f64]) -> (usize, f64) {
    p.iter().enumerate().fold(
        (0, f64::NEG_INFINITY),
        |b, (j, &v)| if v > b.1 { (j, v) } else { b },
    )
}

impl Predictions {
    /// Samples.
    pub fn len(&self) -> usize {
        self.member_entropy.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.member_entropy.is_empty()
    }

    /// p̄ of sample `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.probs[i * self.k..(i + 1) * self.k]
    }

    /// Predicted class and its probability (the confidence) of sample `i`.
    pub fn top(&self, i: usize) -> (usize, f64) {
        argmax(self.row(i))
    }

    /// Predictive entropy H[p̄] of sample `i`.
    pub fn entropy(&self, i: usize) -> f64 {
        entropy(self.row(i))
    }

    /// Mutual information of sample `i` (clamped at 0 against rounding).
    pub fn mutual_information(&self, i: usize) -> f64 {
        (self.entropy(i) - self.member_entropy[i]).max(0.0)
    }

    /// Variation ratio of sample `i`.
    pub fn variation_ratio(&self, i: usize) -> f64 {
        1.0 - f64::from(self.mode_votes[i]) / self.members.max(1) as f64
    }

    /// One deterministic prediction per row of `probs` (n × k).
    pub fn single(probs: Vec<f64>, k: usize) -> Self {
        let mut acc = Accum::new(probs.len() / k.max(1), k);
        acc.add_rows(0, &probs);
        acc.finish()
    }
}

/// Sums member distributions into [`Predictions`].
#[derive(Clone, Debug)]
pub struct Accum {
    k: usize,
    sum: Vec<f64>,
    sum_h: Vec<f64>,
    votes: Vec<u32>,
    members: Vec<u32>,
}

impl Accum {
    /// For `n` samples over `k` classes.
    pub fn new(n: usize, k: usize) -> Self {
        Self {
            k,
            sum: vec![0.0; n * k],
            sum_h: vec![0.0; n],
            votes: vec![0; n * k],
            members: vec![0; n],
        }
    }

    /// Add one member's distribution `p` (k entries) for sample `i`.
    pub fn add(&mut self, i: usize, p: &[f64]) {
        let k = self.k;
        for (s, &v) in self.sum[i * k..(i + 1) * k].iter_mut().zip(p) {
            *s += v;
        }
        self.sum_h[i] += entropy(p);
        self.votes[i * k + argmax(p).0] += 1;
        self.members[i] += 1;
    }

    /// Add one member's distributions for samples `first ..` (rows of `probs`).
    pub fn add_rows(&mut self, first: usize, probs: &[f64]) {
        for (r, p) in probs.chunks(self.k).enumerate() {
            self.add(first + r, p);
        }
    }

    /// The averages. Every sample must have the same number of members.
    pub fn finish(self) -> Predictions {
        let k = self.k;
        let m = self.members.first().copied().unwrap_or(0);
        debug_assert!(self.members.iter().all(|&c| c == m), "uneven members");
        let div = f64::from(m.max(1));
        Predictions {
            k,
            members: m as usize,
            probs: self.sum.iter().map(|v| v / div).collect(),
            member_entropy: self.sum_h.iter().map(|v| v / div).collect(),
            mode_votes: self
                .votes
                .chunks(k.max(1))
                .map(|v| v.iter().copied().max().unwrap_or(0))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_disagreeing_members_by_hand() {
        let mut a = Accum::new(1, 2);
        a.add(0, &[1.0, 0.0]);
        a.add(0, &[0.0, 1.0]);
        let p = a.finish();
        assert_eq!(p.row(0), &[0.5, 0.5]);
        // H[p̄] = ln 2, members are certain: MI = ln 2; votes 1 of 2: VR = 0.5.
        assert!((p.entropy(0) - 2f64.ln()).abs() < 1e-12);
        assert!((p.mutual_information(0) - 2f64.ln()).abs() < 1e-12);
        assert!((p.variation_ratio(0) - 0.5).abs() < 1e-12);
        let one = Predictions::single(vec![0.25, 0.75], 2);
        assert_eq!(
            (one.mutual_information(0), one.variation_ratio(0)),
            (0.0, 0.0)
        );
        assert_eq!(one.top(0), (1, 0.75));
    }
}

//! Selective prediction (Geifman & El-Yaniv 2017): answer only the samples the
//! model is most confident about, and measure the error on those.
//!
//! ```text
//! sort samples by confidence, highest first;  r_k = errors among the first k / k   (risk at coverage k/n)
//! AURC      = (1/n) Σ_{k=1..n} r_k
//! oracle    r*_k = max(0, k − (n − e)) / k    (the e errors ranked last)
//! E-AURC    = AURC − (1/n) Σ_k r*_k
//! Risk@80Cov = r_⌈0.8 n⌉
//! ```
//! Ties in confidence keep the samples' order (a stable sort).

/// Risks r_1 … r_n of `(confidence, correct)` pairs.
pub fn risks(cs: &[(f64, bool)]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..cs.len()).collect();
    order.sort_by(|&a, &b| cs[b].0.total_cmp(&cs[a].0));
    let mut errors = 0usize;
    order
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            errors += usize::from(!cs[i].1);
            errors as f64 / (k + 1) as f64
        })
        .collect()
}

/// AURC and E-AURC.
pub fn aurc(cs: &[(f64, bool)]) -> (f64, f64) {
    let n = cs.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    let e = cs.iter().filter(|c| !c.1).count();
    let area = risks(cs).iter().sum::<f64>() / n as f64;
    let oracle = (1..=n)
        .map(|k| k.saturating_sub(n - e) as f64 / k as f64)
        .sum::<f64>()
        / n as f64;
    (area, area - oracle)
}

/// Risk at coverage `c` ∈ (0, 1].
pub fn risk_at_coverage(cs: &[(f64, bool)], c: f64) -> f64 {
    let r = risks(cs);
    let k = ((c * r.len() as f64).ceil() as usize).clamp(1, r.len().max(1));
    r.get(k - 1).copied().unwrap_or(0.0)
}

/// The risk–coverage curve at `points` coverages (coverage, risk).
pub fn curve(cs: &[(f64, bool)], points: usize) -> Vec<(f64, f64)> {
    let r = risks(cs);
    let n = r.len();
    (1..=points)
        .filter_map(|j| {
            let k = (j * n).div_ceil(points.max(1));
            (k >= 1).then(|| (k as f64 / n as f64, r[k - 1]))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risks_by_hand() {
        // Confidence order: 0.9 right, 0.8 wrong, 0.7 right, 0.6 wrong.
        let cs = [(0.7, true), (0.9, true), (0.6, false), (0.8, false)];
        assert_eq!(risks(&cs), vec![0.0, 0.5, 1.0 / 3.0, 0.5]);
        let (a, e) = aurc(&cs);
        assert!((a - (0.0 + 0.5 + 1.0 / 3.0 + 0.5) / 4.0).abs() < 1e-12);
        // Oracle: right, right, wrong, wrong → 0, 0, 1/3, 1/2.
        assert!((e - (a - (1.0 / 3.0 + 0.5) / 4.0)).abs() < 1e-12);
        assert_eq!(risk_at_coverage(&cs, 0.8), 0.5); // ⌈3.2⌉ = 4
        assert_eq!(risk_at_coverage(&cs, 0.5), 0.5);
        assert_eq!(curve(&cs, 2), vec![(0.5, 0.5), (1.0, 0.5)]);
    }

    #[test]
    fn a_perfect_ranking_has_zero_excess() {
        let cs = [(0.9, true), (0.8, true), (0.1, false)];
        assert!(aurc(&cs).1.abs() < 1e-12);
    }
}

//! Summary statistics over seeds: mean with a 95 % confidence interval from
//! Student's t distribution, `mean ± t_{0.975, n−1} · s / √n`, and paired
//! differences (the same seed gives both arms the same data subset, initial
//! weights and batch order, so differences are taken seed by seed).

use serde::{Deserialize, Serialize};

/// Two-sided 97.5 % quantiles of Student's t for 1 … 30 degrees of freedom.
const T975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// Mean ± 95 % CI half-width of a sample.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Est {
    /// Sample mean.
    pub mean: f64,
    /// Half-width of the 95 % CI (0 for a single value).
    pub ci: f64,
    /// Sample size.
    pub n: usize,
}

impl Est {
    /// Estimate from values.
    pub fn of(xs: &[f64]) -> Est {
        let n = xs.len();
        if n == 0 {
            return Est::default();
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return Est { mean, ci: 0.0, n };
        }
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let t = T975[(n - 2).min(29)];
        Est {
            mean,
            ci: t * (var / n as f64).sqrt(),
            n,
        }
    }

    /// Lower end of the CI.
    pub fn lo(&self) -> f64 {
        self.mean - self.ci
    }

    /// Upper end of the CI.
    pub fn hi(&self) -> f64 {
        self.mean + self.ci
    }

    /// Whether the CI lies entirely above 0 (needs n ≥ 2).
    pub fn above_zero(&self) -> bool {
        self.n >= 2 && self.lo() > 0.0
    }

    /// Whether the CI lies entirely below 0 (needs n ≥ 2).
    pub fn below_zero(&self) -> bool {
        self.n >= 2 && self.hi() < 0.0
    }

    /// `mean ± ci` with `digits` decimals, scaled by `scale`.
    pub fn fmt(&self, scale: f64, digits: usize) -> String {
        format!(
            "{:.d$} ± {:.d$}",
            self.mean * scale,
            self.ci * scale,
            d = digits
        )
    }
}

/// The estimate of `a_i − b_i` over paired values.
pub fn paired(a: &[f64], b: &[f64]) -> Est {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    Est::of(&d)
}

/// Three seeds' values around `m` (m − 0.001, m, m + 0.001): test evidence
/// with a small, nonzero spread.
#[cfg(test)]
pub(crate) fn around(m: f64) -> Vec<f64> {
    vec![m - 0.001, m, m + 0.001]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_matches_hand_computation() {
        let e = Est::of(&[1.0, 2.0, 3.0]);
        assert_eq!(e.mean, 2.0);
        // s = 1, t(2) = 4.303 → 4.303 / √3.
        assert!((e.ci - 4.303 / 3f64.sqrt()).abs() < 1e-12);
        assert!(!e.above_zero(), "2 − 2.48 < 0");
        assert!(Est::of(&[3.0, 4.0, 5.0]).above_zero());
        assert!(Est::of(&[-3.0, -4.0, -5.0]).below_zero());
        assert!(!paired(&[1.0, 2.0], &[1.5, 1.5]).above_zero());
        assert_eq!(Est::of(&[5.0]).ci, 0.0);
    }
}

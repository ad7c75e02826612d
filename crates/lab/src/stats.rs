//! Summary statistics over seeds: mean with a 95 % confidence interval from
//! Student's t distribution, `mean ± t_{0.975, n−1} · s / √n` (exact
//! quantiles from `statrs`), and paired differences (the same seed gives both
//! arms the same data subset, initial weights and batch order, so
//! differences are taken seed by seed). For tests:
//!
//! ```text
//! t-test of mean = 0:   t = mean / (s/√n),  p = 2 · (1 − F_{n−1}(|t|))
//! TOST, margin δ > 0:   p = max(1 − F(t₁), F(t₂)),  t₁ = (mean + δ)/(s/√n),  t₂ = (mean − δ)/(s/√n)
//!                       equivalent (|effect| < δ) at level α when p < α  (Schuirmann 1987)
//! Holm (1979):          sort p ascending; p̃_(i) = max_{j ≤ i} min(1, (m − j + 1) · p_(j))
//! power:                the effect a paired t-test detects with 80 % power at α = 0.05 (two-sided),
//!                       ≈ (t_{0.975, n−1} + t_{0.80, n−1}) · s/√n (normal shift of the t statistic)
//! OLS:                  β = (XᵀX)⁻¹Xᵀy,  se(β_j) = √(σ̂² · [(XᵀX)⁻¹]_jj),  σ̂² = RSS/(n − k),  df = n − k
//! ```

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Student's t with `df` degrees of freedom (df ≥ 1).
fn student(df: usize) -> StudentsT {
    StudentsT::new(0.0, 1.0, df.max(1) as f64).expect("valid t parameters")
}

/// The `q` quantile of Student's t with `df` degrees of freedom.
pub fn t_quantile(q: f64, df: usize) -> f64 {
    student(df).inverse_cdf(q)
}

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
        Est {
            mean,
            ci: t_quantile(0.975, n - 1) * (var / n as f64).sqrt(),
            n,
        }
    }

    /// The CI half-width, or `None` for fewer than 2 values (one run has no CI).
    pub fn ci_opt(&self) -> Option<f64> {
        (self.n >= 2).then_some(self.ci)
    }

    /// Standard error s/√n, recovered from the CI (0 for n < 2).
    pub fn se(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            self.ci / t_quantile(0.975, self.n - 1)
        }
    }

    /// Two-sided p-value of the t-test of mean = 0 (1 when n < 2; 0 for a
    /// nonzero mean with no spread).
    pub fn p_value(&self) -> f64 {
        if self.n < 2 {
            return 1.0;
        }
        let se = self.se();
        if se == 0.0 {
            return if self.mean == 0.0 { 1.0 } else { 0.0 };
        }
        2.0 * (1.0 - student(self.n - 1).cdf((self.mean / se).abs()))
    }

    /// TOST p-value for |mean| < `margin`: small means "equivalent within
    /// the margin" (1 when n < 2).
    pub fn tost_p(&self, margin: f64) -> f64 {
        if self.n < 2 {
            return 1.0;
        }
        let se = self.se();
        if se == 0.0 {
            return if self.mean.abs() < margin { 0.0 } else { 1.0 };
        }
        let t = student(self.n - 1);
        let lower = 1.0 - t.cdf((self.mean + margin) / se);
        let upper = t.cdf((self.mean - margin) / se);
        lower.max(upper)
    }

    /// One-sided p-value of the t-test of mean > 0 (`greater`) or mean < 0.
    pub fn p_one_sided(&self, greater: bool) -> f64 {
        let two = self.p_value();
        if (self.mean > 0.0) == greater && self.mean != 0.0 {
            two / 2.0
        } else {
            1.0 - two / 2.0
        }
    }

    /// The smallest true effect a paired t-test on this many values, with
    /// this spread, detects with 80 % power at α = 0.05 (two-sided);
    /// infinite for n < 2.
    pub fn detectable(&self) -> f64 {
        if self.n < 2 {
            return f64::INFINITY;
        }
        (t_quantile(0.975, self.n - 1) + t_quantile(0.8, self.n - 1)) * self.se()
    }

    /// Whether the effect lies within ±`margin` by TOST at α = 0.05.
    pub fn equivalent(&self, margin: f64) -> bool {
        self.tost_p(margin) < 0.05
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

/// Holm's step-down adjustment of `ps` (same order as given): reject
/// hypothesis i at family-wise level α when the adjusted value is < α.
pub fn holm(ps: &[f64]) -> Vec<f64> {
    let m = ps.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| ps[a].total_cmp(&ps[b]));
    let mut adjusted = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * ps[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

/// Spearman's rank correlation (average ranks for ties; NaN for fewer
/// than 3 pairs or a constant side).
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    fn ranks(v: &[f64]) -> Vec<f64> {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
        let mut r = vec![0.0; v.len()];
        let mut i = 0;
        while i < idx.len() {
            let mut j = i;
            while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
                j += 1;
            }
            for &k in &idx[i..=j] {
                r[k] = (i + j) as f64 / 2.0 + 1.0;
            }
            i = j + 1;
        }
        r
    }
    let n = x.len().min(y.len());
    if n < 3 {
        return f64::NAN;
    }
    let (rx, ry) = (ranks(&x[..n]), ranks(&y[..n]));
    let m = (n as f64 + 1.0) / 2.0;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        sxy += (a - m) * (b - m);
        sxx += (a - m).powi(2);
        syy += (b - m).powi(2);
    }
    if sxx == 0.0 || syy == 0.0 {
        return f64::NAN;
    }
    sxy / (sxx * syy).sqrt()
}

/// One coefficient of a least-squares fit.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Coef {
    /// Estimate.
    pub value: f64,
    /// Standard error.
    pub se: f64,
    /// Residual degrees of freedom (n − k).
    pub df: usize,
}

impl Coef {
    /// Half-width of the 95 % CI.
    pub fn ci(&self) -> f64 {
        t_quantile(0.975, self.df) * self.se
    }

    /// One-sided p-value of β > 0 (`greater`) or β < 0.
    pub fn p_one_sided(&self, greater: bool) -> f64 {
        if self.se == 0.0 || self.df == 0 {
            return if (self.value > 0.0) == greater && self.value != 0.0 {
                0.0
            } else {
                1.0
            };
        }
        let t = student(self.df).cdf(self.value / self.se);
        if greater {
            1.0 - t
        } else {
            t
        }
    }
}

/// Ordinary least squares of `y` on the columns of `x` (each row one
/// observation; include a column of ones for an intercept). `None` when
/// there are no more observations than columns or XᵀX is singular.
pub fn ols(x: &[Vec<f64>], y: &[f64]) -> Option<Vec<Coef>> {
    let (n, k) = (y.len(), x.first()?.len());
    if n <= k || x.len() != n {
        return None;
    }
    // Gauss–Jordan on [XᵀX | I | Xᵀy].
    let w = 2 * k + 1;
    let mut m = vec![vec![0.0; w]; k];
    for (row, &yi) in x.iter().zip(y) {
        for i in 0..k {
            for j in 0..k {
                m[i][j] += row[i] * row[j];
            }
            m[i][2 * k] += row[i] * yi;
        }
    }
    for (i, r) in m.iter_mut().enumerate() {
        r[k + i] = 1.0;
    }
    for c in 0..k {
        let piv = (c..k).max_by(|&a, &b| m[a][c].abs().total_cmp(&m[b][c].abs()))?;
        if m[piv][c].abs() < 1e-12 {
            return None;
        }
        m.swap(c, piv);
        let d = m[c][c];
        m[c].iter_mut().for_each(|v| *v /= d);
        for r in 0..k {
            if r != c {
                let f = m[r][c];
                let pivot_row = m[c].clone();
                m[r].iter_mut()
                    .zip(&pivot_row)
                    .for_each(|(v, p)| *v -= f * p);
            }
        }
    }
    let beta: Vec<f64> = m.iter().map(|r| r[2 * k]).collect();
    let rss: f64 = x
        .iter()
        .zip(y)
        .map(|(row, &yi)| (yi - row.iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>()).powi(2))
        .sum();
    let df = n - k;
    let sigma2 = rss / df as f64;
    Some(
        (0..k)
            .map(|j| Coef {
                value: beta[j],
                se: (sigma2 * m[j][k + j]).max(0.0).sqrt(),
                df,
            })
            .collect(),
    )
}

/// Five seeds' values around `m` with spread `s`: test evidence.
#[cfg(test)]
pub(crate) fn five(m: f64, s: f64) -> Vec<f64> {
    vec![m, m + s, m - s, m + 2.0 * s, m - 2.0 * s]
}

/// The values of [`five`] in another order, so that paired differences
/// against [`five`] vary (by (−2, −1, 3, −3, 3)·s).
#[cfg(test)]
pub(crate) fn five_shuffled(m: f64, s: f64) -> Vec<f64> {
    vec![m - 2.0 * s, m, m + 2.0 * s, m - s, m + s]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_matches_hand_computation() {
        let e = Est::of(&[1.0, 2.0, 3.0]);
        assert_eq!(e.mean, 2.0);
        // s = 1, t(2) = 4.302653 → 4.302653 / √3.
        assert!((e.ci - 4.302_652_7 / 3f64.sqrt()).abs() < 1e-6);
        assert!(!e.above_zero(), "2 − 2.48 < 0");
        assert!(Est::of(&[3.0, 4.0, 5.0]).above_zero());
        assert!(Est::of(&[-3.0, -4.0, -5.0]).below_zero());
        assert!(!paired(&[1.0, 2.0], &[1.5, 1.5]).above_zero());
        assert_eq!(Est::of(&[5.0]).ci, 0.0);
    }

    #[test]
    fn exact_quantiles_p_values_tost_and_holm() {
        // Published values: t(0.975; 30) = 2.0423, t(0.975; 199) = 1.9720.
        assert!((t_quantile(0.975, 30) - 2.042_272).abs() < 1e-5);
        assert!((t_quantile(0.975, 199) - 1.971_957).abs() < 1e-5);
        // mean 2, s = 1, n = 3: t = 2√3 = 3.464, p = 0.0742 (two-sided, df 2).
        let e = Est::of(&[1.0, 2.0, 3.0]);
        assert!((e.p_value() - 0.074_180).abs() < 1e-4, "{}", e.p_value());
        // TOST: tight values around 0.1 are within ±1, not within ±0.05.
        let tight = Est::of(&[0.09, 0.1, 0.11, 0.1, 0.1]);
        assert!(tight.equivalent(1.0));
        assert!(!tight.equivalent(0.05));
        // Wide values are neither different from 0 nor shown equivalent.
        let wide = Est::of(&[-3.0, 2.0, 1.0, -1.0]);
        assert!(wide.p_value() > 0.05 && !wide.equivalent(0.5));
        // Holm: p = (0.01, 0.04, 0.03) → (0.03, 0.06, 0.06).
        let h = holm(&[0.01, 0.04, 0.03]);
        for (got, want) in h.iter().zip([0.03, 0.06, 0.06]) {
            assert!((got - want).abs() < 1e-12, "{h:?}");
        }
        // One-sided p halves the two-sided one in the effect's direction.
        assert!((e.p_one_sided(true) - 0.037_090).abs() < 1e-4);
        assert!((e.p_one_sided(false) - 0.962_910).abs() < 1e-4);
        // Detectable effect: (t.975 + t.80) · se with df 2 = (4.3027 + 1.0607) / √3.
        assert!(
            (e.detectable() - 5.363_3 / 3f64.sqrt()).abs() < 1e-3,
            "{}",
            e.detectable()
        );
    }

    #[test]
    fn spearman_matches_hand_computations() {
        assert_eq!(
            spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 25.0, 100.0]),
            1.0
        );
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0);
        // Ranks (1, 2, 3, 4) vs (2, 1, 4, 3): 1 − 6·Σd²/(n(n²−1)) = 1 − 6·4/60 = 0.6.
        assert!((spearman(&[1.0, 2.0, 3.0, 4.0], &[2.0, 1.0, 4.0, 3.0]) - 0.6).abs() < 1e-12);
        // Ties get average ranks: x = (1, 1, 2) → (1.5, 1.5, 3).
        assert!((spearman(&[1.0, 1.0, 2.0], &[1.0, 2.0, 3.0]) - 0.866_025).abs() < 1e-6);
        assert!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]).is_nan());
    }

    #[test]
    fn ols_matches_a_hand_computed_fit() {
        // y = 1 + 2x + e with e = (+1, −1, −1, +1) at x = 0..3:
        // β = (1, 2) (e is orthogonal to 1 and x), RSS = 4, σ̂² = 2,
        // (XᵀX)⁻¹ = [[0.7, −0.3], [−0.3, 0.2]] → se = (√1.4, √0.4).
        let x: Vec<Vec<f64>> = (0..4).map(|i| vec![1.0, f64::from(i)]).collect();
        let y = [2.0, 2.0, 4.0, 8.0];
        let b = ols(&x, &y).unwrap();
        assert!((b[0].value - 1.0).abs() < 1e-12 && (b[1].value - 2.0).abs() < 1e-12);
        assert!((b[0].se - 1.4f64.sqrt()).abs() < 1e-12);
        assert!((b[1].se - 0.4f64.sqrt()).abs() < 1e-12);
        assert_eq!(b[1].df, 2);
        assert!(b[1].p_one_sided(true) < 0.05 && b[1].p_one_sided(false) > 0.95);
        // A constant column twice: singular.
        assert!(ols(
            &[vec![1.0, 1.0], vec![1.0, 1.0], vec![1.0, 1.0]],
            &[1.0, 2.0, 3.0]
        )
        .is_none());
    }
}

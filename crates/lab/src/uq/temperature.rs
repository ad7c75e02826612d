//! Temperature scaling (Guo et al. 2017): one scalar T > 0 divides the logits,
//! fitted on a validation split to minimise the NLL; accuracy is unchanged.
//!
//! ```text
//! NLL(β) = (1/n) Σ_i [ logsumexp_k(β z_ik) − β z_{i,y_i} ],   β = 1/T
//! ```
//! NLL(β) is convex in β (a log-sum-exp of linear functions minus a linear
//! one), so it is unimodal in ln β: golden-section search over
//! ln β ∈ [ln 0.02, ln 50] (T from 0.02 to 50) to a width of 1e-6.

/// Mean NLL of logits `z` (n × k) for labels `y` at inverse temperature `beta`.
pub fn nll(z: &[f32], y: &[u32], k: usize, beta: f64) -> f64 {
    let n = y.len().max(1) as f64;
    z.chunks(k)
        .zip(y)
        .map(|(row, &l)| {
            let m = row
                .iter()
                .map(|&v| beta * f64::from(v))
                .fold(f64::NEG_INFINITY, f64::max);
            let lse = m + row
                .iter()
                .map(|&v| (beta * f64::from(v) - m).exp())
                .sum::<f64>()
                .ln();
            lse - beta * f64::from(row[l as usize])
        })
        .sum::<f64>()
        / n
}

/// The temperature T minimising the NLL of `z` on labels `y`.
pub fn fit(z: &[f32], y: &[u32], k: usize) -> f64 {
    let f = |lb: f64| nll(z, y, k, lb.exp());
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut a, mut b) = (0.02f64.ln(), 50f64.ln());
    let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
    let (mut fc, mut fd) = (f(c), f(d));
    while b - a > 1e-6 {
        if fc < fd {
            (b, d, fd) = (d, c, fc);
            c = b - g * (b - a);
            fc = f(c);
        } else {
            (a, c, fc) = (c, d, fd);
            d = a + g * (b - a);
            fd = f(d);
        }
    }
    1.0 / ((a + b) / 2.0).exp()
}

/// Logits divided by `t`.
pub fn scale(z: &[f32], t: f64) -> Vec<f32> {
    z.iter().map(|&v| (f64::from(v) / t) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_the_temperature_of_calibrated_logits() {
        // Labels drawn from softmax(u), logits given as 3·u: the fitted T is near 3.
        let mut rng = engine::rng::Rng::new(5);
        let (n, k) = (20_000, 4);
        let (mut z, mut y) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let u: Vec<f64> = (0..k).map(|_| 2.0 * rng.uniform()).collect();
            let s: f64 = u.iter().map(|v| v.exp()).sum();
            let (mut r, mut l) = (rng.uniform() * s, 0);
            while l + 1 < k && r > u[l].exp() {
                r -= u[l].exp();
                l += 1;
            }
            y.push(l as u32);
            z.extend(u.iter().map(|&v| (3.0 * v) as f32));
        }
        let t = fit(&z, &y, k);
        assert!((t - 3.0).abs() < 0.3, "T = {t}");
        assert!(nll(&z, &y, k, 1.0 / t) <= nll(&z, &y, k, 1.0));
    }
}

//! Probes of a trained net's BatchNorm layers, for C10.
//!
//! Per channel c of a BatchNorm's input x (over samples, and positions for
//! a conv BN), on data passed in eval mode (no dropout):
//!
//! ```text
//! actual mean/variance:  μ_c = mean(x_c),  σ²_c = Σ (x_c − μ_c)² / (m − 1)
//! variance shift:        mean over channels of running_var_c / σ²_c   (Li et al. 2019; 1 = none)
//! recalibration:         running_mean_c ← μ_c, running_var_c ← σ²_c, BN by BN in layer order
//!                        (each later BN sees the inputs the recalibrated earlier ones produce)
//! ```
//! Recalibration is the causal test: if dropout hurts a BN net through the
//! statistics BN learned under dropout, replacing them by the statistics
//! without dropout — no weight changes — should recover the accuracy.

use engine::layer::Ctx;
use engine::Sequential;

use crate::data::Dataset;

/// Indices of the BatchNorm layers.
fn bn_layers(model: &Sequential) -> Vec<usize> {
    model
        .layers()
        .iter()
        .enumerate()
        .filter(|(_, l)| l.describe().starts_with("BatchNorm"))
        .map(|(i, _)| i)
        .collect()
}

/// Per-channel (mean, unbiased variance) of the input of layer `bn` on the
/// first `n` samples of `data`, eval mode, in batches of 500.
fn input_moments(model: &mut Sequential, bn: usize, data: &Dataset, n: usize) -> Vec<(f64, f64)> {
    let n = data.len().min(n);
    let d = data.dim();
    let (mut sum, mut sq, mut count) = (Vec::<f64>::new(), Vec::<f64>::new(), 0usize);
    for start in (0..n).step_by(500) {
        let b = 500.min(n - start);
        model
            .input_mut(b)
            .copy_from_slice(&data.x[start * d..(start + b) * d]);
        model.forward(&Ctx::eval());
        let x = model.layers()[bn - 1].output();
        let c = x.shape[1];
        let s: usize = x.shape[2..].iter().product();
        if sum.is_empty() {
            (sum, sq) = (vec![0.0; c], vec![0.0; c]);
        }
        for r in 0..b {
            for ch in 0..c {
                for &v in &x.data[(r * c + ch) * s..(r * c + ch + 1) * s] {
                    sum[ch] += f64::from(v);
                    sq[ch] += f64::from(v) * f64::from(v);
                }
            }
        }
        count += b * s;
    }
    let m = count.max(2) as f64;
    sum.iter()
        .zip(&sq)
        .map(|(&s, &q)| (s / m, ((q - s * s / m) / (m - 1.0)).max(0.0)))
        .collect()
}

fn running(model: &mut Sequential, bn: usize, name: &str) -> Vec<f32> {
    let mut v = Vec::new();
    model.layers_mut()[bn].visit_buffers(&mut |b| {
        if b.name == name {
            v = b.value.to_vec();
        }
    });
    v
}

/// Variance shift at the last BatchNorm (NaN without one).
pub fn variance_shift(model: &mut Sequential, data: &Dataset, n: usize) -> f64 {
    let Some(&bn) = bn_layers(model).last() else {
        return f64::NAN;
    };
    let actual = input_moments(model, bn, data, n);
    let run = running(model, bn, "running_var");
    let ratios: Vec<f64> = run
        .iter()
        .zip(&actual)
        .filter(|(_, (_, v))| *v > 1e-8)
        .map(|(&r, (_, v))| f64::from(r) / v)
        .collect();
    ratios.iter().sum::<f64>() / ratios.len().max(1) as f64
}

/// Replace every BatchNorm's running statistics by its input's statistics
/// on `data` without dropout (see the module docs).
pub fn recalibrate(model: &mut Sequential, data: &Dataset, n: usize) {
    for bn in bn_layers(model) {
        let m = input_moments(model, bn, data, n);
        model.layers_mut()[bn].visit_buffers(&mut |b| {
            let pick: fn(&(f64, f64)) -> f64 = match b.name {
                "running_mean" => |x| x.0,
                "running_var" => |x| x.1,
                _ => return,
            };
            for (dst, src) in b.value.iter_mut().zip(&m) {
                *dst = pick(src) as f32;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::spec::{build, ModelSpec, Norm};

    #[test]
    fn recalibration_sets_the_running_stats_to_the_data_moments() {
        let spec = ModelSpec {
            norm: Norm::Batch,
            ..ModelSpec::new("4-3-3-2")
        };
        let mut model = build(&spec, &[4], 1).unwrap();
        let data = Dataset {
            x: (0..40).map(|i| (i as f32 * 0.37).sin()).collect(),
            y: vec![0; 10],
            sample_shape: vec![4],
        };
        // Fresh BN: running var 1, so the shift is 1 / actual variance.
        let shift = variance_shift(&mut model, &data, 10);
        recalibrate(&mut model, &data, 10);
        let bn = *bn_layers(&model).last().unwrap();
        let want = input_moments(&mut model, bn, &data, 10);
        let (mean, var) = (
            running(&mut model, bn, "running_mean"),
            running(&mut model, bn, "running_var"),
        );
        for (i, (m, v)) in want.iter().enumerate() {
            assert!((f64::from(mean[i]) - m).abs() < 1e-5 && (f64::from(var[i]) - v).abs() < 1e-5);
        }
        assert!((variance_shift(&mut model, &data, 10) - 1.0).abs() < 1e-4);
        assert!(
            (shift - 1.0).abs() > 1e-3,
            "a fresh BN is not calibrated to this data"
        );
    }
}

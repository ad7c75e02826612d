//! A language model's evaluation per character, deterministic and with MC
//! dropout (Gal & Ghahramani 2016), on windows of its text (`data::text`).
//!
//! ```text
//! per position i of every window (N positions in all), label y_i, T MC samples p_t(·|i):
//! loss        = (1/N) Σ_i −ln p(y_i)                 nats per character;  bits = nats / ln 2
//! p̄(·|i)      = (1/T) Σ_t p_t(·|i)                   MC predictive distribution
//! MC loss     = (1/N) Σ_i −ln p̄(y_i)
//! entropy     = (1/N) Σ_i H[p̄(·|i)]                  predictive entropy per character (nats)
//! MI          = entropy − (1/N) Σ_i (1/T) Σ_t H[p_t(·|i)]     mutual information (epistemic part)
//! ```
//! Sample t of window batch b uses `Ctx::mc_sample(seed, b·T + t)`: every
//! pass draws its own masks, the same on any thread count.

use engine::layer::Ctx;
use engine::Sequential;
use serde::Serialize;

use crate::data::Dataset;
use crate::error::Result;

/// MC-dropout scores of a language model on a set of windows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LmMc {
    /// MC samples T.
    pub samples: usize,
    /// −ln p̄(y) per character.
    pub loss: f64,
    /// The same in bits.
    pub bits: f64,
    /// Accuracy of arg max p̄.
    pub acc: f64,
    /// Predictive entropy per character (nats).
    pub entropy: f64,
    /// Mutual information per character (nats).
    pub mutual_information: f64,
}

/// Entropy (nats) of the softmax of one row of logits, and the row's probabilities into `p`.
fn softmax(z: &[f32], p: &mut [f64]) -> f64 {
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let s: f64 = z.iter().map(|&v| f64::from(v - m).exp()).sum();
    let mut h = 0.0;
    for (o, &v) in p.iter_mut().zip(z) {
        *o = f64::from(v - m).exp() / s;
        if *o > 0.0 {
            h -= *o * o.ln();
        }
    }
    h
}

/// MC-dropout evaluation of `model` on the windows `data` with `t` samples,
/// `batch` windows per pass; `tick` after every pass.
///
/// # Errors
/// [`crate::LabError::Engine`] for labels the model cannot take.
pub fn mc(
    model: &mut Sequential,
    data: &Dataset,
    t: usize,
    seed: u64,
    batch: usize,
    tick: &mut dyn FnMut(),
) -> Result<LmMc> {
    let (d, k, v) = (data.dim(), data.targets(), model.classes());
    let (mut loss, mut correct, mut ent, mut exp_ent) = (0.0, 0usize, 0.0, 0.0);
    let mut mean = Vec::new();
    let mut row = vec![0.0f64; v];
    for (b, start) in (0..data.len()).step_by(batch.max(1)).enumerate() {
        let n = batch.min(data.len() - start);
        mean.clear();
        mean.resize(n * k * v, 0.0f64);
        for s in 0..t {
            model
                .input_mut(n)
                .copy_from_slice(&data.x[start * d..(start + n) * d]);
            let ctx = Ctx::mc_sample(seed, (b * t + s) as u32);
            let z = &model.forward(&ctx).data;
            for (i, zr) in z.chunks(v).enumerate() {
                exp_ent += softmax(zr, &mut row) / t as f64;
                for (m, p) in mean[i * v..(i + 1) * v].iter_mut().zip(&row) {
                    *m += p / t as f64;
                }
            }
            tick();
        }
        for (i, pm) in mean.chunks(v).enumerate() {
            let y = data.y[start * k + i] as usize;
            loss -= pm[y].max(f64::MIN_POSITIVE).ln();
            let arg = (0..v).fold(0, |a, j| if pm[j] > pm[a] { j } else { a });
            correct += usize::from(arg == y);
            ent -= pm
                .iter()
                .filter(|&&p| p > 0.0)
                .map(|p| p * p.ln())
                .sum::<f64>();
        }
    }
    let n = data.y.len().max(1) as f64;
    Ok(LmMc {
        samples: t,
        loss: loss / n,
        bits: loss / n / std::f64::consts::LN_2,
        acc: correct as f64 / n,
        entropy: ent / n,
        mutual_information: (ent - exp_ent) / n,
    })
}

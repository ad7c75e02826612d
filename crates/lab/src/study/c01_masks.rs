//! C1 — "A fraction p of units is zeroed at each step, temporarily; all units
//! are back at test time."
//!
//! The masks a p = 0.5 network used in its first training steps are
//! regenerated from their keys (seed, site, step) — the exact masks of
//! training, since a mask is a pure function of its key — for both hidden
//! layers: dropped fraction per step, and the overlap of consecutive steps'
//! masks (fraction of units in the same state), whose value for independent
//! masks is q = p² + (1−p)². At test time the trained net's eval output is
//! compared bit for bit with the same weights in a net built without dropout.
//!
//! ```text
//! binomial 99.9 % bound on a fraction over N draws:  3.29 · √(π(1−π)/N)
//! ```
//! The verdict rule is [`Masks::RULE`].

use dropout::{Dropout, MaskKey, Mode};
use engine::layer::Ctx;
use serde::Serialize;

use super::claim::{Claim, Figure, Section, Table, Verdict};
use super::lab::Lab;
use super::runs::with_p;
use crate::error::Result;
use crate::html::plot::{lines, Axes, Series};
use crate::stats::Est;

const Z999: f64 = 3.2905;

/// C1.
pub struct Masks;

/// One hidden layer's masks.
#[derive(Clone, Debug, Serialize)]
pub struct LayerMasks {
    /// Fraction dropped at each step.
    pub dropped_per_step: Vec<f64>,
    /// Mean of `dropped_per_step`.
    pub dropped_mean: f64,
    /// Its standard deviation over steps.
    pub dropped_sd: f64,
    /// 99.9 % binomial half-width around p.
    pub dropped_bound: f64,
    /// Mean overlap of consecutive masks.
    pub overlap_mean: f64,
    /// 99.9 % binomial half-width around q.
    pub overlap_bound: f64,
}

/// What C1 measured.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// The MLP.
    pub mlp: String,
    /// Dropout rate.
    pub p: f32,
    /// Steps regenerated.
    pub steps: u32,
    /// Batch × width of one mask.
    pub batch: usize,
    /// Hidden width.
    pub width: usize,
    /// Both hidden layers.
    pub layers: Vec<LayerMasks>,
    /// Eval logits identical to the dropout-free net with the same weights.
    pub eval_identical: bool,
    /// Test images compared.
    pub eval_samples: usize,
}

impl Evidence {
    fn overlap_independent(&self) -> f64 {
        let p = f64::from(self.p);
        p * p + (1.0 - p) * (1.0 - p)
    }
    fn fraction_ok(&self) -> bool {
        let p = f64::from(self.p);
        self.layers
            .iter()
            .all(|l| (l.dropped_mean - p).abs() <= l.dropped_bound)
    }
    fn overlap_ok(&self) -> bool {
        let q = self.overlap_independent();
        self.layers
            .iter()
            .all(|l| (l.overlap_mean - q).abs() <= l.overlap_bound)
    }
}

fn layer_masks(d: &Dropout, p: f32, seed: u64, stream: u32, steps: u32, n: usize) -> LayerMasks {
    let masks: Vec<Vec<bool>> = (0..steps)
        .map(|t| {
            d.mask(MaskKey::new(seed, stream, t), Mode::Train, n)
                .unpack()
        })
        .collect();
    let frac: Vec<f64> = masks
        .iter()
        .map(|m| m.iter().filter(|k| !**k).count() as f64 / m.len() as f64)
        .collect();
    let overlap: Vec<f64> = masks
        .windows(2)
        .map(|w| w[0].iter().zip(&w[1]).filter(|(a, b)| a == b).count() as f64 / w[0].len() as f64)
        .collect();
    let total = n as f64 * f64::from(steps);
    let pf = f64::from(p);
    let q = pf * pf + (1.0 - pf) * (1.0 - pf);
    let f = Est::of(&frac);
    let sd =
        (frac.iter().map(|x| (x - f.mean).powi(2)).sum::<f64>() / (frac.len() - 1) as f64).sqrt();
    LayerMasks {
        dropped_mean: f.mean,
        dropped_sd: sd,
        dropped_bound: Z999 * (pf * (1.0 - pf) / total).sqrt(),
        overlap_mean: Est::of(&overlap).mean,
        overlap_bound: Z999 * (q * (1.0 - q) / (total - n as f64)).sqrt(),
        dropped_per_step: frac,
    }
}

impl Claim for Masks {
    const ID: &'static str = "C1";
    const CLAIM: &'static str = "A fraction p of units is zeroed at each training step, temporarily (a new mask each step); all units are back at test time.";
    const RULE: &'static str = "holds: mean dropped fraction within its 99.9% binomial interval around p, mean overlap of consecutive masks within its interval around p² + (1−p)², and eval output identical to the dropout-free net; holds partly: two of three; else does not hold.";
    const CHECK: bool = true;
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let p = 0.5f32;
        let cfg = lab.base_run(p, lab.seeds[0]);
        lab.begin(Self::ID, 2);
        let (_, mut model, splits) = lab.trained(&cfg)?;
        lab.tick("masks");
        let width: usize = lab
            .mlp()
            .split('-')
            .nth(1)
            .and_then(|w| w.parse().ok())
            .unwrap_or(256);
        let (batch, steps) = (128usize, 200u32);
        let d = Dropout::new(p)?;
        let layers = (0..2)
            .map(|s| layer_masks(&d, p, cfg.seed, s, steps, batch * width))
            .collect();
        // Eval: identical to the same weights without dropout.
        let mut plain =
            engine::spec::build(&with_p(cfg.clone(), 0.0).model.spec(784, 10), &[784], 0)?;
        let mut weights = Vec::new();
        model.visit_params(&mut |_, prm| weights.push(prm.value.to_vec()));
        let mut k = 0;
        plain.visit_params(&mut |_, prm| {
            prm.value.copy_from_slice(&weights[k]);
            k += 1;
        });
        let m = 1000.min(splits.test.len());
        let xs = &splits.test.x[..m * 784];
        model.input_mut(m).copy_from_slice(xs);
        let a = model.forward(&Ctx::eval()).data.clone();
        plain.input_mut(m).copy_from_slice(xs);
        let b = plain.forward(&Ctx::eval()).data.clone();
        lab.tick("eval check");
        Ok(Evidence {
            mlp: lab.mlp().into(),
            p,
            steps,
            batch,
            width,
            layers,
            eval_identical: a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
            eval_samples: m,
        })
    }

    fn verdict(e: &Evidence) -> Verdict {
        match [e.fraction_ok(), e.overlap_ok(), e.eval_identical]
            .iter()
            .filter(|&&b| b)
            .count()
        {
            3 => Verdict::Holds,
            2 => Verdict::HoldsPartly,
            _ => Verdict::DoesNotHold,
        }
    }

    fn render(e: &Evidence) -> Section {
        let (p, q) = (f64::from(e.p), e.overlap_independent());
        let rows = e
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                vec![
                    format!("hidden {}", i + 1),
                    format!("{:.4} (sd {:.4})", l.dropped_mean, l.dropped_sd),
                    format!("{p:.4} ± {:.4}", l.dropped_bound),
                    format!("{:.4}", l.overlap_mean),
                    format!("{q:.4} ± {:.4}", l.overlap_bound),
                ]
            })
            .collect();
        let mut series: Vec<Series> = e
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| Series {
                name: format!("hidden layer {}", i + 1),
                points: l
                    .dropped_per_step
                    .iter()
                    .enumerate()
                    .map(|(t, &v)| (t as f64, v, 0.0))
                    .collect(),
            })
            .collect();
        series.push(Series {
            name: "p".into(),
            points: vec![(0.0, p, 0.0), (f64::from(e.steps - 1), p, 0.0)],
        });
        let first = e.layers.first();
        Section {
            finding: format!("Over {} training steps the masks dropped {:.4} of the units (p = {}), consecutive masks overlapped as independent draws would ({:.4} vs {q}), and evaluation was {} with the plain network.", e.steps, first.map_or(f64::NAN, |l| l.dropped_mean), e.p, first.map_or(f64::NAN, |l| l.overlap_mean), if e.eval_identical { "bit-identical" } else { "NOT identical" }),
            limitations: String::new(),
            method: format!("The masks of the first {} training steps (batch {} × {} units, both hidden layers) of an MLP {} trained with p = {}, regenerated from their (seed, site, step) keys; eval logits on {} test images compared bit for bit with the same weights in a net built without dropout.", e.steps, e.batch, e.width, e.mlp, e.p, e.eval_samples),
            key_number: format!(
                "dropped {:.4} (p = {}), overlap {:.4} (independent: {q}), eval identical: {}",
                first.map_or(f64::NAN, |l| l.dropped_mean),
                e.p,
                first.map_or(f64::NAN, |l| l.overlap_mean),
                e.eval_identical
            ),
            tables: vec![Table::new("Masks over training steps", &["layer", "dropped fraction per step", "expected (99.9%)", "overlap of consecutive masks", "independent (99.9%)"], rows)],
            figures: vec![Figure { caption: format!("Fraction of units dropped at each of the first {} steps", e.steps), svg: lines(&Axes { title: "Dropped fraction per step", x: "training step", y: "fraction dropped", log_x: false, log_y: false }, &series) }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(dropped: f64, overlap: f64, identical: bool) -> Evidence {
        let layer = LayerMasks {
            dropped_per_step: vec![dropped; 3],
            dropped_mean: dropped,
            dropped_sd: 0.0,
            dropped_bound: 0.001,
            overlap_mean: overlap,
            overlap_bound: 0.001,
        };
        Evidence {
            mlp: "784-8-8-10".into(),
            p: 0.5,
            steps: 3,
            batch: 1,
            width: 8,
            layers: vec![layer.clone(), layer],
            eval_identical: identical,
            eval_samples: 1,
        }
    }

    #[test]
    fn every_verdict_of_the_rule() {
        assert_eq!(Masks::verdict(&evidence(0.5, 0.5, true)), Verdict::Holds);
        assert_eq!(
            Masks::verdict(&evidence(0.5, 0.5, false)),
            Verdict::HoldsPartly
        );
        assert_eq!(
            Masks::verdict(&evidence(0.6, 0.5, true)),
            Verdict::HoldsPartly
        );
        assert_eq!(
            Masks::verdict(&evidence(0.6, 0.7, true)),
            Verdict::DoesNotHold
        );
        assert_eq!(
            Masks::verdict(&evidence(0.5, 0.7, false)),
            Verdict::DoesNotHold
        );
    }
}

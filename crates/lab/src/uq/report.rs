//! One evaluation with uncertainty, as `eval` runs it: each *arm* is a way of
//! predicting (the deterministic net, the net with temperature scaling, MC
//! dropout, an ensemble), scored on the test set and, with an OOD set, on its
//! ability to tell the two apart.
//!
//! ```text
//! arm          members                          fitted on
//! deterministic 1 (weight scaling)               —
//! temperature   1, logits / T                   T on the run's validation split (none: the arm is left out)
//! MC dropout    T passes with fresh masks        —
//! ensemble      the deterministic nets of N runs —
//! cost          wall seconds per test example of the arm's prediction
//! ```

use serde::Serialize;

use super::metrics::{mean_kl, score, Metrics};
use super::ood::{detect, Detection, Score};
use super::Predictions;

/// One way of predicting, with its predictions.
#[derive(Clone, Debug)]
pub struct Arm {
    /// Name, e.g. "MC dropout (T = 50)".
    pub name: String,
    /// Predictions on the test set.
    pub test: Predictions,
    /// Predictions on the OOD set.
    pub ood: Option<Predictions>,
    /// Wall seconds per test example.
    pub seconds_per_example: f64,
}

/// An arm's numbers.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The arm.
    pub name: String,
    /// Members averaged.
    pub members: usize,
    /// Test-set metrics.
    pub metrics: Metrics,
    /// OOD detection per score (MI only for arms with several members).
    pub ood: Vec<(Score, Detection)>,
    /// Wall microseconds per test example.
    pub us_per_example: f64,
}

/// The whole evaluation.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The rows, one per arm.
    pub rows: Vec<Row>,
    /// The fitted temperature, if any.
    pub temperature: Option<f64>,
    /// KL(p̄_MC ‖ p_det) averaged over the test set, if MC ran.
    pub kl_mc_to_det: Option<f64>,
    /// Where the OOD samples came from.
    pub ood_source: Option<String>,
    /// Things the user should know (no dropout, no validation split, …).
    pub notes: Vec<String>,
}

/// Score `arms` on test labels `y`.
pub fn summarize(arms: &[Arm], y: &[u32]) -> Vec<Row> {
    arms.iter()
        .map(|a| Row {
            name: a.name.clone(),
            members: a.test.members,
            metrics: score(&a.test, y),
            ood: a.ood.as_ref().map_or_else(Vec::new, |o| {
                Score::ALL
                    .iter()
                    .filter(|&&s| s != Score::Mi || a.test.members > 1)
                    .map(|&s| (s, detect(&s.all(&a.test), &s.all(o))))
                    .collect()
            }),
            us_per_example: 1e6 * a.seconds_per_example,
        })
        .collect()
}

/// KL(MC ‖ deterministic), averaged over samples.
pub fn kl(mc: &Predictions, det: &Predictions) -> f64 {
    mean_kl(&mc.probs, &det.probs, mc.k)
}

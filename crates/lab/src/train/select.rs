//! Model selection inside the loop, on the validation set only
//! ([`crate::config::selection`] states the rules):
//!
//! ```text
//! after evaluated epoch e with validation loss L_e:
//!   improved  ⇔  L_e < min over earlier evaluated epochs (the first evaluation improves)
//!   waited    =  evaluations since the last improvement (0 when e improved)
//!   stop      ⇔  early_stop = K  and  waited ≥ K
//! ```
//! With `keep = best` the weights of each improving epoch are kept: written
//! to `best.safetensors` in a run directory (a resumed run finds them there),
//! or copied in memory otherwise. A resumed run replays the selection from
//! the epochs in `metrics.jsonl`; the epochs after its checkpoint are trained
//! again bit for bit, so a best file written by them before the kill is
//! written again with the same bytes.

use std::path::Path;

use engine::Sequential;

use super::EpochMetrics;
use crate::config::{Keep, RunConfig};
use crate::error::{LabError, Result};
use crate::rundir;

/// Every parameter and buffer of a model, in visiting order.
type Weights = Vec<Vec<f32>>;

/// The selection state of one run.
pub struct Selector {
    keep: Keep,
    early_stop: Option<usize>,
    best: Option<(f64, EpochMetrics)>,
    waited: usize,
    weights: Option<Weights>,
}

impl Selector {
    /// The selection `cfg` asks for (none with `keep = last` and no early stop).
    pub fn new(cfg: &RunConfig) -> Self {
        Self {
            keep: cfg.keep,
            early_stop: cfg.early_stop,
            best: None,
            waited: 0,
            weights: None,
        }
    }

    /// Whether the weights of an improving epoch must be kept.
    pub fn keeps_best(&self) -> bool {
        self.keep == Keep::Best
    }

    /// Take evaluated epoch `m` into account; true when it is the new best.
    pub fn observe(&mut self, m: &EpochMetrics) -> bool {
        let Some(loss) = m.eval.and_then(|e| e.val).map(|v| v.loss) else {
            return false;
        };
        if self.best.as_ref().is_none_or(|(b, _)| loss < *b) {
            self.best = Some((loss, m.clone()));
            self.waited = 0;
            true
        } else {
            self.waited += 1;
            false
        }
    }

    /// Whether training stops after the epoch just observed.
    pub fn stop(&self) -> bool {
        self.early_stop.is_some_and(|k| self.waited >= k)
    }

    /// The best epoch so far, if any was evaluated on a validation set.
    pub fn best(&self) -> Option<&EpochMetrics> {
        self.best.as_ref().map(|(_, m)| m)
    }

    /// Replay the epochs a resumed run kept in `dir`'s `metrics.jsonl`;
    /// returns the last of them.
    ///
    /// # Errors
    /// [`LabError::Io`] when the log cannot be read, [`LabError::RunDir`]
    /// for a line that is not an epoch's metrics.
    pub fn replay(&mut self, dir: &Path) -> Result<Option<EpochMetrics>> {
        let path = dir.join(rundir::METRICS);
        let text = std::fs::read_to_string(&path).map_err(LabError::io(&path))?;
        let mut last = None;
        for line in text.lines() {
            let m: EpochMetrics = serde_json::from_str(line).map_err(|e| LabError::RunDir {
                path: path.clone(),
                msg: format!("holds a line that is not an epoch's metrics ({e}); start the run again with --force"),
            })?;
            self.observe(&m);
            last = Some(m);
        }
        Ok(last)
    }

    /// Keep `model`'s weights in memory as the best.
    pub fn remember(&mut self, model: &mut Sequential) {
        let mut w = Vec::new();
        model.visit_params(&mut |_, p| w.push(p.value.to_vec()));
        model.visit_buffers(&mut |_, b| w.push(b.value.to_vec()));
        self.weights = Some(w);
    }

    /// Put the weights kept in memory back into `model`; false when none are kept.
    pub fn restore(&self, model: &mut Sequential) -> bool {
        let Some(w) = &self.weights else {
            return false;
        };
        let mut it = w.iter();
        model.visit_params(&mut |_, p| p.value.copy_from_slice(it.next().expect("same model")));
        model.visit_buffers(&mut |_, b| b.value.copy_from_slice(it.next().expect("same model")));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{Evaluation, Score};

    fn epoch(e: usize, val: Option<f64>) -> EpochMetrics {
        EpochMetrics {
            epoch: e,
            lr: 0.1,
            train_batch_loss: 1.0,
            eval: Some(Evaluation {
                val: val.map(|loss| Score { loss, acc: 0.5 }),
                ..Default::default()
            }),
            train_s: 0.0,
            elapsed_s: 0.0,
        }
    }

    #[test]
    fn the_first_lowest_loss_wins_and_patience_counts_evaluations() {
        let cfg = RunConfig {
            keep: Keep::Best,
            early_stop: Some(2),
            ..RunConfig::default()
        };
        let mut s = Selector::new(&cfg);
        let seen: Vec<bool> = [0.9, 0.7, 0.7, 0.8]
            .iter()
            .enumerate()
            .map(|(i, &l)| s.observe(&epoch(i + 1, Some(l))))
            .collect();
        assert_eq!(seen, [true, true, false, false]);
        assert_eq!(s.best().unwrap().epoch, 2, "a tie keeps the earlier epoch");
        assert!(s.stop(), "two evaluations without a new lowest loss");
        assert!(s.observe(&epoch(5, Some(0.1))));
        assert!(!s.stop());
    }

    #[test]
    fn epochs_without_a_validation_score_neither_improve_nor_count() {
        let cfg = RunConfig {
            early_stop: Some(1),
            ..RunConfig::default()
        };
        let mut s = Selector::new(&cfg);
        assert!(!s.keeps_best());
        assert!(!s.observe(&epoch(1, None)));
        assert!(!s.stop());
        assert!(s.best().is_none());
    }
}

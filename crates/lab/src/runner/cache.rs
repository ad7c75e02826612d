//! The run cache: a finished run's curve, stored under
//! `<out>/report-cache/runs/<key>.json` (and its weights as
//! `<key>.safetensors` when a claim needs the trained net), so an interrupted
//! study resumes and no configuration is trained twice.
//!
//! ```text
//! key = FNV-1a-64("v" ‖ VERSION ‖ JSON(RunKey::of(config)))   (super::key)
//! ```
//! A user's file is known by its bytes, not its path: a file copied over the
//! path is another run, and shards that mount the data at different paths
//! share their runs. The built-in data sets have no path; their keys are as
//! before.
//! [`VERSION`] is the entry format and engine
//! numerics version: it changes whenever an engine change alters any run's
//! bits (3: Adam's update with one division), so stale runs are never
//! served. How entries are checked before use: [`super::entry`]. The key holds only what changes results: the thread count does not (runs
//! are bit-identical on any), and neither does how often a run is evaluated,
//! so that is not in the key. A cached run serves a request when it holds
//! every epoch the request evaluates ([`RunOut::serve`]); otherwise the run is
//! trained again — to the same weights — evaluated on the union of both
//! schedules (gcd of the intervals), and stored with that curve.

use serde::{Deserialize, Serialize};

use crate::config::RunConfig;
use crate::train::evaluated;

/// Metrics of one evaluated epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss of the epoch's batches (with dropout).
    pub batch_loss: f64,
    /// Training loss, eval mode.
    pub train_loss: f64,
    /// Training accuracy, eval mode.
    pub train_acc: f64,
    /// Test loss.
    pub test_loss: f64,
    /// Test accuracy.
    pub test_acc: f64,
    /// Validation accuracy, for runs with a validation split (absent from
    /// the JSON otherwise, so entries without one keep their checksums).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_acc: Option<f64>,
}

/// A finished run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunOut {
    /// Epochs of the run.
    pub epochs: usize,
    /// Evaluated epochs (at least the last).
    pub curve: Vec<Point>,
    /// Seconds of training.
    pub train_s: f64,
    /// Runs with label noise: the fraction of the flipped training labels
    /// the final net predicts (memorisation; chance is 1/(classes − 1) of
    /// the errors). Absent otherwise, so entries without noise keep their
    /// checksums.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memorised: Option<f64>,
    /// Rates learned by Concrete dropout, in layer order (empty otherwise,
    /// and absent from the entry, so other entries keep their checksums).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub learned_p: Vec<f32>,
}

impl RunOut {
    /// The last evaluated epoch.
    pub fn last(&self) -> Point {
        self.curve.last().copied().unwrap_or_default()
    }

    /// Train accuracy − test accuracy at the end.
    pub fn gap(&self) -> f64 {
        self.last().train_acc - self.last().test_acc
    }

    /// The evaluation interval this curve was recorded with (0: the last epoch only).
    pub fn schedule(&self) -> usize {
        match self.curve.as_slice() {
            [first, _, ..] => first.epoch,
            _ => 0,
        }
    }

    /// This run as if evaluated every `every` epochs (0 = last only), if it
    /// holds all of those epochs.
    pub fn serve(&self, every: usize) -> Option<RunOut> {
        let curve: Vec<Point> = self
            .curve
            .iter()
            .filter(|p| evaluated(p.epoch, self.epochs, every))
            .copied()
            .collect();
        let wanted = (1..=self.epochs)
            .filter(|&e| evaluated(e, self.epochs, every))
            .count();
        (curve.len() == wanted).then(|| RunOut {
            curve,
            ..self.clone()
        })
    }
}

pub use super::key::VERSION;

/// The cache key of a run configuration (see [`mod@super::key`]).
pub fn key(cfg: &RunConfig) -> String {
    super::key::RunKey::of(cfg).hex()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(epochs: usize, every: usize) -> RunOut {
        RunOut {
            epochs,
            curve: (1..=epochs)
                .filter(|&e| evaluated(e, epochs, every))
                .map(|epoch| Point {
                    epoch,
                    ..Default::default()
                })
                .collect(),
            train_s: 1.0,
            memorised: None,
            learned_p: Vec::new(),
        }
    }

    #[test]
    fn a_finer_curve_serves_coarser_requests_only() {
        let every_epoch = run(6, 1);
        assert_eq!(every_epoch.serve(1), Some(every_epoch.clone()));
        assert_eq!(every_epoch.serve(0), Some(run(6, 0)));
        assert_eq!(every_epoch.serve(3), Some(run(6, 3)));
        assert_eq!(run(6, 0).serve(1), None);
        assert_eq!(run(6, 2).serve(3), None);
        assert_eq!(run(6, 2).serve(0), Some(run(6, 0)));
    }

    #[test]
    fn the_schedule_of_a_curve() {
        assert_eq!(run(30, 2).schedule(), 2);
        assert_eq!(run(30, 1).schedule(), 1);
        assert_eq!(run(30, 0).schedule(), 0);
        assert_eq!(run(3, 5).schedule(), 0, "only the last epoch");
        assert_eq!(run(3, 2).schedule(), 2);
    }

    #[test]
    fn key_ignores_threads_but_not_settings() {
        let a = RunConfig::default();
        let b = RunConfig {
            threads: 7,
            ..a.clone()
        };
        assert_eq!(key(&a), key(&b));
        let mut c = a.clone();
        c.model.dropout = 0.3;
        assert_ne!(key(&a), key(&c));
    }

    #[test]
    fn a_user_file_is_keyed_by_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
        std::fs::write(&a, "1,2,0\n3,4,1\n").unwrap();
        std::fs::write(&b, "1,2,0\n3,4,1\n").unwrap();
        let on = |p: &std::path::Path| {
            let mut c = RunConfig::default();
            c.data.path = Some(p.to_path_buf());
            c
        };
        assert_eq!(key(&on(&a)), key(&on(&b)), "one content at two paths");
        let before = key(&on(&a));
        std::fs::write(&a, "9,9,1\n8,8,0\n7,7,1\n").unwrap();
        assert_ne!(key(&on(&a)), before, "another file copied over the path");
        let readable = |c: &RunConfig| crate::runner::key::RunKey::of(c).readable();
        assert!(readable(&on(&a)));
        assert!(!readable(&on(&dir.path().join("gone.csv"))));
        assert!(readable(&RunConfig::default()), "built-in data");
    }
}

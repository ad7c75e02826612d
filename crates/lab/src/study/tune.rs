//! Per-arm tuning on validation data: when two arms differ in
//! regularisation, each gets the setting (learning rate, p, λ …) it does
//! best with, chosen on held-out **validation** accuracy from the training
//! file — never on the test set.
//!
//! ```text
//! for v in grid:  val(v) = mean over seeds of the final validation accuracy of make(v, seed)
//! chosen = argmax_v val(v)        (ties: the first in grid order)
//! ```
//! A value whose training diverged for any seed (a learning rate too large)
//! is not eligible; the sweep fails only when every value diverged.

use serde::Serialize;

use super::lab::Lab;
use crate::config::RunConfig;
use crate::error::{LabError, Result};
use crate::stats::Est;

/// What a tuning sweep tried and chose.
#[derive(Clone, Debug, Serialize)]
pub struct Tuned {
    /// The values tried, in grid order.
    pub grid: Vec<f32>,
    /// Validation accuracy per value, per seed.
    pub val_acc: Vec<Vec<f64>>,
    /// The chosen value.
    pub chosen: f32,
    /// Whether a run of the value diverged (not eligible).
    pub diverged: Vec<bool>,
}

impl Tuned {
    /// Choose from measured validation accuracies (grid order breaks ties).
    pub fn choose(grid: Vec<f32>, val_acc: Vec<Vec<f64>>) -> Self {
        let none = vec![false; grid.len()];
        Self::choose_finite(grid, val_acc, none).expect("nothing diverged")
    }

    /// Choose among the values none of whose runs diverged; `None` when all did.
    pub fn choose_finite(
        grid: Vec<f32>,
        val_acc: Vec<Vec<f64>>,
        diverged: Vec<bool>,
    ) -> Option<Self> {
        let mut best: Option<usize> = None;
        for i in (0..grid.len()).filter(|&i| !diverged[i]) {
            if best.is_none_or(|b| Est::of(&val_acc[i]).mean > Est::of(&val_acc[b]).mean) {
                best = Some(i);
            }
        }
        let chosen = grid[best?];
        Some(Self {
            grid,
            val_acc,
            chosen,
            diverged,
        })
    }

    /// `value (val acc %)` for every grid value, the chosen one starred.
    pub fn describe(&self) -> String {
        self.grid
            .iter()
            .zip(&self.val_acc)
            .zip(&self.diverged)
            .map(|((v, a), &d)| {
                let star = if *v == self.chosen { "*" } else { "" };
                if d {
                    format!("{v} (diverged)")
                } else {
                    format!("{v}{star} ({:.2})", 100.0 * Est::of(a).mean)
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Train `make(value, seed)` for every grid value and seed (runs need a
/// validation split; evaluated every `eval_every` epochs, 0 = last only, so
/// a caller that later wants the chosen run's curve finds it cached) and
/// choose on validation accuracy.
///
/// # Errors
/// Training errors.
pub fn tune(
    lab: &Lab,
    what: &str,
    grid: &[f32],
    eval_every: usize,
    make: impl Fn(f32, u64) -> RunConfig,
) -> Result<Tuned> {
    let (mut val, mut diverged, mut last_err) = (Vec::new(), Vec::new(), None);
    let inputs = lab.mark();
    for &v in grid {
        let (mut accs, mut div) = (Vec::new(), false);
        for &s in &lab.seeds {
            match lab.run(&make(v, s), eval_every) {
                Ok(o) => accs.push(o.last().val_acc.unwrap_or(0.0)),
                Err(e @ LabError::Diverged { .. }) => {
                    lab.warn(&format!("{what} {v}, seed {s}: {e}; not eligible"));
                    (div, last_err) = (true, Some(e));
                }
                Err(e) => return Err(e),
            }
            lab.tick(&format!("{what} {v}"));
        }
        val.push(accs);
        diverged.push(div);
    }
    lab.choice(inputs)?;
    match Tuned::choose_finite(grid.to_vec(), val, diverged) {
        Some(t) => Ok(t),
        None => Err(last_err.expect("an empty grid chooses nothing")),
    }
}

/// Planning only: ask for every run of a sweep that [`tune`] makes later,
/// so that the plan holds the runs of all of a claim's sweeps before its
/// first choice (and shards train them in one wave). Training, nothing.
///
/// # Errors
/// Errors of planning other than divergence.
pub fn prefetch(
    lab: &Lab,
    grid: &[f32],
    eval_every: usize,
    make: impl Fn(f32, u64) -> RunConfig,
) -> Result<()> {
    if !lab.planning() {
        return Ok(());
    }
    for &v in grid {
        for &s in &lab.seeds {
            match lab.run(&make(v, s), eval_every) {
                Ok(_) | Err(LabError::Diverged { .. }) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chooses_the_best_mean_and_the_first_of_ties() {
        let t = Tuned::choose(
            vec![0.01, 0.1, 1.0],
            vec![vec![0.8, 0.82], vec![0.9, 0.9], vec![0.95, 0.85]],
        );
        assert_eq!(
            t.chosen, 0.1,
            "0.9 beats 0.81; 0.9 ties 0.9 and comes first"
        );
        assert!(t.describe().contains("0.1* (90.00)"), "{}", t.describe());
        // A diverged value is not eligible, however good its other seeds.
        let t = Tuned::choose_finite(
            vec![0.01, 0.1],
            vec![vec![0.8, 0.8], vec![0.99]],
            vec![false, true],
        )
        .unwrap();
        assert_eq!(t.chosen, 0.01);
        assert!(t.describe().contains("0.1 (diverged)"), "{}", t.describe());
        assert!(Tuned::choose_finite(vec![1.0], vec![vec![]], vec![true]).is_none());
    }
}

//! Per-arm tuning on validation data: when two arms differ in
//! regularisation, each gets the setting (learning rate, p, λ …) it does
//! best with, chosen on held-out **validation** accuracy from the training
//! file — never on the test set.
//!
//! ```text
//! for v in grid:  val(v) = mean over seeds of the final validation accuracy of make(v, seed)
//! chosen = argmax_v val(v)        (ties: the first in grid order)
//! ```

use serde::Serialize;

use super::lab::{val_accs, Lab};
use super::stats::Est;
use crate::config::RunConfig;
use crate::error::Result;

/// What a tuning sweep tried and chose.
#[derive(Clone, Debug, Serialize)]
pub struct Tuned {
    /// The values tried, in grid order.
    pub grid: Vec<f32>,
    /// Validation accuracy per value, per seed.
    pub val_acc: Vec<Vec<f64>>,
    /// The chosen value.
    pub chosen: f32,
}

impl Tuned {
    /// Choose from measured validation accuracies (grid order breaks ties).
    pub fn choose(grid: Vec<f32>, val_acc: Vec<Vec<f64>>) -> Self {
        let mut best = 0;
        for i in 1..grid.len() {
            if Est::of(&val_acc[i]).mean > Est::of(&val_acc[best]).mean {
                best = i;
            }
        }
        let chosen = grid.get(best).copied().unwrap_or(0.0);
        Self {
            grid,
            val_acc,
            chosen,
        }
    }

    /// `value (val acc %)` for every grid value, the chosen one starred.
    pub fn describe(&self) -> String {
        self.grid
            .iter()
            .zip(&self.val_acc)
            .map(|(v, a)| {
                let star = if *v == self.chosen { "*" } else { "" };
                format!("{v}{star} ({:.2})", 100.0 * Est::of(a).mean)
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
    let mut val = Vec::new();
    for &v in grid {
        let outs = lab.per_seed(&format!("{what} {v}"), eval_every, |s| make(v, s))?;
        val.push(val_accs(&outs));
    }
    Ok(Tuned::choose(grid.to_vec(), val))
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
    }
}

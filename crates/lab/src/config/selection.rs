//! Which model a run keeps, and when it stops: selection on the validation
//! set only, never the test set.
//!
//! ```text
//! keep = last:  the weights after the last epoch trained
//! keep = best:  the weights of the evaluated epoch with the lowest validation loss
//!               (the first such epoch on a tie)
//! early_stop = K:  stop after an evaluated epoch when the K evaluations before
//!                  and including it brought no new lowest validation loss
//! ```
//! Both need a validation set (`val_size > 0`); an epoch that is not
//! evaluated (`--eval-every`) neither improves nor counts.

use serde::{Deserialize, Serialize};

/// Which weights a run saves as its model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Keep {
    /// The weights after the last epoch trained.
    #[default]
    Last,
    /// The weights of the evaluated epoch with the lowest validation loss.
    Best,
}

//! Where a resumed run starts: the training state in its checkpoint, or
//! the very start when it was killed before writing one.
//!
//! ```text
//! model.safetensors present            → finished: refuse
//! no checkpoint                        → epoch 0, step 0
//! checkpoint (config = config.json,    → its weights, buffers, optimizer moments,
//!   same data fingerprint,               epoch, step and training seconds
//!   0 < epoch < epochs)
//! ```
//! The loop then replays the data order of the epochs done (each epoch's
//! order shuffles the previous one) and continues at `step`, so the
//! dropout masks and every later update are those of an uninterrupted run.

use std::path::Path;

use engine::optim::Optimizer;
use engine::Sequential;

use crate::checkpoint::{self, TrainState};
use crate::config::RunConfig;
use crate::error::{LabError, Result};
use crate::rundir;

/// The state to resume the run in `dir` from: its checkpoint, or the start
/// when it was killed before writing one. Refuses a finished run and a
/// checkpoint written under another configuration.
pub fn resume_state(
    dir: &Path,
    cfg: &RunConfig,
    data_fingerprint: &str,
    model: &mut Sequential,
    opt: &mut Optimizer,
) -> Result<TrainState> {
    rundir::remove_stale_temps(dir);
    rundir::check_unfinished(dir)?;
    let ck = dir.join(rundir::CHECKPOINT);
    if !ck.exists() {
        return Ok(TrainState {
            epoch: 0,
            step: 0,
            train_s: 0.0,
        });
    }
    let (state, meta) = checkpoint::load_state(model, opt, &ck)?;
    let epochs = cfg.epochs;
    // Checkpoints written before the fingerprint existed have none.
    if meta
        .get("data_fingerprint")
        .is_some_and(|f| f != data_fingerprint)
    {
        return Err(LabError::Checkpoint {
            path: ck,
            msg: "was written while training on other data: the data file (or the split it makes) has changed since the run started; put the original data back to resume, or train again with --force".into(),
        });
    }
    let same = meta
        .get("config")
        .and_then(|t| RunConfig::from_json(t).ok())
        .is_some_and(|c| cfg.same_run(&c));
    if !same {
        return Err(LabError::Checkpoint {
            path: ck,
            msg: "was written under a different configuration than config.json; was config.json edited? Restore it, or train again with --force".into(),
        });
    }
    if state.epoch == 0 || state.epoch >= epochs {
        return Err(LabError::Checkpoint {
            path: ck,
            msg: format!(
                "says epoch {} of {epochs}; checkpoints are only written between epochs 1 and {}",
                state.epoch,
                epochs.saturating_sub(1)
            ),
        });
    }
    Ok(state)
}

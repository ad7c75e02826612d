//! Building a run's model and optimizer from its config, with the bounds
//! checked before anything large is allocated:
//!
//! ```text
//! parameters ≤ the engine's bound (checked by the typed model before it allocates)
//! 4 · floats per sample · batch ≤ MAX_BATCH_BYTES
//! outputs of the model = classes of the data
//! ```

use engine::optim::{Optimizer, Schedule};
use engine::Sequential;

use crate::config::RunConfig;
use crate::data::Splits;
use crate::error::{LabError, Result};

/// Most memory the buffers of one training batch may take (2 GiB).
pub const MAX_BATCH_BYTES: u64 = 2 << 30;

/// Build the model and optimizer a config describes, for data with this shape.
///
/// # Errors
/// [`LabError::Engine`] for an architecture that does not fit the data or is
/// too large, [`LabError::Memory`] when one batch would need more than
/// [`MAX_BATCH_BYTES`], [`LabError::Classes`] when its outputs are not the
/// data's classes.
pub fn build_model(cfg: &RunConfig, splits: &Splits) -> Result<(Sequential, Optimizer, Schedule)> {
    let mut spec = cfg.model.spec(splits.train.dim(), splits.classes);
    if let Some(c) = spec.concrete.as_mut() {
        c.n_train = splits.train.len();
    }
    // The one reading of the architecture: everything below uses the typed model.
    let arch = spec.arch()?;
    let lm = cfg.model.language_model();
    match (&splits.text, lm) {
        (Some(_), None) => {
            return Err(LabError::DataKind {
                origin: splits.source.clone(),
                msg: format!("is a text, which a character-level GPT reads (--arch gpt), not `{}`; an MLP, CNN, RNN or ViT reads a CSV, IDX files or a built-in image set", arch.text),
            })
        }
        (None, Some(_)) => {
            return Err(LabError::DataKind {
                origin: splits.source.clone(),
                msg: format!("is not a text, but `{}` is a character-level GPT: give it a text file (--data FILE.txt, or .txt.gz) or --dataset shakespeare", arch.text),
            })
        }
        _ => {}
    }
    let sample = if let Some(context) = lm {
        vec![context]
    } else if arch.reads_sample_shape() {
        splits.train.sample_shape.clone()
    } else {
        vec![splits.train.dim()]
    };
    // The parameter count first (build refuses too many before allocating),
    // then the batch's buffers.
    let per_sample = arch.size(&sample).floats_per_sample;
    let model = arch.build(&sample, cfg.seed)?;
    let needed = per_sample
        .saturating_mul(4)
        .saturating_mul(cfg.batch as u64);
    if needed > MAX_BATCH_BYTES {
        return Err(LabError::Memory {
            what: format!("a batch of {} through `{}`", cfg.batch, arch.text),
            needed,
            limit: MAX_BATCH_BYTES,
        });
    }
    if model.classes() != splits.classes {
        return Err(LabError::Classes {
            arch: arch.text,
            outputs: model.classes(),
            classes: splits.classes,
        });
    }
    let opt = Optimizer::new(
        cfg.optim.kind(),
        cfg.optim.weight_decay,
        cfg.optim.max_norm(),
    );
    let steps = (cfg.steps_per_epoch(splits.text.is_some(), splits.train.len()) as u64)
        .saturating_mul(cfg.epochs as u64);
    Ok((model, opt, cfg.optim.schedule.engine(cfg.epochs, steps)))
}

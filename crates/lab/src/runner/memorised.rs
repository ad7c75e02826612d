//! Memorisation under label noise: the accuracy of a trained net on the
//! training samples whose label was flipped, against the flipped labels.
//!
//! ```text
//! flipped  = { i : y_clean[i] ≠ y_noisy[i] }   (the same subset drawn without noise tells which)
//! memorised = acc(model, { (x_i, y_noisy[i]) : i ∈ flipped })   (None without label noise, 0 when nothing flipped)
//! ```

use engine::Sequential;

use crate::config::{DataConfig, RunConfig};
use crate::data::{prepare, Raw, Splits};
use crate::error::Result;
use crate::train::evaluate;

/// With label noise: the accuracy of `model` on the training samples whose
/// label was flipped, against the flipped labels (the same subset drawn
/// without noise tells which those are).
pub(super) fn memorised(
    model: &mut Sequential,
    cfg: &RunConfig,
    splits: &Splits,
    raw: &Raw,
) -> Result<Option<f64>> {
    if cfg.data.label_noise <= 0.0 {
        return Ok(None);
    }
    let clean_cfg = DataConfig {
        label_noise: 0.0,
        ..cfg.data.clone()
    };
    let clean = prepare(raw, &clean_cfg, cfg.seed)?;
    let flipped: Vec<usize> = (0..splits.train.len())
        .filter(|&i| clean.train.y[i] != splits.train.y[i])
        .collect();
    if flipped.is_empty() {
        return Ok(Some(0.0));
    }
    let set = splits.train.subset(&flipped);
    Ok(Some(evaluate(model, &set, 512)?.acc))
}

//! Building a model from its typed description ([`Arch`]):
//!
//! ```text
//! 1. footprint (each layer's own size, summed)   params > MAX_PARAMS → refused, nothing allocated yet
//! 2. the data's per-sample shape                 images (C × H × W) for conv, rows (T × D) for an RNN,
//!                                                N features for an MLP whose first number is N
//! 3. each layer appends its layers, in order     weight layer k initialised from fork k (see builder)
//! ```

use crate::arch::builder::Builder;
use crate::arch::{Arch, LayerSpec};
use crate::error::{ArchProblem, EngineError};
use crate::footprint::{ModelSize, MAX_PARAMS};
use crate::model::Sequential;

impl Arch {
    /// Build and initialise the model for inputs of per-sample shape `sample`.
    ///
    /// # Errors
    /// [`EngineError::Arch`] for a model over [`MAX_PARAMS`] (checked before
    /// any allocation) or one that does not fit the data;
    /// [`EngineError::Dropout`] for a bad rate; [`EngineError::Shape`] for a
    /// layer that cannot take its input (e.g. an image pooled below 2 × 2).
    pub fn build(&self, sample: &[usize], seed: u64) -> Result<Sequential, EngineError> {
        let ModelSize {
            params,
            floats_per_sample,
        } = self.size(sample);
        if params > MAX_PARAMS {
            return Err(self.error(ArchProblem::TooLarge {
                params,
                max: MAX_PARAMS,
            }));
        }
        let flat: usize = sample.iter().product();
        let mut shape = match self.inputs {
            Some(arch) if arch != flat => {
                return Err(self.error(ArchProblem::Inputs { arch, data: flat }));
            }
            Some(_) => vec![flat],
            None if self.layers.iter().any(|l| matches!(l, LayerSpec::Rnn(_))) => {
                if sample.len() < 2 {
                    return Err(self.error(ArchProblem::NotSequences(sample.to_vec())));
                }
                sample.to_vec()
            }
            None if self
                .layers
                .iter()
                .any(|l| matches!(l, LayerSpec::Transformer(_))) =>
            {
                sample.to_vec()
            }
            None if sample.len() != 3 => {
                return Err(self.error(ArchProblem::NotImages(sample.to_vec())));
            }
            None => sample.to_vec(),
        };
        let mut b = Builder::new(seed, self.init);
        for layer in &self.layers {
            shape = layer.build(&shape, &mut b)?;
        }
        let mut model = Sequential::new(b.into_layers(), sample)?;
        model.set_buffer_floats(floats_per_sample);
        Ok(model)
    }
}

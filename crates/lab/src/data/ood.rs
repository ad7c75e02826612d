//! Out-of-distribution samples for `eval --ood DATA`: a built-in data set
//! (`mnist`, `fashion`: its test images), a directory of MNIST-named IDX files
//! (its test images) or a CSV file (every row; the run's label column and
//! header settings split off the label).
//!
//! ```text
//! shape   one OOD sample must have as many values as the model takes (else: an error naming both)
//! scale   prepared as the run's data: IDX pixels in [0, 1]; a standardised run's μ, σ (from its training set) applied
//! labels  ignored (OOD samples have no true class among the model's); counted when outside the model's classes
//! ```

use std::path::PathBuf;

use super::{idx, split, DataError, Dataset};
use crate::config::{Builtin, DataConfig};

/// Where OOD samples come from.
#[derive(Clone, Debug, PartialEq)]
pub enum OodSource {
    /// A data set compiled in.
    Builtin(Builtin),
    /// A CSV file or an IDX directory.
    Path(PathBuf),
}

impl std::str::FromStr for OodSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let p = PathBuf::from(s);
        match s {
            _ if p.exists() => Ok(OodSource::Path(p)),
            "mnist" => Ok(OodSource::Builtin(Builtin::Mnist)),
            "fashion" | "fashion-mnist" => Ok(OodSource::Builtin(Builtin::Fashion)),
            _ => Err(format!(
                "`{s}` is neither a file or directory nor a built-in data set (mnist, fashion)"
            )),
        }
    }
}

/// The OOD samples, ready for the model.
#[derive(Clone, Debug)]
pub struct Ood {
    /// The samples (labels as read; not used).
    pub data: Dataset,
    /// Where they came from.
    pub source: String,
    /// Samples whose label is not one of the model's classes.
    pub foreign_labels: usize,
}

/// Load OOD samples for a run with data settings `run` and seed `seed`, whose
/// model takes samples of `shape` and has `classes` classes.
///
/// # Errors
/// [`DataError`] for unreadable files and a sample shape the model cannot take.
pub fn load(
    src: &OodSource,
    run: &DataConfig,
    seed: u64,
    shape: &[usize],
    classes: usize,
) -> Result<Ood, DataError> {
    let (mut data, source) = match src {
        OodSource::Builtin(b) => {
            let (_, test, source) = idx::load_dir(Err(*b))?;
            (test, source)
        }
        OodSource::Path(p) if p.is_dir() => {
            let (_, test, source) = idx::load_dir(Ok(p))?;
            (test, source)
        }
        OodSource::Path(p) => {
            let t = super::csv::read(p, &run.label_column, run.header)?;
            let data = Dataset {
                x: t.x,
                y: t.y,
                sample_shape: vec![t.features],
            };
            (data, p.display().to_string())
        }
    };
    if data.dim() != shape.iter().product::<usize>() {
        let dims = |s: &[usize]| {
            s.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" × ")
        };
        return Err(DataError::Format {
            path: source.into(),
            msg: format!(
                "OOD samples are {} but the model takes {}: give OOD data of the training data's shape",
                dims(&data.sample_shape),
                dims(shape)
            ),
        });
    }
    if data.is_empty() {
        return Err(DataError::Format {
            path: source.into(),
            msg: "no samples".into(),
        });
    }
    if let Some((mean, sd)) = split::standardizer(run, seed)? {
        // A CSV read with the run's settings, or images for a standardised run alike.
        for row in data.x.chunks_mut(mean.len().max(1)) {
            for (j, v) in row.iter_mut().enumerate() {
                *v = ((f64::from(*v) - mean[j]) / sd[j]) as f32;
            }
        }
    }
    let foreign_labels = data.y.iter().filter(|&&l| l as usize >= classes).count();
    Ok(Ood {
        data,
        source,
        foreign_labels,
    })
}

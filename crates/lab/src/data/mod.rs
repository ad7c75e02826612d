//! Data, by stage: reading files ([`gz`], [`idx`] for IDX files and MNIST
//! directories including the embedded MNIST, [`csv`]) into a [`Raw`] train
//! file and test set, then preparing them ([`split`]: validation split,
//! stratified subset, label noise, standardisation) into [`Splits`].
//!
//! ```text
//! DataConfig ──load_raw──▶ Raw { train file, test set } ──split::prepare(seed)──▶ Splits { train, val, test }
//! ```

pub mod content;
pub mod csv;
pub mod gz;
pub mod idx;
pub mod input;
pub mod ood;
pub mod split;
pub mod text;

use std::path::PathBuf;

use engine::rng::Rng;
use thiserror::Error;

pub use self::split::{default_val_size, prepare};
use crate::config::DataConfig;

/// What went wrong with the data.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file could not be read.
    #[error("{}: {msg}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        msg: String,
    },
    /// The file's contents are not valid.
    #[error("{}: {msg}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// A data setting the data cannot satisfy. `field` is the config key.
    #[error("{field} = {value}: {reason}")]
    Option {
        /// The config key (`val_size`, `label_column`, …).
        field: &'static str,
        /// The value given.
        value: String,
        /// Why it does not fit.
        reason: String,
    },
    /// Too few samples or classes to train and test on.
    #[error("{origin}: too little data ({train} train, {test} test samples, {classes} classes)")]
    TooLittle {
        /// Where the data came from.
        origin: String,
        /// Training samples.
        train: usize,
        /// Test samples.
        test: usize,
        /// Classes.
        classes: usize,
    },
}

/// Samples with labels: one per sample (a classifier), or one per position
/// of each sample (a language model's windows of `T` ids, `T` labels each).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dataset {
    /// Features, row-major `len × dim`.
    pub x: Vec<f32>,
    /// Labels, `len × targets` ([`Dataset::targets`]).
    pub y: Vec<u32>,
    /// Shape of one sample (`[1, 28, 28]` for MNIST, `[d]` for tables).
    pub sample_shape: Vec<usize>,
}

impl Dataset {
    /// A 64-bit FNV-1a hash of the labels and the features' bits, as hex: two
    /// data sets with the same fingerprint hold the same samples in the same
    /// order (up to hash collisions).
    pub fn fingerprint(&self) -> String {
        let mut h = crate::fnv::Fnv::default();
        for &y in &self.y {
            h.write(&y.to_le_bytes());
        }
        for &x in &self.x {
            h.write(&x.to_bits().to_le_bytes());
        }
        h.hex()
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        match self.dim() {
            d if d > 0 && !self.x.is_empty() => self.x.len() / d,
            _ => self.y.len(),
        }
    }

    /// Labels per sample: 1, or a window's length for a language model.
    pub fn targets(&self) -> usize {
        match self.len() {
            0 => 1,
            n => (self.y.len() / n).max(1),
        }
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// Features per sample.
    pub fn dim(&self) -> usize {
        self.sample_shape.iter().product()
    }

    /// The samples at `idx`, in that order.
    pub fn subset(&self, idx: &[usize]) -> Dataset {
        let (d, k) = (self.dim(), self.targets());
        let mut x = Vec::with_capacity(idx.len() * d);
        let mut y = Vec::with_capacity(idx.len() * k);
        for &i in idx {
            x.extend_from_slice(&self.x[i * d..(i + 1) * d]);
            y.extend_from_slice(&self.y[i * k..(i + 1) * k]);
        }
        Dataset {
            x,
            y,
            sample_shape: self.sample_shape.clone(),
        }
    }

    /// Count of each class `0..classes`.
    pub fn class_counts(&self, classes: usize) -> Vec<usize> {
        let mut c = vec![0; classes];
        for &l in &self.y {
            if let Some(v) = c.get_mut(l as usize) {
                *v += 1;
            }
        }
        c
    }
}

/// Prepared train / validation / test sets.
#[derive(Clone, Debug)]
pub struct Splits {
    /// Training set (possibly subset and noised).
    pub train: Dataset,
    /// Validation set (empty if `val_size` is 0).
    pub val: Dataset,
    /// Test set.
    pub test: Dataset,
    /// Number of classes (max label + 1).
    pub classes: usize,
    /// Where the data came from.
    pub source: String,
    /// A language model's text (its blocks and vocabulary); the three sets
    /// above are then empty until [`Splits::windows`] cuts them.
    pub text: Option<text::Text>,
}

/// A text's evaluation sets at one context: windows over the training block
/// (every k-th, about as many as validation has), the validation and the test block.
#[derive(Clone, Debug)]
pub struct Windows {
    /// A sample of the training block.
    pub train: Dataset,
    /// The whole validation block.
    pub val: Dataset,
    /// The whole test block.
    pub test: Dataset,
}

impl Splits {
    /// A text's evaluation windows for `context` (`None` for a classifier's data).
    ///
    /// # Errors
    /// [`DataError::Option`] when a block is not longer than `context + 1` characters.
    pub fn windows(&self, context: usize) -> Result<Option<Windows>, DataError> {
        let Some(t) = &self.text else {
            return Ok(None);
        };
        for (name, b) in [
            ("training", &t.train),
            ("validation", &t.val),
            ("test", &t.test),
        ] {
            if b.len() <= context {
                return Err(DataError::Option {
                    field: "data",
                    value: self.source.clone(),
                    reason: format!("its {name} block (90 % training, 5 % validation, 5 % test) has {} characters, but a window of context {context} and its next characters need at least {}; give a longer text or a shorter context (tT in --arch)", b.len(), context + 1),
                });
            }
        }
        let val = text::windows(&t.val, context, 1);
        let stride = (t.train.len() / context / val.len().max(1)).max(1);
        Ok(Some(Windows {
            train: text::windows(&t.train, context, stride),
            val,
            test: text::windows(&t.test, context, 1),
        }))
    }
}

/// The data as read from disk, before any preparation.
#[derive(Clone, Debug)]
pub struct Raw {
    /// The training file (all of it).
    pub train: Dataset,
    /// The test set.
    pub test: Dataset,
    /// Where it came from.
    pub source: String,
    /// Whether it was a CSV (standardised by default).
    pub is_csv: bool,
    /// A text for a language model (then `train` and `test` are empty).
    pub text: Option<String>,
}

/// Whether `path` names a text for a language model (`.txt` or `.txt.gz`, any case).
pub fn is_text(path: &std::path::Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    name.ends_with(".txt") || name.ends_with(".txt.gz")
}

/// Load and prepare the data of a run with seed `seed`.
///
/// # Errors
/// [`DataError`] naming the file or setting at fault.
pub fn load(o: &DataConfig, seed: u64) -> Result<Splits, DataError> {
    prepare(&load_raw(o, seed)?, o, seed)
}

/// Read the files `o` points at; a CSV is split here into train and test
/// (stratified, `test_fraction`, seeded by `seed`).
///
/// # Errors
/// [`DataError`] naming the file or setting at fault.
pub fn load_raw(o: &DataConfig, seed: u64) -> Result<Raw, DataError> {
    let seed = o.data_seed.unwrap_or(seed);
    if o.path.is_some() && !o.dataset.is_mnist() {
        return Err(DataError::Option {
            field: "dataset",
            value: format!("{:?}", o.dataset).to_lowercase(),
            reason:
                "a built-in data set and a data path (`--data`) were both given; give one of them"
                    .into(),
        });
    }
    if o.dataset == crate::config::Builtin::Shakespeare && o.path.is_none() {
        return Ok(Raw {
            train: Dataset::default(),
            test: Dataset::default(),
            source: "data/shakespeare (embedded)".into(),
            is_csv: false,
            text: Some(text::read(None)?),
        });
    }
    if let Some(p) = o.path.as_deref().filter(|p| p.is_file() && is_text(p)) {
        return Ok(Raw {
            train: Dataset::default(),
            test: Dataset::default(),
            source: p.display().to_string(),
            is_csv: false,
            text: Some(text::read(Some(p))?),
        });
    }
    let (train, test, source, is_csv) = match &o.path {
        Some(p) if p.is_file() => {
            if !(0.0 < o.test_fraction && o.test_fraction < 1.0) {
                return Err(DataError::Option {
                    field: "test_fraction",
                    value: o.test_fraction.to_string(),
                    reason: "must be in (0, 1)".into(),
                });
            }
            let t = csv::read(p, &o.label_column, o.header)?;
            let all = Dataset {
                x: t.x,
                y: t.y,
                sample_shape: vec![t.features],
            };
            let classes = all.y.iter().max().map_or(0, |&m| m as usize + 1);
            // Before anything is sized by the class count.
            split::dense_labels(&all.y, classes, &p.display().to_string())?;
            let mut idx: Vec<usize> = (0..all.len()).collect();
            Rng::new(seed ^ 0x7e57).shuffle(&mut idx);
            let n_test = ((all.len() as f64 * o.test_fraction).round() as usize)
                .clamp(1, all.len().saturating_sub(1).max(1));
            let (test_idx, train_idx) = split::stratified_take(&all.y, &idx, n_test, classes);
            let source = p.display().to_string();
            (all.subset(&train_idx), all.subset(&test_idx), source, true)
        }
        Some(p) if p.is_dir() => {
            let (train, test, source) = idx::load_dir(Ok(p))?;
            (train, test, source, false)
        }
        Some(p) => {
            return Err(DataError::Io {
                path: p.clone(),
                msg: "no such file or directory (give a CSV file or a directory of MNIST-named IDX files)".into(),
            })
        }
        None => {
            let (train, test, source) = idx::load_dir(Err(o.dataset))?;
            (train, test, source, false)
        }
    };
    Ok(Raw {
        train,
        test,
        source,
        is_csv,
        text: None,
    })
}

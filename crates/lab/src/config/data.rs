//! The data section of a run: which file, and how it is split and prepared
//! (see [`crate::data::split`] for the order of the steps).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::csv_format::{Header, LabelColumn};

/// Standardisation policy: `x ← (x − μ) / σ` with μ, σ from the training set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Standardize {
    /// CSV data yes, IDX images no (they are scaled to [0, 1]).
    #[default]
    Auto,
    /// Always.
    On,
    /// Never (IDX pixels are still scaled to [0, 1]).
    Off,
}

/// A data set compiled into the binary (see `data/*/README.md`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Builtin {
    /// MNIST handwritten digits (LeCun et al. 1998).
    #[default]
    Mnist,
    /// Fashion-MNIST clothing images (Xiao et al. 2017): MNIST's format and size, harder.
    Fashion,
    /// The complete works of Shakespeare, one text (a character-level GPT's data).
    Shakespeare,
}

impl Builtin {
    /// Both, in the study's order.
    pub const ALL: [Builtin; 2] = [Builtin::Mnist, Builtin::Fashion];

    /// The data set's usual name.
    pub fn name(self) -> &'static str {
        match self {
            Builtin::Mnist => "MNIST",
            Builtin::Fashion => "Fashion-MNIST",
            Builtin::Shakespeare => "Shakespeare",
        }
    }

    /// Whether this is MNIST, the default.
    pub fn is_mnist(&self) -> bool {
        *self == Builtin::Mnist
    }
}

/// Data settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataConfig {
    /// A CSV file, or a directory with the four MNIST-named IDX files (.gz or raw). Default: the built-in `--dataset`.
    pub path: Option<PathBuf>,
    /// The built-in data set used when `--data` is not given.
    #[serde(default)]
    pub dataset: Builtin,
    /// CSV label column: `last`, a 0-based index, or a header name.
    pub label_column: LabelColumn,
    /// CSV: is the first line a header? `auto` decides and refuses when the line is ambiguous.
    #[serde(default)]
    pub header: Header,
    /// CSV only: fraction held out (stratified, seeded) as the test set.
    pub test_fraction: f64,
    /// Keep a stratified subset of this many training samples.
    pub train_size: Option<usize>,
    /// Validation samples taken (stratified) from the training file.
    pub val_size: usize,
    /// Symmetric label noise on the training labels (fraction in [0, 1)).
    pub label_noise: f64,
    /// Seed of the data preparation alone (CSV test split, validation split, subset, label noise); default: `--seed`. Lets nets with different inits share one data set.
    #[serde(default)]
    pub data_seed: Option<u64>,
    /// Standardise features with the training set's mean and sd.
    pub standardize: Standardize,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            path: None,
            dataset: Builtin::Mnist,
            label_column: LabelColumn::Last,
            header: Header::Auto,
            test_fraction: 0.2,
            train_size: None,
            val_size: 0,
            label_noise: 0.0,
            data_seed: None,
            standardize: Standardize::Auto,
        }
    }
}

//! The data flags of a run (`--data`, `--train-size`, …): each one optional,
//! each given one overriding [`DataConfig`]'s default.

use std::path::PathBuf;

use clap::Args;
use lab::config::{Builtin, DataConfig, Header, LabelColumn, Standardize};
use serde::Serialize;

use super::set;
use crate::cli::choice::parser;

/// Data flags.
#[derive(Args, Clone, Debug, Default, PartialEq, Serialize)]
pub struct DataFlags {
    /// A CSV file, or a directory with the four MNIST-named IDX files (.gz or raw). Default: the built-in `--dataset`.
    #[arg(long = "data")]
    pub path: Option<PathBuf>,
    /// The built-in data set used when `--data` is not given.
    #[arg(long, value_parser = parser::<Builtin>())]
    pub dataset: Option<Builtin>,
    /// CSV label column: `last`, a 0-based index, or a header name.
    #[arg(long)]
    pub label_column: Option<LabelColumn>,
    /// CSV: is the first line a header? `auto` decides and refuses when the line is ambiguous.
    #[arg(long, value_parser = parser::<Header>())]
    pub header: Option<Header>,
    /// CSV only: fraction held out (stratified, seeded) as the test set.
    #[arg(long)]
    pub test_fraction: Option<f64>,
    /// Keep a stratified subset of this many training samples.
    #[arg(long)]
    pub train_size: Option<usize>,
    /// Validation samples taken (stratified, seeded) from the training file. Default: `train`
    /// holds out 10 % of the training file, at most 5,000 (5,000 for MNIST and Fashion-MNIST);
    /// sweep and tune hold out none unless given; 0 = none.
    #[arg(long, value_name = "N")]
    pub val_size: Option<usize>,
    /// Symmetric label noise on the training labels (fraction in [0, 1)).
    #[arg(long)]
    pub label_noise: Option<f64>,
    /// Seed of the data preparation alone (CSV test split, validation split, subset, label noise); default: `--seed`. Lets nets with different inits share one data set.
    #[arg(long)]
    pub data_seed: Option<u64>,
    /// Standardise features with the training set's mean and sd.
    #[arg(long, value_parser = parser::<Standardize>())]
    pub standardize: Option<Standardize>,
}

impl DataFlags {
    /// Set every given flag in `d`.
    pub fn apply(&self, d: &mut DataConfig) {
        let Self {
            path,
            dataset,
            label_column,
            header,
            test_fraction,
            train_size,
            val_size,
            label_noise,
            data_seed,
            standardize,
        } = self.clone();
        set(&mut d.path, path.map(Some));
        set(&mut d.dataset, dataset);
        set(&mut d.label_column, label_column);
        set(&mut d.header, header);
        set(&mut d.test_fraction, test_fraction);
        set(&mut d.train_size, train_size.map(Some));
        set(&mut d.val_size, val_size);
        set(&mut d.label_noise, label_noise);
        set(&mut d.data_seed, data_seed.map(Some));
        set(&mut d.standardize, standardize);
    }
}

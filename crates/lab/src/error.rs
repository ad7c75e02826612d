//! The lab library's errors. Each names what was wrong and, where there is
//! one, what to change; none names a command-line flag (the binary adds those).

use std::path::PathBuf;

use thiserror::Error;

use crate::config::ConfigError;
use crate::data::DataError;

/// What went wrong in the lab.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LabError {
    /// The run configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The data could not be loaded or prepared.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The engine rejected the model or a batch.
    #[error(transparent)]
    Engine(#[from] engine::EngineError),
    /// A dropout kernel rejected its arguments.
    #[error(transparent)]
    Dropout(#[from] dropout::DropoutError),
    /// Data of the wrong kind for the model (a text for an MLP, images for a GPT).
    #[error("the data {origin} {msg}")]
    DataKind {
        /// Where the data came from.
        origin: String,
        /// What is wrong and what to give instead.
        msg: String,
    },
    /// The model's output count is not the data's class count.
    #[error("the architecture `{arch}` ends with {outputs} outputs, but the data has {classes} classes (labels 0..{}); end it with {classes}", classes - 1)]
    Classes {
        /// The architecture.
        arch: String,
        /// Outputs of the last layer.
        outputs: usize,
        /// Classes in the data.
        classes: usize,
    },
    /// Training diverged.
    #[error(
        "the training loss became {loss} at step {step} (epoch {epoch}); likely causes, most likely first: a learning rate too high for this model and data, momentum too close to 1, unscaled features (standardise them) — lower the learning rate first"
    )]
    Diverged {
        /// The loss value (NaN or ±inf).
        loss: f64,
        /// The step.
        step: u32,
        /// The 1-based epoch.
        epoch: usize,
    },
    /// Planning a study: a choice needs results that are not cached yet
    /// (the runs after it are planned once those are in).
    #[error("this step of the study needs results that are not in the cache yet")]
    Pending,
    /// Planning a study: the claim's remaining runs were declared; what it
    /// does with them is not needed for the plan.
    #[error("the claim's runs are planned")]
    Planned,
    /// Building a report from the cache alone, and runs are not in it.
    #[error("{} run(s) are not in the cache {}; train them first (rerun the shards, or run without --merge), then merge again. Missing: {}", keys.len(), cache.display(), some(keys))]
    Missing {
        /// The cache directory.
        cache: PathBuf,
        /// The keys of the missing runs.
        keys: Vec<String>,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A JSON document could not be written or read.
    #[error("{}: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// A size that would need more memory than the lab allows.
    #[error("{what} needs about {} MB of buffers, over the limit of {} MB; lower the batch size or use smaller layers", needed / 1_000_000, limit / 1_000_000)]
    Memory {
        /// What would need it.
        what: String,
        /// Bytes needed (saturated).
        needed: u64,
        /// Bytes allowed.
        limit: u64,
    },
    /// A run directory that cannot be used as asked.
    #[error("{}: {msg}", path.display())]
    RunDir {
        /// The directory (or its file).
        path: PathBuf,
        /// What is wrong and what to do.
        msg: String,
    },
    /// A checkpoint that does not fit the model.
    #[error("{}: {msg}", path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// An output file or report folder the user named that cannot be written
    /// as asked ([`crate::outfile`]); names the path as given, once.
    #[error("cannot write {}: {msg}", path.display())]
    Output {
        /// The path as the user gave it.
        path: PathBuf,
        /// What is wrong and what to do.
        msg: String,
    },
}

impl LabError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }

    /// A JSON error on `path`.
    pub fn json(path: impl Into<PathBuf>) -> impl FnOnce(serde_json::Error) -> Self {
        let path = path.into();
        move |source| Self::Json { path, source }
    }
}

/// The first ten of `keys`, and how many more there are.
fn some(keys: &[String]) -> String {
    let mut s = keys.iter().take(10).cloned().collect::<Vec<_>>().join(", ");
    if keys.len() > 10 {
        s += &format!(" … and {} more", keys.len() - 10);
    }
    s
}

/// The lab's result type.
pub type Result<T, E = LabError> = std::result::Result<T, E>;

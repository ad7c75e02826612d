//! Typed errors of the engine: bad specs and shapes are reported when a model
//! is built or a batch is fed, never as a panic inside a step. Messages say
//! what was expected in words (e.g. "images (channels × height × width)"),
//! not as placeholder shapes.

use thiserror::Error;

/// What went wrong in the engine.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum EngineError {
    /// An architecture string that cannot be read, or that does not fit the data.
    #[error("architecture `{arch}`: {problem}")]
    Arch {
        /// The architecture string as given.
        arch: String,
        /// What is wrong with it.
        problem: ArchProblem,
    },
    /// A layer built with a zero size, window or stride.
    #[error("{layer}: sizes must be positive")]
    ZeroSize {
        /// The layer, e.g. `Conv2d(1→0, k3)`.
        layer: String,
    },
    /// A layer was given input of the wrong shape.
    #[error("{layer} expects {expected}, got shape {got:?}")]
    Shape {
        /// The layer (or `labels`).
        layer: String,
        /// The per-sample (or batch) shape received.
        got: Vec<usize>,
        /// The layout required, in words.
        expected: String,
    },
    /// A label outside `0 .. classes`.
    #[error("label {label} at row {row} is out of range for {classes} classes")]
    Label {
        /// The label.
        label: usize,
        /// Its row in the batch.
        row: usize,
        /// Number of classes.
        classes: usize,
    },
    /// Parameter data that does not fit the model.
    #[error("parameter `{name}`: {msg}")]
    Param {
        /// Parameter name.
        name: String,
        /// What is wrong.
        msg: String,
    },
    /// A dropout configuration error.
    #[error(transparent)]
    Dropout(#[from] dropout::DropoutError),
}

impl EngineError {
    /// An [`EngineError::Arch`] for the architecture text `arch`.
    pub(crate) fn arch(arch: &str, problem: ArchProblem) -> Self {
        Self::Arch {
            arch: arch.to_string(),
            problem,
        }
    }
}

/// Why an architecture string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ArchProblem {
    /// A token that is neither a positive number, `cK` nor `p`.
    #[error("cannot read `{0}` (expected numbers like 784-1024-10, cK / p for conv and pool, rH for a residual block of hidden width H)")]
    Token(String),
    /// An MLP without both an input and an output size.
    #[error("needs at least an input size and an output size")]
    TooShort,
    /// No dense output layer after the conv blocks.
    #[error("must end with the number of classes")]
    NoClasses,
    /// The MLP's first number is not the data's feature count.
    #[error("starts with {arch} inputs but the data has {data} features per sample")]
    Inputs {
        /// Inputs the architecture names.
        arch: usize,
        /// Features per sample in the data.
        data: usize,
    },
    /// Conv layers on data that are not images.
    #[error("has conv layers, which need images (channels × height × width), but each sample has shape {0:?}")]
    NotImages(Vec<usize>),
    /// A conv or pool token after a dense one.
    #[error("conv and pool layers must come before the dense ones")]
    Order,
    /// An RNN on samples that are not sequences of rows.
    #[error("has an RNN, which reads each sample as T rows of D features (e.g. an image's rows), but each sample has shape {0:?}")]
    NotSequences(Vec<usize>),
    /// An RNN that is not the first layer.
    #[error(
        "an RNN rnnH must be the first layer (it reads the raw rows), followed by dense layers"
    )]
    RnnFirst,
    /// A residual block where there are no dense features to add to, or as the output.
    #[error("a residual block rH needs a dense layer before it (its width is kept) and a dense output layer after it")]
    Residual,
    /// A Transformer's text or shape problem, in words.
    #[error("{0} (a Transformer is gpt[-lL][-hH][-dD][-mM][-tT] or vit[-pP][-lL][-hH][-dD][-mM], e.g. gpt-l4-h4-d128-t64 or vit-p7-l4-h4-d64)")]
    Transformer(String),
    /// LayerNorm asked for in conv blocks.
    #[error("LayerNorm is for dense blocks; use BatchNorm with conv layers")]
    LayerNormInConv,
    /// More parameters than the engine takes (see [`crate::footprint::MAX_PARAMS`]).
    #[error("has {params} parameters, which with gradients and optimizer state need about {} GB; the engine takes at most {max} — use smaller layers", params.saturating_mul(16) / 1_000_000_000)]
    TooLarge {
        /// Parameters (saturated at u64::MAX).
        params: u64,
        /// The limit.
        max: u64,
    },
}

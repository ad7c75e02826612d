//! Typed errors of the engine: bad specs and shapes are reported when a model
//! is built or a batch is fed, never as a panic inside a step.

use thiserror::Error;

/// What went wrong in the engine.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum EngineError {
    /// A model or optimizer specification could not be understood.
    #[error("invalid spec: {0}")]
    Spec(String),
    /// A tensor had the wrong shape.
    #[error("shape mismatch in {what}: got {got:?}, expected {expected:?}")]
    Shape {
        /// Where.
        what: String,
        /// The shape received.
        got: Vec<usize>,
        /// The shape required.
        expected: Vec<usize>,
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

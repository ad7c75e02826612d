//! # engine — MLPs and small CNNs with explicit forward/backward per layer
//!
//! Placeholder for issue #3: layers (Linear, activations, normalisation,
//! Conv2d, the dropout family, softmax cross-entropy), optimizers and a
//! model builder, built on the [`dropout`] kernels. Data flows one way:
//! lab → engine → dropout.

pub use dropout;

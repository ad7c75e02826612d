//! The layers: one concept per file.

pub mod activation;
pub mod attention;
pub mod batchnorm;
mod channel;
pub mod concrete_dense;
pub mod conv2d;
pub mod dense;
pub mod dropout_layer;
pub mod embedding;
pub mod layernorm;
pub mod patch;
pub mod pool;
pub mod residual;
pub mod rnn;
pub mod token_pool;
pub mod transformer;

pub use activation::{Activation, ActivationLayer};
pub use attention::{AttentionSites, SelfAttention};
pub use batchnorm::BatchNorm;
pub use concrete_dense::{ConcreteDense, ConcreteSpec};
pub use conv2d::Conv2d;
pub use dense::Dense;
pub use dropout_layer::{DropoutKind, DropoutLayer, DropoutVariant};
pub use embedding::{TiedHead, TokenEmbedding};
pub use layernorm::LayerNorm;
pub use patch::PatchEmbedding;
pub use pool::{Flatten, MaxPool2d};
pub use residual::Residual;
pub use rnn::{Rnn, RnnDropout};
pub use token_pool::TokenMean;
pub use transformer::{BlockSites, TransformerBlock};

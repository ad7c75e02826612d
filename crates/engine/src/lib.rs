//! # engine — MLPs, small CNNs, RNNs, residual MLPs and Transformers with explicit forward/backward per layer
//!
//! A small trainer built for the dropout lab. A model is described by a
//! typed layer list ([`arch::Arch`]), read once from an `--arch` text and
//! its settings ([`spec::ModelSpec::arch`]); each layer kind states its own
//! size ([`footprint`]) and builds its layers. Each layer has a hand-written
//! forward and backward pass ([`layer::Layer`]); dense layers use the fused
//! `dropout(relu(x·Wᵀ + b))` kernel of the [`dropout`] crate in both
//! directions; matrix products go through the `faer` crate ([`matmul`]).
//! Buffers are owned by layers and reused, so a training step allocates
//! nothing in steady state; masks come from `(seed, stream, step)`, so the
//! same seed gives the same weights on 1 or 2 threads.
//!
//! ```
//! use engine::{spec::{build, ModelSpec}, layer::Ctx, optim::{Optimizer, OptimKind}};
//! use dropout::Mode;
//! let mut spec = ModelSpec::new("4-8-3");
//! spec.dropout = 0.5;
//! let mut model = build(&spec, &[4], 1).unwrap();
//! model.input_mut(2).copy_from_slice(&[0.1, 0.2, 0.3, 0.4, -1.0, 0.0, 1.0, 2.0]);
//! let mut opt = Optimizer::new(OptimKind::Sgd { momentum: 0.9, nesterov: false, dampened: false }, 0.0, None);
//! let ctx = Ctx::train(1, 0);
//! let out = model.forward_backward(&[0, 2], &ctx).unwrap();
//! opt.step(&mut model, 0.1);
//! assert!(out.loss_sum.is_finite());
//! ```

// Index loops are the plain form of the per-element formulas in the docs.
#![allow(clippy::needless_range_loop)]

pub use dropout;

pub mod arch;
mod build;
pub mod clip;
pub mod error;
pub mod footprint;
pub mod init;
pub mod layer;
pub mod layers;
pub mod loss;
pub mod matmul;
pub mod model;
pub mod optim;
pub mod rng;
pub mod schedule;
pub mod spec;
pub mod tensor;
pub mod wide;

pub use error::{ArchProblem, EngineError};
pub use model::Sequential;
pub use tensor::Tensor;

//! Element-wise loops compiled for the widest vector unit of the CPU: the
//! dropout crate's [`dropout::wide::wide`] (the library's softmax uses it too),
//! re-exported for the engine's layers and optimizers.

pub use dropout::wide::wide;

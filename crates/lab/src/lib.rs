//! # lab — the `dropout-lab` command line
//!
//! Loads data, trains and evaluates models, and measures the dropout
//! kernels. Data flows one way: the binary calls this crate, which calls the
//! engine and the `dropout` library.

pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod mc;
pub mod study;
pub mod train;

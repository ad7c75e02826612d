//! # lab — the library behind the `dropout-lab` command line
//!
//! Loads data, trains and evaluates models, measures the dropout kernels and
//! runs the study. Data flows one way: the binary (`src/main.rs`, `src/cli/`)
//! parses flags and prints; it calls this crate, which calls the engine and
//! the `dropout` library. This crate returns typed errors ([`LabError`]) and
//! prints nothing: progress goes to observer traits the binary implements.

pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod error;
pub mod fnv;
pub mod fuzz;
pub mod html;
pub mod lock;
pub mod outfile;
pub mod resume;
pub mod rundir;
pub mod runner;
pub mod stats;
pub mod study;
pub mod sweep;
pub mod train;
pub mod uq;

pub use error::{LabError, Result};
